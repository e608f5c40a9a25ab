"""Sliding (hopping) windows agree with DuckDB given every window start of each record."""

from __future__ import annotations

from collections import Counter

from diff_helpers import (
    assert_same_groups,
    decimal_avg,
    diff_settings,
    event_rows,
    floor_to,
    run_duckdb,
)
from diff_helpers import run_engine as run_streaming
from hypothesis import given
from hypothesis import strategies as st

# (size, advance) in ms: size a multiple of the advance, not a multiple, and smaller than it
# (then a record can fall into no window at all).
SHAPES = st.sampled_from([(1000, 500), (3000, 1000), (1000, 300), (700, 400), (300, 1000)])
KEYWORD = st.sampled_from(["SLIDING", "HOPPING"])

AGGS = """COUNT(*) AS n, SUM(v) AS sv, MIN(v) AS minv, MAX(f) AS maxf, AVG(f) AS af,
    SUM(d) AS sd, COUNT(d) AS nd"""
COLS = ["we", "n", "sv", "minv", "maxf", "af", "sd", "ad"]


def engine_sql(keyword: str, size: int, advance: int, ordered: bool, emit: str) -> str:
    """The streaming query under test."""
    lateness = "" if ordered else ", 'watermark.max_out_of_orderness' = '1d'"
    return (
        f"SELECT k, {AGGS}, AVG(d) AS ad, _window_start AS ws, _window_end AS we FROM events "
        f"GROUP BY k WINDOW {keyword}({size}ms, {advance}ms) {emit} "
        f"WITH ('events.event.time.field' = 'ts'{lateness})"
    )


def windows_sql(size: int, advance: int) -> str:
    """Each record once per window holding it: starts s = m * advance with ts - size < s <= ts."""
    return (
        f"SELECT *, unnest(range({floor_to('ts', advance)}, ts - {size}, -{advance})) AS ws FROM t"
    )


def oracle(rows: list[dict], size: int, advance: int) -> list[dict]:
    """One row per (window, key) with the aggregates over the records in that window."""
    expected = run_duckdb(
        rows,
        f"SELECT k, ws, ws + {size} AS we, {AGGS} FROM ({windows_sql(size, advance)}) GROUP BY ALL",
    )
    for r in expected:
        r["ad"] = decimal_avg(r["sd"], r["nd"])
    return expected


@st.composite
def cases(draw: st.DrawFn) -> tuple:
    """A window shape, its keyword, an input order and rows."""
    size, advance = draw(SHAPES)
    ordered = draw(st.booleans())
    rows = draw(event_rows(advance, max_size=20, ordered=ordered))
    return size, advance, draw(KEYWORD), ordered, rows


@diff_settings(50)
@given(cases())
def test_sliding_matches_duckdb(case: tuple) -> None:
    size, advance, keyword, ordered, rows = case
    actual, stats = run_streaming(rows, engine_sql(keyword, size, advance, ordered, "EMIT FINAL"))
    assert_same_groups(actual, oracle(rows, size, advance), ["ws", "k"], COLS)
    if size >= advance:  # no gaps between windows (gaps: see the test below)
        assert stats.late == 0


def test_sliding_record_in_a_gap_between_windows_is_not_late() -> None:
    """SLIDING(300ms, 1000ms) leaves [300, 1000) uncovered: a record there is in no window.

    It is not late (the watermark is far behind it), so nothing is dropped or counted as late,
    as in Flink, where a record that no window takes counts as late only behind the watermark.
    """
    rows = [{"id": 0, "ts": 500, "k": "a", "g": 1, "v": 1, "d": None, "f": None}]
    rows.append({**rows[0], "id": 1, "ts": 1100})
    actual, stats = run_streaming(rows, engine_sql("SLIDING", 300, 1000, True, "EMIT FINAL"))
    assert [(r["ws"], r["n"]) for r in actual] == [(1000, 1)]
    assert stats.late == 0


@diff_settings(30)
@given(cases())
def test_sliding_emit_changes_one_row_per_window_of_each_record(case: tuple) -> None:
    """EMIT CHANGES: a row per window a record falls into; the last per window is final."""
    size, advance, keyword, ordered, rows = case
    actual, _ = run_streaming(rows, engine_sql(keyword, size, advance, ordered, "EMIT CHANGES"))
    memberships = run_duckdb(rows, f"SELECT ws, k FROM ({windows_sql(size, advance)})")
    assert Counter((r["ws"], r["k"]) for r in actual) == Counter(
        (r["ws"], r["k"]) for r in memberships
    )
    last = {(r["ws"], r["k"]): r for r in actual}
    assert_same_groups(list(last.values()), oracle(rows, size, advance), ["ws", "k"], COLS)
