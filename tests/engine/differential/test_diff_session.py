"""Session windows per key agree with sessions that DuckDB window functions cut."""

from __future__ import annotations

import random

import pytest
from diff_helpers import assert_same_groups, decimal_avg, diff_settings, event_rows, run_duckdb
from diff_helpers import run_engine as run_streaming
from hypothesis import given
from hypothesis import strategies as st

GAPS = st.sampled_from([(1000, "1s"), (500, "500ms"), (250, "INTERVAL '250' MILLISECOND")])
WHERES = st.sampled_from(["", "WHERE v IS NOT NULL", "WHERE NOT (v < 0)"])

AGGS = """COUNT(*) AS n, SUM(v) AS sv, MAX(v) AS maxv, MIN(f) AS minf, SUM(d) AS sd,
    COUNT(d) AS nd"""
COLS = ["n", "sv", "maxv", "minf", "sd", "ad"]


def engine_sql(spelling: str, where: str, ordered: bool) -> str:
    """The streaming query under test: in order with lateness 0, else with 1d."""
    lateness = "" if ordered else ", 'watermark.max_out_of_orderness' = '1d'"
    return (
        f"SELECT k, {AGGS}, AVG(d) AS ad, _window_start AS ws, _window_end AS we FROM events "
        f"{where} GROUP BY k WINDOW SESSION({spelling}) EMIT FINAL "
        f"WITH ('events.event.time.field' = 'ts'{lateness})"
    )


def oracle(rows: list[dict], gap: int, where: str) -> list[dict]:
    """A new session starts where a key's next event time is more than `gap` after the last
    (ties in event time ordered by id the same way in both window functions)."""
    expected = run_duckdb(
        rows,
        f"""
        WITH kept AS (SELECT * FROM t {where}),
        marked AS (
            SELECT *, CASE WHEN ts - lag(ts) OVER (PARTITION BY k ORDER BY ts, id) <= {gap}
                           THEN 0 ELSE 1 END AS starts
            FROM kept),
        numbered AS (
            SELECT *, SUM(starts) OVER (PARTITION BY k ORDER BY ts, id
                                        ROWS UNBOUNDED PRECEDING) AS sid
            FROM marked)
        SELECT k, sid, MIN(ts) AS ws, MAX(ts) + {gap} AS we, {AGGS}
        FROM numbered GROUP BY k, sid
        """,
    )
    for r in expected:
        r["ad"] = decimal_avg(r["sd"], r["nd"])
    return expected


@st.composite
def cases(draw: st.DrawFn) -> tuple:
    """A gap, a filter, an input order and rows (offsets often exactly one gap apart)."""
    gap, spelling = draw(GAPS)
    ordered = draw(st.booleans())
    rows = draw(event_rows(gap, max_size=25, ordered=ordered))
    return gap, spelling, draw(WHERES), ordered, rows


@diff_settings(60)
@given(cases())
def test_session_windows_match_duckdb(case: tuple) -> None:
    gap, spelling, where, ordered, rows = case
    actual, stats = run_streaming(rows, engine_sql(spelling, where, ordered))
    assert_same_groups(actual, oracle(rows, gap, where), ["k", "ws"], ["we", *COLS])
    assert stats.late == 0


def test_records_exactly_one_gap_apart_share_a_session() -> None:
    """In order with lateness 0: 0, 1000, 2000 with gap 1s are "at most gap apart": one session
    (each record moves the watermark to the session's end only as it joins it)."""
    rows = [
        {"id": i, "ts": t, "k": "a", "g": None, "v": 1, "d": None, "f": None}
        for i, t in enumerate([0, 1000, 2000, 3001])
    ]
    actual, _ = run_streaming(rows, engine_sql("1s", "", ordered=True))
    assert sorted((r["ws"], r["we"], r["n"]) for r in actual) == [(0, 3000, 3), (3001, 4001, 1)]


@pytest.mark.parametrize("b_first", [True, False])
def test_another_key_at_the_session_end_does_not_split_it(b_first: bool) -> None:
    """a@0 (x5), then b@1000 and a@1000 in either order, lateness 0: a@1000 is one gap after
    a@0, so it joins a's session, even when b@1000 has already moved the watermark to 1000."""
    keys = ["a"] * 5 + (["b", "a"] if b_first else ["a", "b"])
    times = [0] * 5 + [1000, 1000]
    rows = [
        {"id": i, "ts": t, "k": k, "g": None, "v": 1, "d": None, "f": None}
        for i, (t, k) in enumerate(zip(times, keys, strict=True))
    ]
    actual, _ = run_streaming(rows, engine_sql("1s", "", ordered=True))
    got = sorted((r["k"], r["ws"], r["we"], r["n"]) for r in actual)
    assert got == [("a", 0, 2000, 6), ("b", 1000, 2000, 1)]


@st.composite
def many_rows(draw: st.DrawFn) -> tuple[int, list[dict]]:
    """A gap and 60-300 rows over few keys from a seed, so sessions bridge and merge often."""
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    gap = draw(st.sampled_from([100, 1000]))
    n = draw(st.integers(60, 300))
    span = draw(st.sampled_from([20 * gap, 100 * gap]))
    rows = [
        {
            "id": i,
            "ts": rnd.randrange(span),
            "k": rnd.choice(["a", "b", None]),
            "g": None,
            "v": rnd.choice([None, rnd.randint(-50, 50)]),
            "d": None,
            "f": rnd.uniform(-1, 1),
        }
        for i in range(n)
    ]
    return gap, rows


@diff_settings(20)
@given(many_rows(), st.booleans())
def test_many_records_sessions_match_duckdb(case: tuple, ordered: bool) -> None:
    """Shuffled (lateness 1d): a record arriving late can bridge two sessions into one.
    In order (lateness 0): sessions close while the input goes on."""
    gap, rows = case
    if ordered:
        rows = sorted(rows, key=lambda r: r["ts"])
    actual, stats = run_streaming(rows, engine_sql(f"{gap}ms", "", ordered=ordered))
    assert stats.late == 0
    assert_same_groups(actual, oracle(rows, gap, ""), ["k", "ws"], ["we", *COLS])


@diff_settings(25)
@given(cases())
def test_in_order_session_emit_changes_ends_on_the_final_sessions(case: tuple) -> None:
    """EMIT CHANGES, in order: a change per input row passing WHERE, and the last change of
    each (key, session start) is that session's final row (in order, sessions only grow)."""
    gap, spelling, where, _, rows = case
    rows = sorted(rows, key=lambda r: (r["ts"], r["id"]))
    actual, _ = run_streaming(
        rows, engine_sql(spelling, where, ordered=True).replace("EMIT FINAL", "EMIT CHANGES")
    )
    passing = run_duckdb(rows, f"SELECT COUNT(*) AS n FROM t {where}")[0]["n"]
    assert len(actual) == passing
    last = {(r["k"], r["ws"]): r for r in actual}
    assert_same_groups(list(last.values()), oracle(rows, gap, where), ["k", "ws"], ["we", *COLS])
