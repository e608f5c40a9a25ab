"""Python values as one typed Polars column, exactly or not at all.

Shared by the memory source (lists of dicts handed over as DataFrames) and the vectorized
operators (record batches as columns). Polars' own conversion is lenient where SQL is not: it
turns True into 1 in an integer column and 1.5 into 1, so every value's Python type is checked
first and a column that mixes types is refused (the caller keeps the values as records).
"""

from __future__ import annotations

from typing import Any

import polars as pl

_NONE = type(None)
_DTYPE = {int: pl.Int64, float: pl.Float64, str: pl.String, bool: pl.Boolean}


def typed_series(name: str, values: list[Any]) -> pl.Series | None:
    """`values` as an Int64, Float64, String, Boolean or (all NULL) Null column, or None when
    they mix Python types, hold another type (Decimal, datetime, list, ...) or an int beyond
    64 bits."""
    types = set(map(type, values))
    types.discard(_NONE)
    if not types:
        return pl.Series(name, values, dtype=pl.Null)
    if len(types) != 1:
        return None
    dtype = _DTYPE.get(types.pop())
    if dtype is None:
        return None  # Python Decimals convert at ~4 us each: slower than the record path
    try:
        return pl.Series(name, values, dtype=dtype, strict=True)
    except (TypeError, OverflowError, ValueError, pl.exceptions.PolarsError):
        return None
