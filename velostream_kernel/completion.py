"""Completion, inspection and is_complete from the live catalog of a session's engine."""

from __future__ import annotations

import html
from typing import Any

from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from velostream.connectors import registry as connectors
from velostream.engine import Engine
from velostream.errors import SqlError
from velostream.functions import registry as functions
from velostream.sql.parse import parse_script
from velostream_kernel.statements import tokenize

KEYWORDS = (
    "SELECT FROM WHERE GROUP BY HAVING ORDER LIMIT WINDOW TUMBLING SLIDING HOPPING SESSION EMIT "
    "CHANGES FINAL WITH CREATE STREAM TABLE AS INSERT INTO SHOW STREAMS TABLES JOBS FUNCTIONS "
    "DESCRIBE EXPLAIN STOP JOB SET JOIN LEFT INNER ON WITHIN INTERVAL PRIMARY KEY AND OR NOT IN "
    "IS NULL LIKE BETWEEN CASE WHEN THEN ELSE END DISTINCT OVER PARTITION ROWS BUFFER "
    "MILLISECOND SECOND MINUTE HOUR DAY CAST TRUE FALSE ASC DESC"
).split()
_WORD = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


def _names(engine: Engine) -> list[str]:
    cat = engine.catalog
    return sorted({*cat.streams, *cat.tables, *cat.memory})


def columns_of(engine: Engine, name: str) -> list[tuple[str, str]]:
    """(column, type or expression) of a stream, table or registered data set."""
    from velostream.plan import describe
    from velostream.sql.parse import parse_statement

    try:
        rows, cols = describe.run(engine, parse_statement(f"DESCRIBE {name}"))
    except Exception:
        return []
    return [(str(r[cols[0]]), str(r[cols[1]])) for r in rows]


def _property_keys() -> list[str]:
    keys: set[str] = set()
    for ctype in (*connectors.SOURCE_TYPES.values(), *connectors.SINK_TYPES.values()):
        keys.update(p.name for p in connectors.all_props(ctype))
    return sorted(keys)


def _in_string(code: str) -> int | None:
    """The offset just after the opening quote when `code` ends inside a '...' string."""
    start = None
    i = 0
    while i < len(code):
        c = code[i]
        if start is None:
            if c == "'":
                start = i + 1
            elif code.startswith("--", i):  # a line comment: skip to its end
                nl = code.find("\n", i)
                i = len(code) if nl < 0 else nl
        elif c == "'":
            if code.startswith("''", i):
                i += 1
            else:
                start = None
        i += 1
    return start


def complete(engine: Engine, code: str, cursor_pos: int) -> dict[str, Any]:
    """A complete_reply: matches for the word (or WITH key) before the cursor."""
    before = code[:cursor_pos]
    quote = _in_string(before)
    matches: list[str] = []
    if quote is not None:
        prefix = before[quote:]
        ahead = before[: quote - 1].rstrip()
        if ahead.endswith("="):  # a value: connector types after `'x.type' =`
            if ahead[:-1].rstrip().lower().endswith(".type'"):
                types = sorted({*connectors.SOURCE_TYPES, *connectors.SINK_TYPES})
                matches = [t for t in types if t.startswith(prefix.lower())]
        else:
            stream, dot, _ = prefix.partition(".")
            keys = _property_keys()
            if dot:  # '<stream>.<key>': the keys every connector declares
                matches = [f"{stream}.{k}" for k in keys if f"{stream}.{k}".startswith(prefix)]
            else:  # a stream name first, then job-level keys
                matches = [n + "." for n in _names(engine) if n.startswith(prefix.lower())]
                matches += [k for k in keys if k.startswith(prefix)]
        return _reply(matches, cursor_pos - len(prefix), cursor_pos)
    start = cursor_pos
    while start > 0 and before[start - 1] in _WORD:
        start -= 1
    prefix = before[start:]
    if "." in prefix:  # alias.column: complete the column part
        start += prefix.rindex(".") + 1
        prefix = prefix[prefix.rindex(".") + 1 :]
    low = prefix.lower()
    if not prefix:
        return _reply([], cursor_pos, cursor_pos)
    fns = sorted({n for n, *_ in functions.catalog()})
    cols: set[str] = set()
    for name in _names(engine):
        cols.update(c for c, _ in columns_of(engine, name))
    typed: dict[str, str] = {}
    for kind, names in (
        ("keyword", KEYWORDS),
        ("function", fns),
        ("stream", _names(engine)),
        ("column", sorted(cols)),
    ):
        for n in names:
            if n.lower().startswith(low) and n not in typed:
                typed[n] = kind
    reply = _reply(list(typed), start, cursor_pos)
    # JupyterLab shows these kinds next to the matches
    reply["metadata"]["_jupyter_types_experimental"] = [
        {"start": start, "end": cursor_pos, "text": n, "type": k}
        | ({"signature": signature(n) or ""} if k == "function" else {})
        for n, k in typed.items()
    ]
    return reply


