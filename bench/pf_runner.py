"""PyFlink 2.3 runner: Flink SQL over a bounded filesystem CSV into a blackhole sink.

The JVM does all the work (parallelism 1). `seconds` counts from creating the table environment
(JVM start) to the job's end; `job_seconds` counts the INSERT job alone (it still includes the
mini-cluster's and the job's start-up, which Flink does lazily on the first job). Run
with `--events 1000` as a start-up probe: the runner `run.py` subtracts the probe's time to
estimate the steady-state rate. `--check` runs an extra, untimed job that collects the output's
window-group counts and event totals.
Run with the peers venv: bench/.venv-peers/bin/python bench/pf_runner.py --query q1
"""

from __future__ import annotations

import argparse
import sys
import time

import _common
from data import csv_path

SOURCE = """CREATE TABLE ev (
    k STRING, ts BIGINT, v INT, price DECIMAL(10, 2),
    rt AS TO_TIMESTAMP_LTZ(ts, 3), WATERMARK FOR rt AS rt
) WITH ('connector' = 'filesystem', 'path' = '{path}', 'format' = 'csv')"""

# (sink columns, the SELECT feeding it)
QUERIES = {
    "q1": (
        "k STRING, ws TIMESTAMP(3), n BIGINT, s BIGINT, a DOUBLE",
        "SELECT k, window_start, COUNT(*), SUM(CAST(v AS BIGINT)), AVG(CAST(v AS DOUBLE)) "
        "FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(rt), INTERVAL '1' SECOND)) "
        "GROUP BY k, window_start, window_end",
    ),
    "q2": (
        "k STRING, ts BIGINT, v2 INT",
        "SELECT k, ts, v * 2 FROM ev WHERE v >= 5",
    ),
    "q3": (
        "k STRING, ws TIMESTAMP(3), n BIGINT",
        "SELECT k, window_start, COUNT(*) "
        "FROM TABLE(HOP(TABLE ev, DESCRIPTOR(rt), INTERVAL '1' SECOND, INTERVAL '2' SECOND)) "
        "GROUP BY k, window_start, window_end",
    ),
}

CHECKS = {
    "q1": ("SELECT COUNT(*), SUM(n), SUM(s) FROM ({q})", ("groups", "count", "sum")),
    "q2": ("SELECT COUNT(*), SUM(v2) FROM ({q})", ("rows", "sum_v2")),
    "q3": ("SELECT COUNT(*), SUM(n) FROM ({q})", ("groups", "count")),
}


def _env(batch: bool = False):
    from pyflink.table import EnvironmentSettings, TableEnvironment

    mode = EnvironmentSettings.in_batch_mode() if batch else EnvironmentSettings.in_streaming_mode()
    env = TableEnvironment.create(mode)
    env.get_config().set("parallelism.default", "1")
    return env


def _check(query: str, path: str) -> dict:
    """Collect check values in a fresh environment (untimed); column names are renamed.

    Batch mode: the same windows, but the outer aggregate yields one final row instead of a
    changelog of updates that would all cross the Python gateway.
    """
    env = _env(batch=True)
    env.execute_sql(SOURCE.format(path=path))
    cols, select = QUERIES[query]
    names = ", ".join(c.split()[0] for c in cols.split(", "))
    sql, keys = CHECKS[query]
    inner = f"SELECT * FROM ({select}) AS t({names})"
    with env.execute_sql(sql.format(q=inner)).collect() as results:
        rows = list(results)
    last = rows[-1]
    return {k: int(last[i]) for i, k in enumerate(keys)}


def main() -> None:
    """Time one query over the workload and print its JSON line."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--query", choices=_common.QUERIES, required=True)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--check", action="store_true", help="also collect check values (untimed)")
    args = ap.parse_args()
    path = str(csv_path(args.events, header=False))  # Flink's csv format reads no header row
    cols, select = QUERIES[args.query]
    c0, t0 = _common.cpu_seconds(), time.perf_counter()
    env = _env()
    env.execute_sql(SOURCE.format(path=path))
    env.execute_sql(f"CREATE TABLE o ({cols}) WITH ('connector' = 'blackhole')")
    c1, t1 = _common.cpu_seconds(), time.perf_counter()
    env.execute_sql(f"INSERT INTO o {select}").wait()
    c2, t2 = _common.cpu_seconds(), time.perf_counter()
    print(f"pyflink: job done in {t2 - t1:.1f} s", file=sys.stderr, flush=True)
    check = _check(args.query, path) if args.check else {}
    _common.emit(
        "pyflink",
        args.query,
        args.events,
        t2 - t0,
        check,
        c2 - c0,
        job_seconds=round(t2 - t1, 4),
        job_cpu_seconds=round(c2 - c1, 4),
        env_seconds=round(t1 - t0, 4),
    )


if __name__ == "__main__":
    main()
