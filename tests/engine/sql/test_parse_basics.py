"""Basic parsing of the Velostream dialect into the AST contract of velostream.sql.ast."""

from __future__ import annotations

from velostream.sql import parse_statement
from velostream.sql.ast import Emit, StreamWindow


def test_windowed_create_stream() -> None:
    stmt = parse_statement(
        "CREATE STREAM s AS SELECT a, COUNT(*) FROM t GROUP BY a "
        "WINDOW TUMBLING(INTERVAL '5' MINUTE) EMIT FINAL WITH ('t.type' = 'kafka_source')"
    )
    assert stmt.kind == "create_stream"
    assert stmt.name == "s"
    window = stmt.query.args["stream_window"]
    assert isinstance(window, StreamWindow)
    assert window.kind == "TUMBLING"
    assert window.args["size"].millis == 5 * 60 * 1000
    assert isinstance(stmt.query.args["emit"], Emit)
    assert stmt.query.args["emit"].this == "FINAL"
    assert stmt.properties == {"t.type": "kafka_source"}
