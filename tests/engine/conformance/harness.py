"""End-to-end conformance harness: run `velo run FILE.sql` on a case and compare its sink.

A `Case` is SQL text with `{dir}` placeholders (the case's own folder), input files, and the
rows the sink must hold, worked out by hand from SEMANTICS.md. Cases that only expect success
are batched into one `velo run` (one file, one statement group per case, each in its own folder)
to keep the suite fast; when such a batch does not exit 0, every case in it is re-run alone so
that one broken statement cannot hide or fail the others.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VELO = Path(sys.executable).with_name("velo")
BATCH_SIZE = 40
TIMED_OUT = -9
BATCH_TIMEOUT_S = 40.0
SOLO_TIMEOUT_S = 25.0
WORKERS = max(2, min(4, os.cpu_count() or 2))
RUN_LOG: list[tuple[str, float, int]] = []  # (folder, seconds, exit code) per velo run


class Unordered(tuple):
    """A block of expected rows that may come in any order among themselves (a multiset)."""

    def __new__(cls, *rows: Mapping[str, Any]) -> Unordered:
        return super().__new__(cls, rows)


Row = Mapping[str, Any]
Expected = Sequence[Row | Unordered]


@dataclass(frozen=True)
class Case:
    """One conformance case: a SQL file, its inputs and what its sinks must hold."""

    id: str
    sql: str
    inputs: Mapping[str, Sequence[Row] | str] = field(default_factory=dict)
    expected: Expected | None = None  # rows of `sink`, in order (Unordered blocks any order)
    sink: str = "out.jsonl"
    unordered: bool = False  # compare `expected` as one multiset
    outputs: Mapping[str, Expected] = field(default_factory=dict)  # more sinks: path -> rows
    exit_code: int = 0
    stderr: Sequence[str] = ()  # substrings stderr must contain (case-insensitive)
    stdout: Sequence[str] = ()  # substrings stdout must contain
    rule: str = ""  # the SEMANTICS.md sentence the case holds the engine to
    solo: bool = False  # run alone (relative paths, process-wide checks)

    @property
    def alone(self) -> bool:
        """Whether this case needs a `velo run` of its own."""
        return self.solo or self.exit_code != 0 or bool(self.stderr) or bool(self.stdout)

    def sql_for(self, folder: Path) -> str:
        """The SQL text with `{dir}` replaced by `folder`."""
        return self.sql.replace("{dir}", str(folder))


@dataclass
class Result:
    """What one case's run produced."""

    returncode: int
    stdout: str
    stderr: str
    folder: Path
    batched: bool = False

    def read(self, rel: str) -> list[Any] | None:
        """The rows of sink file `rel` (JSON lines; a JSON array for .json; CSV for .csv), or None."""
        path = self.folder / rel
        if not path.exists():
            return None
        text = path.read_text()
        if rel.endswith(".json"):
            return json.loads(text) if text.strip() else []
        if rel.endswith(".csv"):
            # CSV cells are text: rows come back as dicts of strings, header order kept
            return [dict(r) for r in csv.DictReader(io.StringIO(text))]
        return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- writing and running -------------------------------------------------------------------


