"""Built-in SQL functions: the registry (`registry`) and the implementations that fill it.

Importing this package registers every built-in function::

    from velostream.functions import SCALARS, AGGREGATES, WINDOW_FUNCTIONS, lookup, catalog
"""

from velostream.functions import aggregates as _aggregates  # noqa: F401  (registers)
from velostream.functions.aggregates import COUNT_STAR, resolve_aggregate
from velostream.functions.registry import (
    AGGREGATES,
    SCALARS,
    WINDOW_FUNCTIONS,
    AggregateFunction,
    ScalarFunction,
    WindowFunction,
    catalog,
    lookup,
)

__all__ = [
    "AGGREGATES",
    "COUNT_STAR",
    "SCALARS",
    "WINDOW_FUNCTIONS",
    "AggregateFunction",
    "ScalarFunction",
    "WindowFunction",
    "catalog",
    "lookup",
    "resolve_aggregate",
]
