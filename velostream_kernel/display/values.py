"""Cell values for display: JSON-safe and readable (exact decimals as text, epoch ms as time)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Collection
from decimal import Decimal
from typing import Any

# Columns that hold epoch milliseconds of event time (the engine's window bounds and times).
TIME_NAMES = ("window_start", "window_end", "_window_start", "_window_end", "_event_time")


def is_time_column(name: str, known: Collection[str] = ()) -> bool:
    """A column whose integers are epoch milliseconds (window bounds, event time): by its name,
    or because the plan says so (`known`, e.g. `_window_end AS session_end`)."""
    n = name.lower()
    return (
        name in known or n in TIME_NAMES or n.endswith("window_start") or n.endswith("window_end")
    )


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as an ISO 8601 UTC time with milliseconds (no offset)."""
    try:
        t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        return str(ms)
    return t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d}"


def is_number(v: Any) -> bool:
    """int, float or Decimal (not bool)."""
    return isinstance(v, int | float | Decimal) and not isinstance(v, bool)


def json_value(v: Any) -> Any:
    """A value as JSON can carry it (Decimal as float for charts, other objects as text)."""
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return str(v)


def cell_text(name: str, v: Any, times: Collection[str] = ()) -> str:
    """One cell as display text."""
    if v is None:
        return "NULL"
    if isinstance(v, int) and not isinstance(v, bool) and is_time_column(name, times):
        return iso_ms(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def cell_html(name: str, v: Any, times: Collection[str] = ()) -> str:
    """One cell as escaped HTML."""
    return html.escape(cell_text(name, v, times))
