"""Inputs large enough to be read in big batches: the rules still hold record by record.

Expected rows come from a formula over the generated input (a second, independent way), not
from running the engine.
"""

from __future__ import annotations

import pytest
from harness import Case, sink, src, with_

N = 3000


def _changes_case() -> Case:
    # k = i % 3: the i-th input row is the (i // 3 + 1)-th of its group
    rows = [{"k": i % 3, "v": i, "ts": i * 10} for i in range(N)]
    expected = [{"k": i % 3, "n": i // 3 + 1} for i in range(N)]
    return Case(
        id="big_group_emit_changes_every_row",
        rule="EMIT CHANGES emits a row for every input row that reaches the aggregate",
        sql=f"""
CREATE STREAM b_changes AS SELECT k, COUNT(*) AS n FROM s GROUP BY k EMIT CHANGES
{with_(src("s", "s.jsonl"), sink("b_changes"))};
""",
        inputs={"s.jsonl": rows},
        expected=expected,
    )


def _window_changes_case() -> Case:
    # TUMBLING(1s), ts = i * 10: row i is the (i % 100 + 1)-th of window i // 100
    rows = [{"ts": i * 10} for i in range(N)]
    expected = [{"n": i % 100 + 1, "ws": (i // 100) * 1000} for i in range(N)]
    return Case(
        id="big_window_emit_changes_every_row",
        rule="window, EMIT CHANGES: after each input row, the current row of each window and group it fell into",
        sql=f"""
CREATE STREAM b_wchanges AS SELECT COUNT(*) AS n, _window_start AS ws FROM s
WINDOW TUMBLING(1s) EMIT CHANGES
{with_(src("s", "s.jsonl"), sink("b_wchanges"))};
""",
        inputs={"s.jsonl": rows},
        expected=expected,
    )


def _late_rows() -> list[dict]:
    """ts = i * 10 in order, v = 1, with three out-of-order records inserted mid-file."""
    rows: list[dict] = []
    for i in range(N):
        ts = i * 10
        rows.append({"ts": ts, "v": 1})
        if ts == 15000:
            # watermark 15000: [2000, 3000) and [14000, 15000) have closed -> both late
            rows.append({"ts": 2000, "v": 1000})
            rows.append({"ts": 14995, "v": 1000})
        if ts == 15010:
            # [15000, 16000) is still open: on time, counted
            rows.append({"ts": 15005, "v": 1})
    return rows


def _late_case() -> Case:
    expected = [
        {"n": 101 if w == 15 else 100, "s": 101 if w == 15 else 100, "ws": w * 1000}
        for w in range(N // 100)
    ]
    return Case(
        id="big_late_records_judged_record_by_record",
        rule="Every record read advances the watermark; within one source, records are processed in file order, so an out-of-order record can be late; a record whose windows have all closed is dropped",
        sql=f"""
CREATE STREAM b_late AS SELECT COUNT(*) AS n, SUM(v) AS s, _window_start AS ws FROM s
WINDOW TUMBLING(1s)
{with_(src("s", "s.jsonl"), sink("b_late"))};
""",
        inputs={"s.jsonl": _late_rows()},
        expected=expected,
    )


def _where_watermark_case() -> Case:
    # one filtered record at 20000 sits in the middle of the file: after it, every record of
    # windows ending <= 20000 is late; records 20000.. are in order and counted
    rows: list[dict] = []
    for i in range(N):
        ts = i * 10
        rows.append({"ts": ts, "v": 1})
        if ts == 5000:
            rows.append({"ts": 20000, "v": -1})
    # windows 0..4 close before the jump; 5: [5000, 6000) holds 5000 only (5010.. are late);
    # 6..19 get nothing on time; 20..29 are complete
    expected = [{"n": 100, "ws": w * 1000} for w in range(5)]
    expected.append({"n": 1, "ws": 5000})
    expected += [{"n": 100, "ws": w * 1000} for w in range(20, 30)]
    return Case(
        id="big_where_filtered_record_advances_watermark",
        rule="Every record read advances [the watermark], whether or not WHERE keeps the record",
        sql=f"""
CREATE STREAM b_where AS SELECT COUNT(*) AS n, _window_start AS ws FROM s WHERE v > 0
WINDOW TUMBLING(1s)
{with_(src("s", "s.jsonl"), sink("b_where"))};
""",
        inputs={"s.jsonl": rows},
        expected=expected,
    )


def _join_case() -> Case:
    # rate r = i at ts = i * 100; orders at j * 100 (equal time: the table update comes first)
    # and at j * 100 + 50; each order sees the rate of floor(ts / 100)
    m = 1000
    rates = [{"k": "K", "r": i, "ts": i * 100} for i in range(m)]
    orders = []
    for j in range(m):
        orders.append({"id": 2 * j, "k": "K", "ts": j * 100})
        orders.append({"id": 2 * j + 1, "k": "K", "ts": j * 100 + 50})
    expected = [{"id": o["id"], "r": o["ts"] // 100} for o in orders]
    return Case(
        id="big_stream_table_join_as_of",
        rule="A stream record joins a table as of that record's event time, inclusive; at equal event times, table sources come before stream sources",
        sql=f"""
CREATE TABLE b_rates AS SELECT k PRIMARY KEY, r FROM rates
{with_(src("rates", "rates.jsonl"))};
CREATE STREAM b_join AS SELECT o.id, t.r FROM orders o JOIN b_rates t ON o.k = t.k
{with_(src("orders", "orders.jsonl"), sink("b_join"))};
""",
        inputs={"rates.jsonl": rates, "orders.jsonl": orders},
        expected=expected,
    )


CASES = [
    _changes_case(),
    _window_changes_case(),
    _late_case(),
    _where_watermark_case(),
    _join_case(),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_large_inputs(case: Case, conformance) -> None:
    """Batching never changes a result."""
    conformance.check(case)
