"""Helpers every source shares: malformed-record policy, system columns, property values."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from velostream.connectors.base import ErrorStats, Record
from velostream.errors import RecordError
from velostream.formats.event_time import EventTimeError, EventTimeExtractor

MAX_REPORTS = 100  # ErrorStats.reports keeps at most this many

_DURATION = re.compile(
    r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|millis|milliseconds?|seconds?|minutes?|hours?|days?)?\s*\Z",
    re.I,
)
_UNIT_MS = {
    None: 1,
    "ms": 1,
    "millis": 1,
    "millisecond": 1,
    "milliseconds": 1,
    "s": 1000,
    "second": 1000,
    "seconds": 1000,
    "m": 60_000,
    "minute": 60_000,
    "minutes": 60_000,
    "h": 3_600_000,
    "hour": 3_600_000,
    "hours": 3_600_000,
    "d": 86_400_000,
    "day": 86_400_000,
    "days": 86_400_000,
}


def parse_duration_ms(text: str) -> int:
    """Milliseconds of a duration such as '100ms', '30s', '5m', '1h', '1d' (bare number = ms)."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(
            f"not a duration: {text!r} (expected e.g. '500ms', '30s', '5m', '1h', '1d')"
        )
    unit = m.group(2).lower() if m.group(2) else None
    return round(float(m.group(1)) * _UNIT_MS[unit])


def parse_bool(text: str) -> bool:
    """'true'/'false' (also yes/no, 1/0, on/off)."""
    t = text.strip().lower()
    if t in ("true", "yes", "1", "on"):
        return True
    if t in ("false", "no", "0", "off"):
        return False
    raise ValueError(f"not a boolean: {text!r} (expected true or false)")


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


class MalformedPolicy:
    """Counts, reports and then skips, dead-letters or fails on a malformed record."""

    def __init__(
        self,
        source: str,
        errors: ErrorStats,
        on_warning: Callable[[str], None],
        mode: str = "skip",
        dead_letter_path: str | None = None,
    ) -> None:
        self.source = source
        self.errors = errors
        self.on_warning = on_warning
        self.mode = mode
        self.dead_letter_path = dead_letter_path
        if mode == "dead_letter" and not dead_letter_path:
            raise ValueError("on.error = dead_letter needs dead.letter.path")

    def __call__(self, position: str, message: str, raw: str | bytes | None = None) -> None:
        """Handle one malformed record at `position` (e.g. 'in/a.jsonl:3')."""
        self.errors.malformed += 1
        report = f"{position}: {message}"
        if len(self.errors.reports) < MAX_REPORTS:
            self.errors.reports.append(report)
        self.on_warning(f"source {self.source}: {report}")
        if self.mode == "fail":
            raise RecordError(message, position, raw)
        if self.mode == "dead_letter":
            self._dead_letter(position, message, raw)

    def _dead_letter(self, position: str, message: str, raw: str | bytes | None) -> None:
        if isinstance(raw, bytes):
            raw_text: Any = raw.decode("utf-8", "replace")
        elif raw is None or isinstance(raw, str):
            raw_text = raw
        else:
            raw_text = str(raw)
        if isinstance(raw_text, str):
            raw_text = raw_text.rstrip("\r\n")
        entry = {"source": self.source, "position": position, "error": message, "raw": raw_text}
        path = Path(self.dead_letter_path or "")
        if path.parent and not path.parent.exists():
            os.makedirs(path.parent, exist_ok=True)
        with open(path, "ab") as f:
            f.write(orjson.dumps(entry) + b"\n")
        self.errors.dead_lettered += 1


def event_time_extractor(props: dict[str, str]) -> EventTimeExtractor | None:
    """The reader of `event.time.field` (in `event.time.format`), if the source names one."""
    field = props.get("event.time.field")
    return EventTimeExtractor(field, props.get("event.time.format")) if field else None


def malformed_policy(
    name: str, errors: ErrorStats, on_warning: Callable[[str], None], props: dict[str, str]
) -> MalformedPolicy:
    """The `on.error` / `dead.letter.path` handling of a source's malformed records."""
    return MalformedPolicy(
        name,
        errors,
        on_warning,
        props.get("on.error", "skip").lower(),
        props.get("dead.letter.path"),
    )


def stamp_records(
    records: list[Record],
    first_offset: int,
    extractor: EventTimeExtractor | None,
    bad: MalformedPolicy,
    position_of: Callable[[int], str],
    raw_of: Callable[[int], Any] | None = None,
) -> list[Record]:
    """Set the system columns on decoded records; drop (and report) those with a bad event time.

    `position_of(i)` / `raw_of(i)` describe record i for error reports. Offsets count the
    records that are kept, starting at `first_offset`. Returns the kept records.
    """
    read_at = now_ms()
    if extractor is None:
        for i, rec in enumerate(records, first_offset):
            rec["_event_time"] = read_at
            rec["_timestamp"] = read_at
            rec["_offset"] = i
            rec["_partition"] = 0
            rec["_key"] = None
        return records
    fld = extractor.field
    fast_int = extractor.int_is_millis
    kept: list[Record] | None = None
    offset = first_offset
    for idx, rec in enumerate(records):
        v = rec.get(fld)
        try:
            et = v if (fast_int and v.__class__ is int) else extractor(rec)
        except EventTimeError as exc:
            if kept is None:
                kept = records[:idx]
            raw = raw_of(idx) if raw_of else orjson.dumps(rec, default=str)
            bad(position_of(idx), str(exc), raw)
            continue
        rec["_event_time"] = et
        rec["_timestamp"] = read_at
        rec["_offset"] = offset
        rec["_partition"] = 0
        rec["_key"] = None
        offset += 1
        if kept is not None:
            kept.append(rec)
    return kept if kept is not None else records


def frame_with_system_columns(
    frame: Any, first_offset: int, extractor: EventTimeExtractor | None
) -> Any | None:
    """A polars.DataFrame with the system columns the record path would set, or None when its
    event times need the record path (a missing or null field, a format not read in bulk)."""
    import polars as pl

    n = frame.height
    read_at = now_ms()
    if extractor is None:
        event_time = pl.lit(read_at, dtype=pl.Int64)
    else:
        event_time = frame_event_time(frame, extractor)
        if event_time is None:
            return None
    return frame.with_columns(
        event_time.alias("_event_time"),
        pl.lit(read_at, dtype=pl.Int64).alias("_timestamp"),
        pl.int_range(first_offset, first_offset + n, dtype=pl.Int64).alias("_offset"),
        pl.lit(0, dtype=pl.Int64).alias("_partition"),
        pl.lit(None, dtype=pl.Null).alias("_key"),
    )


def frame_event_time(frame: Any, extractor: EventTimeExtractor) -> Any | None:
    """The expression of a frame's event times in ms from the extractor's integer field
    (matched case-insensitively), or None when they need the record path."""
    import polars as pl

    name = extractor.field
    if name not in frame.columns:
        match = [c for c in frame.columns if c.lower() == name.lower()]
        if len(match) != 1:
            return None
        name = match[0]
    col = frame[name]
    if col.dtype not in (pl.Int64, pl.Int32, pl.UInt32, pl.Int16) or col.null_count():
        return None  # strings, floats, decimals: parsed value by value on the record path
    if extractor.int_is_millis:
        return pl.col(name).cast(pl.Int64)
    if extractor.int_is_seconds:
        return pl.col(name).cast(pl.Int64) * 1000
    return None
