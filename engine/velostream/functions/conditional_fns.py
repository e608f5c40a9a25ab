"""Conditional functions: COALESCE, NULLIF, CAST (the planner compiles CAST and COALESCE itself)."""

from __future__ import annotations

from typing import Any

from velostream.functions.registry import register_scalar
from velostream.values import cast, eq, parse_type


def coalesce(*args: Any) -> Any:
    """COALESCE(a, b, ...): the first non-NULL argument."""
    for v in args:
        if v is not None:
            return v
    return None


def nullif(a: Any, b: Any) -> Any:
    """NULLIF(a, b): NULL when a = b, else a."""
    if a is None:
        return None
    return None if eq(a, b) is True else a


def cast_(value: Any, type_spec: Any) -> Any:
    """CAST(value AS type) as a call: CAST(value, 'DECIMAL(10,2)')."""
    return cast(value, parse_type(type_spec))


register_scalar(
    "COALESCE",
    coalesce,
    1,
    None,
    "conditional",
    "The first non-NULL argument.",
    null_propagating=False,
)
register_scalar(
    "NULLIF",
    nullif,
    2,
    2,
    "conditional",
    "NULL when the two arguments are equal, else the first.",
    null_propagating=False,
)
register_scalar(
    "CAST",
    cast_,
    2,
    2,
    "conditional",
    "CAST(x AS type): BIGINT, INTEGER, DOUBLE, DECIMAL(p, s), STRING, BOOLEAN, TIMESTAMP, DATE.",
)