def write_inputs(case: Case, folder: Path) -> None:
    """Write the case's input files into `folder` (rows as JSON lines, str as raw text)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in case.inputs.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_text("".join(json.dumps(r) + "\n" for r in content))


def run_velo(sql_file: Path, cwd: Path, timeout: float) -> tuple[int, str, str]:
    """Run `velo run sql_file` in `cwd`; a timeout gives exit code TIMED_OUT."""
    start = time.monotonic()
    try:
        p = subprocess.run(
            [str(VELO), "run", str(sql_file)],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        RUN_LOG.append((sql_file.parent.name, time.monotonic() - start, p.returncode))
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        return TIMED_OUT, out, err + f"\n[harness] velo run timed out after {timeout}s"


def run_solo(case: Case, root: Path) -> Result:
    """Run one case alone in `root/solo/<id>` with that folder as the working directory."""
    folder = root / "solo" / _safe(case.id)
    write_inputs(case, folder)
    sql_file = folder / "case.sql"
    sql_file.write_text(case.sql_for(folder))
    code, out, err = run_velo(sql_file, folder, SOLO_TIMEOUT_S)
    return Result(code, out, err, folder)


def run_batch(cases: Sequence[Case], root: Path, tag: str) -> dict[str, Result]:
    """Run several success-only cases in one `velo run`.

    When the run fails, the batch is split in halves and each half re-run (down to single cases
    run alone), so one broken statement costs a few extra runs and hides nothing. After a
    timeout every case runs alone, so that only the hanging one waits for its own timeout.
    """
    if len(cases) == 1:
        return {cases[0].id: run_solo(cases[0], root)}
    batch_dir = root / f"batch{tag}"
    parts = []
    for case in cases:
        folder = batch_dir / _safe(case.id)
        write_inputs(case, folder)
        parts.append(f"-- case {case.id}\n" + case.sql_for(folder).strip().rstrip(";") + ";\n")
    sql_file = batch_dir / "batch.sql"
    sql_file.write_text("\n".join(parts))
    code, out, err = run_velo(sql_file, batch_dir, BATCH_TIMEOUT_S)
    if code == TIMED_OUT:
        return {c.id: run_solo(c, root) for c in cases}
    if code != 0:
        half = len(cases) // 2
        return run_batch(cases[:half], root, tag + "a") | run_batch(cases[half:], root, tag + "b")
    return {c.id: Result(code, out, err, batch_dir / _safe(c.id), batched=True) for c in cases}


def run_all(cases: Iterable[Case], root: Path) -> dict[str, Result]:
    """Run every case (batched where possible, in parallel) and return results by case id."""
    cases = list({c.id: c for c in cases}.values())
    alone = [c for c in cases if c.alone]
    batches = _batches([c for c in cases if not c.alone])
    results: dict[str, Result] = {}
    with ThreadPoolExecutor(WORKERS) as pool:
        futs = [pool.submit(run_batch, b, root, str(i)) for i, b in enumerate(batches)]
        futs += [pool.submit(lambda c=c: {c.id: run_solo(c, root)}) for c in alone]
        for f in futs:
            results.update(f.result())
    return results


def _batches(cases: Sequence[Case]) -> list[list[Case]]:
    """Group cases so that no case's CREATEd name appears anywhere in another case of a batch."""
    out: list[tuple[list[Case], set[str], set[str]]] = []
    for case in cases:
        created = set(_CREATED.findall(case.sql.lower()))
        words = set(_WORD.findall(case.sql.lower()))
        for group, g_created, g_words in out:
            if len(group) < BATCH_SIZE and not (created & g_words) and not (g_created & words):
                group.append(case)
                g_created |= created
                g_words |= words
                break
        else:
            out.append(([case], created, words))
    return [g for g, _, _ in out]


_CREATED = re.compile(r"create\s+(?:stream|table)\s+([a-z_][a-z0-9_]*)")
_WORD = re.compile(r"[a-z_][a-z0-9_]*")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


# -- comparing -------------------------------------------------------------------------------


