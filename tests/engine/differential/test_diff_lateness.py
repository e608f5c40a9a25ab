"""Out-of-order input against a pure-Python model of watermarks, window closing and late drops."""

from __future__ import annotations

from diff_helpers import assert_same_groups, diff_settings, event_rows
from diff_helpers import run_engine as run_streaming
from diff_model import reference
from hypothesis import given
from hypothesis import strategies as st

# (size, advance) in ms; advance == size is a tumbling window; (300, 1000) leaves gaps.
SHAPES = st.sampled_from(
    [(1000, 1000), (500, 500), (1000, 500), (1000, 300), (700, 400), (300, 1000)]
)
PREFIXED = st.booleans()


def engine_sql(size: int, advance: int, delay: int, prefixed: bool, where: str = "") -> str:
    """The streaming query under test (tumbling when size == advance)."""
    window = f"TUMBLING({size}ms)" if size == advance else f"SLIDING({size}ms, {advance}ms)"
    key = "events.watermark.max_out_of_orderness" if prefixed else "watermark.max_out_of_orderness"
    return (
        f"SELECT k, COUNT(*) AS n, SUM(v) AS sv, SUM(id) AS ids, _window_start AS ws "
        f"FROM events {where} GROUP BY k WINDOW {window} EMIT FINAL "
        f"WITH ('events.event.time.field' = 'ts', '{key}' = '{delay}ms')"
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple:
    """A window shape, an allowed disorder and rows in a random order."""
    size, advance = draw(SHAPES)
    delay = draw(st.sampled_from([0, advance // 2, size, 2 * size]))
    rows = draw(event_rows(advance, min_size=1, max_size=25, ordered=False))
    return size, advance, delay, draw(PREFIXED), rows


@diff_settings(80)
@given(cases())
def test_late_records_are_dropped_and_counted_like_the_model(case: tuple) -> None:
    size, advance, delay, prefixed, rows = case
    actual, stats = run_streaming(rows, engine_sql(size, advance, delay, prefixed))
    model = reference(rows, size, advance, delay)
    assert_same_groups(actual, list(model.windows.values()), ["ws", "k"], ["n", "sv", "ids"])
    assert stats.late == model.late


@diff_settings(40)
@given(cases())
def test_filtered_records_still_advance_the_watermark(case: tuple) -> None:
    """WHERE drops a record after it has moved the watermark (lateness counted elsewhere)."""
    size, advance, delay, prefixed, rows = case
    sql = engine_sql(size, advance, delay, prefixed, where="WHERE v > 0")
    actual, _ = run_streaming(rows, sql)
    model = reference(rows, size, advance, delay, keep=lambda r: r["v"] is not None and r["v"] > 0)
    assert_same_groups(actual, list(model.windows.values()), ["ws", "k"], ["n", "sv", "ids"])


def test_model_by_hand() -> None:
    """The model itself, on a case worked out by hand: TUMBLING(1s), lateness 500ms."""
    rows = [
        {"id": i, "ts": t, "k": "a", "v": 1}
        for i, t in enumerate([100, 1600, 900, 400, 2100, 1499, 1500])
    ]
    # 100 -> [0,1000); 1600 -> wm 1100 closes [0,1000); 900 late; 400 late;
    # 2100 -> wm 1600; 1499 open ([1000,2000) ends 2000 > 1600); 1500 open.
    model = reference(rows, 1000, 1000, 500)
    assert model.late == 2
    assert {k: w["n"] for k, w in model.windows.items()} == {
        (0, "a"): 1,
        (1000, "a"): 3,
        (2000, "a"): 1,
    }


@diff_settings(40)
@given(cases())
def test_emit_changes_skips_late_records_and_closed_windows(case: tuple) -> None:
    """EMIT CHANGES: a change per (record, open window it joins), none for late records; the
    last change of each window and key is the model's final row."""
    size, advance, delay, prefixed, rows = case
    sql = engine_sql(size, advance, delay, prefixed).replace("EMIT FINAL", "EMIT CHANGES")
    actual, stats = run_streaming(rows, sql)
    model = reference(rows, size, advance, delay)
    assert len(actual) == len(model.assigned)
    last = {(r["ws"], r["k"]): r for r in actual}
    assert_same_groups(
        list(last.values()), list(model.windows.values()), ["ws", "k"], ["n", "sv", "ids"]
    )
    assert stats.late == model.late
