"""The vectorized aggregate path must emit exactly what the row path emits (values, Python
types, order, late counts), whatever the batch boundaries, and must decline what it cannot do."""

from __future__ import annotations

import pickle
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from velostream.engine import Engine
from velostream.plan.logical import QueryPlan
from velostream.runtime.operators import AggregateOp, ProjectOp
from velostream.runtime.vectorized import (
    VectorAggregateOp,
    VectorProjectOp,
    vectorize_aggregate,
    vectorize_project,
)
from velostream.sql.parse import parse_script


def plan_of(sql: str) -> QueryPlan:
    eng = Engine()
    eng.register("ev", [])
    eng.register("other", [])
    return eng.plan(parse_script(sql).statements[0])


def record(i: int, et: int, **fields) -> dict:
    return {
        **fields,
        "_event_time": et,
        "_timestamp": et,
        "_offset": i,
        "_partition": 0,
        "_key": None,
    }


def run_rows(plan: QueryPlan, batches: list[list[dict]], delay: int) -> tuple[list, int]:
    """The reference: AggregateOp fed one record at a time, the watermark advanced after each
    record, due windows closed at the end of each batch (as the job loop does)."""
    out: list = []
    op = AggregateOp(plan, lambda row, ts: out.append((row, ts)))
    for batch in batches:
        for r in batch:
            op.push(r)
            t = r["_event_time"] - delay
            if t > op.wm:
                op.wm = t
        op.close_due()
    op.finish()
    return out, op.counters.late


def run_vec(plan: QueryPlan, batches: list, delay: int) -> tuple[list, int, VectorAggregateOp]:
    out: list = []
    op = vectorize_aggregate(plan, lambda row, ts: out.append((row, ts)))
    assert op is not None
    op.min_rows = op.min_dict_rows = 0  # vectorize every batch, even one record
    for batch in batches:
        op.ingest(batch, delay)
        op.close_due()
    op.finish()
    return out, op.counters.late, op


def typed(rows: list) -> list:
    """Rows with each value's exact type and repr (1 != 1.0, Decimal('1.5') != '1.50')."""
    return [([(k, type(v).__name__, repr(v)) for k, v in row.items()], ts) for row, ts in rows]


def split(records: list, size: int) -> list[list]:
    return [records[i : i + size] for i in range(0, len(records), size)] or [[]]


# -- worked by hand ------------------------------------------------------------------------


def test_tumbling_by_hand() -> None:
    plan = plan_of(
        "SELECT k, COUNT(*) AS n, SUM(v) AS s, AVG(v) AS a, MIN(v) AS lo, MAX(v) AS hi, "
        "_window_start AS ws FROM ev GROUP BY k WINDOW TUMBLING(10ms)"
    )
    recs = [
        record(0, 1, k="a", v=1),
        record(1, 2, k="b", v=5),
        record(2, 3, k="a", v=None),
        record(3, 9, k="a", v=4),
        record(4, 12, k="b", v=7),
        record(5, 5, k="a", v=100),  # late: the watermark (12) has passed its window [0, 10)
        record(6, 25, k="a", v=2),
    ]
    out, late, op = run_vec(plan, [recs[:4], recs[4:]], 0)
    assert late == 1
    assert op.batches_vectorized == 2
    assert out == [
        ({"k": "a", "n": 3, "s": 5, "a": 2.5, "lo": 1, "hi": 4, "ws": 0}, 10),
        ({"k": "b", "n": 1, "s": 5, "a": 5.0, "lo": 5, "hi": 5, "ws": 0}, 10),
        ({"k": "b", "n": 1, "s": 7, "a": 7.0, "lo": 7, "hi": 7, "ws": 10}, 20),
        ({"k": "a", "n": 1, "s": 2, "a": 2.0, "lo": 2, "hi": 2, "ws": 20}, 30),
    ]
    assert type(out[0][0]["s"]) is int and type(out[0][0]["a"]) is float


def test_sliding_by_hand() -> None:
    # windows of 10 ms every 5 ms: t=7 is in [0,10) and [5,15); t=12 in [5,15) and [10,20)
    plan = plan_of(
        "SELECT COUNT(*) AS n, SUM(v) AS s, _window_start AS ws FROM ev WINDOW SLIDING(10ms, 5ms)"
    )
    recs = [record(0, 7, v=1), record(1, 12, v=10)]
    out, late, _ = run_vec(plan, [recs], 0)
    assert late == 0
    assert [r for r, _ in out] == [
        {"n": 1, "s": 1, "ws": 0},
        {"n": 2, "s": 11, "ws": 5},
        {"n": 1, "s": 10, "ws": 10},
    ]