def same_value(a: Any, b: Any) -> bool:
    """JSON equality that keeps types apart: 3 != 3.0 != "3", True != 1; floats to 1e-9."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def match_rows(expected: Expected, actual: Sequence[Any], unordered: bool) -> str | None:
    """None when `actual` matches `expected`; otherwise a short description of the first miss."""
    blocks: list[tuple[bool, list[Row]]] = []
    if unordered:
        flat = [r for item in expected for r in (item if isinstance(item, Unordered) else [item])]
        blocks.append((True, flat))
    else:
        for item in expected:
            if isinstance(item, Unordered):
                blocks.append((True, list(item)))
            else:
                blocks.append((False, [item]))
    total = sum(len(rows) for _, rows in blocks)
    if len(actual) != total:
        return f"expected {total} rows, got {len(actual)}"
    pos = 0
    for any_order, rows in blocks:
        chunk = list(actual[pos : pos + len(rows)])
        if any_order:
            left = list(chunk)
            for want in rows:
                hit = next((i for i, got in enumerate(left) if same_value(dict(want), got)), None)
                if hit is None:
                    return f"rows {pos}..{pos + len(rows) - 1}: no row matches {json.dumps(want)}"
                left.pop(hit)
        else:
            if not same_value(dict(rows[0]), chunk[0]):
                return f"row {pos}: expected {json.dumps(rows[0])}, got {json.dumps(chunk[0])}"
        pos += len(rows)
    return None


def check(case: Case, result: Result) -> list[str]:
    """Every way `result` breaks `case` (empty when it conforms)."""
    problems = []
    if result.returncode != case.exit_code and not (case.exit_code != 0 and result.returncode):
        problems.append(f"exit code {result.returncode}, expected {case.exit_code}")
    if case.exit_code != 0 and not result.stderr.strip():
        problems.append("failed without a message on stderr")
    for s in case.stderr:
        if s.lower() not in result.stderr.lower():
            problems.append(f"stderr lacks {s!r}")
    for s in case.stdout:
        if s not in result.stdout:
            problems.append(f"stdout lacks {s!r}")
    sinks: dict[str, Expected] = dict(case.outputs)
    if case.expected is not None:
        sinks[case.sink] = case.expected
    for rel, want in sinks.items():
        try:
            got = result.read(rel)
        except ValueError as e:
            problems.append(f"{rel}: not valid JSON ({e})")
            continue
        if got is None:
            problems.append(f"{rel}: sink file was not written")
            continue
        miss = match_rows(want, got, case.unordered)
        if miss:
            problems.append(f"{rel}: {miss}; actual rows: {json.dumps(got)[:1500]}")
    return problems


def describe(case: Case, result: Result | None, problems: Sequence[str]) -> str:
    """A Markdown entry for the failures file: SQL, input, expected vs actual, the rule."""
    lines = [f"## {case.id}", ""]
    if case.rule:
        lines += [f"Rule (SEMANTICS.md): {case.rule}", ""]
    lines += ["```sql", case.sql.strip(), "```", ""]
    for name, content in case.inputs.items():
        body = (
            content if isinstance(content, str) else "".join(json.dumps(r) + "\n" for r in content)
        )
        lines += [f"Input `{name}`:", "```", body.rstrip()[:1200], "```"]
    if case.expected is not None:
        lines += [f"Expected `{case.sink}`:", "```", _show(case.expected), "```"]
    for rel, want in case.outputs.items():
        lines += [f"Expected `{rel}`:", "```", _show(want), "```"]
    if result is not None:
        sinks = [case.sink, *case.outputs] if case.expected is not None else list(case.outputs)
        for rel in sinks:
            try:
                got = result.read(rel)
            except ValueError:
                got = "(invalid JSON)"
            lines += [f"Actual `{rel}`:", "```", json.dumps(got)[:1500], "```"]
        lines += [
            f"Exit code {result.returncode}; stderr tail:",
            "```",
            result.stderr[-800:],
            "```",
        ]
    lines += ["Problems: " + "; ".join(problems), ""]
    return "\n".join(lines)


def _show(rows: Expected) -> str:
    out = []
    for item in rows:
        if isinstance(item, Unordered):
            out.append("any order: " + json.dumps([dict(r) for r in item]))
        else:
            out.append(json.dumps(dict(item)))
    return "\n".join(out)


# -- building SQL --------------------------------------------------------------------------


def src(
    name: str,
    file: str,
    fmt: str = "jsonl",
    ts: str | None = "ts",
    extra: Mapping[str, str] | None = None,
) -> str:
    """WITH entries for a file_source `name` reading `{dir}/file` (event time from `ts`).

    `extra` adds `'<name>.<key>' = value` entries.
    """
    items = [
        f"'{name}.type' = 'file_source'",
        f"'{name}.path' = '{{dir}}/{file}'",
        f"'{name}.format' = '{fmt}'",
    ]
    if ts:
        items.append(f"'{name}.event.time.field' = '{ts}'")
    items += [f"'{name}.{k}' = '{v}'" for k, v in (extra or {}).items()]
    return ",\n      ".join(items)


def sink(name: str, file: str = "out.jsonl", fmt: str = "jsonl") -> str:
    """WITH entries for a file_sink `name` writing `{dir}/file`."""
    return (
        f"'{name}.type' = 'file_sink', '{name}.path' = '{{dir}}/{file}', '{name}.format' = '{fmt}'"
    )


def with_(*entries: str) -> str:
    """A WITH clause from entry strings."""
    return "WITH (" + ",\n      ".join(e for e in entries if e) + ")"
