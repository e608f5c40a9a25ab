"""One live result on screen: a status line, a table and a chart, each a display updated in
place (`display_id`), throttled to `interval` seconds so a fast query costs a few messages/s."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

from velostream_kernel.display.chart import PLOTLY_MIME, choose_figure
from velostream_kernel.display.status import status_fields, status_html, status_text
from velostream_kernel.display.table import ResultTable

# publish(msg_type, data, display_id, metadata): msg_type is display_data or update_display_data
Publisher = Callable[[str, dict[str, Any], str, dict[str, Any]], None]

_ids = itertools.count(1)


class LiveResult:
    """The displays of one result (a SELECT or a job): status, table, chart."""

    def __init__(
        self,
        publish: Publisher,
        table: ResultTable | None,
        job: Any = None,
        hints: dict[str, str] | None = None,
        title: str = "",
        interval: float = 0.5,
        chart: bool = True,
        timing: bool = True,
        label: str | None = None,
    ) -> None:
        self.publish = publish
        self.table = table
        self.job = job
        self.hints = hints or {}
        self.title = title
        self.interval = interval
        self.chart = chart
        self.timing = timing  # False: no wall-clock numbers (bounded runs repeat exactly)
        self.label = label  # the status line's name for the query (default: the job's)
        self.note = ""
        base = f"velo-{int(time.time() * 1000):x}-{next(_ids)}"
        self.ids = {k: f"{base}-{k}" for k in ("status", "table", "chart")}
        self._shown: set[str] = set()
        self._dirty = True
        self._last = 0.0
        self._last_status: str | None = None
        self.updates = 0  # update_display_data messages sent (for the measurements)

    def add_rows(self, rows: list[dict]) -> None:
        """Apply a batch of output rows (shown at the next flush)."""
        if self.table is not None:
            self.table.add(rows)
            self._dirty = True

    def tick(self) -> None:
        """Flush if the interval has passed since the last one."""
        if time.monotonic() - self._last >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Send what changed since the last flush."""
        self._last = time.monotonic()
        if self.job is not None:
            f = status_fields(self.job, self.note, self.timing, self.label)
            text = status_text(f)
            if text != self._last_status:
                self._last_status = text
                self._send("status", {"text/plain": text, "text/html": status_html(f)}, f)
        if self.table is None or not self._dirty:
            return
        self._dirty = False
        t = self.table
        self._send("table", {"text/plain": t.text(), "text/html": t.html()})
        if self.chart:
            fig = choose_figure(t.columns, t.rows(), self.hints, self.title, t.time_columns)
            if fig is not None:
                self._send("chart", {PLOTLY_MIME: fig, "text/plain": _chart_text(fig)})

    def _send(self, part: str, data: dict[str, Any], meta: dict[str, Any] | None = None) -> None:
        did = self.ids[part]
        kind = "update_display_data" if did in self._shown else "display_data"
        if kind == "update_display_data":
            self.updates += 1
            if PLOTLY_MIME in data:
                # JupyterLab's Plotly renderer ignores new data for a chart it has drawn; a
                # display whose MIME type changes gets a fresh renderer, so pass through text.
                self.publish(kind, {"text/plain": data.get("text/plain", "")}, did, {})
        self._shown.add(did)
        self.publish(kind, data, did, {"velostream": meta} if meta else {})


def _chart_text(fig: dict[str, Any]) -> str:
    kinds = sorted({d.get("type", "?") for d in fig["data"]})
    return f"<plotly chart: {', '.join(kinds)}, {len(fig['data'])} trace(s)>"


def static_table(rows: list[dict], columns: list[str], max_rows: int = 1000) -> dict[str, Any]:
    """A MIME bundle for a finished result (SHOW, DESCRIBE, EXPLAIN)."""
    if columns == ["plan"]:  # EXPLAIN reads best as indented text
        text = "\n".join(str(r.get("plan", "")) for r in rows)
        return {"text/plain": text, "text/html": f"<pre>{_esc(text)}</pre>"}
    t = ResultTable(columns, "append", max_rows=max_rows, history=max(len(rows), 1))
    t.newest_first = False  # a finished result reads top-down in its own order
    t.add(rows)
    return {"text/plain": t.text(), "text/html": t.html()}


def _esc(s: str) -> str:
    import html

    return html.escape(s)