def test_decimal_sum_and_avg_from_a_frame() -> None:
    plan = plan_of("SELECT k, SUM(p) AS s, AVG(p) AS a, MAX(p) AS m FROM ev GROUP BY k EMIT FINAL")
    frame = pl.DataFrame(
        {
            "k": ["x", "x", "y"],
            "p": [Decimal("1.25"), Decimal("2.50"), Decimal("0.10")],
            "_event_time": [1, 2, 3],
        },
        schema_overrides={"p": pl.Decimal(10, 2)},
    )
    out, _, op = run_vec(plan, [frame], 0)
    assert op.batches_vectorized == 1
    # 1.25 + 2.50 = 3.75 (scale 2); AVG scale max(2 + 4, 6) = 6: 3.75 / 2 = 1.875000
    assert [r for r, _ in out] == [
        {"k": "x", "s": Decimal("3.75"), "a": Decimal("1.875000"), "m": Decimal("2.50")},
        {"k": "y", "s": Decimal("0.10"), "a": Decimal("0.100000"), "m": Decimal("0.10")},
    ]
    assert str(out[0][0]["a"]) == "1.875000"


def test_mixed_types_fall_back_to_rows() -> None:
    plan = plan_of("SELECT SUM(v) AS s FROM ev GROUP BY k EMIT FINAL")
    recs = [record(0, 1, k="a", v=1), record(1, 2, k="a", v=0.5), record(2, 3, k="a", v=2)]
    out, _, op = run_vec(plan, [recs], 0)
    assert op.batches_row == 1 and op.batches_vectorized == 0
    assert out == [({"s": 3.5}, 3)]


def test_int_overflow_risk_falls_back() -> None:
    plan = plan_of("SELECT SUM(v) AS s FROM ev GROUP BY k EMIT FINAL")
    recs = [record(i, i, k="a", v=2**62) for i in range(4)]
    out, _, op = run_vec(plan, [recs], 0)
    assert op.batches_row == 1
    assert out == [({"s": 2**64}, 3)]


# -- declining whole plans -----------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT k, COUNT(*) AS n FROM ev GROUP BY k WINDOW SESSION(10ms)",
        "SELECT k, COUNT(*) AS n FROM ev GROUP BY k WINDOW TUMBLING(10ms) EMIT CHANGES",
        "SELECT k, COUNT(*) AS n FROM ev GROUP BY k",  # unwindowed GROUP BY emits changes
        "SELECT k, COUNT(DISTINCT v) AS n FROM ev GROUP BY k EMIT FINAL",
        "SELECT k, STDDEV(v) AS n FROM ev GROUP BY k EMIT FINAL",
        "SELECT k, v, COUNT(*) AS n FROM ev GROUP BY k EMIT FINAL",  # v: last row's value
        "SELECT k, COUNT(*) AS n FROM ev WHERE UPPER(k) = 'A' GROUP BY k EMIT FINAL",
        "SELECT k, SUM(POWER(v, 2)) AS n FROM ev GROUP BY k EMIT FINAL",
        "SELECT UPPER(k) AS u, COUNT(*) AS n FROM ev GROUP BY UPPER(k) EMIT FINAL",
        "SELECT k, v FROM ev WHERE v > 1",
    ],
)
def test_ineligible_plans_return_none(sql: str) -> None:
    assert vectorize_aggregate(plan_of(sql), lambda row, ts: None) is None


def test_eligible_plan_is_vectorized() -> None:
    plan = plan_of(
        "SELECT k, COUNT(*) AS n FROM ev WHERE v IS NOT NULL AND NOT (v % 2 = 0) "
        "GROUP BY k WINDOW TUMBLING(10ms)"
    )
    assert isinstance(vectorize_aggregate(plan, lambda row, ts: None), VectorAggregateOp)


# -- differential: random inputs, awkward batch boundaries ---------------------------------

