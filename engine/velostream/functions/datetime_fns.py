"""Date/time functions: NOW, CURRENT_TIMESTAMP, TIMESTAMP, EXTRACT, DATE_FORMAT, DATEDIFF, ...

A timestamp argument may be an int epoch-ms (the system columns), a datetime or an ISO string.
NOW() and CURRENT_TIMESTAMP return int epoch milliseconds, as Velostream does, so that
``NOW() - _event_time`` is a lag in milliseconds.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from velostream.errors import SqlError
from velostream.functions.registry import register_scalar
from velostream.values import EPOCH, to_datetime, to_epoch_ms, to_string, type_name


def now() -> int:
    """NOW(): the current wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def timestamp_(value: Any = None) -> Any:
    """TIMESTAMP(x): x as a TIMESTAMP. TIMESTAMP() with no argument is the record's timestamp.

    The planner compiles ``TIMESTAMP()`` to the record's ``_timestamp`` column (Velostream's
    meaning); called directly without an argument this falls back to the current time (ms).
    """
    if value is None:
        return now()
    return to_datetime(value)


def _part_name(part: Any) -> str:
    # A part may arrive as the SQL text of a quoted literal ("'YEAR'"): take it unquoted.
    return (part if type(part) is str else to_string(part)).strip().strip("'\"").upper()


def _extract_epoch_ms(v: Any) -> int:
    return v if type(v) is int else to_epoch_ms(v)


def extract(part: Any, ts: Any) -> int:
    """EXTRACT(part FROM ts) as EXTRACT(part, ts): an integer field of the timestamp (UTC)."""
    name = _part_name(part)
    if name == "EPOCH":
        return _extract_epoch_ms(ts) // 1000
    dt = to_datetime(ts)
    if name == "YEAR" or name == "YEARS":
        return dt.year
    if name == "MONTH" or name == "MONTHS":
        return dt.month
    if name in ("DAY", "DAYS", "DAYOFMONTH"):
        return dt.day
    if name == "HOUR" or name == "HOURS":
        return dt.hour
    if name == "MINUTE" or name == "MINUTES":
        return dt.minute
    if name == "SECOND" or name == "SECONDS":
        return dt.second
    if name == "DOW" or name == "DAYOFWEEK":
        return dt.isoweekday() % 7  # 0 = Sunday .. 6 = Saturday
    if name == "DOY" or name == "DAYOFYEAR":
        return dt.timetuple().tm_yday
    if name == "WEEK" or name == "WEEKS":
        return dt.isocalendar().week
    if name == "QUARTER":
        return (dt.month - 1) // 3 + 1
    if name in ("MILLISECOND", "MILLISECONDS"):
        return dt.microsecond // 1000
    if name in ("MICROSECOND", "MICROSECONDS"):
        return dt.microsecond
    if name in ("NANOSECOND", "NANOSECONDS"):
        return dt.microsecond * 1000
    raise SqlError(
        f"EXTRACT: unknown part {part!r} (expected YEAR, MONTH, DAY, HOUR, MINUTE, SECOND, DOW, "
        "DOY, WEEK, QUARTER, EPOCH, MILLISECOND, MICROSECOND or NANOSECOND)",
        kind="runtime",
    )


def date_format(ts: Any, pattern: Any) -> str:
    """DATE_FORMAT(ts, pattern): strftime-style formatting ('%Y-%m-%d %H:%M:%S')."""
    return to_datetime(ts).strftime(pattern if type(pattern) is str else to_string(pattern))


_MS_UNITS = {
    "MS": 1,
    "MILLISECOND": 1,
    "MILLISECONDS": 1,
    "SECOND": 1000,
    "SECONDS": 1000,
    "MINUTE": 60_000,
    "MINUTES": 60_000,
    "HOUR": 3_600_000,
    "HOURS": 3_600_000,
}


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return q if a >= 0 else -q


