"""Robustness: mutated dialect examples either parse or fail with a located SqlError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sql_corpus import CORPUS

from velostream.errors import SqlError
from velostream.sql import Velostream, parse_script

_DIALECT = Velostream()
_PIECES = [
    "(",
    ")",
    ",",
    ";",
    "=",
    "'x'",
    '"q"',
    "`b`",
    "5m",
    "7x",
    "INTERVAL",
    "WINDOW",
    "TUMBLING",
    "SESSION",
    "EMIT",
    "CHANGES",
    "WITH",
    "JOIN",
    "ON",
    "WITHIN",
    "PRIMARY KEY",
    "OVER",
    "ROWS",
    "BUFFER",
    "EXPIRE",
    "SELECT",
    "FROM",
    "GROUP BY",
    "AS",
    "CREATE",
    "STREAM",
    "EXPLAIN",
    "SHOW",
    "\n",
    "-- @metric: m\n",
    "'",
    "/*",
]


@settings(max_examples=150, deadline=None)
@given(
    base=st.sampled_from(CORPUS),
    position=st.integers(min_value=0, max_value=10_000),
    op=st.sampled_from(["delete", "insert", "replace"]),
    piece=st.sampled_from(_PIECES),
)
def test_mutations_never_crash(base: str, position: int, op: str, piece: str) -> None:
    tokens = _DIALECT.tokenize(base)
    texts = [base[t.start : t.end + 1] for t in tokens]
    k = position % len(texts)
    if op == "delete":
        del texts[k]
    elif op == "insert":
        texts.insert(k, piece)
    else:
        texts[k] = piece
    sql = " ".join(texts)
    try:
        script = parse_script(sql)
    except SqlError as err:
        lines = sql.split("\n")
        assert err.kind == "syntax"
        assert err.line is not None and 1 <= err.line <= len(lines)
        assert err.col is not None and 1 <= err.col <= len(lines[err.line - 1]) + 1
        assert err.source_line == lines[err.line - 1]
        assert err.message
    else:
        for stmt in script.statements:
            assert sql[_offset(sql, stmt.line, stmt.col) :].startswith(stmt.sql)


def _offset(text: str, line: int, col: int) -> int:
    starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
    return starts[line - 1] + col - 1
