"""Parsing every construct of the Velostream dialect into the AST contract of velostream.sql.ast."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from velostream.sql import parse_statement
from velostream.sql.ast import Describe, Duration, Emit, Explain, PrimaryKey, Show, StreamWindow

MINUTE = 60_000
SECOND = 1_000
HOUR = 3_600_000


def query(sql: str) -> exp.Select:
    stmt = parse_statement(sql)
    assert isinstance(stmt.query, exp.Select)
    return stmt.query


def window(sql: str) -> StreamWindow:
    w = query(sql).args["stream_window"]
    assert isinstance(w, StreamWindow)
    return w


def test_windowed_create_stream() -> None:
    stmt = parse_statement(
        "CREATE STREAM s AS SELECT a, COUNT(*) FROM t GROUP BY a "
        "WINDOW TUMBLING(INTERVAL '5' MINUTE) EMIT FINAL WITH ('t.type' = 'kafka_source')"
    )
    assert stmt.kind == "create_stream"
    assert stmt.name == "s"
    w = stmt.query.args["stream_window"]
    assert isinstance(w, StreamWindow)
    assert w.kind == "TUMBLING"
    assert w.args["size"].millis == 5 * MINUTE
    assert isinstance(stmt.query.args["emit"], Emit)
    assert stmt.query.args["emit"].this == "FINAL"
    assert stmt.properties == {"t.type": "kafka_source"}


@pytest.mark.parametrize(
    ("size_sql", "millis"),
    [
        ("INTERVAL '5' MINUTE", 5 * MINUTE),
        ("INTERVAL '5' MINUTES", 5 * MINUTE),
        ("INTERVAL 5 MINUTE", 5 * MINUTE),
        ("INTERVAL '5 minutes'", 5 * MINUTE),
        ("INTERVAL '250' MILLISECONDS", 250),
        ("INTERVAL '1' MILLISECOND", 1),
        ("INTERVAL '30' SECOND", 30 * SECOND),
        ("INTERVAL '2' HOURS", 2 * HOUR),
        ("INTERVAL '1' DAY", 24 * HOUR),
        ("INTERVAL '3' DAYS", 72 * HOUR),
        ("500ms", 500),
        ("30s", 30 * SECOND),
        ("5m", 5 * MINUTE),
        ("1h", HOUR),
        ("1d", 24 * HOUR),
        ("2w", 14 * 24 * HOUR),
        ("1.5s", 1500),
        ("2000us", 2),
        ("3000000ns", 3),
        ("1 MINUTE", MINUTE),
        ("10 SECONDS", 10 * SECOND),
    ],
)
def test_tumbling_sizes(size_sql: str, millis: int) -> None:
    w = window(f"SELECT COUNT(*) FROM t WINDOW TUMBLING({size_sql})")
    assert w.kind == "TUMBLING"
    assert w.args["size"] == Duration(this=millis)
    assert w.args.get("time_column") is None


def test_micro_sign_unit() -> None:
    w = window("SELECT COUNT(*) FROM t WINDOW TUMBLING(5000μs)")
    assert w.args["size"].millis == 5


def test_tumbling_with_time_column() -> None:
    w = window("SELECT COUNT(*) FROM t WINDOW TUMBLING(event_time, INTERVAL '1' SECOND)")
    assert w.args["time_column"] == exp.column("event_time")
    assert w.args["size"].millis == SECOND
    w = window("SELECT COUNT(*) FROM t WINDOW TUMBLING(a._event_time, 1m)")
    assert w.args["time_column"] == exp.column("_event_time", table="a")


def test_sliding_and_hopping() -> None:
    w = window("SELECT COUNT(*) FROM t WINDOW SLIDING(INTERVAL '10' MINUTE, INTERVAL '2' MINUTE)")
    assert (w.kind, w.args["size"].millis, w.args["advance"].millis) == (
        "SLIDING",
        600_000,
        120_000,
    )
    assert not w.args.get("hopping")
    w = window("SELECT COUNT(*) FROM t WINDOW SLIDING(_event_time, 5m, 1m)")
    assert w.args["time_column"] == exp.column("_event_time")
    assert (w.args["size"].millis, w.args["advance"].millis) == (5 * MINUTE, MINUTE)
    w = window("SELECT COUNT(*) FROM t WINDOW HOPPING(ts, 1h, 15m)")
    assert w.kind == "SLIDING"
    assert w.args["hopping"] is True
    assert (w.args["size"].millis, w.args["advance"].millis) == (HOUR, 15 * MINUTE)


def test_session() -> None:
    w = window("SELECT COUNT(*) FROM t WINDOW SESSION(30s)")
    assert (w.kind, w.args["size"].millis) == ("SESSION", 30 * SECOND)
    w = window("SELECT COUNT(*) FROM t WINDOW SESSION(INTERVAL '30' SECOND)")
    assert w.args["size"].millis == 30 * SECOND
    w = window("SELECT COUNT(*) FROM t WINDOW SESSION(ts, 30s, partition_key)")
    assert w.args["time_column"] == exp.column("ts")
    assert w.args["size"].millis == 30 * SECOND


def test_ksqldb_window_forms() -> None:
    w = window("SELECT COUNT(*) FROM t WINDOW TUMBLING (SIZE 1 MINUTE)")
    assert (w.kind, w.args["size"].millis) == ("TUMBLING", MINUTE)
    w = window("SELECT COUNT(*) FROM t WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 10 SECONDS)")
    assert (w.kind, w.args["hopping"]) == ("SLIDING", True)
    assert (w.args["size"].millis, w.args["advance"].millis) == (MINUTE, 10 * SECOND)
    w = window("SELECT COUNT(*) FROM t WINDOW SESSION (60 SECONDS)")
    assert (w.kind, w.args["size"].millis) == ("SESSION", 60 * SECOND)


def test_named_window_clause_still_standard() -> None:
    q = query("SELECT SUM(b) OVER w FROM x WINDOW w AS (PARTITION BY a)")
    assert q.args.get("stream_window") is None
    (named,) = q.args["windows"]
    assert named.this == exp.to_identifier("w")
    assert named.args["partition_by"] == [exp.column("a")]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a, COUNT(*) FROM t WHERE x > 1 GROUP BY a WINDOW TUMBLING(1m) HAVING COUNT(*) > 2 "
        "ORDER BY a LIMIT 5 EMIT CHANGES WITH ('k' = 'v')",
        "SELECT a, COUNT(*) FROM t WHERE x > 1 WINDOW TUMBLING(1m) GROUP BY a HAVING COUNT(*) > 2 "
        "ORDER BY a LIMIT 5 EMIT CHANGES WITH ('k' = 'v')",
        "SELECT a, COUNT(*) FROM t WHERE x > 1 GROUP BY a HAVING COUNT(*) > 2 WINDOW TUMBLING(1m) "
        "ORDER BY a LIMIT 5 EMIT CHANGES WITH ('k' = 'v')",
        "SELECT a, COUNT(*) FROM t WHERE x > 1 GROUP BY a WINDOW TUMBLING(1m) HAVING COUNT(*) > 2 "
        "ORDER BY a LIMIT 5 WITH ('k' = 'v') EMIT CHANGES",
        "SELECT a, COUNT(*) FROM t WHERE x > 1 GROUP BY a WINDOW TUMBLING(1m) HAVING COUNT(*) > 2 "
        "ORDER BY a EMIT CHANGES LIMIT 5 WITH ('k' = 'v')",
        "SELECT a, COUNT(*) FROM t WHERE x > 1 GROUP BY a WINDOW TUMBLING(1m) HAVING COUNT(*) > 2 "
        "ORDER BY a WITH ('k' = 'v') EMIT CHANGES LIMIT 5",
    ],
)
def test_lenient_clause_orders_give_one_tree(sql: str) -> None:
    canonical = parse_statement(
        "SELECT a, COUNT(*) FROM t WHERE x > 1 GROUP BY a WINDOW TUMBLING(1m) "
        "HAVING COUNT(*) > 2 ORDER BY a LIMIT 5 EMIT CHANGES WITH ('k' = 'v')"
    )
    stmt = parse_statement(sql)
    assert stmt.expression == canonical.expression
    q = stmt.query
    assert q.args["limit"].expression == exp.Literal.number(5)
    assert q.args["emit"].this == "CHANGES"
    assert stmt.properties == {"k": "v"}


def test_emit_changes_and_final() -> None:
    assert query("SELECT a FROM t EMIT CHANGES").args["emit"] == Emit(this="CHANGES")
    assert query("SELECT a FROM t emit final").args["emit"] == Emit(this="FINAL")
    assert query("SELECT a FROM t").args.get("emit") is None
    # EMIT right after FROM is not swallowed as a table alias.
    assert query("SELECT a FROM t EMIT CHANGES").args["from_"].this.alias == ""


def test_properties_dict() -> None:
    stmt = parse_statement(
        "SELECT a FROM orders WITH ('Orders.Type' = 'kafka_source', 'orders.topic' = \"in\", "
        "'orders.batch' = 100, 'orders.watch' = true, 'x.neg' = -5, 'x.dec' = 1.5)"
    )
    assert stmt.properties == {
        "orders.type": "kafka_source",
        "orders.topic": "in",
        "orders.batch": "100",
        "orders.watch": "true",
        "x.neg": "-5",
        "x.dec": "1.5",
    }


def test_create_with_properties_before_as_and_columns() -> None:
    stmt = parse_statement(
        "CREATE TABLE totals (symbol VARCHAR, n BIGINT) WITH ('a' = '1') AS "
        "SELECT symbol, COUNT(*) AS n FROM trades GROUP BY symbol WITH ('b' = '2')"
    )
    assert stmt.kind == "create_table"
    assert stmt.name == "totals"
    assert stmt.properties == {"a": "1", "b": "2"}
    schema = stmt.expression.this
    assert isinstance(schema, exp.Schema)
    assert [c.name for c in schema.expressions] == ["symbol", "n"]
    assert stmt.query.args["group"].expressions == [exp.column("symbol")]


def test_cte_is_not_a_property_list() -> None:
    stmt = parse_statement("WITH x AS (SELECT a FROM t) SELECT a FROM x WITH ('x.type' = 'm')")
    assert stmt.kind == "select"
    assert stmt.query.args["with_"].expressions[0].alias == "x"
    assert stmt.properties == {"x.type": "m"}


def test_primary_key_wrapping() -> None:
    q = query("SELECT symbol PRIMARY KEY, a AS k PRIMARY KEY, b FROM t")
    first, second, third = q.expressions
    assert first == PrimaryKey(this=exp.column("symbol"))
    assert second == PrimaryKey(this=exp.alias_(exp.column("a"), "k"))
    assert third == exp.column("b")


def test_join_within() -> None:
    q = query("SELECT * FROM o JOIN p ON o.id = p.id WITHIN INTERVAL '5' MINUTE")
    (join,) = q.args["joins"]
    assert join.args["within"] == Duration(this=5 * MINUTE)
    q = query("SELECT * FROM o INNER JOIN p ON o.id = p.id WITHIN 5m WHERE o.x > 1")
    (join,) = q.args["joins"]
    assert join.args["within"].millis == 5 * MINUTE
    assert join.args["kind"] == "INNER"
    assert q.args["where"] is not None


def test_join_kinds() -> None:
    q = query(
        "SELECT * FROM a LEFT JOIN b ON a.x = b.x RIGHT OUTER JOIN c ON a.x = c.x "
        "FULL OUTER JOIN d ON a.x = d.x"
    )
    sides = [(j.args.get("side"), j.args.get("kind")) for j in q.args["joins"]]
    assert sides == [("LEFT", None), ("RIGHT", "OUTER"), ("FULL", "OUTER")]


def test_rows_window_buffer() -> None:
    q = query(
        "SELECT AVG(price) OVER (ROWS WINDOW BUFFER 100 ROWS PARTITION BY symbol ORDER BY ts) "
        "FROM t"
    )
    w = q.expressions[0]
    assert isinstance(w, exp.Window)
    assert w.args["buffer"] is True
    assert w.args["partition_by"] == [exp.column("symbol")]
    spec = w.args["spec"]
    standard = sqlglot.parse_one(
        "SELECT AVG(price) OVER (ROWS BETWEEN 100 PRECEDING AND CURRENT ROW) FROM t",
        read="postgres",
    )
    assert spec == standard.expressions[0].args["spec"]


def test_standard_over_frame() -> None:
    w = query(
        "SELECT SUM(x) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 5 PRECEDING AND CURRENT ROW) "
        "FROM t"
    ).expressions[0]
    assert isinstance(w, exp.Window)
    assert not w.args.get("buffer")
    assert w.args["spec"].args["start"] == exp.Literal.number(5)


def test_show_describe_explain_insert() -> None:
    for word in ("STREAMS", "TABLES", "JOBS", "FUNCTIONS"):
        stmt = parse_statement(f"show {word.lower()}")
        assert (stmt.kind, stmt.expression) == ("show", Show(this=word))
        assert stmt.query is None
    stmt = parse_statement("DESCRIBE orders")
    assert stmt.kind == "describe" and stmt.name == "orders"
    assert isinstance(stmt.expression, Describe)
    stmt = parse_statement("EXPLAIN CREATE STREAM s AS SELECT a FROM t EMIT CHANGES WITH ('k'='v')")
    assert stmt.kind == "explain"
    assert isinstance(stmt.expression, Explain)
    assert stmt.explained is not None and stmt.explained.kind == "create_stream"
    assert stmt.query is stmt.explained.query
    assert stmt.properties == {"k": "v"} and stmt.name == "s"
    stmt = parse_statement("INSERT INTO sink SELECT a FROM t EMIT CHANGES")
    assert (stmt.kind, stmt.name) == ("insert", "sink")
    assert stmt.query.args["emit"].this == "CHANGES"


def test_expressions_keep_sqlglot_nodes() -> None:
    q = query(
        "SELECT `odd name`, \"Quoted\", a != 1, b <> 2, c || 'x', d LIKE 'p%', "
        "CASE WHEN e > 1 THEN 'hi' ELSE 'lo' END, CAST(f AS DECIMAL(10,2)), g::INT, "
        "EXTRACT(YEAR FROM ts), count(DISTINCT h), STRING_AGG(i, ','), "
        "PERCENTILE_CONT(0.95) WITHIN GROUP (ORDER BY j), LENGTH(k), upper(l), "
        "_event_time, a._event_time, ts - INTERVAL '5' MINUTE FROM t a"
    )
    items = q.expressions
    assert items[0] == exp.column(exp.to_identifier("odd name", quoted=True))
    assert items[1].this.args["quoted"] is True
    assert isinstance(items[2], exp.NEQ) and isinstance(items[3], exp.NEQ)
    assert isinstance(items[4], exp.DPipe)
    assert isinstance(items[5], exp.Like)
    assert isinstance(items[6], exp.Case)
    assert isinstance(items[7], exp.Cast) and items[7].to.sql() == "DECIMAL(10, 2)"
    assert isinstance(items[8], exp.Cast)
    assert isinstance(items[9], exp.Extract)
    assert isinstance(items[10], exp.Count) and isinstance(items[10].this, exp.Distinct)
    assert isinstance(items[11], exp.GroupConcat)
    assert isinstance(items[12], exp.WithinGroup)
    assert isinstance(items[13], exp.Length)
    assert isinstance(items[14], exp.Upper)
    assert items[15] == exp.column("_event_time")
    assert items[16] == exp.column("_event_time", table="a")
    interval = items[17].expression
    assert isinstance(interval, exp.Interval)
    assert interval.this == exp.Literal.string("5")
    assert interval.unit.name.upper() == "MINUTE"


def test_flink_tumble_in_group_by_is_a_plain_call() -> None:
    q = query("SELECT s, COUNT(*) FROM t GROUP BY s, TUMBLE(event_time, INTERVAL '1' HOUR)")
    tumble = q.args["group"].expressions[1]
    assert isinstance(tumble, exp.Anonymous)
    assert tumble.name.upper() == "TUMBLE"
    assert isinstance(tumble.expressions[1], exp.Interval)


def test_velostream_function_names_survive() -> None:
    q = query(
        "SELECT DATEDIFF('seconds', a, b), JSON_EXTRACT(j, '$.a'), REGEXP(s, 'x'), "
        "MEDIAN(x), HEADER('trace-id') FROM t"
    )
    names = [
        e.name.upper() if isinstance(e, exp.Anonymous) else type(e).__name__ for e in q.expressions
    ]
    assert names == ["DATEDIFF", "JSON_EXTRACT", "REGEXP", "Median", "HEADER"]


def test_read_by_dialect_name() -> None:
    tree = sqlglot.parse_one("SELECT a FROM t WINDOW TUMBLING(5m) EMIT CHANGES", read="velostream")
    assert tree.args["stream_window"].args["size"].millis == 5 * MINUTE
    assert tree.sql(dialect="velostream") == "SELECT a FROM t WINDOW TUMBLING(5m) EMIT CHANGES"


def test_buffer_window_emit_and_expire() -> None:
    w = query(
        "SELECT AVG(p) OVER (ROWS WINDOW BUFFER 50 ROWS PARTITION BY s ORDER BY ts "
        "ROWS BETWEEN 10 PRECEDING AND CURRENT ROW EMIT FINAL "
        "EXPIRE AFTER INTERVAL '5' MINUTE INACTIVITY) FROM t"
    ).expressions[0]
    assert w.args["buffer"] is True
    assert w.args["buffer_rows"] == exp.Literal.number(50)
    assert w.args["spec"].args["start"] == exp.Literal.number(10)  # the explicit frame wins
    assert w.args["emit"] == Emit(this="FINAL")
    assert w.args["expire"] == Duration(this=5 * MINUTE)
    w = query("SELECT AVG(p) OVER (ROWS WINDOW BUFFER 5 ROWS EXPIRE AFTER NEVER) FROM t")
    assert w.expressions[0].args["expire"] == exp.var("NEVER")


def test_join_is_also_a_function() -> None:
    q = query("SELECT JOIN(tags, ',') FROM t JOIN u ON t.k = u.k")
    call = q.expressions[0]
    assert isinstance(call, exp.Anonymous) and call.name == "JOIN"
    assert len(q.args["joins"]) == 1


def test_unknown_function_names_are_upper_case() -> None:
    q = query("SELECT header('trace-id'), Set_Header('p', 1) FROM t")
    assert [e.name for e in q.expressions] == ["HEADER", "SET_HEADER"]


def test_explain_keeps_the_explained_text() -> None:
    from velostream.sql import parse_script

    (stmt,) = parse_script("EXPLAIN\n  SELECT a FROM t WINDOW TUMBLING(1s)").statements
    assert stmt.sql == "EXPLAIN\n  SELECT a FROM t WINDOW TUMBLING(1s)"
    assert stmt.explained is not None
    assert (stmt.explained.sql, stmt.explained.line, stmt.explained.col) == (
        "SELECT a FROM t WINDOW TUMBLING(1s)",
        2,
        3,
    )
    assert stmt.query is stmt.explained.query
    assert stmt.query.args["stream_window"].args["size"].millis == SECOND


def test_nodes_carry_script_positions() -> None:
    from velostream.sql import parse_script

    stmt = parse_script("SELECT 1 FROM t;\nSELECT amount,\n  total FROM t").statements[1]
    total = stmt.query.expressions[1]
    assert total.this.meta["line"] == 3
    assert total.this.meta["start"] == len("SELECT 1 FROM t;\nSELECT amount,\n  ")


def test_create_or_replace_and_if_not_exists() -> None:
    stmt = parse_statement("CREATE OR REPLACE STREAM s AS SELECT a FROM t")
    assert (stmt.kind, stmt.name, stmt.expression.args["replace"]) == ("create_stream", "s", True)
    stmt = parse_statement("CREATE TABLE IF NOT EXISTS tt AS SELECT a FROM t")
    assert (stmt.kind, stmt.name, stmt.expression.args["exists"]) == ("create_table", "tt", True)


def test_union_properties_come_from_the_last_select() -> None:
    stmt = parse_statement("SELECT a FROM t UNION ALL SELECT a FROM u WITH ('u.type' = 'x')")
    assert stmt.kind == "select"
    assert isinstance(stmt.query, exp.Union)
    assert stmt.properties == {"u.type": "x"}


@pytest.mark.parametrize(
    ("sql", "uri"),
    [
        ("SELECT * FROM kafka://orders-topic WHERE a > 1", "kafka://orders-topic"),
        ("SELECT * FROM file:///data/customers.json", "file:///data/customers.json"),
        ("SELECT * FROM 'kafka://host:9092/topic' k", "kafka://host:9092/topic"),
    ],
)
def test_uri_sources(sql: str, uri: str) -> None:
    table = query(sql).args["from_"].this
    assert isinstance(table, exp.Table)
    assert table.name == uri
    assert table.this.args["quoted"] is True


def test_plain_names_kafka_and_file_are_tables() -> None:
    assert query("SELECT * FROM kafka").args["from_"].this.name == "kafka"
    assert query("SELECT * FROM file f").args["from_"].this.alias == "f"
