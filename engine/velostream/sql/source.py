"""A SQL text with fast offset -> (line, column) lookups for error messages."""

from __future__ import annotations

from bisect import bisect_right

from sqlglot.tokens import Token


class SourceText:
    """The whole script text, its path and where each line starts."""

    def __init__(self, text: str, path: str | None = None) -> None:
        self.text = text
        self.path = path
        self.line_starts = [0]
        i = text.find("\n")
        while i >= 0:
            self.line_starts.append(i + 1)
            i = text.find("\n", i + 1)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line break."""
        if line < 1 or line > len(self.line_starts):
            return ""
        start = self.line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start : end if end >= 0 else len(self.text)].rstrip("\r")

    def token_text(self, token: Token) -> str:
        """The token as written (quotes included), cut at its first line break."""
        raw = self.text[token.start : token.end + 1]
        return raw.split("\n", 1)[0]
