"""Errors the engine raises, each able to point at the SQL that caused it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from velostream.secrets import mask_text_keep_width


@dataclass
class SqlError(Exception):
    """A problem in a SQL text: where it is, what was found and what was expected.

    ``str(err)`` renders the message, the source line and a caret under the bad token.
    """

    message: str
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based
    token: str | None = None  # the offending token's text
    expected: list[str] = field(default_factory=list)
    source_line: str | None = None  # the line of SQL the error points into
    path: str | None = None  # the file, when known
    kind: str = "syntax"  # syntax | name | property | type | runtime

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def location(self) -> str:
        """`file:line:col` (or the parts that are known)."""
        parts = [self.path or "<sql>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def __str__(self) -> str:
        head = f"{self.location()}: {self.kind} error: {self.message}"
        if self.expected and "expected" not in self.message:
            head += f" (expected {', '.join(self.expected)})"
        if self.source_line is None or self.col is None:
            return head
        caret = " " * (self.col - 1) + "^" * max(1, len(self.token or "") if self.token else 1)
        # the quoted SQL line may hold a password in a WITH clause: never print it
        line = mask_text_keep_width(self.source_line)
        return f"{head}\n  {line}\n  {caret}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for tools (`velo validate --format json`)."""
        return {
            "kind": self.kind,
            "message": self.message,
            "path": self.path,
            "line": self.line,
            "column": self.col,
            "token": self.token,
            "expected": self.expected,
        }


def position_of(node: Any) -> dict[str, int]:
    """`line`/`col` keyword arguments for an error at a sqlglot node, when the parser kept them."""
    ident = getattr(node, "this", None)
    for n in (node, ident):
        meta = getattr(n, "meta", None) if n is not None else None
        if isinstance(meta, dict) and "line" in meta and "col" in meta:
            name = getattr(n, "name", "") or ""
            return {"line": meta["line"], "col": max(1, meta["col"] - len(str(name)) + 1)}
    return {}


class ConfigError(SqlError):
    """A WITH property that is unknown, missing or has a bad value (names the key)."""


class RecordError(Exception):
    """A malformed input record: where it was and what was wrong."""

    def __init__(self, message: str, position: str, raw: str | bytes | None = None) -> None:
        super().__init__(f"{position}: {message}")
        self.message = message
        self.position = position
        self.raw = raw
