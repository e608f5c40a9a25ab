"""The practical limit: a hand-written Polars micro-batch loop (10k-row batches).

Each batch is aggregated by Polars (group_by over window start and key) and the partial
aggregates are merged into a dict of accumulators keyed by (window start, key), as a streaming
engine keeps its state (reference/streaming.md 4.2). `--path columnar` starts from Polars
batches made before the clock starts; `--path jsonl` reads and decodes the JSON-lines file in
10k-line chunks inside the timed loop.
Run with POLARS_MAX_THREADS=1 for a per-core number.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import _common
import polars as pl
from data import events, jsonl_path

B = 10_000
WS = (pl.col("ts") - pl.col("ts") % 1000).alias("ws")


def columnar_batches(n: int) -> list[pl.DataFrame]:
    """The workload as a list of 10k-row Polars frames (key, ts, value)."""
    keys, tss, vals = zip(*events(n), strict=True)
    return [
        pl.DataFrame({"key": keys[i : i + B], "ts": tss[i : i + B], "value": vals[i : i + B]})
        for i in range(0, n, B)
    ]


def jsonl_batches(n: int) -> Iterator[pl.DataFrame]:
    """Read the JSON-lines file 10k lines at a time and decode each chunk with Polars."""
    schema = {"key": pl.String, "ts": pl.Int64, "value": pl.Int64, "price": pl.String}
    with jsonl_path(n).open("rb") as f:
        while True:
            lines = [line for _, line in zip(range(B), f, strict=False)]
            if not lines:
                return
            yield pl.read_ndjson(io.BytesIO(b"".join(lines)), schema=schema)


def q1(batches) -> dict:
    """Tumbling 1 s: COUNT, SUM, AVG per key."""
    acc: dict[tuple[int, str], list[int]] = {}
    for b in batches:
        part = b.group_by([WS, "key"]).agg(pl.len().alias("n"), pl.col("value").sum().alias("s"))
        for ws, k, n, s in part.iter_rows():
            a = acc.get((ws, k))
            if a is None:
                acc[(ws, k)] = [n, s]
            else:
                a[0] += n
                a[1] += s
    out = [(ws, k, n, s, s / n) for (ws, k), (n, s) in acc.items()]  # AVG at emit time
    return {"groups": len(out), "count": sum(r[2] for r in out), "sum": sum(r[3] for r in out)}


def q2(batches) -> dict:
    """Filter/projection: value >= 5, project key, ts, value * 2."""
    rows = 0
    total = 0
    for b in batches:
        o = b.filter(pl.col("value") >= 5).select("key", "ts", (pl.col("value") * 2).alias("v2"))
        rows += o.height
        total += o["v2"].sum()
    return {"rows": rows, "sum_v2": total}


def q3(batches) -> dict:
    """Sliding 2 s advancing 1 s: COUNT per key (each event is in two windows)."""
    acc: dict[tuple[int, str], int] = {}
    for b in batches:
        part = b.group_by([WS, "key"]).agg(pl.len())
        for ws, k, n in part.iter_rows():  # the window starting at ws and the one before it
            acc[(ws, k)] = acc.get((ws, k), 0) + n
            acc[(ws - 1000, k)] = acc.get((ws - 1000, k), 0) + n
    return {"groups": len(acc), "count": sum(acc.values())}


def main() -> None:
    """Time one query over the workload and print its JSON line."""
    args = _common.parse_args(__doc__, paths=("columnar", "jsonl"))
    if args.path == "columnar":
        batches = columnar_batches(args.events)
    else:
        jsonl_path(args.events)  # write the file before the clock starts
        batches = jsonl_batches(args.events)
    fn = {"q1": q1, "q2": q2, "q3": q3}[args.query]
    with _common.Stopwatch() as sw:
        check = fn(batches)
    name = "polars-loop" if args.path == "columnar" else "polars-loop (jsonl)"
    _common.emit(name, args.query, args.events, sw.wall, check, sw.cpu)


if __name__ == "__main__":
    main()