QUERIES = [
    "SELECT k, COUNT(*) AS n, COUNT(v) AS c, SUM(v) AS s, AVG(v) AS a, MIN(v) AS lo, "
    "MAX(v) AS hi, _window_start AS ws, _window_end AS we FROM ev GROUP BY k "
    "WINDOW TUMBLING(10ms)",
    "SELECT k, COUNT(*) AS n, SUM(v + 1) AS s, AVG(v) AS a, MAX(v) AS hi FROM ev "
    "WHERE v IS NULL OR v * 2 > -7 OR k = 'b' GROUP BY k WINDOW SLIDING(10ms, 4ms)",
    "SELECT SUM(v) AS s, AVG(v) AS a, COUNT(*) AS n, COUNT(1) AS c1, SUM(2) AS s2 FROM ev "
    "WHERE NOT (k <> 'a') "
    "WINDOW TUMBLING(7ms) HAVING COUNT(*) > 1",
    "SELECT k, v % 3 AS m, COUNT(*) AS n, SUM(v) / 2 AS h, MIN(k) AS mk FROM ev "
    "GROUP BY k, v % 3 EMIT FINAL",
    "SELECT k, COUNT(*) AS n, SUM(f) AS sf, AVG(f) AS af, MIN(f) AS lo, MAX(f) AS hi FROM ev "
    "WHERE f > 0 OR v IS NULL GROUP BY k WINDOW SLIDING(6ms, 4ms)",
    # gaps between windows: a record in no window is dropped, not late
    "SELECT k, COUNT(*) AS n, SUM(v) AS s, _window_start AS ws FROM ev GROUP BY k "
    "WINDOW SLIDING(3ms, 5ms)",
]

records_st = st.lists(
    st.tuples(
        st.integers(-6, 12),  # event-time step (negative: out of order, maybe late)
        st.sampled_from(["a", "b", "c", None]),
        st.one_of(st.none(), st.integers(-5, 9)),
        st.one_of(st.none(), st.floats(-4, 4, allow_nan=False, width=32)),
    ),
    max_size=60,
)


def build(spec: list) -> list[dict]:
    out, t = [], 1000
    for i, (step, k, v, f) in enumerate(spec):
        t += step
        f = None if f is None else (f if f != 0 else 0.0)  # no -0.0: dicts would merge it
        out.append(record(i, t, k=k, v=v, f=f))
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=records_st,
    q=st.sampled_from(range(len(QUERIES))),
    size=st.sampled_from([1, 3, 1000]),
    delay=st.sampled_from([0, 5]),
)
def test_same_output_as_row_path(spec: list, q: int, size: int, delay: int) -> None:
    plan = plan_of(QUERIES[q])
    recs = build(spec)
    want, want_late = run_rows(plan, split([dict(r) for r in recs], size), delay)
    got, got_late, _ = run_vec(plan, split([dict(r) for r in recs], size), delay)
    assert typed(got) == typed(want)
    assert got_late == want_late


IN_ORDER_QUERIES = [
    "SELECT k, COUNT(*) AS n, SUM(v) AS s, AVG(v) AS a, MIN(v) AS lo, MAX(k) AS hk, "
    "_window_start AS ws FROM ev GROUP BY k WINDOW TUMBLING(10ms)",
    "SELECT k, COUNT(*) AS n, SUM(v) AS s, AVG(v) AS a, MIN(v) AS lo, _window_end AS we "
    "FROM ev GROUP BY k WINDOW SLIDING(12ms, 4ms)",
    "SELECT COUNT(*) AS n, SUM(f) AS sf, MAX(v) AS hi FROM ev WINDOW SLIDING(10ms, 5ms) "
    "HAVING COUNT(*) > 1",
    "SELECT k, COUNT(v) AS c, _window_start AS ws FROM ev GROUP BY k WINDOW SLIDING(10ms, 3ms)",
]


