"""Our engine on the benchmark queries, through three input paths.

- `rows`: decoded Python rows (a list of dicts) registered in memory;
- `arrow` / `polars`: columnar input (a pyarrow.Table / polars.DataFrame) registered in memory;
- `jsonl`: the JSON-lines file read by the engine's `file_source` (the decode is timed).

Timing covers `register` plus `query` (the engine may convert at either step). Run with the
project venv: .venv/bin/python bench/velo_runner.py --query q1 --path rows
If the engine cannot run the query, prints `engine not available: <error>` on standard error
and a JSON line with the error, and exits 0 so `run.py` carries on.
"""

from __future__ import annotations

import sys
import traceback

import _common
from data import jsonl_path, rows

PATHS = ("rows", "arrow", "polars", "jsonl")
WARM_EVENTS = 1000  # the JSON-lines path's untimed first query reads a file this long
TIME = "'events.event.time.field' = 'ts'"
QUERIES = {
    "q1": "SELECT key, COUNT(*) AS n, SUM(value) AS s, AVG(value) AS a, _window_start AS ws "
    "FROM events GROUP BY key WINDOW TUMBLING(ts, 1s) EMIT FINAL WITH ({props})",
    "q2": "SELECT key, ts, value * 2 AS v2 FROM events WHERE value >= 5 WITH ({props})",
    "q3": "SELECT key, COUNT(*) AS n, _window_start AS ws "
    "FROM events GROUP BY key WINDOW SLIDING(ts, 2s, 1s) EMIT FINAL WITH ({props})",
}


def sql_for(query: str, path: str, n: int) -> str:
    """The benchmark SQL for one query, reading memory or the JSON-lines file."""
    props = TIME
    if path == "jsonl":
        props = (
            f"'events.type' = 'file_source', 'events.path' = '{jsonl_path(n)}', "
            f"'events.format' = 'jsonl', {TIME}"
        )
    return QUERIES[query].format(props=props)


def data_for(path: str, n: int) -> object:
    """The in-memory input for a path (None for the file path)."""
    if path == "jsonl":
        jsonl_path(n)  # write the file before the clock starts
        return None
    data = rows(n)
    if path == "rows":
        return data
    import pyarrow as pa

    table = pa.Table.from_pylist(data)
    if path == "arrow":
        return table
    import polars as pl

    return pl.from_arrow(table)


def check(query: str, out: list[dict]) -> dict:
    """Window-group counts and event totals from the output rows."""
    if query == "q1":
        return {
            "groups": len(out),
            "count": sum(r["n"] for r in out),
            "sum": sum(r["s"] for r in out),
        }
    if query == "q2":
        return {"rows": len(out), "sum_v2": sum(r["v2"] for r in out)}
    return {"groups": len(out), "count": sum(r["n"] for r in out)}


def main() -> None:
    """Time one query over one input path and print its JSON line."""
    args = _common.parse_args(__doc__, paths=PATHS)
    name = f"velostream ({args.path})"
    try:
        from velostream import Engine

        data = data_for(args.path, args.events)
        sql = sql_for(args.query, args.path, args.events)
        warm = Engine()  # load lazily imported modules before the clock starts
        warm.register("events", rows(10))
        warm.query(sql_for(args.query, "rows", 10))
        if args.path == "jsonl":  # (and the file source's: its modules, Polars' CSV reader)
            jsonl_path(WARM_EVENTS)
            Engine().query(sql_for(args.query, "jsonl", WARM_EVENTS))
        with _common.Stopwatch() as sw:
            eng = Engine()
            if data is not None:
                eng.register("events", data)
            out = eng.query(sql)
        res = check(args.query, out)
    except Exception as e:  # report and carry on: the table shows the error
        msg = f"engine not available: {type(e).__name__}: {e}"
        print(msg, file=sys.stderr)
        traceback.print_exc(limit=3, file=sys.stderr)
        _common.fail(name, args.query, msg)
        return
    _common.emit(name, args.query, args.events, sw.wall, res, sw.cpu)


if __name__ == "__main__":
    main()
