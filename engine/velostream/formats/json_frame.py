"""JSON lines straight to a Polars DataFrame, only when that gives exactly the values the
record path (orjson per line) gives; otherwise None, and the caller decodes records instead.

Polars infers the schema from the first rows and then coerces or drops what does not fit (a
number under a string column becomes text, a key first seen late is dropped, of a duplicate
key the first wins). Counting key occurrences in the raw bytes proves none of that happened:
for every column `k`, each `"k":` in the input must be a value the frame holds (non-null, or an
explicit `null`), and together the columns must account for every `":` in the input.
"""

from __future__ import annotations

import io
import re

import polars as pl

_DECIMAL_PATTERN = r"^-?[0-9]+\.[0-9]+$"
_EXACT_TYPES = (pl.Int64, pl.Boolean, pl.Null)
_SPACED_COLON = (b'" :', b'"\t:')


def _count_after_key(raw: bytes, key: bytes, value_start: bytes) -> int:
    """How often `key` is followed by `value_start`, with no space or one space after the
    colon (as json.dumps writes); other spacing undercounts, and the caller then declines."""
    return raw.count(key + b":" + value_start) + raw.count(key + b": " + value_start)


def jsonl_frame(raw: bytes) -> pl.DataFrame | None:
    """Complete JSON lines as a DataFrame with exact record-path values, or None to decline.

    Columns: Int64 (JSON integers), Float64 (JSON numbers with a fraction, when none is
    integral), Boolean, String, Decimal(38, s) (decimal strings, when all share the scale s),
    Null. Declined: malformed lines, nested values, mixed kinds in a column, integers beyond
    64 bits, decimal strings of several scales or among other strings, keys written with
    escapes or with space before the colon (space after it, as json.dumps writes, is fine).
    """
    if not raw or raw.isspace() or any(s in raw for s in _SPACED_COLON):
        return None
    try:
        frame = pl.read_ndjson(io.BytesIO(raw))
    except Exception:  # malformed or mixed input of any kind: the record path handles it
        return None
    accounted = 0
    exprs = []
    for name, dtype in frame.schema.items():
        col = frame[name]
        key = b'"' + name.encode() + b'"'
        if b"\\" in key or name.count('"'):
            return None
        occurrences = raw.count(key + b":")
        nulls = col.null_count()
        explicit_nulls = _count_after_key(raw, key, b"null") if nulls else 0
        non_null = len(col) - nulls
        if occurrences != non_null + explicit_nulls:
            return None  # a value Polars dropped, a duplicate key, or the key nested somewhere
        accounted += occurrences
        if dtype in _EXACT_TYPES:
            continue
        if dtype == pl.Float64:
            vals = col.drop_nulls()
            if len(vals) and (vals == vals.floor()).any():
                # An integral value: a JSON integer (an int on the record path) or `2.0`?
                integer = re.compile(re.escape(key) + rb":\s*-?[0-9]+[,}\s]")
                if integer.search(raw):
                    return None
            continue
        if dtype != pl.String:
            return None  # nested values, 128-bit integers, ...
        if _count_after_key(raw, key, b'"') != non_null:
            return None  # some values were numbers or booleans that Polars turned into text
        vals = col.drop_nulls()
        n_dec = int(vals.str.contains(_DECIMAL_PATTERN).sum())
        if n_dec == 0:
            continue
        if n_dec != len(vals):
            return None  # decimals among other strings: the record path mixes Decimal and str
        point = vals.str.find(".", literal=True)
        scales = (vals.str.len_bytes() - point - 1).unique()
        if len(scales) != 1:
            return None  # each decimal keeps its own scale on the record path
        scale = int(scales[0])
        if int(point.max() or 0) + scale > 38:  # digits (and a sign) beyond decimal128
            return None
        exprs.append(pl.col(name).str.to_decimal(scale=scale).alias(name))
    if accounted != raw.count(b'":'):
        return None  # a key the inferred schema does not have (Polars dropped it)
    if exprs:
        frame = frame.with_columns(exprs)
    return frame