def split_sizes(records: list, sizes: list[int]) -> list[list]:
    out, i, j = [], 0, 0
    while i < len(records):
        n = sizes[j % len(sizes)]
        out.append(records[i : i + n])
        i, j = i + n, j + 1
    return out or [[]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(st.integers(0, 9), max_size=80),
    back=st.sets(st.integers(0, 79), max_size=2),  # a few records back in time: late, maybe
    values=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.one_of(st.none(), st.integers(-5, 9)),
            st.floats(-4, 4, allow_nan=False, width=32),
        ),
        min_size=80,
        max_size=80,
    ),
    q=st.sampled_from(range(len(IN_ORDER_QUERIES))),
    sizes=st.lists(st.sampled_from([1, 2, 5, 20, 1000]), min_size=1, max_size=4),
    delay=st.sampled_from([0, 4]),
)
def test_in_order_batches_mixed_with_row_batches(
    steps: list, back: set, values: list, q: int, sizes: list, delay: int
) -> None:
    """Mostly in-order input (the fast path without a lateness check), batch sizes that send
    small batches row by row while earlier windows are still pending as frames."""
    plan = plan_of(IN_ORDER_QUERIES[q])
    recs, t = [], 0
    for i, step in enumerate(steps):
        t += step
        k, v, f = values[i]
        recs.append(record(i, t - 25 if i in back else t, k=k, v=v, f=f if f != 0 else 0.0))
    batches = split_sizes(recs, sizes)
    want, want_late = run_rows(plan, [[dict(r) for r in b] for b in batches], delay)
    out: list = []
    op = vectorize_aggregate(plan, lambda row, ts: out.append((row, ts)))
    assert op is not None
    op.min_rows = op.min_dict_rows = 3  # batches of 1 or 2 records run row by row
    for b in batches:
        op.ingest([dict(r) for r in b], delay)
        op.close_due()
    op.finish()
    assert typed(out) == typed(want)
    assert op.counters.late == want_late


def test_snapshot_of_pending_windows_restores_the_same_output() -> None:
    plan = plan_of(IN_ORDER_QUERIES[0])
    recs = [record(i, t, k="ab"[i % 2], v=i) for i, t in enumerate([1, 2, 5, 11, 12, 14, 25])]
    out: list = []
    op = vectorize_aggregate(plan, lambda row, ts: out.append((row, ts)))
    assert op is not None
    op.min_rows = op.min_dict_rows = 0
    op.ingest([dict(r) for r in recs[:5]], 0)
    op.close_due()  # [0, 10) closes; [10, 20) is still open, its partials pending
    snap = pickle.loads(pickle.dumps(op.snapshot()))  # as a checkpoint stores it
    again: list = []
    op2 = vectorize_aggregate(plan, lambda row, ts: again.append((row, ts)))
    assert op2 is not None
    op2.min_rows = op2.min_dict_rows = 0
    op2.restore(snap)
    for o in (op, op2):
        o.ingest([dict(r) for r in recs[5:]], 0)
        o.close_due()
        o.finish()
    # worked by hand: [10, 20) holds 11 (b, v=3), 12 (a, v=4), 14 (b, v=5); [20, 30) 25 (a, 6)
    assert [r for r, _ in again] == [
        {"k": "b", "n": 2, "s": 8, "a": 4.0, "lo": 3, "hk": "b", "ws": 10},
        {"k": "a", "n": 1, "s": 4, "a": 4.0, "lo": 4, "hk": "a", "ws": 10},
        {"k": "a", "n": 1, "s": 6, "a": 6.0, "lo": 6, "hk": "a", "ws": 20},
    ]
    assert out[-3:] == again


@settings(max_examples=20, deadline=None)
@given(
    spec=records_st,
    size=st.sampled_from([1, 3, 1000]),
    scale=st.sampled_from([0, 2, 3]),
)
def test_same_output_from_frames_with_decimals(spec: list, size: int, scale: int) -> None:
    plan = plan_of(
        "SELECT k, COUNT(p) AS c, SUM(p) AS s, AVG(p) AS a, MIN(p) AS lo, MAX(p) AS hi, "
        "SUM(p * v) AS spv, AVG(-p + 1.5) AS am, MAX(p - v) AS mx, MIN(p + 0.125) AS mn, "
        "_window_start AS ws FROM ev WHERE p IS NOT NULL OR k = 'a' OR p > 0.5 OR p < v "
        "GROUP BY k WINDOW TUMBLING(10ms)"
    )
    recs = build(spec)
    q = Decimal(1).scaleb(-scale)
    prices = [None if r["v"] is None else (Decimal(r["v"]) / 7).quantize(q) for r in recs]
    frame = pl.DataFrame(
        {
            "k": [r["k"] for r in recs],
            "p": prices,
            "v": [r["v"] for r in recs],
            "_event_time": [r["_event_time"] for r in recs],
        },
        schema={
            "k": pl.String,
            "p": pl.Decimal(12, scale),
            "v": pl.Int64,
            "_event_time": pl.Int64,
        },
    )
    frames = [frame.slice(i, size) for i in range(0, max(frame.height, 1), size)]
    rows = [f.to_arrow().to_pylist() for f in frames]
    want, want_late = run_rows(plan, rows, 0)
    got, got_late, _ = run_vec(plan, frames, 0)
    assert typed(got) == typed(want)
    assert got_late == want_late


