"""Built-in SQL functions: the registry (`registry`) and the implementations that fill it.

Importing this package registers every built-in function::

    from velostream.functions import SCALARS, AGGREGATES, WINDOW_FUNCTIONS, lookup, catalog

COUNT(*) is `COUNT_STAR` (``value_args=0``), kept out of AGGREGATES; `resolve_aggregate` maps
``COUNT(*)``, ``COUNT(DISTINCT x)`` (COUNT_DISTINCT) and ``AGG(DISTINCT x)`` to an entry.

Choices where Velostream's own behaviour is a stub or undefined (each documented on its
function): APPROX_COUNT_DISTINCT is exact; LISTAGG/COLLECT join text like STRING_AGG;
CONCAT, JOIN, LEAST and GREATEST skip NULL arguments; JOIN takes Velostream's
``JOIN(delim, a, ...)`` and also ``JOIN(array, delim)``; NOW()/CURRENT_TIMESTAMP return
epoch ms as Velostream does; CEIL/FLOOR return BIGINT; SQRT of a negative number and
POWER without a real result are errors; REGEXP_REPLACE replaces every match; JSON_EXTRACT
returns objects/arrays as MAP/ARRAY; malformed JSON text gives NULL; ARRAY_CONTAINS is
three-valued; the statistical aggregates return DOUBLE.
"""

# Importing the implementation modules registers their functions (order = catalog order).
from velostream.functions import (  # noqa: F401
    aggregates,
    collect_aggs,
    collection_fns,
    conditional_fns,
    datetime_fns,
    header_fns,
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