def signature(name: str) -> str | None:
    """`NAME(arg1, arg2[, arg3 ...])` from a function's arity, or None for an unknown name."""
    fn = functions.lookup(name.upper())
    if fn is None:
        return None
    req = [f"arg{i + 1}" for i in range(fn.min_args)]
    if fn.max_args is None:
        opt = ", ..." if req else "..."
    else:
        extra = [f"arg{i + 1}" for i in range(fn.min_args, fn.max_args)]
        opt = "".join(f"[, {a}]" if req or i else f"[{a}]" for i, a in enumerate(extra))
    return f"{fn.name}({', '.join(req)}{opt})"


def _reply(matches: list[str], start: int, end: int) -> dict[str, Any]:
    return {
        "status": "ok",
        "matches": matches,
        "cursor_start": start,
        "cursor_end": end,
        "metadata": {},
    }


def inspect(engine: Engine, code: str, cursor_pos: int) -> dict[str, Any]:
    """An inspect_reply: a function's kind and description, or a stream's columns."""
    start = end = min(cursor_pos, len(code))
    while start > 0 and code[start - 1] in _WORD:
        start -= 1
    while end < len(code) and code[end] in _WORD:
        end += 1
    word = code[start:end].split(".")[-1]
    reply: dict[str, Any] = {"status": "ok", "found": False, "data": {}, "metadata": {}}
    if not word:
        return reply
    fn = functions.lookup(word.upper())
    if fn is not None:
        kind = type(fn).__name__.replace("Function", "").lower()
        text = f"{signature(fn.name)}  ({kind}, {fn.category})\n{fn.description}"
        reply.update(found=True, data={"text/plain": text})
        return reply
    if word.lower() in _names(engine):
        cols = columns_of(engine, word.lower())
        text = f"{word.lower()}\n" + "\n".join(f"  {c}  {t}" for c, t in cols)
        rows = "".join(
            f"<tr><td>{html.escape(c)}</td><td>{html.escape(t)}</td></tr>" for c, t in cols
        )
        reply.update(
            found=True,
            data={
                "text/plain": text,
                "text/html": f"<b>{html.escape(word.lower())}</b><table>{rows}</table>",
            },
        )
    return reply


def is_complete(code: str) -> dict[str, Any]:
    """complete | incomplete (an open string or statement) | invalid (an error mid-text)."""
    if not code.strip():
        return {"status": "complete"}
    try:
        tokens = tokenize(code)
    except (SqlError, TokenError):
        return {"status": "incomplete", "indent": ""}
    if not tokens or tokens[-1].token_type == TokenType.SEMICOLON:
        return {"status": "complete"}
    if tokens[0].token_type == TokenType.SET or tokens[0].text.upper() == "STOP":
        return {"status": "complete"}  # kernel commands: one line each
    try:
        parse_script(code)
    except SqlError as e:
        last = tokens[-1]
        at_end = e.line is None or (e.line, e.col or 0) >= (last.line, last.col - len(last.text))
        return {"status": "incomplete", "indent": "  "} if at_end else {"status": "invalid"}
    except Exception:
        return {"status": "invalid"}
    return {"status": "complete"}
