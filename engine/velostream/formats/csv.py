"""CSV with a header row: RFC 4180 quoting, values typed per value by inference."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import orjson

from velostream import values

_INT = re.compile(r"-?[0-9]+\Z")
_DECIMAL = re.compile(r"-?[0-9]+\.[0-9]+\Z")
_FLOAT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+\Z")


def infer_value(text: str) -> Any:
    """A CSV field as a typed value: int, Decimal (plain with a point), float (exponent form),
    bool (true/false), None (empty), else the string itself."""
    if text == "":
        return None
    c = text[0]
    if c.isdigit() or c in "+-.":
        if _INT.match(text):
            return int(text)
        if _DECIMAL.match(text):
            return Decimal(text)
        if _FLOAT.match(text):
            return float(text)
        return text
    low = text.lower()
    if low == "true":
        return True
    if low == "false":
        return False
    return text


# Whole columns are typed at once when every value has one form (checked by one regex pass over
# the joined column); otherwise value by value with `infer_value`. Same result either way.
_ALL_INT = re.compile(r"(?:-?[0-9]+\n)*-?[0-9]+")
_ALL_DECIMAL = re.compile(r"(?:-?[0-9]+\.[0-9]+\n)*-?[0-9]+\.[0-9]+")
# A value that is empty, a boolean, or starts like a number (what `infer_value` looks at).
_ANY_SPECIAL = re.compile(r"^(?:[0-9+\-.]|(?:true|false)$|$)", re.I | re.M)


def infer_column(values: list[str]) -> list[Any]:
    """`infer_value` of every value of one column, in bulk where the column allows."""
    if not values:
        return []
    joined = "\n".join(values)
    if joined.count("\n") != len(values) - 1:
        return [infer_value(v) for v in values]  # a value spans lines: no bulk pattern
    if _ALL_INT.fullmatch(joined):
        return list(map(int, values))
    if _ALL_DECIMAL.fullmatch(joined):
        return list(map(Decimal, values))
    if not _ANY_SPECIAL.search(joined):
        return list(values)  # plain text: no digit, sign, point or boolean anywhere
    return [infer_value(v) for v in values]


def split_rows(text: str, delimiter: str = ",", quotechar: str = '"') -> Iterable[list[str]]:
    """The rows of a CSV text (quoted fields may span lines)."""
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quotechar)


def format_value(value: Any) -> str:
    """A value as a CSV field: None/NaN -> empty, Decimal keeps its scale, bool -> true/false."""
    if value is None:
        return ""
    if value.__class__ is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else ""
    if isinstance(value, float):
        return "" if math.isnan(value) or math.isinf(value) else repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return values.to_json_value(value)
    if isinstance(value, dict | list):
        return orjson.dumps(values.to_json_value(value)).decode()
    return str(value)


def format_rows(rows: list[dict[str, Any]], columns: list[str], delimiter: str = ",") -> str:
    """Rows as CSV text (no header), columns in the given order, RFC 4180 quoting."""
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    fmt = format_value
    w.writerows([fmt(r.get(c)) for c in columns] for r in rows)
    return buf.getvalue()


def format_header(columns: list[str], delimiter: str = ",") -> str:
    """The header line for `columns`."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerow(columns)
    return buf.getvalue()
