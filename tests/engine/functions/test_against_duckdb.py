"""Statistical aggregates checked against DuckDB (an independent implementation)."""

from __future__ import annotations

import math

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from velostream.functions import AGGREGATES

_DB = duckdb.connect()

ONE_ARG = {
    "STDDEV_SAMP": "stddev_samp(x)",
    "STDDEV_POP": "stddev_pop(x)",
    "VAR_SAMP": "var_samp(x)",
    "VAR_POP": "var_pop(x)",
    "MEDIAN": "median(x)",
    "AVG": "avg(x)",
    "SUM": "sum(x)",
    "MIN": "min(x)",
    "MAX": "max(x)",
}
TWO_ARG = {
    "CORR": "corr(y, x)",
    "COVAR_POP": "covar_pop(y, x)",
    "COVAR_SAMP": "covar_samp(y, x)",
    "REGR_SLOPE": "regr_slope(y, x)",
    "REGR_INTERCEPT": "regr_intercept(y, x)",
    "REGR_R2": "regr_r2(y, x)",
}


def _ours(name: str, rows: list, *constants):
    acc = AGGREGATES[name].factory(*constants)
    for row in rows:
        acc.add(*(row if isinstance(row, tuple) else (row,)))
    return acc.result()


def _close(ours, theirs) -> None:
    if theirs is None or (isinstance(theirs, float) and math.isnan(theirs)):
        assert ours is None
    else:
        assert ours == pytest.approx(float(theirs), rel=1e-7, abs=1e-7)


values = st.lists(st.integers(-1000, 1000), min_size=1, max_size=40)


@settings(max_examples=30, deadline=None)
@given(xs=values, name=st.sampled_from(sorted(ONE_ARG)))
def test_one_argument_aggregates(xs, name):
    rows = ", ".join(f"({x})" for x in xs)
    (theirs,) = _DB.execute(f"SELECT {ONE_ARG[name]} FROM (VALUES {rows}) t(x)").fetchone()
    _close(_ours(name, xs), theirs)


@settings(max_examples=30, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.integers(-100, 100), st.integers(-100, 100)), min_size=1, max_size=30
    ),
    name=st.sampled_from(sorted(TWO_ARG)),
)
def test_two_argument_aggregates(pairs, name):
    rows = ", ".join(f"({y}, {x})" for y, x in pairs)
    (theirs,) = _DB.execute(f"SELECT {TWO_ARG[name]} FROM (VALUES {rows}) t(y, x)").fetchone()
    if name in ("CORR", "REGR_R2") and len({y for y, _ in pairs}) == 1:
        return  # constant y: DuckDB says NaN for CORR, we follow PostgreSQL (NULL; R2 = 1)
    _close(_ours(name, pairs), theirs)


@settings(max_examples=30, deadline=None)
@given(xs=values, p=st.sampled_from(["0", "0.1", "0.25", "0.5", "0.75", "0.9", "1"]))
def test_percentiles(xs, p):
    from decimal import Decimal

    rows = ", ".join(f"({x})" for x in xs)
    cont, disc = _DB.execute(
        f"SELECT quantile_cont(x, {p}), quantile_disc(x, {p}) FROM (VALUES {rows}) t(x)"
    ).fetchone()
    _close(_ours("PERCENTILE_CONT", xs, Decimal(p)), cont)
    assert _ours("PERCENTILE_DISC", xs, Decimal(p)) == disc
