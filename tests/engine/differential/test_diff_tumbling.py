"""Tumbling windows + GROUP BY agree with the same aggregation as a DuckDB batch query."""

from __future__ import annotations

from diff_helpers import (
    assert_same_groups,
    decimal_avg,
    diff_settings,
    event_rows,
    floor_to,
    run_duckdb,
    run_engine,
    values_match,
)
from hypothesis import given
from hypothesis import strategies as st

# (size in ms, how the query spells it)
SIZES = st.sampled_from(
    [
        (1000, "1s"),
        (1000, "INTERVAL '1' SECOND"),
        (1000, "ts, 1s"),  # the time column named as the first argument
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
        f"SELECT k, {AGGS}, AVG(d) AS ad, _window_start AS ws, _window_end AS we, "
        f"_event_time AS et FROM events {where} GROUP BY k WINDOW TUMBLING({spelling}) {emit} "
        f"{with_clause(ordered)}"
    )


def oracle(rows: list[dict], size: int, where: str) -> list[dict]:
    """The batch equivalent: the window start is the event time floored to the size."""
    expected = run_duckdb(
        rows,
        f"SELECT k, {floor_to('ts', size)} AS ws, {floor_to('ts', size)} + {size} AS we, "
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


@diff_settings(60)
@given(cases())
def test_tumbling_group_by_matches_duckdb(case: tuple) -> None:
    size, spelling, where, ordered, rows = case
    actual, stats = run_engine(rows, engine_sql(spelling, where, ordered))
    assert_same_groups(actual, oracle(rows, size, where), ["ws", "k"], ["we", *AGG_COLS])
    assert stats.late == 0
    # Windowed output rows carry _event_time = the window end.
    assert all(r["et"] == r["we"] for r in actual), [(r["ws"], r["et"]) for r in actual]


@diff_settings(40)
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
        f"SELECT k, {floor_to('ts', size)} AS ws, COUNT(*) AS n, SUM(v) AS sv, MIN(d) AS mind "
        f"FROM t {where} GROUP BY ALL {having}",
    )
    assert_same_groups(actual, expected, ["ws", "k"], ["n", "sv", "mind"])


RUNNING = """COUNT(*) OVER w AS n, SUM(v) OVER w AS sv, MAX(v) OVER w AS maxv,
    SUM(d) OVER w AS sd, COUNT(d) OVER w AS nd, MIN(f) OVER w AS minf"""


@diff_settings(40)
@given(cases())
def test_tumbling_emit_changes_is_the_running_aggregate(case: tuple) -> None:
    """EMIT CHANGES: after each input row passing WHERE, its window and group's current row."""
    size, spelling, where, ordered, rows = case
    sql = (
        f"SELECT k, COUNT(*) AS n, SUM(v) AS sv, MAX(v) AS maxv, SUM(d) AS sd, MIN(f) AS minf, "
        f"AVG(d) AS ad, _window_start AS ws, _window_end AS we FROM events {where} "
        f"GROUP BY k WINDOW TUMBLING({spelling}) EMIT CHANGES {with_clause(ordered)}"
    )
    actual, _ = run_engine(rows, sql)
    expected = run_duckdb(
        rows,
        f"SELECT id, k, {floor_to('ts', size)} AS ws, {floor_to('ts', size)} + {size} AS we, "
        f"{RUNNING} FROM t {where} WINDOW w AS (PARTITION BY k, {floor_to('ts', size)} ORDER BY id "
        f"ROWS UNBOUNDED PRECEDING) ORDER BY id",
    )
    assert len(actual) == len(expected), "one change per input row that passes WHERE"
    cols = ["k", "ws", "we", "n", "sv", "maxv", "sd", "minf", "ad"]
    for i, (act, exp) in enumerate(zip(actual, expected, strict=True)):
        exp["ad"] = decimal_avg(exp["sd"], exp["nd"])
        bad = [c for c in cols if not values_match(act.get(c, "<missing>"), exp[c])]
        assert not bad, (
            f"change {i} (input id {exp['id']}): {bad} differ\n"
            f" expected {[exp[c] for c in bad]}\n actual {[act.get(c) for c in bad]}"
        )


@diff_settings(30)
@given(cases())
def test_tumbling_without_group_by_is_one_row_per_window(case: tuple) -> None:
    """No GROUP BY: one row per non-empty window (empty windows emit nothing)."""
    size, spelling, where, ordered, rows = case
    aggs = "COUNT(*) AS n, SUM(v) AS sv, MIN(f) AS minf, SUM(d) AS sd, MAX(k) AS maxk"
    actual, _ = run_engine(
        rows,
        f"SELECT {aggs}, _window_start AS ws FROM events {where} WINDOW TUMBLING({spelling}) "
        f"EMIT FINAL {with_clause(ordered)}",
    )
    expected = run_duckdb(
        rows, f"SELECT {floor_to('ts', size)} AS ws, {aggs} FROM t {where} GROUP BY ALL"
    )
    assert_same_groups(actual, expected, ["ws"], ["n", "sv", "minf", "sd", "maxk"])
