"""Markdown tables from one or more results files of `run.py` (later files win per engine).

.venv/bin/python bench/report.py bench/results.json [more.json ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

QUERIES = ("q1", "q2", "q3")
HEAD = "| engine | Q1 tumbling | Q2 filter/projection | Q3 sliding |"
ORDER = (
    "velostream (rows)",
    "velostream (arrow)",
    "velostream (polars)",
    "velostream (jsonl)",
    "polars-loop",
    "polars-loop (jsonl)",
    "bytewax",
    "quixstreams",
    "pyflink",
    "pyflink (excl. start-up)",
)


def _cell(c: dict | None, key: str) -> str:
    if not c:
        return "-"
    v = c.get(key)
    if v is None:
        return "error: " + ((c.get("errors") or ["no result"])[0])[:40]
    return f"{v:,.0f}"


def table(summary: dict[str, dict], key: str) -> list[str]:
    """One markdown table of one rate."""
    lines = [HEAD, "|---|---:|---:|---:|"]
    names = [e for e in ORDER if e in summary] + [e for e in summary if e not in ORDER]
    for eng in names:
        cells = summary[eng]
        lines.append(f"| {eng} | " + " | ".join(_cell(cells.get(q), key) for q in QUERIES) + " |")
    return lines


def main() -> None:
    """Merge the files' summaries and print both tables and the ratios."""
    summary: dict[str, dict] = {}
    latency: list[dict] = []
    for p in sys.argv[1:]:
        d = json.loads(Path(p).read_text())
        summary.update(d["summary"])
        latency = d.get("latency") or latency
    print("Events per CPU-second (median):\n")
    print("\n".join(table(summary, "events_per_cpu_s")))
    print("\nEvents per wall-clock second (median):\n")
    print("\n".join(table(summary, "events_per_s")))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from run import ratios

    print("\nRatios, ours / theirs, per CPU-second:\n")
    print("| ours / theirs | Q1 | Q2 | Q3 |\n|---|---:|---:|---:|")
    for name, row in ratios(summary, "events_per_cpu_s").items():
        vals = " | ".join(f"{v:.2f}x" if v else "-" for v in row.values())
        print(f"| {name} | {vals} |")
    for lat in latency:
        print(f"\nlatency {lat.get('engine')}: " + json.dumps(lat))


if __name__ == "__main__":
    main()
