"""Run the whole benchmark in one invocation and print the tables (`make bench`).

Every measurement is a fresh process pinned to one core (`taskset -c 0` where it exists) with
POLARS_MAX_THREADS=1, so the numbers are per core. Each (engine, query) runs 3 times and the
median is reported (`--quick`: once, on 200k events); PyFlink runs once per query by default
(`--flink-runs`), plus a 1,000-event start-up probe, because its JVM start-up alone takes
20-60 s on one core. Peers run with bench/.venv-peers (made by
bench/setup_peers.sh), our engine with the project venv. A peer that fails or times out shows
its error in the table; the run goes on. Raw and summarised results go to bench/results.json.

Two rates are reported: events per wall-clock second, and events per CPU-second (user + system
time of the process, its threads and its children such as PyFlink's JVM). On a quiet machine
they agree; when other work shares the cores, the CPU rate is the one to compare.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import data  # noqa: E402  (needs the path above)

PEERS_PY = HERE / ".venv-peers" / "bin" / "python"
PROJECT_PY = ROOT / ".venv" / "bin" / "python"
QUERIES = ("q1", "q2", "q3")
QUERY_TITLES = {
    "q1": "Q1 tumbling 1s COUNT/SUM/AVG",
    "q2": "Q2 filter/projection",
    "q3": "Q3 sliding 2s/1s COUNT",
}
QUIX_EVENTS = 200_000  # Quix does ~20k ev/s windowed: 1M events x 9 runs would take 8 minutes
FLINK_PROBE_EVENTS = 1_000  # a PyFlink run this small is all start-up


@dataclass
class Spec:
    """One (engine, query) cell of the table and how to measure it."""

    engine: str
    query: str
    cmd: list[str]
    events: int
    runs: int
    group: str  # peer | limit | ours
    note: str = ""
    pin: bool = True
    timeout_floor: float = 0
    results: list[dict] = field(default_factory=list)


def _python(kind: str) -> str:
    """The interpreter for the peers or for our engine."""
    if kind == "peers":
        return str(PEERS_PY)
    return str(PROJECT_PY) if PROJECT_PY.exists() else sys.executable


def build_specs(args: argparse.Namespace) -> list[Spec]:
    """Every measurement of this invocation, in the order they run."""
    n, runs = args.events, args.runs
    peers, ours = _python("peers"), _python("project")
    specs: list[Spec] = []

    def add(
        engine: str,
        q: str,
        script: str,
        extra: list[str],
        events: int,
        nruns: int,
        group: str,
        kind: str,
        note: str = "",
        **kw: object,
    ) -> None:
        """One spec; `kind` is the python that runs the script."""
        cmd = [kind, str(HERE / script), "--query", q, "--events", str(events), *extra]
        specs.append(Spec(engine, q, cmd, events, nruns, group, note, **kw))

    for q in QUERIES:
        add("polars-loop", q, "pl_runner.py", ["--path", "columnar"], n, runs, "limit", peers)
    for q in QUERIES:
        add("polars-loop (jsonl)", q, "pl_runner.py", ["--path", "jsonl"], n, runs, "limit", peers)
    for q in QUERIES:
        add("bytewax", q, "bw_runner.py", [], n, runs, "peer", peers)
    qn = min(n, args.quix_events)
    for q in QUERIES:
        note = f"{qn:,} events" if qn != n else ""
        add("quixstreams", q, "qs_runner.py", [], qn, runs, "peer", peers, note)
    fruns = min(runs, args.flink_runs)
    # The JVM runs its JIT compiler, GC and task threads side by side; squeezed onto one busy
    # core its start-up alone can pass the time-out, so it is not pinned unless asked. Its
    # per-core cost is then the CPU-second rate, which counts every thread of the JVM.
    fl = {"pin": args.pin_flink, "timeout_floor": 600}
    note = "" if args.pin_flink else "not pinned"
    for q in QUERIES:
        add("pyflink", q, "pf_runner.py", [], n, fruns, "peer", peers, note, **fl)
        add("pyflink probe", q, "pf_runner.py", [], FLINK_PROBE_EVENTS, 1, "probe", peers, **fl)
    for path in args.paths.split(","):
        for q in QUERIES:
            add(
                f"velostream ({path})", q, "velo_runner.py", ["--path", path], n, runs, "ours", ours
            )
    if args.only:
        keep = [s.strip() for s in args.only.split(",")]
        specs = [s for s in specs if any(s.engine.startswith(k) for k in keep)]
    return specs


def _env() -> dict[str, str]:
    """The environment of every measured process."""
    env = dict(os.environ)
    env["POLARS_MAX_THREADS"] = "1"
    env["PYTHONWARNINGS"] = "ignore"  # a dependency of Quix warns on import; not ours to fix
    env["PYTHONPATH"] = str(HERE)
    return env


CORE = "0"  # the core runs are pinned to (--core)


def run_once(cmd: list[str], timeout: float, pin: bool) -> dict:
    """Run one measurement process; its last JSON line, or an error."""
    if pin:
        cmd = ["taskset", "-c", CORE, *cmd]
    t0 = time.perf_counter()
    # A session of its own, so a timeout can end the whole tree (PyFlink's JVM too).
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            try:
                res = json.loads(line)
            except json.JSONDecodeError:
                continue
            res["process_seconds"] = round(time.perf_counter() - t0, 2)
            return res
    tail = [ln for ln in err.strip().splitlines() if ln.strip()][-1:] or [f"exit {proc.returncode}"]
    return {"error": tail[0][:300]}


def median_of(results: list[dict], key: str) -> float | None:
    """Median of one numeric field over the successful runs."""
    vals = [r[key] for r in results if r.get(key) is not None and "error" not in r]
    return statistics.median(vals) if vals else None


def check_of(spec: Spec) -> dict | None:
    """The check values of the first run that has them."""
    for r in spec.results:
        if r.get("check"):
            return r["check"]
    return None


_expected_cache: dict[int, dict] = {}


def check_status(spec: Spec) -> str:
    """'ok', or which check values differ from the ones worked out from the tuples."""
    got = check_of(spec)
    if got is None:
        return "-"
    if spec.events not in _expected_cache:
        _expected_cache[spec.events] = data.expected(spec.events)
    want = _expected_cache[spec.events][spec.query]
    diff = [f"{k} {got.get(k):,} (want {v:,})" for k, v in want.items() if got.get(k) != v]
    return "ok" if not diff else "; ".join(diff)


def summarize(specs: list[Spec]) -> dict[str, dict[str, dict]]:
    """engine -> query -> medians, check and errors."""
    out: dict[str, dict[str, dict]] = {}
    for s in specs:
        cell = {
            "events": s.events,
            "runs": len(s.results),
            "ok_runs": sum("error" not in r for r in s.results),
            "events_per_s": median_of(s.results, "events_per_s"),
            "events_per_cpu_s": median_of(s.results, "events_per_cpu_s"),
            "seconds": median_of(s.results, "seconds"),
            "cpu_seconds": median_of(s.results, "cpu_seconds"),
            "check": check_of(s),
            "check_status": check_status(s),
            "errors": [r["error"] for r in s.results if "error" in r],
            "note": s.note,
        }
        out.setdefault(s.engine, {})[s.query] = cell
    _add_flink_steady(out)
    return out


def _add_flink_steady(summary: dict[str, dict[str, dict]]) -> None:
    """PyFlink without start-up: (N - probe N) / (full run time - probe run time)."""
    full, probe = summary.get("pyflink"), summary.pop("pyflink probe", None)
    if not full or not probe:
        return
    steady: dict[str, dict] = {}
    for q, cell in full.items():
        p = probe.get(q, {})
        row = {"events": cell["events"], "check": None, "errors": [], "note": ""}
        row["check_status"] = "-"
        for rate, secs in (("events_per_s", "seconds"), ("events_per_cpu_s", "cpu_seconds")):
            a, b = cell.get(secs), p.get(secs)
            ok = a is not None and b is not None and a > b
            row[rate] = round((cell["events"] - FLINK_PROBE_EVENTS) / (a - b)) if ok else None
        row["probe_seconds"] = p.get("seconds")
        row["probe_cpu_seconds"] = p.get("cpu_seconds")
        if not row["events_per_s"]:
            row["errors"] = p.get("errors") or cell.get("errors") or ["probe failed"]
        steady[q] = row
    summary["pyflink (excl. start-up)"] = steady


def _fmt_rate(cell: dict | None, key: str) -> str:
    if cell is None:
        return "-"
    v = cell.get(key)
    if v is None:
        errs = cell.get("errors") or ["no result"]
        return "error: " + errs[0][:60]
    return f"{v:,.0f}"


def print_table(summary: dict[str, dict[str, dict]], key: str, title: str) -> None:
    """One row per engine, one column per query."""
    print(f"\n{title}")
    w0 = max(len(e) for e in summary) + 2
    head = "".join(f"{QUERY_TITLES[q]:>32}" for q in QUERIES)
    print(f"{'engine':<{w0}}{head}")
    for eng, cells in summary.items():
        row = "".join(f"{_fmt_rate(cells.get(q), key):>32}" for q in QUERIES)
        print(f"{eng:<{w0}}{row}")


PAIRS = [
    ("velostream (rows)", "bytewax"),
    ("velostream (rows)", "quixstreams"),
    ("velostream (rows)", "pyflink"),
    ("velostream (rows)", "pyflink (excl. start-up)"),
    ("velostream (rows)", "polars-loop"),
    ("velostream (arrow)", "polars-loop"),
    ("velostream (polars)", "polars-loop"),
    ("velostream (jsonl)", "polars-loop (jsonl)"),
    ("velostream (jsonl)", "pyflink"),
]


def ratios(summary: dict[str, dict[str, dict]], key: str) -> dict[str, dict[str, float | None]]:
    """ours / theirs per query for each pair in PAIRS."""
    out: dict[str, dict[str, float | None]] = {}
    for ours, peer in PAIRS:
        if ours not in summary or peer not in summary:
            continue
        row: dict[str, float | None] = {}
        for q in QUERIES:
            a = summary[ours].get(q, {}).get(key)
            b = summary[peer].get(q, {}).get(key)
            row[q] = round(a / b, 2) if a and b else None
        out[f"{ours} / {peer}"] = row
    return out


def print_ratios(rat: dict[str, dict[str, float | None]], title: str) -> None:
    """The ratio table."""
    print(f"\n{title}")
    w0 = max((len(k) for k in rat), default=10) + 2
    print(f"{'ours / theirs':<{w0}}" + "".join(f"{q.upper():>10}" for q in QUERIES))
    for name, row in rat.items():
        cells = "".join(f"{(f'{v:.2f}x' if v else '-'):>10}" for v in row.values())
        print(f"{name:<{w0}}{cells}")


def print_targets(summary: dict[str, dict[str, dict]], latency: list[dict], key: str) -> None:
    """The issue's targets against what was measured (Q1, per core)."""

    def get(eng: str, q: str = "q1") -> float | None:
        return summary.get(eng, {}).get(q, {}).get(key)

    print("\nTargets (issue 2, Q1 per core)")
    rows = get("velostream (rows)")
    jl = get("velostream (jsonl)")
    col = max(filter(None, [get("velostream (arrow)"), get("velostream (polars)")]), default=None)
    limit = get("polars-loop")
    checks = [
        (">= 3,000,000 ev/s from decoded rows", rows, rows is not None and rows >= 3e6),
        (">= 1,500,000 ev/s from JSON lines", jl, jl is not None and jl >= 1.5e6),
        (
            "within 2x of the Polars loop (columnar)",
            col,
            col is not None and limit is not None and col * 2 >= limit,
        ),
    ]
    for text, val, ok in checks:
        shown = f"{val:,.0f}" if val is not None else "n/a"
        print(f"  [{'x' if ok else ' '}] {text}: {shown}")
    for lat in latency:
        if "p99_ms" in lat:
            ok = lat["p99_ms"] <= 10
            print(
                f"  [{'x' if ok else ' '}] p99 <= 10 ms at 10k ev/s, {lat['engine']}: "
                f"{lat['p99_ms']} ms (p50 {lat['p50_ms']} ms)"
            )
        else:
            print(f"  [ ] latency, {lat.get('engine')}: {lat.get('error')}")


