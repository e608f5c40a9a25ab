"""Scripts: statement splitting, positions, annotations and detached-annotation warnings."""

from __future__ import annotations

import time

from velostream.sql import parse_script
from velostream.sql.ast import Annotation

SCRIPT = """\
-- @app: trading
-- @version: 2

-- @metric: velo_trades_total
-- @metric_type: counter
--
-- @metric_labels: symbol
CREATE STREAM trade_stats AS
SELECT symbol, COUNT(*) AS trades
FROM trades
GROUP BY symbol
WINDOW TUMBLING(INTERVAL '1' MINUTE)
EMIT FINAL
WITH ('trades.type' = 'kafka_source', 'trade_stats.path' = 'out;stats.jsonl');

SELECT ';' AS semi FROM trades;   SHOW STREAMS;
  -- @name: q3
  INSERT INTO sink
  -- @metric: misplaced
  SELECT a FROM src;
-- @data.symbol: enum ["A", "B"]
-- @data.record_count: 10
"""


def test_statements_split_on_semicolons_outside_strings() -> None:
    script = parse_script(SCRIPT)
    kinds = [s.kind for s in script.statements]
    assert kinds == ["create_stream", "select", "show", "insert"]
    create, select, show, insert = script.statements
    assert create.properties["trade_stats.path"] == "out;stats.jsonl"
    assert select.sql == "SELECT ';' AS semi FROM trades"
    assert show.sql == "SHOW STREAMS"
    assert insert.sql == "INSERT INTO sink\n  -- @metric: misplaced\n  SELECT a FROM src"


def test_statement_positions_in_the_script() -> None:
    create, select, show, insert = parse_script(SCRIPT).statements
    assert (create.line, create.col) == (8, 1)
    assert (select.line, select.col) == (16, 1)
    assert (show.line, show.col) == (16, 35)
    assert (insert.line, insert.col) == (18, 3)
    assert create.sql.startswith("CREATE STREAM trade_stats AS\nSELECT symbol")
    assert create.sql.endswith("'out;stats.jsonl')")
    assert create.name == "trade_stats"


def test_annotations_attach_in_order() -> None:
    create, select, show, insert = parse_script(SCRIPT).statements
    assert create.annotations == [
        Annotation("app", "trading", 1),
        Annotation("version", "2", 2),
        Annotation("metric", "velo_trades_total", 4),
        Annotation("metric_type", "counter", 5),
        Annotation("metric_labels", "symbol", 7),
    ]
    assert create.annotation("metric_type") == "counter"
    assert create.annotation("missing") is None
    assert select.annotations == [] and show.annotations == []
    assert insert.annotations == [Annotation("name", "q3", 17)]


def test_detached_blocks_warn_with_their_line() -> None:
    script = parse_script(SCRIPT)
    assert script.warnings == [
        "annotation block at line 19 is not directly above a statement; it is ignored",
        "annotation block at line 21 is not directly above a statement; it is ignored",
    ]


def test_annotation_keys_and_values_as_written() -> None:
    script = parse_script(
        '-- @data.symbol: enum ["A", "B"], weights: [0.5, 0.5]\n'
        '-- @metric_help: "Trades: all of them"\n'
        "-- @job_mode:transactional\n"
        "-- not an annotation: @x\n"
        "SELECT a FROM t"
    )
    (stmt,) = script.statements
    assert [(a.key, a.value) for a in stmt.annotations] == [
        ("data.symbol", 'enum ["A", "B"], weights: [0.5, 0.5]'),
        ("metric_help", '"Trades: all of them"'),
        ("job_mode", "transactional"),
    ]
    assert script.warnings == []


def test_blank_lines_and_block_comments_do_not_detach() -> None:
    script = parse_script("-- @name: a\n\n/* a block\n comment */\n\nSELECT 1 FROM t")
    assert script.statements[0].annotation("name") == "a"
    assert script.warnings == []


def test_annotation_inside_a_string_is_not_an_annotation() -> None:
    script = parse_script("SELECT '\n-- @name: nope\n' AS s FROM t")
    assert script.statements[0].annotations == []
    assert script.warnings == []


def test_annotation_separated_by_code_is_detached() -> None:
    script = parse_script("-- @metric: m\nSELECT a FROM t;\n-- @metric: n\n")
    assert script.statements[0].annotation("metric") == "m"
    assert script.warnings == [
        "annotation block at line 3 is not directly above a statement; it is ignored"
    ]


def test_trailing_annotation_on_a_code_line_is_ignored_with_a_warning() -> None:
    script = parse_script("SELECT a FROM t; -- @name: late\nSELECT b FROM u")
    assert [s.annotations for s in script.statements] == [[], []]
    assert script.warnings == ["annotation at line 1 is not on a line of its own; it is ignored"]


def test_empty_statements_and_comment_only_script() -> None:
    assert parse_script(";;  ;\n").statements == []
    assert parse_script("-- just a comment\n").statements == []
    assert len(parse_script("SELECT 1 FROM t;;SELECT 2 FROM t").statements) == 2


def test_parse_speed_benchmark() -> None:
    """Prints the parse rate once (no assertion on time)."""
    sql = (
        "CREATE STREAM s AS SELECT symbol, COUNT(*) AS n, AVG(price) AS p FROM trades "
        "WHERE qty > 0 GROUP BY symbol WINDOW TUMBLING(1m) EMIT FINAL "
        "WITH ('trades.type' = 'kafka_source', 's.type' = 'file_sink');\n"
    )
    text = sql * 100
    start = time.perf_counter()
    script = parse_script(text)
    elapsed = time.perf_counter() - start
    assert len(script.statements) == 100
    print(f"parse: {100 / elapsed:.0f} statements/s ({elapsed * 10:.3f} ms each)")
