"""Tumbling windows + GROUP BY agree with the same aggregation as a DuckDB batch query."""

from __future__ import annotations

from collections import defaultdict

from diff_helpers import (
    assert_same_groups,
    decimal_avg,
    diff_settings,
    event_rows,
    run_duckdb,
    run_engine,
)
from hypothesis import given
from hypothesis import strategies as st

# (size in ms, how the query spells it)
SIZES = st.sampled_from(
    [
        (1000, "1s"),
        (1000, "INTERVAL '1' SECOND"),
        (500, "500ms"),
        (250, "250ms"),
        (60_000, "1m"),
    ]
)

# Filters valid in both dialects, with NULLs on purpose (3-valued logic decides what passes).
WHERES = st.sampled_from(
    [
        "",
        "WHERE v IS NOT NULL",
        "WHERE v > 0 OR d < 0",
        "WHERE NOT (k = 'a')",
        "WHERE f >= 0 AND v <> 3",
    ]
)

AGGS = """COUNT(*) AS n, COUNT(v) AS nv, SUM(v) AS sv, AVG(v) AS av, MIN(v) AS minv,
    MAX(v) AS maxv, COUNT(d) AS nd, SUM(d) AS sd, MIN(d) AS mind, MAX(d) AS maxd,
    COUNT(f) AS nf, SUM(f) AS sf, AVG(f) AS af, MIN(f) AS minf, MAX(f) AS maxf"""
AGG_COLS = ["n", "nv", "sv", "av", "minv", "maxv", "nd", "sd", "mind", "maxd"]
AGG_COLS += ["nf", "sf", "af", "minf", "maxf", "ad"]


def with_clause(ordered: bool) -> str:
    """In-order input keeps the default lateness 0; shuffled input gets more than its disorder."""
    props = "'events.event.time.field' = 'ts'"
    if not ordered:
        props += ", 'watermark.max_out_of_orderness' = '1d'"
    return f"WITH ({props})"


def engine_sql(spelling: str, where: str, ordered: bool, emit: str = "EMIT FINAL") -> str:
    """The streaming query under test."""
    return (
        f"SELECT k, {AGGS}, AVG(d) AS ad, _window_start AS ws, _window_end AS we "
        f"FROM events {where} GROUP BY k WINDOW TUMBLING({spelling}) {emit} "
        f"{with_clause(ordered)}"
    )


def oracle(rows: list[dict], size: int, where: str) -> list[dict]:
    """The batch equivalent: the window start is the event time floored to the size."""
    expected = run_duckdb(
        rows,
        f"SELECT k, (ts // {size}) * {size} AS ws, (ts // {size}) * {size} + {size} AS we, "
        f"{AGGS} FROM t {where} GROUP BY ALL",
    )
    for r in expected:
        r["ad"] = decimal_avg(r["sd"], r["nd"])
    return expected


@st.composite
def cases(draw: st.DrawFn) -> tuple:
    """A window size, a filter, an input order and rows."""
    size, spelling = draw(SIZES)
    ordered = draw(st.booleans())
    rows = draw(event_rows(size, ordered=ordered))
    return size, spelling, draw(WHERES), ordered, rows


@diff_settings(120)
@given(cases())
def test_tumbling_group_by_matches_duckdb(case: tuple) -> None:
    size, spelling, where, ordered, rows = case
    actual, stats = run_engine(rows, engine_sql(spelling, where, ordered))
    assert_same_groups(actual, oracle(rows, size, where), ["ws", "k"], ["we", *AGG_COLS])
    assert stats.late == 0


@diff_settings(60)
@given(cases(), st.sampled_from(["HAVING COUNT(*) > 1", "HAVING SUM(v) > 0 OR MIN(d) < 0"]))
def test_tumbling_having_filters_like_duckdb(case: tuple, having: str) -> None:
    size, spelling, where, ordered, rows = case
    sql = (
        f"SELECT k, COUNT(*) AS n, SUM(v) AS sv, MIN(d) AS mind, _window_start AS ws "
        f"FROM events {where} GROUP BY k {having} WINDOW TUMBLING({spelling}) EMIT FINAL "
        f"{with_clause(ordered)}"
    )
    actual, _ = run_engine(rows, sql)
    expected = run_duckdb(
        rows,
        f"SELECT k, (ts // {size}) * {size} AS ws, COUNT(*) AS n, SUM(v) AS sv, MIN(d) AS mind "
        f"FROM t {where} GROUP BY ALL {having}",
    )
    assert_same_groups(actual, expected, ["ws", "k"], ["n", "sv", "mind"])


@diff_settings(60)
@given(cases())
def test_tumbling_emit_changes_ends_on_the_final_rows(case: tuple) -> None:
    """EMIT CHANGES: one row per input row that passes WHERE; the last per group is final."""
    size, spelling, where, ordered, rows = case
    actual, _ = run_engine(rows, engine_sql(spelling, where, ordered, emit="EMIT CHANGES"))
    passing = run_duckdb(rows, f"SELECT COUNT(*) AS n FROM t {where}")[0]["n"]
    assert len(actual) == passing
    last: dict[tuple, dict] = {}
    for r in actual:
        last[(r["ws"], r["k"])] = r
    counts: dict[tuple, int] = defaultdict(int)
    for r in actual:
        counts[(r["ws"], r["k"])] += 1
    assert_same_groups(
        list(last.values()), oracle(rows, size, where), ["ws", "k"], ["we", *AGG_COLS]
    )
    for key, r in last.items():
        assert r["n"] == counts[key], f"group {key}: {counts[key]} changes, final count {r['n']}"
