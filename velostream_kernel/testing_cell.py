"""A notebook cell that tests itself: a `-- @test` block above the query, or a `%%velo_test`
cell, runs a `velo test` spec against the cell's SQL and shows pass/fail as a table.

    -- @test
    --   inputs:
    --     - {source: trades, records: 500}
    --   assertions:
    --     - {type: record_count, greater_than: 0}
    --     - {type: field_values, field: trades, operator: greater_than, value: 0}
    SELECT symbol, COUNT(*) AS trades FROM trades GROUP BY symbol WINDOW TUMBLING(1s)
    WITH ('trades.type' = 'synthetic', 'trades.preset' = 'trades', 'trades.rate' = '100');

`-- @test: path/to/spec.test.yaml` names a spec file instead; `%%velo_test --xfail` marks a
test that is expected to fail (a documented bug: the cell fails only if the test passes). In a `-- @test` cell the test
runs first (bounded, on the spec's data) and the query then runs as usual; a `%%velo_test`
cell only tests. A failed test makes the cell fail, so a notebook run in CI stops on it.
"""

from __future__ import annotations

import html
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from velostream.testing.runner import TestReport

MAGIC = "%%velo_test"
_GREEN, _RED, _GREY = "#e6f4ea", "#fce8e6", "#f1f3f4"


@dataclass
class TestCell:
    """What a cell asks for: the spec (text or file), the SQL, and whether to run it too."""

    sql: str
    spec_text: str | None = None
    spec_path: str | None = None
    seed: int | None = None
    only: str | None = None
    run_query: bool = True
    xfail: bool = False  # a failure is expected: the cell fails only if the test passes


class TestCellError(ValueError):
    """A `-- @test` block or `%%velo_test` line that cannot be read."""


def find_test(code: str) -> TestCell | None:
    """The test a cell holds, or None for an ordinary cell."""
    lines = code.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    cell: TestCell | None = None
    if first is not None and lines[first].strip().startswith(MAGIC):
        cell = _magic_line(lines[first].strip()[len(MAGIC) :])
        cell.sql = "\n".join(lines[first + 1 :])
        cell.run_query = False
    body = cell.sql if cell is not None else code
    block = _test_block(body)
    if block is None:
        return cell
    cell = cell or TestCell(sql=code)
    text, path = block
    cell.spec_text = cell.spec_text or text
    cell.spec_path = cell.spec_path or path
    return cell


def _magic_line(args: str) -> TestCell:
    cell = TestCell(sql="")
    words = shlex.split(args)
    i = 0
    while i < len(words):
        w = words[i]
        if w == "--xfail":
            cell.xfail = True
            i += 1
        elif w in ("--spec", "--seed", "--only") and i + 1 < len(words):
            value = words[i + 1]
            if w == "--spec":
                cell.spec_path = value
            elif w == "--seed":
                if not value.lstrip("-").isdigit():
                    raise TestCellError(f"{MAGIC} --seed takes an integer, got {value!r}")
                cell.seed = int(value)
            else:
                cell.only = value
            i += 2
        else:
            raise TestCellError(
                f"{MAGIC}: unknown argument {w!r} (--spec FILE, --seed N, --only NAME)"
            )
    return cell


def _test_block(code: str) -> tuple[str | None, str | None] | None:
    """The YAML under a `-- @test` line (comment lines, `--` stripped), or its file path."""
    lines = code.splitlines()
    for i, line in enumerate(lines):
        s = line.strip()
        if not (s.startswith("-- @test") or s.startswith("--@test")):
            continue
        rest = s.split("@test", 1)[1]
        if rest and not (rest[0] == ":" or rest[0].isspace()):
            continue  # another annotation (`-- @testing: ...`)
        if rest.startswith(":") and rest[1:].strip():
            return None, rest[1:].strip()
        body: list[str] = []
        for nxt in lines[i + 1 :]:
            t = nxt.strip()
            if not t.startswith("--") or t[2:].lstrip().startswith("@"):
                break
            body.append(t[3:] if t.startswith("-- ") else t[2:])
        return "\n".join(body), None
    return None


