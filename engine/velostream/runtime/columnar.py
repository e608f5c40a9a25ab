"""Record batches as typed Polars columns, for the vectorized operators.

A batch reaches the vectorized path either as a list of record dicts (what every source yields)
or as a Polars DataFrame (columnar sources). Either way it becomes a `Columns`: a DataFrame with
the columns a query reads, each tagged with the one SQL kind all its values share. A column
whose values mix kinds (ints and floats, bools among ints, ...) cannot be computed exactly as the
row path computes it, so the batch is declined (None) and runs row by row instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from velostream.connectors.row_columns import typed_series
from velostream.runtime.codegen import _ci_get

# Kinds of a column: every non-NULL value is of that Python type.
INT, FLOAT, STR, BOOL, DEC, NULL = "int", "float", "str", "bool", "dec", "null"
INT64_LIMIT = 2**63


@dataclass
class Columns:
    """A batch as typed columns: `frame` holds one column per name read by the query."""

    frame: pl.DataFrame
    kinds: dict[str, str]  # column name -> kind
    scales: dict[str, int]  # DEC columns: the largest scale of their values


def _column_values(rows: list[dict], name: str) -> list[Any]:
    """The values of field `name` as the row path reads them (case-insensitive fallback)."""
    try:
        return [r[name] for r in rows]
    except KeyError:
        return [r[name] if name in r else _ci_get(r, name) for r in rows]


def rows_to_columns(rows: list[dict], names: list[str]) -> Columns | None:
    """The fields `names` of record dicts as typed columns, or None when a column mixes kinds."""
    data: dict[str, pl.Series] = {}
    kinds: dict[str, str] = {}
    for name in names:
        s = typed_series(name, _column_values(rows, name))
        if s is None:
            return None
        kinds[name] = _DTYPE_KIND[s.dtype]
        data[name] = s
    return Columns(pl.DataFrame(data), kinds, {})


_DTYPE_KIND = {pl.Int64: INT, pl.Float64: FLOAT, pl.String: STR, pl.Boolean: BOOL, pl.Null: NULL}

_INT_TYPES = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32)


def frame_to_columns(frame: pl.DataFrame, names: list[str]) -> Columns | None:
    """The columns `names` of a DataFrame as typed columns (resolved as the row path resolves
    a field of the dict `to_pylist()` would give), or None when a type has no exact kind.

    Columns already of their kind's Polars type are used as they are (no copy)."""
    present = frame.columns
    schema = frame.schema
    lower: dict[str, str] = {}
    for c in present:
        lower.setdefault(c.lower(), c)
    changes = []
    kinds: dict[str, str] = {}
    scales: dict[str, int] = {}
    for name in names:
        src = name if name in schema else lower.get(name.lower())
        if src is None or schema[src] == pl.Null or frame[src].null_count() == frame.height:
            kinds[name] = NULL
            changes.append(pl.lit(None, dtype=pl.Null).alias(name))
            continue
        dt = schema[src]
        col = pl.col(src)
        if dt == pl.Int64:
            kinds[name] = INT
        elif dt in _INT_TYPES:
            kinds[name] = INT
            col = col.cast(pl.Int64)
        elif dt == pl.UInt64:
            mx = frame[src].max()
            if mx is not None and mx >= INT64_LIMIT:  # type: ignore[operator]
                return None
            kinds[name] = INT
            col = col.cast(pl.Int64)
        elif dt == pl.Float64:
            kinds[name] = FLOAT
        elif dt == pl.Float32:
            kinds[name] = FLOAT
            col = col.cast(pl.Float64)
        elif dt == pl.String:
            kinds[name] = STR
        elif dt == pl.Boolean:
            kinds[name] = BOOL
        elif isinstance(dt, pl.Decimal):
            kinds[name] = DEC
            scales[name] = dt.scale or 0
        else:
            return None
        if src != name or dt != _KIND_DTYPE.get(kinds[name], dt):  # renamed or cast
            changes.append(col.alias(name))
    return Columns(frame.with_columns(changes) if changes else frame, kinds, scales)


_KIND_DTYPE = {INT: pl.Int64, FLOAT: pl.Float64, STR: pl.String, BOOL: pl.Boolean}


def frame_to_rows(frame: pl.DataFrame) -> list[dict]:
    """Record dicts of a DataFrame, as the memory source makes them (decimals stay Decimal)."""
    return frame.to_arrow().to_pylist()
