"""Malformed SQL: every failure is a SqlError pointing at the right line, column and token."""

from __future__ import annotations

import pytest

from velostream.errors import SqlError
from velostream.sql import parse_script, parse_statement

KINDS = ["TUMBLING", "SLIDING", "HOPPING", "SESSION"]
SHORT = ["ms", "s", "m", "h", "d", "w"]
LONG = ["MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK"]

# (sql, line, column, offending token as written, expected)
# Columns are counted by hand: 1-based, the first character of the offending token; at the end
# of the input the column just after the last token and the token "".
CASES = [
    ("SELECT a FROM", 1, 14, "", ["a table name"]),
    ("SELECT (a FROM t", 1, 11, "FROM", [")"]),
    ("SELECT 'abc FROM t", 1, 8, "'", ["'"]),
    ('SELECT "abc FROM t', 1, 8, '"', ['"']),
    ("SELECT a /* never closed", 1, 10, "/*", ["*/"]),
    ("SELECT a FROM t WINDOW ROLLING(5m)", 1, 24, "ROLLING", KINDS),
    ("SELECT a FROM t WINDOW TUMBLING()", 1, 33, ")", ["a duration"]),
    ("SELECT a FROM t WINDOW TUMBLING(ts)", 1, 35, ")", [","]),
    ("SELECT a FROM t WINDOW TUMBLING(5x)", 1, 34, "x", SHORT),
    ("SELECT a FROM t WINDOW TUMBLING(INTERVAL '5' FORTNIGHT)", 1, 46, "FORTNIGHT", LONG),
    ("SELECT a FROM t WINDOW TUMBLING(0s)", 1, 33, "0", ["a duration"]),
    ("SELECT a FROM t WINDOW TUMBLING(1.0005s)", 1, 33, "1.0005", ["a duration"]),
    ("SELECT a FROM t WINDOW TUMBLING 5m", 1, 33, "5", ["("]),
    ("SELECT a FROM t WINDOW SLIDING(5m)", 1, 34, ")", [","]),
    ("SELECT a FROM t WINDOW HOPPING (SIZE 1 MINUTE)", 1, 46, ")", [","]),
    ("SELECT a FROM t EMIT SOMETIMES", 1, 22, "SOMETIMES", ["CHANGES", "FINAL"]),
    ("SELECT a FROM t EMIT", 1, 21, "", ["CHANGES", "FINAL"]),
    ("SELECT a FROM t EMIT CHANGES EMIT FINAL", 1, 30, "EMIT", [";"]),
    ("SELECT * FROM a FULL JOIN b ON a.x = b.x", 1, 22, "JOIN", ["OUTER"]),
    ("SELECT a FROM t JOIN u", 1, 23, "", ["ON"]),
    ("SELECT a, FROM t", 1, 11, "FROM", ["an expression"]),
    ("SELEC a FROM t", 1, 1, "SELEC", ["SELECT", "CREATE", "INSERT", "SHOW", "DESCRIBE"]),
    ("SELECT a FROM t GROUP BY", 1, 25, "", ["an expression"]),
    ("SELECT a FROM t WHERE", 1, 22, "", ["an expression"]),
    ("SELECT a FROM t WHERE a = = 1", 1, 27, "=", ["an expression"]),
    ("SELECT a FROM t WHERE x IN (1, 2", 1, 33, "", [")"]),
    ("SELECT a FROM t WITH ('a.type')", 1, 31, ")", ["="]),
    ("SELECT a FROM t WITH ()", 1, 23, ")", ["a property name"]),
    ("SELECT a FROM t WITH ('a' = 'b' 'c' = 'd')", 1, 33, "'c'", [",", ")"]),
    ("SELECT a FROM t WITH ('a' = 'b', 'A' = 'c')", 1, 34, "'A'", []),
    ("SELECT a FROM t SELECT b FROM u", 1, 17, "SELECT", [";"]),
    ("SELECT a FROM t foo bar", 1, 21, "bar", [";"]),
    ("CREATE STREAM s SELECT a FROM t", 1, 17, "SELECT", ["AS", "WITH"]),
    ("CREATE STREAM s WITH ('a' = 'b') SELECT a FROM t", 1, 34, "SELECT", ["AS"]),
    ("CREATE VIEW v AS SELECT 1", 1, 8, "VIEW", ["STREAM", "TABLE"]),
    ("INSERT INTO s", 1, 14, "", ["SELECT", "VALUES"]),
    ("SELECT a FROM t LIMIT abc", 1, 23, "abc", ["a row count"]),
    ("SELECT CASE WHEN a THEN 1 FROM t", 1, 27, "FROM", ["END"]),
    ("SELECT SUM(a) OVER (ROWS WINDOW BUFFER ROWS) FROM t", 1, 40, "ROWS", ["a row count"]),
    ("SHOW STREAM", 1, 6, "STREAM", ["STREAMS", "TABLES", "JOBS", "FUNCTIONS"]),
    ("DESCRIBE", 1, 9, "", ["a name"]),
    ("EXPLAIN", 1, 8, "", ["SELECT", "CREATE", "INSERT", "SHOW", "DESCRIBE"]),
]


