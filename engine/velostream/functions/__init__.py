"""Built-in SQL functions: the registry (`registry`) and the implementations that fill it.

Importing this package registers every built-in function::

    from velostream.functions import SCALARS, AGGREGATES, WINDOW_FUNCTIONS, lookup, catalog
"""

# Importing the implementation modules registers their functions (order = catalog order).
from velostream.functions import (  # noqa: F401
    aggregates,
    collect_aggs,
    collection_fns,
    conditional_fns,
    datetime_fns,
    json_fns,
    math_fns,
    stat_aggs,
    string_fns,
    window_fns,
)
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
