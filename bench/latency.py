"""Record-to-output latency of a filter/projection query through our engine's live API.

Two sources, both paced at --rate events/s (default 10,000) for --seconds:

- `memory`: a paced in-memory source written here. Each record is stamped with the wall-clock
  time (µs) at which it became due; latency = the time its output row reaches the consumer of
  `async for batch in eng.stream(sql)` minus that stamp. The engine has no public push source
  yet, so this one is handed to the engine by wrapping `registry.create_source` for the
  registered name (a benchmark harness, nothing the engine ships).
- `synthetic`: the engine's own `synthetic` source (live, paced); its event time is the wall
  clock at which each record is due, in whole milliseconds, so this measure is coarser.

The first second is left out (start-up: planning, code generation). Run with the project venv:
.venv/bin/python bench/latency.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
import traceback
from collections.abc import AsyncIterator
from typing import Any

QUERY_MEMORY = "SELECT key, value * 2 AS v2, sent_us FROM events WHERE value >= 5"
QUERY_SYNTHETIC = (
    "SELECT key, value * 2 AS v2, _event_time AS due_ms FROM events WHERE value >= 5 "
    "WITH ('events.type' = 'synthetic', 'events.rate' = '{rate}', 'events.keys' = '100', "
    "'events.schema' = 'key STRING, value BIGINT RANGE(0, 9), ts TIMESTAMP')"
)
WARMUP_S = 1.0


class PacedFeed:
    """What `latency.py` registers: the pacing of the memory source."""

    def __init__(self, rate: float, seconds: float):
        self.rate = rate
        self.n = int(rate * seconds)


def _paced_source(name: str, props: dict[str, str], feed: PacedFeed) -> Any:
    from velostream.connectors.base import Source

    class PacedSource(Source):
        """Unbounded-looking source that hands over every record as soon as it is due."""

        bounded = False

        async def batches(self) -> AsyncIterator[list[dict]]:
            rate, n = feed.rate, feed.n
            start_ns = time.time_ns()
            i = 0
            while i < n:
                elapsed = (time.time_ns() - start_ns) / 1e9
                due = min(n, math.floor(elapsed * rate) + 1)
                if due <= i:  # sleep until the next record is due
                    await asyncio.sleep(max(0.0, i / rate - elapsed))
                    continue
                batch = []
                for j in range(i, due):
                    due_us = start_ns // 1000 + int(j * 1e6 / rate)
                    et = due_us // 1000
                    batch.append(
                        {
                            "key": f"k{j % 100}",
                            "value": j % 10,
                            "sent_us": due_us,
                            "_event_time": et,
                            "_timestamp": et,
                            "_offset": j,
                            "_partition": 0,
                            "_key": None,
                        }
                    )
                i = due
                yield batch

    return PacedSource(name, props)


def _install_paced_sources() -> None:
    """Let a registered PacedFeed become a PacedSource when a job is built."""
    from velostream.connectors import registry

    original = registry.create_source

    def create_source(name, props, memory=None, on_warning=None):  # type: ignore[no-untyped-def]
        feed = (memory or {}).get(name)
        if isinstance(feed, PacedFeed):
            return _paced_source(name, props, feed)
        return original(name, props, memory=memory, on_warning=on_warning)

    registry.create_source = create_source


async def _collect(eng: Any, sql: str, seconds: float, stamp: str, unit_us: int) -> list[float]:
    """Run the live query for `seconds`; latencies (ms) of rows after the warm-up."""
    lat: list[float] = []
    t_end = time.perf_counter() + seconds
    t_warm = time.time_ns() // 1000 + int(WARMUP_S * 1e6)
    agen = eng.stream(sql)
    try:
        async for batch in agen:
            now_us = time.time_ns() // 1000
            for row in batch:
                sent = row[stamp] * unit_us
                if sent >= t_warm:
                    lat.append((now_us - sent) / 1000)
            if time.perf_counter() >= t_end:
                break
    finally:
        await agen.aclose()
    return lat


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, max(0, math.ceil(p / 100 * len(xs)) - 1))]


def measure(source: str, rate: float, seconds: float) -> dict:
    """Run one latency measurement and return its summary."""
    from velostream import Engine

    eng = Engine()
    if source == "memory":
        _install_paced_sources()
        eng.register("events", PacedFeed(rate, seconds + 1))
        lat = asyncio.run(_collect(eng, QUERY_MEMORY, seconds, "sent_us", 1))
    else:
        sql = QUERY_SYNTHETIC.format(rate=int(rate))
        lat = asyncio.run(_collect(eng, sql, seconds, "due_ms", 1000))
    lat.sort()
    return {
        "engine": f"velostream ({source})",
        "query": "latency",
        "rate": rate,
        "rows": len(lat),
        "p50_ms": round(_pct(lat, 50), 3),
        "p90_ms": round(_pct(lat, 90), 3),
        "p99_ms": round(_pct(lat, 99), 3),
        "p999_ms": round(_pct(lat, 99.9), 3),
        "max_ms": round(lat[-1], 3) if lat else None,
        "stamp_resolution_ms": 0.001 if source == "memory" else 1,
    }


def main() -> None:
    """Measure and print one JSON line per source."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rate", type=float, default=10_000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--source", choices=("memory", "synthetic", "both"), default="both")
    args = ap.parse_args()
    sources = ("memory", "synthetic") if args.source == "both" else (args.source,)
    for src in sources:
        try:
            out = measure(src, args.rate, args.seconds)
        except Exception as e:
            msg = f"engine not available: {type(e).__name__}: {e}"
            print(msg, file=sys.stderr)
            traceback.print_exc(limit=3, file=sys.stderr)
            out = {"engine": f"velostream ({src})", "query": "latency", "error": msg}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
