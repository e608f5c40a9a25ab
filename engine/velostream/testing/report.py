"""A test report as text (terminal), JSON, or JUnit XML (for CI systems)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

import orjson

from velostream.testing.assertions import Result
from velostream.testing.runner import TestReport


def _jsonable(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)


def result_dict(r: Result) -> dict[str, Any]:
    """One assertion's verdict as plain data."""
    return {
        "query": r.query,
        "sink": r.sink,
        "type": r.type,
        "assertion": r.label,
        "passed": r.passed,
        "message": r.message,
        "expected": _jsonable(r.expected),
        "actual": _jsonable(r.actual),
        "error": r.error,
        "failing_rows": [
            {"row": f.row, "reason": f.reason, "values": _jsonable(f.values)} for f in r.failures
        ],
    }


def to_dict(report: TestReport, timing: bool = True) -> dict[str, Any]:
    """The whole report as plain data (`--output json`); without timing it is the same bytes
    for the same seed."""
    out: dict[str, Any] = {
        "application": report.application,
        "sql": report.sql_path,
        "spec": report.spec_path,
        "seed": report.seed,
        "passed": report.passed,
        "error": report.error,
        "warnings": report.warnings,
        "inputs": report.inputs,
        "outputs": {k: len(v.rows) for k, v in report.outputs.items()},
        "summary": {
            "assertions": len(report.results),
            "passed": sum(r.passed for r in report.results),
            "failed": len(report.failed),
        },
        "results": [result_dict(r) for r in report.results],
    }
    if timing:
        out["duration_s"] = round(report.duration_s, 3)
    return out


def to_json(report: TestReport, timing: bool = True) -> str:
    """`--output json`."""
    return orjson.dumps(to_dict(report, timing), option=orjson.OPT_INDENT_2).decode()


def to_junit(report: TestReport) -> str:
    """`--output junit`: one testsuite per application, one testcase per assertion."""
    suites = ET.Element("testsuites")
    failures = len([r for r in report.results if not r.passed and not r.error])
    errors = len([r for r in report.results if r.error]) + (1 if report.error else 0)
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=report.application,
        tests=str(len(report.results) + (1 if report.error else 0)),
        failures=str(failures),
        errors=str(errors),
        time=f"{report.duration_s:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="seed", value=str(report.seed))
    if report.sql_path:
        ET.SubElement(props, "property", name="sql", value=report.sql_path)
    if report.error:
        case = ET.SubElement(suite, "testcase", classname=report.application, name="run")
        err = ET.SubElement(case, "error", message=report.error.splitlines()[0])
        err.text = report.error
    for r in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{report.application}.{r.query}",
            name=f"{r.sink or r.query}: {r.label}",
        )
        if r.passed:
            continue
        tag = "error" if r.error else "failure"
        node = ET.SubElement(case, tag, message=r.message, type=r.type)
        node.text = "\n".join([r.message, *_failure_lines(r)])
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


def _failure_lines(r: Result) -> list[str]:
    lines = []
    for f in r.failures:
        where = f"row {f.row}" if f.row is not None else "expected row"
        vals = ", ".join(f"{k}={_cell(v)}" for k, v in (f.values or {}).items())
        lines.append(f"  {where}: {f.reason}" + (f"  [{vals}]" if vals else ""))
    if r.failing_count > len(r.failures):
        lines.append(f"  ... {r.failing_count - len(r.failures)} more")
    return lines


def _cell(v: Any) -> str:
    if v is None:
        return "NULL"
    return str(v)


def to_text(report: TestReport, color: bool = False) -> str:
    """The terminal report: a line per assertion, failing rows under each failure."""

    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    lines = [
        f"velo test: {report.application}" + (f" ({report.sql_path})" if report.sql_path else "")
    ]
    fed = ", ".join(f"{k} {v:,}" for k, v in report.inputs.items())
    if fed:
        lines.append(f"  inputs: {fed} records (seed {report.seed})")
    outs = ", ".join(f"{k} {len(v.rows):,}" for k, v in report.outputs.items())
    if outs:
        lines.append(f"  outputs: {outs} rows")
    if report.error:
        lines.append(paint(f"  ERROR  {report.error}", "31"))
    lines.extend(paint(f"  warning: {w}", "33") for w in report.warnings)
    query = None
    for r in report.results:
        if r.query != query:
            query = r.query
            lines.append(f"  {query}")
        mark = paint("PASS", "32") if r.passed else paint("ERROR" if r.error else "FAIL", "31")
        lines.append(f"    {mark}  {r.label}: {r.message}")
        if not r.passed:
            lines.extend("    " + x for x in _failure_lines(r))
    n, bad = len(report.results), len(report.failed)
    verdict = "passed" if report.passed else "FAILED"
    summary = f"{verdict}: {n - bad} of {n} assertions held ({report.duration_s:.2f}s)"
    lines.append(paint(summary, "32" if report.passed else "31"))
    return "\n".join(lines)
