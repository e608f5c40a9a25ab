"""Event time: read a record's event-time field as epoch milliseconds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

EPOCH_MILLIS = "epoch_millis"
EPOCH_SECONDS = "epoch_seconds"
ISO8601 = "iso8601"

# Spellings accepted for `event.time.format`; anything else must be a strftime pattern (has '%').
FORMAT_ALIASES = {
    "epoch_millis": EPOCH_MILLIS,
    "epoch_ms": EPOCH_MILLIS,
    "millis": EPOCH_MILLIS,
    "epoch_seconds": EPOCH_SECONDS,
    "epoch_secs": EPOCH_SECONDS,
    "epoch": EPOCH_SECONDS,
    "seconds": EPOCH_SECONDS,
    "iso8601": ISO8601,
    "iso": ISO8601,
    "iso_8601": ISO8601,
}

_UTC = dt.UTC
_EPOCH_NAIVE = dt.datetime(1970, 1, 1)


class EventTimeError(ValueError):
    """The event-time value is missing or cannot be read in the declared format."""


def normalize_format(fmt: str | None) -> str | None:
    """The canonical format name, the strftime pattern itself, or None (infer per value)."""
    if fmt is None or fmt == "":
        return None
    canon = FORMAT_ALIASES.get(fmt.strip().lower())
    if canon is not None:
        return canon
    if "%" in fmt:
        return fmt
    raise ValueError(
        f"unknown event time format {fmt!r} "
        "(expected epoch_millis, epoch_seconds, iso8601 or a strftime pattern such as '%Y-%m-%d %H:%M:%S')"
    )


def datetime_to_millis(value: dt.datetime) -> int:
    """Epoch ms of a datetime; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        delta = value - _EPOCH_NAIVE
    else:
        delta = value.astimezone(_UTC).replace(tzinfo=None) - _EPOCH_NAIVE
    # Integer arithmetic on the timedelta keeps milliseconds exact (no float rounding).
    return (delta.days * 86_400_000) + (delta.seconds * 1000) + (delta.microseconds // 1000)


def parse_iso8601(text: str) -> int:
    """Epoch ms of an ISO 8601 timestamp, with or without `Z` / an offset (none = UTC)."""
    s = text.strip()
    if s.endswith("z"):
        s = s[:-1] + "Z"  # a lower-case zone designator is still UTC
    try:
        value = dt.datetime.fromisoformat(s)
    except ValueError:
        raise EventTimeError(f"not an ISO 8601 timestamp: {text!r}") from None
    return datetime_to_millis(value)


def _numeric(value: Any, scale: int) -> int:
    """Epoch ms of a number of seconds (scale 1000) or milliseconds (scale 1)."""
    if isinstance(value, bool):
        raise EventTimeError(f"not a timestamp: {value!r}")
    if isinstance(value, int):
        return value * scale
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise EventTimeError(f"not a timestamp: {value!r}")
        return round(value * scale)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise EventTimeError(f"not a timestamp: {value!r}")
        return int((value * scale).to_integral_value())
    if isinstance(value, str):
        s = value.strip()
        try:
            return int(s) * scale
        except ValueError:
            pass
        try:
            return _numeric(Decimal(s), scale)
        except ArithmeticError:
            raise EventTimeError(f"not a number: {value!r}") from None
    if isinstance(value, dt.datetime):
        return datetime_to_millis(value)
    raise EventTimeError(f"not a timestamp: {value!r}")


def _auto(value: Any) -> int:
    """Infer: numbers are epoch ms, strings ISO 8601 (or digits = epoch ms), datetimes as such."""
    if isinstance(value, str):
        s = value.strip()
        if s.isdigit():
            return int(s)
        return parse_iso8601(s)
    if isinstance(value, dt.datetime):
        return datetime_to_millis(value)
    if isinstance(value, dt.date):
        return datetime_to_millis(dt.datetime(value.year, value.month, value.day))
    return _numeric(value, 1)


def make_parser(fmt: str | None) -> Callable[[Any], int]:
    """A function value -> epoch ms for `event.time.format` (raises EventTimeError)."""
    canon = normalize_format(fmt)
    if canon is None:
        return _auto
    if canon == EPOCH_MILLIS:
        return lambda v: v if v.__class__ is int else _numeric(v, 1)
    if canon == EPOCH_SECONDS:
        return lambda v: _numeric(v, 1000)
    if canon == ISO8601:

        def iso(v: Any) -> int:
            if isinstance(v, str):
                return parse_iso8601(v)
            if isinstance(v, dt.datetime):
                return datetime_to_millis(v)
            raise EventTimeError(f"not an ISO 8601 timestamp: {v!r}")

        return iso
    pattern = canon

    def strptime(v: Any) -> int:
        if isinstance(v, dt.datetime):
            return datetime_to_millis(v)
        if not isinstance(v, str):
            raise EventTimeError(f"expected a string in format {pattern!r}, got {v!r}")
        try:
            return datetime_to_millis(dt.datetime.strptime(v.strip(), pattern))
        except ValueError:
            raise EventTimeError(f"{v!r} does not match format {pattern!r}") from None

    return strptime


class EventTimeExtractor:
    """Reads `event.time.field` of a record in `event.time.format` as epoch ms."""

    def __init__(self, field: str, fmt: str | None = None) -> None:
        self.field = field
        self.parse = make_parser(fmt)
        canon = normalize_format(fmt)
        # An int in epoch ms (the default for integers) is its own event time: the hot path.
        self.int_is_millis = canon in (None, EPOCH_MILLIS)
        self.int_is_seconds = canon == EPOCH_SECONDS

    def __call__(self, record: dict[str, Any]) -> int:
        """The record's event time in epoch ms (raises EventTimeError)."""
        value = record.get(self.field)
        if value is None and self.field not in record:
            # Field names are case-insensitive in SQL; accept a differently cased key.
            low = self.field.lower()
            for k in record:
                if k.lower() == low:
                    value = record[k]
                    break
        if value is None:
            if self.field in record:
                raise EventTimeError(f"event time field {self.field!r} is null")
            raise EventTimeError(f"event time field {self.field!r} is missing")
        try:
            return self.parse(value)
        except EventTimeError as exc:
            raise EventTimeError(f"event time field {self.field!r}: {exc}") from None
        except (OverflowError, ValueError, ArithmeticError) as exc:
            raise EventTimeError(f"event time field {self.field!r}: {exc}") from None