def test_dead_letter_receives_the_late_records() -> None:
    plan = plan_of("SELECT COUNT(*) AS n FROM ev WINDOW TUMBLING(10ms)")
    plan.late_strategy = "dead_letter"
    seen: list = []
    op = vectorize_aggregate(plan, lambda row, ts: None, lambda r, why: seen.append(r["v"]))
    assert op is not None
    op.min_rows = op.min_dict_rows = 0
    recs = [record(0, 30, v=1), record(1, 3, v=2), record(2, 31, v=3), record(3, 4, v=4)]
    op.ingest(recs, 0)
    assert seen == [2, 4]
    assert op.counters.late == 2


# -- projection ----------------------------------------------------------------------------


def run_project_rows(plan: QueryPlan, batches: list[list[dict]]) -> list:
    out: list = []
    op = ProjectOp(plan, lambda row, ts: out.append((row, ts)))
    for batch in batches:
        for r in batch:
            op.push(r)
    return out


def run_project_vec(plan: QueryPlan, batches: list) -> tuple[list, VectorProjectOp]:
    out: list = []
    op = vectorize_project(plan, lambda row, ts: out.append((row, ts)))
    assert op is not None
    op.min_rows = 0
    op.vectorize_rows = True
    for batch in batches:
        op.push_batch(batch, out.append)
    return out, op


def test_projection_by_hand() -> None:
    plan = plan_of(
        "SELECT k, v * 2 AS d, d + 1 AS e, v / 2 AS h, v > 1 AS big FROM ev WHERE v >= 1"
    )
    recs = [record(0, 5, k="a", v=1), record(1, 6, k="b", v=0), record(2, 7, k=None, v=3)]
    out, op = run_project_vec(plan, [recs])
    assert op.batches_vectorized == 1
    assert out == [
        ({"k": "a", "d": 2, "e": 3, "h": 0.5, "big": False}, 5),
        ({"k": None, "d": 6, "e": 7, "h": 1.5, "big": True}, 7),
    ]
    assert type(out[0][0]["d"]) is int and type(out[0][0]["h"]) is float


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM ev",
        "SELECT k, ROW_NUMBER() OVER (PARTITION BY k) AS n FROM ev",
        "SELECT UPPER(k) AS u FROM ev",
        "SELECT ABS(v) AS x FROM ev",
        "SELECT e.k, o.k AS ok FROM ev e JOIN other o ON e.k = o.k",
    ],
)
def test_ineligible_projections_return_none(sql: str) -> None:
    assert vectorize_project(plan_of(sql), lambda row, ts: None) is None


PROJECTIONS = [
    "SELECT k, v, v + 1 AS w, w * 3 AS x, v % 4 AS m, v / 3 AS q FROM ev WHERE v > 0 OR k = 'a'",
    "SELECT k, f, f * 2 AS g, v - f AS h, f / v AS r FROM ev WHERE f > -1 AND NOT (k IS NULL)",
    "SELECT v IS NULL AS n, k = 'b' AS isb, -v AS neg, 1 AS one, 'x' AS s FROM ev "
    "WHERE v <> 3 OR v IS NULL",
]


@settings(max_examples=30, deadline=None)
@given(
    spec=records_st, q=st.sampled_from(range(len(PROJECTIONS))), size=st.sampled_from([1, 3, 1000])
)
def test_projection_same_output_as_row_path(spec: list, q: int, size: int) -> None:
    plan = plan_of(PROJECTIONS[q])
    recs = build(spec)
    want = run_project_rows(plan, split([dict(r) for r in recs], size))
    got, _ = run_project_vec(plan, split([dict(r) for r in recs], size))
    assert typed(got) == typed(want)


def test_division_by_a_constant_is_exact_ieee_division() -> None:
    # Polars multiplies by the reciprocal for a scalar divisor: 5 * (1/3) = 1.6666666666666665
    plan = plan_of("SELECT v / 3 AS q FROM ev")
    out, op = run_project_vec(plan, [[record(i, i, v=5) for i in range(5)]])
    assert op.batches_vectorized == 1
    assert [r["q"] for r, _ in out] == [1.6666666666666667] * 5


