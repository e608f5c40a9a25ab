"""A notebook cell as statements: split with the dialect's tokenizer, kernel-level commands
(SET, STOP JOB) recognised, and `:name` / `{name}` parameters bound as SQL literals."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from velostream.errors import SqlError
from velostream.sql.dialect import Velostream

_DIALECT = Velostream()


@dataclass
class Chunk:
    """One statement of a cell: its text padded so positions match the cell, and what it is."""

    kind: str  # sql | set | stop_job
    text: str  # the cell text with everything before the statement blanked (positions kept)
    line: int  # 1-based line of the statement's first token
    col: int
    key: str = ""  # SET: the variable; STOP JOB: the job name
    value: Any = None  # SET: the value (a Python str, int, float, bool or None)


def tokenize(text: str) -> list[Token]:
    """The dialect's tokens of `text`; an unreadable text raises the engine's located SqlError."""
    try:
        return _DIALECT.tokenizer().tokenize(text)
    except TokenError:
        from velostream.sql.parse import parse_script

        parse_script(text)  # raises the located error (unterminated string, ...)
        raise


def sql_literal(value: Any) -> str:
    """A Python value as a SQL literal: strings quoted with '' escaping, never bare text."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return "NULL"
        return repr(value)
    if isinstance(value, Decimal):
        return str(value) if value.is_finite() else "NULL"
    if isinstance(value, dt.datetime | dt.date):
        return "'" + value.isoformat() + "'"
    return "'" + str(value).replace("'", "''") + "'"


def bind_parameters(text: str, params: dict[str, Any]) -> str:
    """Replace `:name` and `{name}` tokens whose name is a known parameter by SQL literals.

    Works on tokens, so text inside strings, quoted names and comments is never touched, and a
    value always becomes one literal (a quote in it is doubled), never SQL.
    """
    if not params or (":" not in text and "{" not in text):
        return text
    lower = {k.lower(): k for k in params}

    def known(name: str) -> bool:
        return name in params or name.lower() in lower

    def value(name: str) -> Any:  # an exact name first: Python names are case-sensitive
        return params[name] if name in params else params[lower[name.lower()]]

    tokens = tokenize(text)
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens) - 1:
        t, nxt = tokens[i], tokens[i + 1]
        name = nxt.text
        # a bare word right after `:` or `{` (a quoted name or a string is never a parameter)
        adjacent = (
            nxt.start == t.end + 1 and name.isidentifier() and text[nxt.start : nxt.end + 1] == name
        )
        if t.token_type == TokenType.COLON and adjacent and known(name):
            prev = tokens[i - 1] if i else None
            # `a::int` casts and `x:y` JSON paths are not parameters.
            if prev is None or prev.end + 1 != t.start or prev.token_type != TokenType.COLON:
                edits.append((t.start, nxt.end + 1, sql_literal(value(name))))
                i += 2
                continue
        if (
            t.token_type == TokenType.L_BRACE
            and adjacent
            and known(name)
            and i + 2 < len(tokens)
            and tokens[i + 2].token_type == TokenType.R_BRACE
        ):
            edits.append((t.start, tokens[i + 2].end + 1, sql_literal(value(name))))
            i += 3
            continue
        i += 1
    for start, end, lit in reversed(edits):
        text = text[:start] + lit + text[end:]
    return text


def split_cell(text: str) -> list[Chunk]:
    """The statements of a cell in order; SET and STOP JOB are recognised here, the rest is SQL."""
    tokens = tokenize(text)
    chunks: list[Chunk] = []
    current: list[Token] = []
    seg_start = 0  # statement text starts after the previous `;` (keeps its annotations)
    for tok in [*tokens, None]:
        if tok is None or tok.token_type == TokenType.SEMICOLON:
            if current:
                chunks.append(_chunk(text, seg_start, current))
            current = []
            if tok is not None:
                seg_start = tok.end + 1
        else:
            current.append(tok)
    return chunks


def _chunk(text: str, seg_start: int, toks: list[Token]) -> Chunk:
    end = toks[-1].end + 1
    padded = "".join(c if c == "\n" else " " for c in text[:seg_start]) + text[seg_start:end]
    first = toks[0]
    line, col = first.line, _col_of(text, first.start)
    words = [t.text.upper() for t in toks[:2]]
    if first.token_type == TokenType.SET:
        key, value = _parse_set(text, toks, line, col)
        return Chunk("set", padded, line, col, key, value)
    if words == ["STOP", "JOB"]:
        if len(toks) != 3:
            raise SqlError(
                "STOP JOB takes one job name",
                line=line,
                col=col,
                token="STOP",
                expected=["STOP JOB <name>"],
                source_line=text.splitlines()[line - 1],
            )
        return Chunk("stop_job", padded, line, col, key=toks[2].text)
    return Chunk("sql", padded, line, col)


def _col_of(text: str, offset: int) -> int:
    return offset - (text.rfind("\n", 0, offset) + 1) + 1


def _parse_set(text: str, toks: list[Token], line: int, col: int) -> tuple[str, Any]:
    """`SET a.b.c = value` (or `SET a.b.c value`): the dotted name and a Python value."""
    i = 1
    parts: list[str] = []
    while i < len(toks) and toks[i].token_type != TokenType.EQ:
        parts.append(toks[i].text)
        i += 1
    key = "".join(parts).strip()
    rest = toks[i + 1 :] if i < len(toks) else []
    if not key or not rest:
        bad = toks[i] if i < len(toks) else toks[-1]
        raise SqlError(
            "SET needs a name and a value",
            line=bad.line,
            col=_col_of(text, bad.start),
            token=bad.text,
            expected=["SET name = value"],
            source_line=text.splitlines()[bad.line - 1],
        )
    value_text = text[rest[0].start : rest[-1].end + 1]
    return key.lower(), _set_value(rest, value_text)


@dataclass(frozen=True)
class ParamRef:
    """`SET x = :name`: the value of another parameter (or a Python variable in `%%velo`)."""

    name: str


def _set_value(rest: list[Token], value_text: str) -> Any:
    if len(rest) == 2 and rest[0].token_type == TokenType.COLON and value_text[1:].isidentifier():
        return ParamRef(value_text[1:])
    if len(rest) == 1 and rest[0].token_type == TokenType.STRING:
        return rest[0].text  # the tokenizer already undid the '' escaping
    if len(rest) == 2 and rest[0].token_type == TokenType.DASH:
        return -_set_value(rest[1:], rest[1].text)  # type: ignore[operator]
    word = value_text.strip()
    upper = word.upper()
    if upper in ("TRUE", "FALSE"):
        return upper == "TRUE"
    if upper == "NULL":
        return None
    try:
        return int(word)
    except ValueError:
        pass
    try:
        return float(word)
    except ValueError:
        return word
