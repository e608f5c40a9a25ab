"""`SET velo.mode = bounded` makes every source of a statement end (papermill runs repeat)."""

from __future__ import annotations

from velostream.sql.parse import parse_script
from velostream_kernel.session import _bound_sources


def _props(sql: str) -> dict[str, str]:
    stmt = parse_script(sql).statements[0]
    _bound_sources(stmt, 300)
    return stmt.properties


def test_sources_are_bounded() -> None:
    props = _props(
        "SELECT * FROM a JOIN b ON a.k = b.k JOIN c ON a.k = c.k JOIN d ON a.k = d.k "
        "WITH ('a.type' = 'kafka_source', 'b.type' = 'synthetic', "
        "'c.type' = 'redis_source', 'd.type' = 'file_source', 'd.path' = 'x', 'd.watch' = 'true')"
    )
    assert props["a.end"] == "latest-at-start"
    assert props["b.count"] == "300"
    assert props["c.end"] == "latest-at-start"
    assert props["d.watch"] == "false"


def test_what_is_given_is_kept() -> None:
    props = _props(
        "SELECT * FROM a JOIN t ON a.k = t.k WITH ('a.type' = 'kafka_source', 'a.end' = '0:10', "
        "'t.type' = 'redis_source', 't.mode' = 'table')"
    )
    assert props["a.end"] == "0:10"
    assert "t.end" not in props  # a Redis key table has no end to reach
