"""JSON lines straight to a Polars DataFrame, only when that gives exactly the values the
record path (orjson per line) gives; otherwise None, and the caller decodes records instead.

Polars infers the schema from the first rows and then coerces or drops what does not fit (a
number under a string column becomes text, a key first seen late is dropped, of a duplicate
key the first wins). Counting key occurrences in the raw bytes proves none of that happened:
for every column `k`, each `"k":` in the input must be a value the frame holds (non-null, or an
explicit `null`), and together the columns must account for every `":` in the input.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import orjson
import polars as pl

_DECIMAL_PATTERN = r"^-?[0-9]+\.[0-9]+$"
_EXACT_TYPES = (pl.Int64, pl.Boolean, pl.Null)
_SPACED_COLON = (b'" :', b'"\t:')


def _count_after_key(raw: bytes, key: bytes, value_start: bytes) -> int:
    """How often `key` is followed by `value_start`, with no space or one space after the
    colon (as json.dumps writes); other spacing undercounts, and the caller then declines."""
    return raw.count(key + b":" + value_start) + raw.count(key + b": " + value_start)


def jsonl_frame(raw: bytes, columns: Collection[str] | None = None) -> pl.DataFrame | None:
    """Complete JSON lines as a DataFrame with exact record-path values, or None to decline:
    the fast uniform-lines reader first (`uniform_jsonl_frame`), else Polars' JSON reader.
    With `columns` (names matched case-insensitively), the frame may hold only those fields;
    every line is still checked to be valid JSON either way."""
    frame = uniform_jsonl_frame(raw, columns)
    return frame if frame is not None else ndjson_frame(raw)


# Uniform lines: every line is the first line's object with other values. Such a chunk is read
# as CSV split at the commas (Polars' CSV reader, much faster than its JSON reader), and every
# field is then checked to be exactly `<its key> <a value of the first line's type>`, so each
# value is the one orjson gives for that line; anything else declines.
_FLOAT_TEXT = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)"


def _layout(first: bytes) -> tuple[list[str], list[type], list[str]] | None:
    """Keys, value types and the text before each value (`{"a":`, `"b":`, or with json.dumps'
    spaces; the commas between fields excluded) of a flat first line, or None when it is not
    in one of those two layouts."""
    try:
        rec = orjson.loads(first)
    except orjson.JSONDecodeError:
        return None
    if rec.__class__ is not dict or not rec:
        return None
    keys = list(rec)
    types = [type(v) for v in rec.values()]
    if any(t not in (str, int, float, bool) for t in types):
        return None  # nested values and nulls: no type to check the column against
    names = [orjson.dumps(k) for k in keys]
    if any(b"\\" in n or b"," in n for n in names):
        return None
    vals = [orjson.dumps(v) for v in rec.values()]
    for comma, colon in ((b",", b":"), (b", ", b": ")):
        prefixes = [(b"{" if i == 0 else comma) + n + colon for i, n in enumerate(names)]
        if b"".join(p + v for p, v in zip(prefixes, vals, strict=True)) + b"}" == first:
            # the CSV reader splits at the commas: the comma is not part of the field
            return keys, types, [(p[1:] if i else p).decode() for i, p in enumerate(prefixes)]
    return None


def _first_layout(raw: bytes, tries: int = 8) -> tuple[list[str], list[type], list[str]] | None:
    """The layout of the first of the first few lines that gives one: a line with a null has no
    type for that field, and any line can be the template, as every line is checked against it."""
    start = 0
    for _ in range(tries):
        end = raw.find(b"\n", start)
        line = raw[start:] if end < 0 else raw[start:end]
        layout = _layout(line)
        if layout is not None or end < 0 or b"null" not in line:
            return layout  # (only a null is worth trying another line for)
        start = end + 1
    return None


def _plain_counts(raw: bytes) -> tuple[int, int] | None:
    """(newlines, quotes) of `raw`, or None when it holds a backslash (an escape: orjson
    unescapes, this reader does not) or a control character other than the newlines (JSON
    strings cannot hold one, and these layouts have nowhere else for it)."""
    if b"\\" in raw:  # (memchr: much faster than counting)
        return None
    codes = np.frombuffer(raw, np.uint8)  # no copy; numpy compares 8 MB in about 2 ms
    newlines = int(np.count_nonzero(codes == 0x0A))
    if int(np.count_nonzero(codes < 0x20)) != newlines:
        return None
    return newlines, int(np.count_nonzero(codes == 0x22))


def _field_checks(
    field: pl.Expr, kind: type, prefix: str, tail: str, signs: bytes
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(true when the field is `prefix value tail` with a value of `kind` or null, true when
    it is null, the value): the value is only right where the check holds, and a number's
    value must also be null exactly where the field is (the caller counts them). `signs`:
    which of `+` and `-` occur anywhere in the chunk (an integer check for a sign the chunk
    does not hold is left out)."""
    null = field == prefix + "null" + tail
    start = len(prefix)
    width = field.str.len_bytes() - len(prefix.encode()) - len(tail)  # the value's bytes
    if kind is str:
        ok = field.str.starts_with(prefix + '"') & field.str.ends_with('"' + tail) & (width >= 2)
        value = field.str.slice(start + 1).str.head(-1 - len(tail))
    elif kind is bool:
        ok = (field == prefix + "true" + tail) | (field == prefix + "false" + tail)
        value = field == prefix + "true" + tail
    elif kind is int:
        text = field.str.slice(start)
        if tail:
            text = text.str.head(-len(tail))
        # null for what is no integer or beyond 64 bits: the caller compares the null counts
        value = text.cast(pl.Int64, strict=False)
        ok = field.str.starts_with(prefix)
        if tail:
            ok = ok & field.str.ends_with(tail)
        # the cast also takes a plus sign and leading zeros, which JSON does not
        ok = ok & ~(field.str.starts_with(prefix + "0") & (width > 1))
        if b"-" in signs:
            ok = ok & ~(field.str.starts_with(prefix + "-0") & (width > 2))
        if b"+" in signs:
            ok = ok & ~field.str.starts_with(prefix + "+")
    else:
        pattern = "^" + re.escape(prefix) + _FLOAT_TEXT + re.escape(tail) + "$"
        ok = field.str.contains(pattern)
        text = field.str.slice(start)
        if tail:
            text = text.str.head(-len(tail))
        value = text.cast(pl.Float64, strict=False)
        value = pl.when(value.is_finite()).then(value)  # orjson gives no infinity either
    return (ok | null).fill_null(False).all(), null, value


