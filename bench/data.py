"""The shared benchmark workload (reference/streaming.md 3.2) and its file forms.

Every runner, ours and the peers', reads the same events: key ``k0..k99`` drawn at random with
seed 42, event time ``ts`` = i milliseconds, ``value`` = i % 10. The files add a decimal-string
``price`` so the JSON-lines path also decodes a DECIMAL column, as real order data would.
Runs under both the project venv and the peers venv, so it only uses the standard library
(orjson when present, for speed).
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Iterator
from pathlib import Path

N_EVENTS = 1_000_000
DATA_DIR = Path(__file__).resolve().parent / "data"

Event = tuple[str, int, int]


def events(n: int = N_EVENTS) -> list[Event]:
    """The workload: n tuples (key, ts ms, value), identical to streaming.md's generator."""
    random.seed(42)
    return [(f"k{random.randrange(100)}", i, i % 10) for i in range(n)]


def price(i: int) -> str:
    """A deterministic decimal-string price for event i (kept off the RNG so keys stay equal)."""
    cents = 10_000 + (i * 7_919) % 10_000
    return f"{cents // 100}.{cents % 100:02d}"


def rows(n: int = N_EVENTS) -> list[dict[str, object]]:
    """The workload as decoded dict rows: key, ts, value (no price, as the in-memory runs use)."""
    return [{"key": k, "ts": ts, "value": v} for k, ts, v in events(n)]


def _jsonl_lines(n: int) -> Iterator[bytes]:
    try:
        import orjson

        dumps = orjson.dumps
    except ImportError:  # pragma: no cover - both venvs have orjson; stdlib fallback
        import json

        def dumps(obj: object) -> bytes:
            return json.dumps(obj, separators=(",", ":")).encode()

    for k, ts, v in events(n):
        yield dumps({"key": k, "ts": ts, "value": v, "price": price(ts)}) + b"\n"


def jsonl_path(n: int = N_EVENTS) -> Path:
    """Path of the JSON-lines file of n events, written on first use."""
    path = DATA_DIR / f"events-{n}.jsonl"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with tmp.open("wb") as f:
            f.writelines(_jsonl_lines(n))
        tmp.replace(path)  # atomic: a concurrent reader never sees half a file
    return path


def csv_path(n: int = N_EVENTS, header: bool = True) -> Path:
    """Path of the CSV file of n events (key,ts,value,price), written on first use."""
    suffix = "" if header else "-noheader"
    path = DATA_DIR / f"events-{n}{suffix}.csv"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with tmp.open("w", newline="") as f:
            w = csv.writer(f)
            if header:
                w.writerow(["key", "ts", "value", "price"])
            w.writerows((k, ts, v, price(ts)) for k, ts, v in events(n))
        tmp.replace(path)
    return path


def expected(n: int = N_EVENTS) -> dict[str, dict[str, int]]:
    """Check values worked out straight from the tuples, independent of any engine."""
    ev = events(n)
    tumbling = {(ts // 1000, k) for k, ts, _ in ev}
    sliding: set[tuple[int, str]] = set()
    for k, ts, _ in ev:  # a 2 s window advancing 1 s: each event is in windows w and w - 1
        sliding.add((ts // 1000, k))
        sliding.add((ts // 1000 - 1, k))
    kept = [v for _, _, v in ev if v >= 5]
    return {
        "q1": {"groups": len(tumbling), "count": n, "sum": sum(v for _, _, v in ev)},
        "q2": {"rows": len(kept), "sum_v2": 2 * sum(kept)},
        "q3": {"groups": len(sliding), "count": 2 * n},
    }


if __name__ == "__main__":
    import json
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else N_EVENTS
    print(jsonl_path(n), csv_path(n), csv_path(n, header=False))
    print(json.dumps(expected(n)))
