"""What every runner shares: its command line and the one JSON line it prints."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # so `import data` works from any cwd

QUERIES = ("q1", "q2", "q3")
QUERY_TITLES = {
    "q1": "tumbling 1s: COUNT, SUM, AVG per key",
    "q2": "filter/projection: value >= 5, value*2",
    "q3": "sliding 2s/1s: COUNT per key",
}


def _proc_cpu(pid: int) -> tuple[int, float]:
    """(parent pid, user+system seconds) of a live process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # after the command name: state ppid ... utime(12) stime(13), counted from state = 0
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants_cpu() -> float:
    """CPU seconds used so far by this process's descendants (live ones from /proc, plus the
    ended ones it has waited for): PyFlink's JVM, for instance."""
    t = os.times()
    total = t.children_user + t.children_system
    procs: dict[int, tuple[int, float]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                procs[int(name)] = _proc_cpu(int(name))
            except (OSError, ValueError, IndexError):
                continue  # ended while we looked
    me = os.getpid()
    for pid, (_, cpu) in procs.items():
        p, hops = pid, 0
        while p in procs and p != me and hops < 50:  # walk up to see whether we are an ancestor
            p, hops = procs[p][0], hops + 1
        if p == me and pid != me:
            total += cpu
    return total


def cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process, its threads and descendants.

    The machine is shared, so wall time alone overstates a run's cost when other work competes
    for the core; CPU time does not.
    """
    import time

    # process_time: every thread of this process, at high resolution (os.times ticks at 10 ms)
    return descendants_cpu() + time.process_time()


def parse_args(description: str, paths: tuple[str, ...] = ()) -> argparse.Namespace:
    """Parse the runner options: --query, --events and (where several exist) --path."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--query", choices=QUERIES, required=True)
    ap.add_argument("--events", type=int, default=1_000_000)
    if paths:
        ap.add_argument("--path", choices=paths, default=paths[0], help="input path to measure")
    return ap.parse_args()


def emit(
    engine: str,
    query: str,
    events: int,
    seconds: float,
    check: dict,
    cpu: float | None = None,
    **extra: object,
) -> None:
    """Print the runner's result as one JSON line on standard output.

    `seconds` is wall-clock time; `cpu` (optional) the CPU seconds of the same span, from which
    `events_per_cpu_s` is derived.
    """
    out: dict[str, object] = {
        "engine": engine,
        "query": query,
        "events": events,
        "seconds": round(seconds, 4),
        "events_per_s": round(events / seconds) if seconds > 0 else None,
        "check": check,
    }
    if cpu is not None:
        out["cpu_seconds"] = round(cpu, 4)
        out["events_per_cpu_s"] = round(events / cpu) if cpu > 0 else None
    out.update(extra)
    print(json.dumps(out), flush=True)


def fail(engine: str, query: str, error: str) -> None:
    """Print a failed run as one JSON line (the table shows the error instead of a number)."""
    print(json.dumps({"engine": engine, "query": query, "error": error}), flush=True)


class Stopwatch:
    """Wall-clock and CPU time of a span: `with Stopwatch() as sw: ...`, then sw.wall, sw.cpu."""

    def __enter__(self) -> Stopwatch:
        import time

        self._perf = time.perf_counter
        self._own = time.process_time
        # The /proc scan happens outside the span: descendants first on entry, last on exit.
        kids = descendants_cpu()
        self.cpu0 = kids + self._own()
        self.t0 = self._perf()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = self._perf() - self.t0
        own = self._own()
        self.cpu = own + descendants_cpu() - self.cpu0