@dataclass(frozen=True)
class _Plan:
    """The Polars expressions that check and decode one layout (built once, reused per chunk)."""

    checks: list[pl.Expr]  # one-row aggregations: x<i> field i all valid, n<i> its nulls, d<i>
    names: list[str]  # the output names of `checks`
    values: list[tuple[int, pl.Expr, pl.Expr | None]]  # (field, value, value masked by nulls)
    numbers: list[tuple[int, str]]  # (field, value column) of each number field
    kept: list[str]  # the keys in the frame


@functools.lru_cache(maxsize=64)
def _plan(
    keys: tuple[str, ...],
    types: tuple[type, ...],
    prefixes: tuple[str, ...],
    wanted: frozenset[str] | None,
    signs: bytes,
) -> _Plan:
    """The checks and value expressions of a layout (the fields named c0, c1, ...); a fresh
    build costs about 0.5 ms, as much as decoding a few thousand lines."""
    n = len(keys)
    checks: list[pl.Expr] = []
    values: list[tuple[int, pl.Expr, pl.Expr | None]] = []
    numbers: list[tuple[int, str]] = []
    kept: list[str] = []
    for i, (name, kind, prefix) in enumerate(zip(keys, types, prefixes, strict=True)):
        tail = "}" if i == n - 1 else ""
        field = pl.col(f"c{i}")
        ok, null, value = _field_checks(field, kind, prefix, tail, signs)
        checks += [ok.alias(f"x{i}"), null.sum().alias(f"n{i}")]
        keep = wanted is None or name.lower() in wanted
        if keep:
            kept.append(name)
            if kind is str:
                # A string that looks like a decimal number is one on the record path, and a
                # decimal starts with `-` or a digit: below `:`. The smallest field tells
                # whether any value starts so (or is empty), in one cheap aggregation.
                low = field.min() < prefix + '":'
                checks.append(low.fill_null(False).alias(f"d{i}"))
        if kind is int or kind is float:  # (its cast is null for `null` already)
            numbers.append((i, name if keep else f"\x00{i}"))
            values.append((i, value.alias(numbers[-1][1]), None))
        elif keep:
            values.append((i, value.alias(name), pl.when(~null).then(value).alias(name)))
    names = [e.meta.output_name() for e in checks]
    return _Plan(checks, names, values, numbers, kept)