def run_latency(args: argparse.Namespace, pin: bool) -> list[dict]:
    """bench/latency.py, one JSON line per source."""
    cmd = [_python("project"), str(HERE / "latency.py"), "--seconds", str(args.latency_seconds)]
    if pin:
        cmd = ["taskset", "-c", CORE, *cmd]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=120)
    except subprocess.TimeoutExpired:
        return [{"engine": "velostream", "query": "latency", "error": "timed out"}]
    out = [json.loads(ln) for ln in res.stdout.splitlines() if ln.startswith("{")]
    if not out:
        tail = (res.stderr.strip().splitlines() or ["no output"])[-1]
        out = [{"engine": "velostream", "query": "latency", "error": tail[:300]}]
    return out


def _prepare_inputs(n: int, specs: list[Spec]) -> None:
    """Write the input files once, before any clock starts."""
    data.jsonl_path(n)
    data.csv_path(n, header=False)
    data.csv_path(FLINK_PROBE_EVENTS, header=False)
    for s in specs:
        if s.events != n and "jsonl" in s.engine:
            data.jsonl_path(s.events)


def write_results(
    args: argparse.Namespace,
    pin: bool,
    specs: list[Spec],
    latency: list[dict],
    load0: tuple[float, ...],
    load1: tuple[float, ...],
    elapsed: float,
    complete: bool,
) -> None:
    """Write bench/results.json (also after every cell, so an interrupted run keeps its data)."""
    summary = summarize(specs)
    key = "events_per_cpu_s" if args.metric == "cpu" else "events_per_s"
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "complete": complete,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_before": load0,
            "load_after": load1,
        },
        "settings": {
            "events": args.events,
            "runs": args.runs,
            "pinned": pin,
            "pyflink_pinned": pin and args.pin_flink,
            "metric_for_ratios": args.metric,
            "quix_events": min(args.events, args.quix_events),
        },
        "summary": summary,
        "ratios": ratios(summary, key),
        "latency": latency,
        "runs": [{"engine": s.engine, "query": s.query, "results": s.results} for s in specs],
        "total_seconds": round(elapsed, 1),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


