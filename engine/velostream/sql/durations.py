"""Time-span units of the dialect (``5m``, ``INTERVAL '5' MINUTE``) and their canonical spelling."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

# Milliseconds per unit. Shorthand suffixes follow Velostream (ns, us/μs, ms, s, m, h, d, w).
SHORT_UNITS: dict[str, Decimal] = {
    "ns": Decimal("0.000001"),
    "us": Decimal("0.001"),
    "μs": Decimal("0.001"),
    "ms": Decimal(1),
    "s": Decimal(1000),
    "m": Decimal(60_000),
    "h": Decimal(3_600_000),
    "d": Decimal(86_400_000),
    "w": Decimal(604_800_000),
}

_LONG_BASE: dict[str, Decimal] = {
    "NANOSECOND": SHORT_UNITS["ns"],
    "MICROSECOND": SHORT_UNITS["us"],
    "MILLISECOND": SHORT_UNITS["ms"],
    "SECOND": SHORT_UNITS["s"],
    "MINUTE": SHORT_UNITS["m"],
    "HOUR": SHORT_UNITS["h"],
    "DAY": SHORT_UNITS["d"],
    "WEEK": SHORT_UNITS["w"],
}

# Upper-case unit words, singular and plural (INTERVAL '5' MINUTES is accepted as in Velostream).
LONG_UNITS: dict[str, Decimal] = {
    **_LONG_BASE,
    **{f"{name}S": ms for name, ms in _LONG_BASE.items()},
}

SHORT_UNIT_NAMES = ["ms", "s", "m", "h", "d", "w"]
LONG_UNIT_NAMES = ["MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK"]

# Largest first: the canonical shorthand uses the biggest unit that divides the span exactly.
_CANONICAL = [("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]


def unit_millis(unit: str) -> Decimal | None:
    """Milliseconds in one `unit` (shorthand is case-sensitive-free, long names any case)."""
    short = SHORT_UNITS.get(unit.lower())
    if short is not None:
        return short
    return LONG_UNITS.get(unit.upper())


def to_millis(amount: str, unit: str) -> int | None:
    """`amount` `unit` as whole milliseconds; None if not a number, unknown unit or sub-ms."""
    per = unit_millis(unit)
    if per is None:
        return None
    try:
        total = Decimal(amount) * per
    except InvalidOperation:
        return None
    if total != total.to_integral_value():
        return None
    return int(total)


def format_millis(ms: int) -> str:
    """The canonical shorthand for a span: ``300000`` -> ``5m``, ``1500`` -> ``1500ms``."""
    if ms > 0:
        for suffix, size in _CANONICAL:
            if ms % size == 0:
                return f"{ms // size}{suffix}"
    return f"{ms}ms"