def parse_error(sql: str) -> SqlError:
    with pytest.raises(SqlError) as info:
        parse_script(sql)
    return info.value


@pytest.mark.parametrize(("sql", "line", "col", "token", "expected"), CASES)
def test_malformed_sql(sql: str, line: int, col: int, token: str, expected: list[str]) -> None:
    err = parse_error(sql)
    assert err.kind == "syntax"
    assert (err.line, err.col) == (line, col)
    assert err.token == token
    assert err.expected[: len(expected)] == expected
    assert err.source_line == sql.splitlines()[line - 1]
    assert err.message


def test_caret_sits_under_the_token() -> None:
    err = parse_error("SELECT a FROM t WINDOW ROLLING(5m)")
    lines = str(err).splitlines()
    assert lines[0].startswith("<sql>:1:24: syntax error:")
    assert lines[1] == "  SELECT a FROM t WINDOW ROLLING(5m)"
    assert lines[2] == "  " + " " * 23 + "^" * len("ROLLING")


def test_error_position_is_in_the_whole_script() -> None:
    script = "SELECT a FROM t;\n\n-- next one is broken\nSELECT a,\n       b\n  FROM;\nSELECT c FROM u;\n"
    err = parse_error(script)
    assert (err.line, err.col, err.token) == (6, 7, ";")
    assert err.source_line == "  FROM;"
    assert err.expected == ["a table name"]


def test_error_on_a_later_line_inside_a_statement() -> None:
    script = "CREATE STREAM s AS\nSELECT a\nFROM t\nWINDOW TUMBLING(5m)\nEMIT LATER\n"
    err = parse_error(script)
    assert (err.line, err.col, err.token) == (5, 6, "LATER")
    assert err.source_line == "EMIT LATER"


def test_unterminated_string_on_a_later_line() -> None:
    err = parse_error("SELECT a FROM t;\nSELECT 'oops FROM u")
    assert (err.line, err.col, err.expected) == (2, 8, ["'"])


def test_path_is_reported() -> None:
    with pytest.raises(SqlError) as info:
        parse_script("SELECT a FROM", path="jobs/app.sql")
    assert info.value.path == "jobs/app.sql"
    assert str(info.value).startswith("jobs/app.sql:1:14: syntax error")


def test_parse_statement_wants_exactly_one() -> None:
    with pytest.raises(SqlError) as info:
        parse_statement("SELECT a FROM t;\n  SELECT b FROM u")
    assert (info.value.line, info.value.col) == (2, 3)
    with pytest.raises(SqlError):
        parse_statement("  -- only a comment\n")
    assert parse_statement("SELECT a FROM t;").kind == "select"


def test_to_dict_for_tools() -> None:
    err = parse_error("SELECT a FROM t EMIT SOMETIMES")
    data = err.to_dict()
    assert data["line"] == 1 and data["column"] == 22
    assert data["token"] == "SOMETIMES"
    assert data["expected"] == ["CHANGES", "FINAL"]


@pytest.mark.parametrize(
    ("sql", "col", "token", "expected"),
    [
        # Mistakes Velostream's docs list for row windows.
        ("SELECT SUM(x) OVER (ROWS BUFFER 10 ROWS) FROM t", 26, "BUFFER", ["WINDOW"]),
        ("SELECT SUM(x) OVER (ROWS WINDOW BUFFER 10) FROM t", 42, ")", ["ROWS"]),
        ("SELECT SUM(x) OVER ROWS WINDOW BUFFER 10 ROWS FROM t", 20, "ROWS", ["("]),
    ],
)
def test_row_window_mistakes(sql: str, col: int, token: str, expected: list[str]) -> None:
    err = parse_error(sql)
    assert (err.line, err.col, err.token, err.expected) == (1, col, token, expected)


def test_duplicate_clauses_are_named() -> None:
    err = parse_error("SELECT a FROM t WINDOW TUMBLING(5m) GROUP BY a WINDOW TUMBLING(1m)")
    assert (err.col, err.token) == (48, "WINDOW")
    assert "second WINDOW clause" in err.message
    err = parse_error("SELECT a FROM t WITH ('a' = 'b') WITH ('c' = 'd')")
    assert (err.col, err.token) == (34, "WITH")
