"""Aggregates: hand-worked results, NULL and empty behaviour, merge() and copy()."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from velostream.errors import SqlError
from velostream.functions import AGGREGATES, COUNT_STAR, resolve_aggregate


def same(a: D, text: str) -> None:
    assert type(a) is D and format(a, "f") == text


# --------------------------------------------------------------------------- COUNT SUM AVG MIN MAX


def test_count_skips_nulls_and_count_star_counts_rows(agg):
    assert agg("COUNT", [1, None, 3]) == 2
    assert agg("COUNT", []) == 0
    star = COUNT_STAR.factory()
    for _ in range(3):
        star.add()
    assert star.result() == 3
    assert COUNT_STAR.factory().result() == 0


def test_sum_types(agg):
    r = agg("SUM", [1, 2, 3])
    assert r == 6 and type(r) is int
    same(agg("SUM", [1, D("0.50")]), "1.50")
    r = agg("SUM", [1, D("0.5"), 0.25])
    assert type(r) is float and r == 1.75
    assert agg("SUM", []) is None
    assert agg("SUM", [None, None]) is None
    assert agg("SUM", [None, 4]) == 4


def test_sum_of_decimals_is_exact(agg):
    assert sum([0.1] * 10) != 1.0  # floats drift
    same(agg("SUM", [D("0.1")] * 10), "1.0")
    same(agg("SUM", [D("0.01")] * 10_000), "100.00")
    # beyond 28 significant digits
    same(
        agg("SUM", [D("99999999999999999999999999999.99"), D("0.01")]),
        "100000000000000000000000000000.00",
    )


def test_avg(agg):
    r = agg("AVG", [1, 2])
    assert type(r) is float and r == 1.5
    assert agg("AVG", [1, 2, 2]) == 5 / 3
    # 5.00 / 3 at scale max(2 + 4, 6) = 6, half away from zero
    same(agg("AVG", [D("1.00"), D("2.00"), D("2.00")]), "1.666667")
    same(agg("AVG", [D("-1.00"), D("-2.00"), D("-2.00")]), "-1.666667")
    same(agg("AVG", [D("0.125")]), "0.1250000")  # scale 3 + 4 = 7
    same(agg("AVG", [D("10.5"), 11]), "10.750000")
    assert agg("AVG", []) is None
    assert agg("AVG", [None]) is None


def test_min_max(agg):
    assert agg("MIN", [3, 1, 2]) == 1
    assert agg("MAX", [3, 1, 2]) == 3
    assert agg("MIN", ["b", "a", "c"]) == "a"
    assert agg("MAX", ["b", "a", "c"]) == "c"
    same(agg("MIN", [2, D("1.50"), 3.0]), "1.50")
    assert agg("MAX", [2, D("1.50"), 3.0]) == 3.0
    assert agg("MAX", [datetime(2024, 1, 2), datetime(2024, 1, 1)]) == datetime(2024, 1, 2)
    assert agg("MIN", [None, 5, None]) == 5
    assert agg("MIN", []) is None
    assert agg("MAX", []) is None


def test_sum_rejects_text():
    acc = AGGREGATES["SUM"].factory()
    with pytest.raises(SqlError):
        acc.add("12")
    with pytest.raises(SqlError):
        AGGREGATES["AVG"].factory().add(True)


# --------------------------------------------------------------------------- value-keeping


def test_count_distinct(agg):
    assert agg("COUNT_DISTINCT", [1, 1, 2, None, D("1.0")]) == 2  # 1 = 1.0
    assert agg("APPROX_COUNT_DISTINCT", ["a", "b", "a"]) == 2
    assert agg("COUNT_DISTINCT", [[1, 2], [1, 2], [3]]) == 2
    assert agg("COUNT_DISTINCT", []) == 0


def test_distinct_wrapper_for_other_aggregates():
    acc = resolve_aggregate("AVG", distinct=True).factory()
    for x in (1, 1, 3):
        acc.add(x)
    assert acc.result() == 2.0
    other = resolve_aggregate("AVG", distinct=True).factory()
    for x in (3, 5):
        other.add(x)
    acc.merge(other)
    assert acc.result() == 3.0  # distinct values 1, 3, 5


def test_first_and_last_value(agg):
    assert agg("FIRST_VALUE", [None, "a", "b"]) == "a"
    assert agg("LAST_VALUE", ["a", "b", None]) == "b"
    assert agg("FIRST", [7, 8]) == 7
    assert agg("LAST", [7, 8]) == 8
    assert agg("FIRST_VALUE", []) is None


def test_string_agg(agg):
    assert agg("STRING_AGG", ["a", None, "b", 1], ",") == "a,b,1"
    assert agg("STRING_AGG", ["x", "y"], " | ") == "x | y"
    assert agg("GROUP_CONCAT", ["x", "y"]) == "x,y"  # default delimiter
    assert agg("LISTAGG", [D("1.50"), True], ";") == "1.50;true"
    assert agg("COLLECT", ["p"], ",") == "p"
    assert agg("STRING_AGG", [], ",") is None


def test_median(agg):
    assert agg("MEDIAN", [3, 1, 2]) == 2.0
    assert agg("MEDIAN", [1, 2, 3, 4]) == 2.5
    same(agg("MEDIAN", [D("1.00"), D("2.00"), D("4.00"), D("3.00")]), "2.50")
    same(agg("MEDIAN", [D("1.01"), D("1.02")]), "1.015")  # exact, not rounded away
    assert agg("MEDIAN", [None]) is None


def test_percentiles(agg):
    # rank = p * (n - 1): 0.25 * 4 = 1 -> the second value
    assert agg("PERCENTILE_CONT", [5, 1, 4, 2, 3], D("0.25")) == 2.0
    # 0.9 * 3 = 2.7 -> 30 + 0.7 * (40 - 30)
    assert agg("PERCENTILE_CONT", [10, 20, 30, 40], D("0.9")) == pytest.approx(37.0)
    same(agg("PERCENTILE_CONT", [D("10.0"), D("20.0")], D("0.25")), "12.5")
    # discrete: the first value whose cumulative share reaches p: index ceil(p * n) - 1
    assert agg("PERCENTILE_DISC", [4, 3, 2, 1], D("0.5")) == 2
    assert agg("PERCENTILE_DISC", [4, 3, 2, 1], D("0.51")) == 3
    assert agg("PERCENTILE_DISC", [4, 3, 2, 1], 0) == 1
    assert agg("PERCENTILE_DISC", [4, 3, 2, 1], 1) == 4
    assert agg("PERCENTILE_DISC", ["b", "a"], 0.5) == "a"
    assert agg("PERCENTILE_CONT", [], 0.5) is None


def test_percentile_fraction_must_be_between_0_and_1():
    with pytest.raises(SqlError):
        AGGREGATES["PERCENTILE_CONT"].factory(1.5)
    with pytest.raises(SqlError):
        AGGREGATES["PERCENTILE_DISC"].factory(-0.1)


def test_delta(agg):
    assert agg("DELTA", [5, 2, 9]) == 7
    same(agg("DELTA", [D("1.25"), D("3.5")]), "2.25")
    assert agg("DELTA", []) is None


# --------------------------------------------------------------------------- statistics

DATA = [2, 4, 4, 4, 5, 5, 7, 9]  # mean 5, squared deviations sum to 32


def test_variance_and_stddev(agg):
    assert agg("VAR_POP", DATA) == pytest.approx(4.0)
    assert agg("STDDEV_POP", DATA) == pytest.approx(2.0)
    assert agg("VARIANCE", DATA) == pytest.approx(32 / 7)
    assert agg("VAR_SAMP", DATA) == pytest.approx(32 / 7)
    assert agg("STDDEV", DATA) == pytest.approx(math.sqrt(32 / 7))
    assert agg("STDDEV_SAMP", [D("1.5"), D("2.5")]) == pytest.approx(math.sqrt(0.5))


def test_sample_statistics_of_one_value_are_null(agg):
    assert agg("STDDEV_SAMP", [3]) is None
    assert agg("VAR_SAMP", [3]) is None
    assert agg("STDDEV_POP", [3]) == 0.0
    assert agg("VAR_POP", [3]) == 0.0
    assert agg("VAR_POP", []) is None


def test_covariance_correlation_regression_on_a_line(agg):
    pts = [(3, 1), (5, 2), (7, 3)]  # (y, x) on y = 2x + 1
    # mean x 2, mean y 5; sum of dx*dy = (-1)(-2) + 0 + (1)(2) = 4
    assert agg("COVAR_POP", pts) == pytest.approx(4 / 3)
    assert agg("COVAR_SAMP", pts) == pytest.approx(2.0)
    assert agg("CORR", pts) == pytest.approx(1.0)
    assert agg("REGR_SLOPE", pts) == pytest.approx(2.0)
    assert agg("REGR_INTERCEPT", pts) == pytest.approx(1.0)
    assert agg("REGR_R2", pts) == pytest.approx(1.0)


def test_regression_on_a_cloud(agg):
    pts = [(2, 1), (1, 2), (3, 3), (None, 4), (5, None)]  # pairs with a NULL are skipped
    # x 1,2,3 y 2,1,3: Sxy = 1, Sxx = 2, Syy = 2
    assert agg("REGR_SLOPE", pts) == pytest.approx(0.5)
    assert agg("REGR_INTERCEPT", pts) == pytest.approx(1.0)
    assert agg("CORR", pts) == pytest.approx(0.5)
    assert agg("REGR_R2", pts) == pytest.approx(0.25)


def test_degenerate_regressions(agg):
    constant_x = [(1, 5), (2, 5), (3, 5)]
    assert agg("REGR_SLOPE", constant_x) is None
    assert agg("CORR", constant_x) is None
    constant_y = [(4, 1), (4, 2)]
    assert agg("REGR_R2", constant_y) == 1.0
    assert agg("REGR_SLOPE", constant_y) == 0.0
    assert agg("COVAR_SAMP", [(1, 1)]) is None
    assert agg("CORR", []) is None


# --------------------------------------------------------------------------- merge and copy

EXACT = ["COUNT", "SUM", "AVG", "MIN", "MAX", "COUNT_DISTINCT", "DELTA", "FIRST_VALUE",
         "LAST_VALUE", "MEDIAN"]  # fmt: skip
APPROX = ["STDDEV", "STDDEV_POP", "VARIANCE", "VAR_POP"]
PAIRS = ["CORR", "COVAR_POP", "COVAR_SAMP", "REGR_SLOPE", "REGR_INTERCEPT", "REGR_R2"]

numbers = st.one_of(
    st.integers(-1000, 1000),
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
)


def _chunks(values: list, cuts: list[int]) -> list[list]:
    points = sorted({min(c, len(values)) for c in cuts})
    out, start = [], 0
    for p in [*points, len(values)]:
        out.append(values[start:p])
        start = p
    return out


def _merged(name: str, parts: list[list], *constants):
    accs = []
    for part in parts:
        acc = AGGREGATES[name].factory(*constants)
        for row in part:
            acc.add(*(row if isinstance(row, tuple) else (row,)))
        accs.append(acc)
    total = accs[0]
    for acc in accs[1:]:
        total.merge(acc)
    return total.result()


def _single(name: str, values: list, *constants):
    acc = AGGREGATES[name].factory(*constants)
    for row in values:
        acc.add(*(row if isinstance(row, tuple) else (row,)))
    return acc.result()


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(numbers, max_size=30),
    cuts=st.lists(st.integers(0, 30), max_size=3),
    name=st.sampled_from(EXACT),
)
def test_merge_equals_one_accumulator_exact(values, cuts, name):
    expected = _single(name, values)
    got = _merged(name, _chunks(values, cuts))
    assert got == expected
    assert type(got) is type(expected)


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=30),
    cuts=st.lists(st.integers(0, 30), max_size=3),
    name=st.sampled_from([*APPROX, "SUM", "AVG"]),
)
def test_merge_equals_one_accumulator_floats(values, cuts, name):
    expected = _single(name, values)
    got = _merged(name, _chunks(values, cuts))
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(-100, 100), st.integers(-100, 100)), max_size=25),
    cuts=st.lists(st.integers(0, 25), max_size=3),
    name=st.sampled_from(PAIRS),
)
def test_merge_equals_one_accumulator_pairs(pairs, cuts, name):
    expected = _single(name, pairs)
    got = _merged(name, _chunks(pairs, cuts))
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.text(max_size=3), max_size=15),
    cuts=st.lists(st.integers(0, 15), max_size=2),
)
def test_merge_keeps_order_for_string_agg(values, cuts):
    assert _merged("STRING_AGG", _chunks(values, cuts), "-") == _single("STRING_AGG", values, "-")


def test_merge_with_empty_partials():
    for name in EXACT + APPROX:
        acc = AGGREGATES[name].factory()
        acc.merge(AGGREGATES[name].factory())
        acc.add(3)
        acc.merge(AGGREGATES[name].factory())
        assert acc.result() == _single(name, [3]), name


def test_copy_is_independent():
    for name in EXACT + APPROX + ["STRING_AGG", "PERCENTILE_CONT"]:
        constants = (D("0.5"),) if name == "PERCENTILE_CONT" else ()
        acc = AGGREGATES[name].factory(*constants)
        acc.add(1)
        acc.add(2)
        before = acc.result()
        clone = acc.copy()
        clone.add(100)
        assert acc.result() == before, name
        assert clone.result() == _single(name, [1, 2, 100], *constants), name
