"""JSON values in and out: decoding with exact decimals, encoding that keeps decimal scale."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import orjson

from velostream import values

# A JSON string that is a plain decimal number with a point ("123.45", "-0.5"; not "100", not
# "1e5") is read as an exact DECIMAL with its own scale (SEMANTICS.md, Values).
_DECIMAL_TEXT = re.compile(r"-?[0-9]+\.[0-9]+\Z")
# A whole column of decimal strings joined by newlines.
_ALL_DECIMAL_LINES = re.compile(r"(?:-?[0-9]+\.[0-9]+\n)*-?[0-9]+\.[0-9]+")
# An upper bound on the decimal strings in raw bytes: every one ends in `.<digits>"`. This
# pattern starts with a literal, which the regex engine scans for quickly.
_DECIMAL_TAIL_BYTES = re.compile(rb'\.[0-9]+"')


def infer_decimal(text: str) -> Decimal | None:
    """The Decimal a plain decimal string stands for (keeping its scale), else None."""
    return values.infer_decimal(text)


def is_decimal_text(text: str) -> bool:
    """True when a string is a plain decimal number with a point."""
    return _DECIMAL_TEXT.match(text) is not None


def _convert_all(records: list[dict[str, Any]]) -> None:
    """Convert every top-level decimal-looking string value of every record (exact, slower)."""
    match = _DECIMAL_TEXT.match
    for rec in records:
        for k, v in rec.items():
            if v.__class__ is str and match(v):
                rec[k] = Decimal(v)


def convert_batch_decimals(records: list[dict[str, Any]], raw: bytes) -> None:
    """Make top-level decimal strings of records decoded from `raw` exact Decimals, in place.

    Fast path: the keys holding decimal strings in the first records are converted column by
    column; the number converted is checked against a count of decimal-looking strings in the
    raw bytes, and any shortfall (a key that only later holds such a string) falls back to a
    full scan, so nothing is missed (a string such as "v1.2" also counts, costing only speed).
    """
    if not records or b"." not in raw:
        return
    expected = len(_DECIMAL_TAIL_BYTES.findall(raw))
    if expected == 0:
        return
    match = _DECIMAL_TEXT.match
    keys: set[str] = set()
    for rec in records[:64]:
        for k, v in rec.items():
            if v.__class__ is str and match(v):
                keys.add(k)
    converted = 0
    for key in keys:
        values_ = [rec.get(key) for rec in records]
        try:
            joined = "\n".join(values_)  # TypeError when some value is not a string
        except TypeError:
            joined = None
        if (
            joined is not None
            and joined.count("\n") == len(values_) - 1
            and _ALL_DECIMAL_LINES.fullmatch(joined)
        ):
            # Every value of this key is a decimal string (one regex pass proves it).
            for rec, d in zip(records, map(Decimal, values_), strict=True):
                rec[key] = d
            converted += len(records)
            continue
        for rec, v in zip(records, values_, strict=True):
            if v.__class__ is str and match(v):
                rec[key] = Decimal(v)
                converted += 1
    if converted < expected:
        _convert_all(records)


def to_json_value(value: Any) -> Any:
    """A Python value as a JSON-ready value: Decimal -> scale-keeping string, NaN -> None."""
    return values.to_json_value(value)


def _default(value: Any) -> Any:
    """orjson's hook for the types it leaves to us (Decimal, datetimes, ...)."""
    out = values.to_json_value(value)
    if out is value:  # a type the value module does not know
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        if isinstance(value, set | frozenset):
            return list(value)
        return str(value)
    return out


_DUMPS_OPTS = orjson.OPT_PASSTHROUGH_DATETIME  # datetimes go through values.to_json_value


def dumps_row(row: dict[str, Any]) -> bytes:
    """One row as compact JSON bytes (no newline). NaN and infinities become null."""
    return orjson.dumps(row, default=_default, option=_DUMPS_OPTS)


_SYSTEM = frozenset(
    ("_timestamp", "_event_time", "_key", "_partition", "_offset", "_window_start", "_window_end")
)


def shape_row(r: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """`r` with the `columns` first, in order (missing ones NULL), then its other fields."""
    if len(r) == len(columns) and list(r) == columns:
        return r
    d = {c: r.get(c) for c in columns}
    for k, v in r.items():
        if k not in d and k not in _SYSTEM:
            d[k] = v
    return d


def dumps_rows_jsonl(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    """Rows as JSON lines: keys in `columns` order, a missing column as null, then any other
    field the row has (rows of `SELECT *` over schemaless input differ from row to row)."""
    dumps = orjson.dumps
    default = _default
    if not rows:
        return b""
    opts = _DUMPS_OPTS
    out = [dumps(shape_row(r, columns), default=default, option=opts) for r in rows]
    out.append(b"")
    return b"\n".join(out)