def datediff(unit: Any, start: Any, end: Any) -> int:
    """DATEDIFF(unit, start, end): end - start in whole units.

    ms/seconds/minutes/hours count elapsed time (truncated toward zero); days, weeks, months,
    quarters and years count calendar boundaries crossed (days: date difference; weeks: days / 7
    truncated).
    """
    name = _part_name(unit)
    step = _MS_UNITS.get(name)
    if step is not None:
        return _trunc_div(_extract_epoch_ms(end) - _extract_epoch_ms(start), step)
    a, b = to_datetime(start), to_datetime(end)
    if name in ("DAY", "DAYS"):
        return (b.date() - a.date()).days
    if name in ("WEEK", "WEEKS"):
        return _trunc_div((b.date() - a.date()).days, 7)
    if name in ("MONTH", "MONTHS"):
        return (b.year - a.year) * 12 + (b.month - a.month)
    if name in ("QUARTER", "QUARTERS"):
        return (b.year - a.year) * 4 + ((b.month - 1) // 3 - (a.month - 1) // 3)
    if name in ("YEAR", "YEARS"):
        return b.year - a.year
    raise SqlError(
        f"DATEDIFF: unknown unit {unit!r} (expected ms, seconds, minutes, hours, days, weeks, "
        "months, quarters or years)",
        kind="runtime",
    )


def _size_ms(size: Any, func: str) -> int:
    t = type(size)
    if t is int and size > 0:
        return size
    if isinstance(size, timedelta) and size > timedelta(0):
        return to_epoch_ms(EPOCH + size)
    if t is Decimal and size.is_finite() and size > 0 and size == size.to_integral_value():
        return int(size)
    if t is float and math.isfinite(size) and size > 0 and size.is_integer():
        return int(size)
    raise SqlError(
        f"{func} needs a positive window size in milliseconds, got {type_name(size)} {size!r}",
        kind="runtime",
    )


def _window_args(func: str, ts: Any, size: Any) -> None:
    if ts is None or size is None:
        column = "_window_start" if func == "TUMBLE_START" else "_window_end"
        raise SqlError(
            f"{func}() without (ts, size_ms) is the row's {column}: the planner compiles it so",
            kind="runtime",
        )


def tumble_start(ts: Any = None, size: Any = None) -> Any:
    """TUMBLE_START(ts, size_ms): start of the epoch-aligned tumbling window holding ts.

    An int epoch-ms gives an int; a datetime or string gives a TIMESTAMP. (Without arguments
    the planner compiles TUMBLE_START() to the row's ``_window_start``.)
    """
    _window_args("TUMBLE_START", ts, size)
    step = _size_ms(size, "TUMBLE_START")
    ms = _extract_epoch_ms(ts)
    start = ms - ms % step  # Python's % floors: aligned to the epoch for negative times too
    return start if type(ts) is int else to_datetime(start)


def tumble_end(ts: Any = None, size: Any = None) -> Any:
    """TUMBLE_END(ts, size_ms): end (exclusive) of the tumbling window holding ts."""
    _window_args("TUMBLE_END", ts, size)
    step = _size_ms(size, "TUMBLE_END")
    ms = _extract_epoch_ms(ts)
    end = ms - ms % step + step
    return end if type(ts) is int else to_datetime(end)


def from_unixtime(seconds: Any) -> datetime:
    """FROM_UNIXTIME(seconds): a TIMESTAMP from epoch seconds (fractions kept to the microsecond)."""
    t = type(seconds)
    try:
        if t is int:
            return EPOCH + timedelta(seconds=seconds)
        if t is float or t is Decimal:
            return EPOCH + timedelta(microseconds=round(seconds * 1_000_000))
    except (OverflowError, ValueError, ArithmeticError):
        raise SqlError(f"FROM_UNIXTIME: {seconds!r} is out of range", kind="runtime") from None
    raise SqlError(
        f"FROM_UNIXTIME needs epoch seconds, got {type_name(seconds)} {seconds!r}", kind="type"
    )


def unix_timestamp(ts: Any = None) -> int:
    """UNIX_TIMESTAMP([ts]): epoch seconds of ts (floored), or of now."""
    if ts is None:
        return time.time_ns() // 1_000_000_000
    return _extract_epoch_ms(ts) // 1000


register_scalar(
    "NOW", now, 0, 0, "datetime", "Current time, epoch milliseconds.", deterministic=False
)
register_scalar(
    "CURRENT_TIMESTAMP",
    now,
    0,
    0,
    "datetime",
    "Current time, epoch milliseconds (as NOW()).",
    deterministic=False,
)
register_scalar(
    "TIMESTAMP",
    timestamp_,
    0,
    1,
    "datetime",
    "TIMESTAMP(): the record's timestamp; TIMESTAMP(x): x (epoch ms or ISO text) as a TIMESTAMP.",
    deterministic=False,
)
register_scalar(
    "EXTRACT",
    extract,
    2,
    2,
    "datetime",
    "EXTRACT(part FROM ts): YEAR, MONTH, DAY, HOUR, MINUTE, SECOND, DOW, DOY, WEEK, QUARTER, "
    "EPOCH, MILLISECOND, ...",
)
register_scalar(
    "DATE_FORMAT", date_format, 2, 2, "datetime", "Format a timestamp: DATE_FORMAT(ts, '%Y-%m-%d')."
)
register_scalar(
    "DATEDIFF",
    datediff,
    3,
    3,
    "datetime",
    "DATEDIFF(unit, start, end): end - start in ms, seconds, ..., days, months or years.",
)
register_scalar(
    "TUMBLE_START",
    tumble_start,
    0,
    2,
    "datetime",
    "TUMBLE_START(ts, size_ms): start of the tumbling window holding ts.",
)
register_scalar(
    "TUMBLE_END",
    tumble_end,
    0,
    2,
    "datetime",
    "TUMBLE_END(ts, size_ms): end of the tumbling window holding ts.",
)
register_scalar("FROM_UNIXTIME", from_unixtime, 1, 1, "datetime", "TIMESTAMP from epoch seconds.")
register_scalar(
    "UNIX_TIMESTAMP",
    unix_timestamp,
    0,
    1,
    "datetime",
    "Epoch seconds of a timestamp (or of now).",
    deterministic=False,
)
