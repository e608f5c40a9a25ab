"""A Plotly figure chosen from a result's shape, overridable by `-- @viz*` annotations.

Window start on x -> line (a trace per category); a category and a number -> bar; a single
value -> indicator. The figure is plain Plotly JSON for the `application/vnd.plotly.v1+json`
MIME type, which JupyterLab re-renders in place (Plotly.react) on every update.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from velostream_kernel.display.values import is_number, is_time_column, iso_ms, json_value

PLOTLY_MIME = "application/vnd.plotly.v1+json"
KINDS = ("line", "bar", "indicator", "none", "table")
MAX_POINTS = 500  # per trace: a live chart keeps its most recent points


def _columns(
    columns: list[str], rows: list[dict], times: Collection[str]
) -> tuple[list[str], list[str], list[str]]:
    """(time, category, number) columns, judged from the values present."""
    time_cols, cats, nums = [], [], []
    for c in columns:
        values = [r.get(c) for r in rows if r.get(c) is not None]
        if not values:
            continue
        if is_time_column(c, times) and all(isinstance(v, int) for v in values):
            time_cols.append(c)
        elif all(is_number(v) for v in values):
            nums.append(c)
        elif all(isinstance(v, str) for v in values):
            cats.append(c)
    return time_cols, cats, nums


def choose_figure(
    columns: list[str],
    rows: list[dict],
    hints: dict[str, str] | None = None,
    title: str = "",
    time_columns: Collection[str] = (),
) -> dict[str, Any] | None:
    """The figure for these rows (oldest first), or None when no chart fits or `@viz: none`."""
    hints = hints or {}
    if not rows:
        return None
    kind = (hints.get("viz") or "").strip().lower()
    if kind in ("none", "table"):
        return None
    time_cols, cats, nums = _columns(columns, rows, time_columns)
    want_y = [c.strip() for c in hints.get("viz_y", "").split(",") if c.strip()]
    ys = [c for c in want_y if c in columns] or nums[:1]
    x = (hints.get("viz_x") or "").strip()
    if x not in columns:
        x = ""
    if not kind:
        if time_cols and ys:
            kind = "line"
        elif cats and ys and _one_row_per(rows, cats[0]):
            kind = "bar"  # a value per category (raw rows that repeat a category are no bar)
        elif len(rows) == 1 and len(nums) == 1 and not cats:
            kind = "indicator"
        else:
            return None
    if not ys:
        return None
    if kind == "indicator":
        value = json_value(rows[-1].get(ys[0]))
        data = [{"type": "indicator", "mode": "number", "value": value, "title": {"text": ys[0]}}]
        return _figure(data, title, height=200)
    if not x:
        x = (time_cols or [""])[0] if kind == "line" else (cats or time_cols or [""])[0]
    if not x:
        return None
    series = [c for c in cats if c != x][:1]
    data = _traces(kind, rows, x, ys, series[0] if series else None, set(time_cols))
    fig = _figure(data, title)
    fig["layout"]["xaxis"] = {"title": {"text": x}}
    fig["layout"]["yaxis"] = {"title": {"text": ", ".join(ys)}}
    if kind == "bar" and len(data) > 1:
        fig["layout"]["barmode"] = "group"
    return fig


def _one_row_per(rows: list[dict], col: str) -> bool:
    values = [r.get(col) for r in rows]
    return len(set(values)) == len(values)


def _x_value(x: str, v: Any, times: Collection[str]) -> Any:
    if isinstance(v, int) and is_time_column(x, times):
        return iso_ms(v)
    return json_value(v)


def _traces(
    kind: str, rows: list[dict], x: str, ys: list[str], series: str | None, times: set[str]
) -> list[dict]:
    groups: dict[Any, list[dict]] = {}
    for r in rows:
        groups.setdefault(r.get(series) if series else None, []).append(r)
    traces = []
    for key in sorted(groups, key=lambda k: (k is None, str(k))):
        members = groups[key]
        if kind == "bar":  # one bar per x: the latest row wins (update mode rows arrive so)
            latest = {r.get(x): r for r in members}
            members = list(latest.values())
        else:
            members = sorted(members, key=lambda r: (r.get(x) is None, r.get(x) or 0))
        members = members[-MAX_POINTS:]
        for y in ys:
            name = " ".join(str(p) for p in (key, y if len(ys) > 1 else None) if p is not None)
            trace = {
                "type": "bar" if kind == "bar" else "scatter",
                "x": [_x_value(x, r.get(x), times) for r in members],
                "y": [json_value(r.get(y)) for r in members],
                "name": name or y,
            }
            if kind == "line":
                trace["mode"] = "lines+markers"
            traces.append(trace)
    return traces


def _figure(data: list[dict], title: str, height: int = 340) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 50, "r": 20, "t": 40 if title else 20, "b": 40},
        "uirevision": "velo",  # keep the user's zoom across live updates
    }
    if title:
        layout["title"] = {"text": title}
    return {"data": data, "layout": layout}
