"""The test harness as MCP tools: seeded data from a schema, and `velo test` on SQL + a spec.
Schema, spec and data files are read only from inside the project folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from velostream.sql.parse import parse_script
from velostream.testing.generator import generate_rows
from velostream.testing.report import to_dict
from velostream.testing.runner import run_spec_async
from velostream.testing.schema import load_schema, parse_schema_dict
from velostream.testing.spec import find_spec, load_spec, parse_spec
from velostream_kernel.agents.project import Project
from velostream_kernel.agents.tools import MAX_ROWS, ToolError, json_rows, paths_inside


def _yaml(value: dict[str, Any] | str, what: str) -> Any:
    """A mapping given as such or as YAML text."""
    if isinstance(value, dict):
        return value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as e:
        raise ToolError(f"{what} is not valid YAML: {e}") from None


def generate_test_data(
    project: Project,
    schema: dict[str, Any] | str | None = None,
    schema_file: str | None = None,
    count: int = 10,
    seed: int = 42,
) -> dict[str, Any]:
    """`count` records from a schema (the harness's struct syntax); the same seed gives the
    same records."""
    if not 1 <= count <= MAX_ROWS:
        raise ToolError(f"count must be between 1 and {MAX_ROWS}, not {count}")
    if (schema is None) == (schema_file is None):
        raise ToolError("give either schema (a mapping or YAML text) or schema_file, not both")
    if schema_file is not None:
        parsed = load_schema(project.inside(schema_file))
    else:
        parsed = parse_schema_dict(_yaml(schema or {}, "schema"))
    rows = generate_rows(parsed, count, seed)
    for r in rows:  # the simulated clock's columns are the harness's business
        r.pop("_timestamp", None)
        r.pop("_event_time", None)
    return {"schema": parsed.name, "seed": seed, "count": len(rows), "rows": json_rows(rows)}


async def run_test(
    project: Project,
    sql: str | None = None,
    sql_file: str | None = None,
    spec: dict[str, Any] | str | None = None,
    spec_file: str | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Run SQL under a test spec (bounded, deterministic); the verdict and every assertion."""
    if (sql is None) == (sql_file is None):
        raise ToolError("give either sql or sql_file, not both")
    sql_path: Path | None = None
    if sql_file is not None:
        sql_path = project.inside(sql_file)
        if not sql_path.is_file():
            raise ToolError(f"sql_file '{sql_file}' not found in the project")
        sql = sql_path.read_text(encoding="utf-8")
    assert sql is not None
    for stmt in parse_script(sql).statements:  # sinks and sources stay inside the project
        paths_inside(project, stmt.properties)
    if spec is not None and spec_file is not None:
        raise ToolError("give either spec (a mapping or YAML text) or spec_file, not both")
    if spec is not None:
        base = project.root
        parsed = parse_spec(_yaml(spec, "spec"), base, "spec")
    else:
        found = project.inside(spec_file) if spec_file else (sql_path and find_spec(sql_path))
        if not found or not Path(found).is_file():
            raise ToolError(
                "no test spec: give spec (YAML text) or spec_file"
                + (" (none found beside the SQL file)" if sql_path else "")
            )
        base = Path(found).parent
        parsed = load_spec(found)
    for inp in parsed.all_inputs().values():
        if inp.data_file is not None:
            project.inside(inp.data_file)
    for q in parsed.queries:  # files of expected rows
        for o in q.outputs:
            for a in o.assertions:
                for key in ("expected_path", "file", "path"):
                    if isinstance(a.params.get(key), str):
                        project.inside(base / a.params[key])
    report = await run_spec_async(
        sql, parsed, base, seed, None, str(sql_path.relative_to(project.root)) if sql_path else None
    )
    return to_dict(report, timing=False)