def uniform_jsonl_frame(raw: bytes, columns: Collection[str] | None = None) -> pl.DataFrame | None:
    """Complete JSON lines that all have the first line's keys, order, layout and value types
    (strings without escapes, integers, floats, booleans; null anywhere), as a DataFrame with
    the record path's values (decimal strings as in `ndjson_frame`); else None. With
    `columns`, only the fields named there (case-insensitively) are in the frame."""
    if not raw or raw[:1] != b"{":
        return None
    counts = _plain_counts(raw)
    if counts is None:
        return None
    newlines, quotes = counts
    layout = _first_layout(raw)
    if layout is None:
        return None
    keys, types, prefixes = layout
    n = len(keys)
    lines = newlines + (0 if raw.endswith(b"\n") else 1)
    cols = [f"c{i}" for i in range(n)]
    try:
        fields = pl.read_csv(
            raw,
            has_header=False,
            separator=",",
            quote_char=None,
            schema=dict.fromkeys(cols, pl.String),
            comment_prefix=None,
            raise_if_empty=False,
        )
    except Exception:  # more fields than keys, invalid UTF-8, ...
        return None
    if fields.height != lines:
        return None
    signs = bytes(s for s in b"+-" if s in raw) if int in types else b""
    wanted = None if columns is None else frozenset(c.lower() for c in columns)
    plan = _plan(tuple(keys), tuple(types), tuple(prefixes), wanted, signs)
    try:
        res = dict(zip(plan.names, fields.select(plan.checks).row(0), strict=True))
        if not all(res[f"x{i}"] for i in range(n)):
            return None
        # a string or boolean: null where its field is `null` (only masked where there is one)
        exprs = [
            v if masked is None or not res[f"n{i}"] else masked for i, v, masked in plan.values
        ]
        frame = fields.select(exprs)
    except Exception:
        return None
    kept, numbers = plan.kept, plan.numbers
    for i, col in numbers:
        if frame[col].null_count() != res[f"n{i}"]:
            return None  # no number of that kind (or not a 64-bit integer, or infinite)
    # Every field starts with its key's two quotes and every string value has its two: any
    # other quote (one inside a string, a string where a number was) makes the count larger.
    str_values = sum(lines - res[f"n{i}"] for i in range(n) if types[i] is str)
    if quotes != 2 * n * lines + 2 * str_values:
        return None
    if len(kept) != frame.width:
        frame = frame.select(kept)
    dotted = [k for i, k in enumerate(keys) if res.get(f"d{i}")]
    return _with_decimals(frame, dotted) if dotted else frame


def _with_decimals(frame: pl.DataFrame, names: list[str]) -> pl.DataFrame | None:
    """String columns whose values are all decimal strings of one scale as Decimal(38, s) (the
    record path reads them as exact DECIMALs); None when a column mixes decimals and text or
    scales."""
    exprs = []
    for name in names:
        vals = frame[name].drop_nulls()
        if not vals.str.contains(".", literal=True).any():
            continue  # (a cheap test first: most text has no point)
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
        if vals.str.starts_with("-0").any() and vals.str.contains(r"^-0+\.0+$").any():
            return None  # Decimal("-0.00") keeps its sign on the record path, Polars' does not
        exprs.append(pl.col(name).str.to_decimal(scale=scale).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def ndjson_frame(raw: bytes) -> pl.DataFrame | None:
    """Complete JSON lines through Polars' JSON reader, or None to decline.

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
    strings: list[str] = []
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
        strings.append(name)
    if accounted != raw.count(b'":'):
        return None  # a key the inferred schema does not have (Polars dropped it)
    return _with_decimals(frame, strings)
