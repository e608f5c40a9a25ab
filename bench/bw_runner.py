"""Bytewax 0.21 runner: its own windowing operators over an in-memory TestingSource.

Run with the peers venv: bench/.venv-peers/bin/python bench/bw_runner.py --query q1
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import _common
import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.operators.windowing import (
    EventClock,
    SlidingWindower,
    TumblingWindower,
    count_window,
    fold_window,
)
from bytewax.testing import TestingSink, TestingSource, run_main
from data import events

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BATCH = 1000  # TestingSource batch size; streaming.md measured 1000 and 10000 within 5%


def _clock() -> EventClock:
    # No wait: the input is in event-time order, as the other engines assume.
    return EventClock(lambda e: e[1], wait_for_system_duration=timedelta(0))


def _fold(acc: list[int], e: tuple) -> list[int]:
    acc[0] += 1
    acc[1] += e[2]
    return acc


def _merge(a: list[int], b: list[int]) -> list[int]:
    return [a[0] + b[0], a[1] + b[1]]


def build(query: str, ev: list, out: list) -> Dataflow:
    """The dataflow for one query, writing its output items to `out`."""
    flow = Dataflow("bench")
    s = op.input("in", flow, TestingSource(ev, batch_size=BATCH))
    if query == "q1":
        keyed = op.key_on("key", s, lambda e: e[0])
        w = fold_window(
            "agg",
            keyed,
            _clock(),
            TumblingWindower(timedelta(seconds=1), EPOCH),
            builder=lambda: [0, 0],
            folder=_fold,
            merger=_merge,
        )
        res = op.map_value(
            "avg", w.down, lambda wv: (wv[0], wv[1][0], wv[1][1], wv[1][1] / wv[1][0])
        )
        op.output("out", res, TestingSink(out))
    elif query == "q2":
        kept = op.filter("where", s, lambda e: e[2] >= 5)
        proj = op.map("project", kept, lambda e: (e[0], e[1], e[2] * 2))
        op.output("out", proj, TestingSink(out))
    else:
        w = count_window(
            "count",
            s,
            _clock(),
            SlidingWindower(timedelta(seconds=2), timedelta(seconds=1), EPOCH),
            key=lambda e: e[0],
        )
        op.output("out", w.down, TestingSink(out))
    return flow


def check(query: str, out: list) -> dict:
    """Window-group counts and event totals from the output items."""
    if query == "q1":
        return {
            "groups": len(out),
            "count": sum(n for _, (_, n, _, _) in out),
            "sum": sum(s for _, (_, _, s, _) in out),
        }
    if query == "q2":
        return {"rows": len(out), "sum_v2": sum(v for _, _, v in out)}
    return {"groups": len(out), "count": sum(n for _, (_, n) in out)}


def main() -> None:
    """Time one query over the workload and print its JSON line."""
    args = _common.parse_args(__doc__)
    ev = [(k, EPOCH + timedelta(milliseconds=ts), v) for k, ts, v in events(args.events)]
    out: list = []
    flow = build(args.query, ev, out)
    with _common.Stopwatch() as sw:
        run_main(flow)
    _common.emit("bytewax", args.query, args.events, sw.wall, check(args.query, out), sw.cpu)


if __name__ == "__main__":
    main()