def main() -> None:
    """Run everything, print the tables, write bench/results.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 run each, 200k events")
    ap.add_argument("--events", type=int, default=None)
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument(
        "--flink-runs", type=int, default=1, help="PyFlink runs per query (its start-up is slow)"
    )
    ap.add_argument(
        "--paths", default="rows,polars,jsonl", help="our engine's input paths (also: arrow)"
    )
    ap.add_argument("--quix-events", type=int, default=QUIX_EVENTS)
    ap.add_argument("--timeout", type=float, default=300, help="seconds per run")
    ap.add_argument("--only", help="comma-separated engine name prefixes, e.g. bytewax,velostream")
    ap.add_argument("--no-pin", action="store_true", help="do not pin runs to core 0")
    ap.add_argument("--pin-flink", action="store_true", help="pin PyFlink's JVM to core 0 too")
    ap.add_argument("--core", default="0", help="the core to pin runs to (default 0)")
    ap.add_argument("--no-latency", action="store_true")
    ap.add_argument("--latency-seconds", type=float, default=None)
    ap.add_argument("--metric", choices=("cpu", "wall"), default="cpu", help="rate for ratios")
    ap.add_argument("--out", default=str(HERE / "results.json"))
    args = ap.parse_args()
    args.events = args.events or (200_000 if args.quick else data.N_EVENTS)
    args.runs = args.runs or (1 if args.quick else 3)
    args.latency_seconds = args.latency_seconds or (3 if args.quick else 10)
    pin = not args.no_pin and shutil.which("taskset") is not None
    global CORE
    CORE = args.core

    started = time.perf_counter()
    load0 = os.getloadavg()
    specs = build_specs(args)
    peers_missing = not PEERS_PY.exists()
    print(
        f"bench: {args.events:,} events, {args.runs} run(s) each, pinned to core {args.core}: {pin}, "
        f"load average {load0[0]:.2f}",
        file=sys.stderr,
    )
    _prepare_inputs(args.events, specs)
    for s in specs:
        for i in range(s.runs):
            if peers_missing and s.cmd[0] == str(PEERS_PY):
                res = {"error": "peers venv missing: run bench/setup_peers.sh"}
            else:
                cmd = list(s.cmd)
                if s.engine == "pyflink" and i == 0:
                    cmd.append("--check")  # an extra untimed job collects the check values
                res = run_once(cmd, max(args.timeout, s.timeout_floor), pin and s.pin)
            s.results.append(res)
            shown = (
                res.get("error")
                or f"{res.get('events_per_s'):,} ev/s, "
                f"{res.get('events_per_cpu_s') or 0:,} ev/CPU-s"
            )
            print(f"  {s.engine:<26} {s.query} run {i + 1}/{s.runs}: {shown}", file=sys.stderr)
            if "error" in res and "timed out" in res["error"]:
                break  # a timed-out run would time out again: save the budget
        done = [x for x in specs if x.results]
        now = time.perf_counter() - started
        write_results(args, pin, done, [], load0, os.getloadavg(), now, complete=False)
    latency = [] if args.no_latency else run_latency(args, pin)
    load1 = os.getloadavg()

    summary = summarize(specs)
    key = "events_per_cpu_s" if args.metric == "cpu" else "events_per_s"
    print_table(summary, "events_per_s", "Events per second (wall clock, median)")
    print_table(summary, "events_per_cpu_s", "Events per CPU-second (median)")
    rat = ratios(summary, key)
    print_ratios(
        rat,
        f"Ratios, ours / theirs ({'per CPU-second' if key != 'events_per_s' else 'wall clock'})",
    )
    print(
        "\nChecks (window groups, rows, event totals) against the values worked out from the tuples"
    )
    for eng, cells in summary.items():
        for q in QUERIES:
            c = cells.get(q)
            if c and c.get("check_status") not in (None, "-"):
                note = f" [{c['note']}]" if c.get("note") else ""
                print(f"  {eng:<26} {q}: {c['check_status']}{note}")
    if latency:
        print("\nLatency, filter/projection at 10k ev/s through eng.stream()")
        for lat in latency:
            print("  " + json.dumps(lat))
    print_targets(summary, latency, key)
    elapsed = time.perf_counter() - started
    print(
        f"\nload average before/after: {load0[0]:.2f} / {load1[0]:.2f} on {os.cpu_count()} cores;"
        f" total {elapsed / 60:.1f} min"
    )

    write_results(args, pin, specs, latency, load0, load1, elapsed, complete=True)
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
