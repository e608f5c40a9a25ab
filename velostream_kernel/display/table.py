"""A materialized live result: rows applied as they arrive in append, update or single mode."""

from __future__ import annotations

import html
from collections import deque
from collections.abc import Iterable
from typing import Any

from velostream_kernel.display.values import cell_html, cell_text

MODES = ("append", "update", "single")


class ResultTable:
    """The result a user sees: newest first (append), one row per key (update) or the last row.

    As Zeppelin's `append` / `update` / `single` result modes; `history` bounds the memory.
    """

    def __init__(
        self,
        columns: list[str] | None = None,
        mode: str = "append",
        keys: list[str] | None = None,
        max_rows: int = 50,
        history: int = 1000,
        newest_first: bool = True,
        time_columns: Iterable[str] = (),
    ) -> None:
        self.columns: list[str] = [c for c in (columns or []) if c != "*"]
        self.mode = mode if mode in MODES else "append"
        self.keys = list(keys or [])
        if self.mode == "update" and not self.keys:
            self.mode = "single"
        self.max_rows = max_rows
        self.newest_first = newest_first
        self.time_columns = frozenset(time_columns)  # epoch-ms columns shown as times
        self._rows: deque[dict] = deque(maxlen=history)
        self._by_key: dict[tuple, dict] = {}
        self.total = 0  # rows received

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Apply a batch of output rows."""
        for row in rows:
            self.total += 1
            for c in row:
                if c not in self.columns and not c.startswith("\x00"):
                    self.columns.append(c)
            if self.mode == "update":
                key = tuple(_hashable(row.get(k)) for k in self.keys)
                self._by_key.pop(key, None)  # re-insert: the last-changed key is newest
                self._by_key[key] = row
            else:
                self._rows.append(row)

    def rows(self) -> list[dict]:
        """Every retained row, oldest first (the chart's view)."""
        if self.mode == "update":
            return list(self._by_key.values())
        if self.mode == "single":
            return list(self._rows)[-1:]
        return list(self._rows)

    def shown(self) -> list[dict]:
        """The rows the table shows: newest first (or in result order), capped."""
        rows = self.rows()
        return (list(reversed(rows)) if self.newest_first else rows)[: self.max_rows]

    def html(self) -> str:
        """An HTML table of the shown rows."""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{cell_html(c, r.get(c), self.time_columns)}</td>" for c in self.columns)
            + "</tr>"
            for r in self.shown()
        )
        return (
            '<table class="velo-result"><thead><tr>'
            f"{head}</tr></thead><tbody>{body}</tbody></table>{self._footer_html()}"
        )

    def text(self) -> str:
        """A plain-text table of the shown rows (aligned columns)."""
        cells = [
            [cell_text(c, r.get(c), self.time_columns) for c in self.columns] for r in self.shown()
        ]
        widths = [
            max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(self.columns)
        ]
        lines = [" | ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True))]
        lines.append("-+-".join("-" * w for w in widths))
        lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
        foot = self._footer()
        return "\n".join(lines) + (f"\n{foot}" if foot else "")

    def _footer(self) -> str:
        n = len(self.rows())
        if n > self.max_rows:
            order = ", newest first" if self.newest_first else ""
            return f"showing {self.max_rows} of {n} rows ({self.mode} mode{order})"
        return ""

    def _footer_html(self) -> str:
        foot = self._footer()
        return f'<div class="velo-footer"><small>{html.escape(foot)}</small></div>' if foot else ""


def _hashable(v: Any) -> Any:
    try:
        hash(v)
        return v
    except TypeError:
        return repr(v)