def load_cell_spec(cell: TestCell, base: Path) -> Any:
    """The parsed spec of a cell (a SpecError names the bad key)."""
    import yaml

    from velostream.testing.spec import SpecError, load_spec, parse_spec

    if cell.spec_path is None and cell.spec_text is None:
        raise SpecError(f"{MAGIC} needs --spec FILE or a -- @test block in the cell")
    if cell.spec_path:
        p = Path(cell.spec_path)
        return load_spec(p if p.is_absolute() else base / p)
    try:
        data = yaml.safe_load(cell.spec_text or "") or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" (block line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SpecError(f"-- @test: not valid YAML{at}: {getattr(e, 'problem', e)}") from None
    return parse_spec(data, base, "-- @test")


async def run_cell_test(cell: TestCell, base: Path | None = None) -> TestReport:
    """Run the cell's spec against its SQL (in the running event loop)."""
    from velostream.testing.runner import run_spec_async

    base = base or Path.cwd()
    spec = load_cell_spec(cell, base)
    if not spec.application:
        spec.application = "cell"
    return await run_spec_async(cell.sql, spec, base, cell.seed, cell.only, path="cell")


def report_bundle(report: TestReport) -> dict[str, str]:
    """The MIME bundle of a report: an HTML table (green pass, red fail) and plain text."""
    from velostream.testing.report import to_text

    n, bad = len(report.results), len(report.failed)
    ok = report.passed
    head = (
        f"velo test {html.escape(report.application)}: "
        + ("passed" if ok else "FAILED")
        + f", {n - bad} of {n} assertions held (seed {report.seed})"
    )
    rows = []
    if report.error:
        rows.append(_row(_RED, "ERROR", "", "run", report.error, []))
    for r in report.results:
        color = _GREEN if r.passed else _RED
        status = "PASS" if r.passed else ("ERROR" if r.error else "FAIL")
        samples = [
            f"row {f.row}: {f.reason}" if f.row is not None else f.reason for f in r.failures
        ]
        rows.append(_row(color, status, r.sink or r.query, r.label, r.message, samples))
    table = (
        '<div class="velo-test">'
        f'<div style="font-weight:bold;color:{"#137333" if ok else "#c5221f"}">{head}</div>'
        '<table class="velo-test-result"><thead><tr><th>status</th><th>output</th>'
        "<th>assertion</th><th>result</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )
    return {"text/html": table, "text/plain": to_text(report)}


def _row(color: str, status: str, sink: str, label: str, message: str, samples: list[str]) -> str:
    detail = "".join(f"<br><small>{html.escape(s)}</small>" for s in samples)
    return (
        f'<tr style="background:{color}"><td><b>{status}</b></td><td>{html.escape(sink)}</td>'
        f"<td>{html.escape(label)}</td><td>{html.escape(message)}{detail}</td></tr>"
    )


async def test_before_cell(code: str, publish: Any) -> tuple[str, str | None]:
    """The kernel's hook: run a cell's test and show its table.

    Returns the SQL still to run (the cell itself, or "" for a `%%velo_test` cell) and a
    failure message when the test failed or could not run (None otherwise).
    """
    from velostream.errors import SqlError
    from velostream.testing.spec import SpecError

    try:
        cell = find_test(code)
    except TestCellError as e:
        return "", str(e)
    if cell is None:
        return code, None
    try:
        report = await run_cell_test(cell)
    except (SpecError, SqlError, OSError) as e:
        return "", f"velo test: {e}"
    except Exception as e:  # a bug must not take the kernel down: the cell says what it was
        return "", f"velo test: {type(e).__name__}: {e}"
    publish("display_data", report_bundle(report), "", {})
    rest = cell.sql if cell.run_query else ""
    if cell.xfail:
        return rest, "velo test passed, but --xfail expects it to fail" if report.passed else None
    if report.passed:
        return rest, None
    n, bad = len(report.results), len(report.failed)
    why = report.error or f"{bad} of {n} assertions failed"
    return rest, f"velo test failed: {why}"
