"""Round trips: parse -> print -> parse gives an equal tree, over a corpus of dialect examples."""

from __future__ import annotations

import pytest
from sql_corpus import CORPUS

from velostream.sql import parse_script, parse_statement, to_sql


@pytest.mark.parametrize("sql", CORPUS)
def test_round_trip(sql: str) -> None:
    first = parse_statement(sql)
    printed = to_sql(first)
    second = parse_statement(printed)
    assert second.expression == first.expression, printed
    assert second.kind == first.kind
    assert second.properties == first.properties
    # Printing is stable: the canonical form prints to itself.
    assert to_sql(second) == printed


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 30


def test_canonical_clause_order() -> None:
    stmt = parse_statement(
        "SELECT a, COUNT(*) FROM t WITH ('k' = 'v') EMIT CHANGES LIMIT 3 "
        "HAVING COUNT(*) > 1 WINDOW TUMBLING(INTERVAL '30' SECOND) GROUP BY a"
    )
    assert to_sql(stmt) == (
        "SELECT a, COUNT(*) FROM t GROUP BY a WINDOW TUMBLING(30s) HAVING COUNT(*) > 1 "
        "LIMIT 3 EMIT CHANGES WITH ('k' = 'v')"
    )


@pytest.mark.parametrize(
    ("sql", "printed"),
    [
        ("SELECT a FROM t WINDOW TUMBLING(INTERVAL '90' SECOND)", "TUMBLING(90s)"),
        ("SELECT a FROM t WINDOW TUMBLING(INTERVAL '2' HOUR)", "TUMBLING(2h)"),
        ("SELECT a FROM t WINDOW TUMBLING(1500ms)", "TUMBLING(1500ms)"),
        ("SELECT a FROM t WINDOW TUMBLING(7d)", "TUMBLING(1w)"),
        ("SELECT a FROM t WINDOW HOPPING(ts, 1m, 10s)", "HOPPING(ts, 1m, 10s)"),
        ("SELECT a FROM t WINDOW SLIDING(1m, 10s)", "SLIDING(1m, 10s)"),
        ("SELECT a FROM o JOIN p ON o.k = p.k WITHIN INTERVAL '5' MINUTE", "WITHIN 5m"),
        ("SELECT a FROM t WHERE ts > NOW() - INTERVAL '5' MINUTE", "INTERVAL '5' MINUTE"),
        (
            "SELECT a FROM t WITH (\"k\" = \"v\", 'n' = 5, 'b' = TRUE)",
            "WITH ('k' = 'v', 'n' = 5, 'b' = TRUE)",
        ),
    ],
)
def test_printed_forms(sql: str, printed: str) -> None:
    assert printed in to_sql(parse_statement(sql))


def test_whole_script_round_trip() -> None:
    text = ";\n".join(CORPUS)
    script = parse_script(text)
    assert len(script.statements) == len(CORPUS)
    again = parse_script(";\n".join(to_sql(s) for s in script.statements))
    assert [s.expression for s in again.statements] == [s.expression for s in script.statements]


def test_to_sql_leaves_comments_out_by_default() -> None:
    (stmt,) = parse_script("-- @name: q\nSELECT a /* why */ FROM t -- trailing\n").statements
    assert to_sql(stmt) == "SELECT a FROM t"
    assert "why" in to_sql(stmt, comments=True)