@settings(max_examples=20, deadline=None)
@given(spec=records_st, size=st.sampled_from([1, 3, 1000]))
def test_projection_from_frames_same_output_as_row_path(spec: list, size: int) -> None:
    plan = plan_of(
        "SELECT k, p, v + 1 AS w, f * v AS x, p + v AS pv, p - 0.125 AS pm FROM ev "
        "WHERE p IS NOT NULL OR v > 2 OR p >= 1.5"
    )
    recs = build(spec)
    frame = pl.DataFrame(
        {
            "k": [r["k"] for r in recs],
            "p": [None if r["v"] is None else Decimal(r["v"]).scaleb(-2) for r in recs],
            "v": [r["v"] for r in recs],
            "f": [r["f"] for r in recs],
            "_event_time": [r["_event_time"] for r in recs],
        },
        schema={
            "k": pl.String,
            "p": pl.Decimal(10, 2),
            "v": pl.Int32,
            "f": pl.Float32,
            "_event_time": pl.Int64,
        },
    )
    frames = [frame.slice(i, size) for i in range(0, max(frame.height, 1), size)]
    want = run_project_rows(plan, [f.to_arrow().to_pylist() for f in frames])
    out: list = []
    op = vectorize_project(plan, lambda row, ts: out.append((row, ts)))
    assert op is not None
    op.min_rows = 0
    for f in frames:
        op.push_batch(f, out.append)
    assert typed(out) == typed(want)
    assert op.batches_row == 0 or not recs


def dec_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "k": ["x", "x", "y"],
            "p": [Decimal("1.25"), Decimal("2.50"), Decimal("0.10")],
            "v": [2, -1, 3],
            "_event_time": [1, 2, 3],
        },
        schema={"k": pl.String, "p": pl.Decimal(10, 2), "v": pl.Int64, "_event_time": pl.Int64},
    )


def test_decimal_arithmetic_by_hand() -> None:
    plan = plan_of(
        "SELECT k, SUM(p * v) AS spv, AVG(p + 1.5) AS a, MAX(p - v) AS m, COUNT(*) AS n "
        "FROM ev WHERE p > 0.05 GROUP BY k EMIT FINAL"
    )
    out, _, op = run_vec(plan, [dec_frame()], 0)
    assert op.batches_vectorized == 1
    # x: 1.25*2 + 2.50*(-1) = 0.00; (2.75 + 4.00) / 2 = 3.375 at scale 6; max(-0.75, 3.50)
    # y: 0.10*3 = 0.30; 1.60 at scale 6; 0.10 - 3 = -2.90
    assert [[(k, str(v)) for k, v in r.items()] for r, _ in out] == [
        [("k", "x"), ("spv", "0.00"), ("a", "3.375000"), ("m", "3.50"), ("n", "2")],
        [("k", "y"), ("spv", "0.30"), ("a", "1.600000"), ("m", "-2.90"), ("n", "1")],
    ]


def test_decimal_min_of_a_product_declines() -> None:
    # 0.00 * -3 is -0.00 on the row path, which a Polars decimal cannot hold
    plan = plan_of("SELECT MIN(p * v) AS m FROM ev GROUP BY k EMIT FINAL")
    _, _, op = run_vec(plan, [dec_frame()], 0)
    assert op.batches_row == 1 and op.batches_vectorized == 0


def test_constant_aggregate_arguments_count_every_row() -> None:
    plan = plan_of(
        "SELECT k, COUNT(1) AS c, SUM(1) AS s, SUM(2 + 3) AS t, MAX(7) AS m, MIN('z') AS z "
        "FROM ev GROUP BY k EMIT FINAL"
    )
    recs = [record(i, i, k="ab"[i % 2], v=i) for i in range(7)]  # a: 4 records, b: 3
    out, _, op = run_vec(plan, [recs], 0)
    assert op.batches_vectorized == 1
    assert [r for r, _ in out] == [
        {"k": "a", "c": 4, "s": 4, "t": 20, "m": 7, "z": "z"},
        {"k": "b", "c": 3, "s": 3, "t": 15, "m": 7, "z": "z"},
    ]
