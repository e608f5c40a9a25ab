"""Any argument values: a function returns a value or raises SqlError, never a Python error."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from velostream import values as v
from velostream.errors import SqlError
from velostream.functions import AGGREGATES, SCALARS

POOL = [
    0,
    1,
    -7,
    10**30,
    2.5,
    math.nan,
    math.inf,
    D("1.50"),
    D("-0.5"),
    "abc",
    "",
    "1.5",
    "2024-01-01",
    "$.a",
    '{"a": [1]}',
    True,
    [1, "a"],
    {"a": 1},
    datetime(2024, 1, 1),
    date(2024, 1, 1),
]
SCALAR_NAMES = sorted(n for n, f in SCALARS.items() if f.alias_of is None)
AGG_NAMES = sorted(n for n, f in AGGREGATES.items() if f.alias_of is None)
CONSTANTS = {"PERCENTILE_CONT": (D("0.5"),), "PERCENTILE_DISC": (D("0.5"),)}
values = st.sampled_from(POOL)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(SCALAR_NAMES), args=st.lists(values, max_size=4))
def test_scalars_raise_only_sql_errors(name, args):
    f = SCALARS[name]
    top = f.max_args if f.max_args is not None else f.min_args + 3
    args = (args + POOL[: f.min_args])[: max(f.min_args, min(len(args), top))]
    try:
        f.fn(*args)
    except SqlError:
        pass


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(AGG_NAMES), rows=st.lists(st.tuples(values, values), max_size=4))
def test_aggregates_raise_only_sql_errors(name, rows):
    agg = AGGREGATES[name]
    acc = agg.factory(*CONSTANTS.get(name, ()))
    try:
        for a, b in rows:
            acc.add(*((a, b) if agg.value_args == 2 else (a,)))
        acc.result()
    except SqlError:
        pass


@settings(max_examples=300, deadline=None)
@given(
    op=st.sampled_from([v.add, v.sub, v.mul, v.div, v.mod, v.eq, v.ne, v.lt, v.ge, v.concat_op]),
    a=values,
    b=values,
)
def test_operators_raise_only_sql_errors(op, a, b):
    try:
        op(a, b)
    except SqlError:
        pass
