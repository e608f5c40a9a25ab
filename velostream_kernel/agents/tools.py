"""What the MCP tools do, as plain async functions over a `Project` (the server only wraps
them). Every query an agent runs here is read-only and bounded: a single SELECT (or SHOW /
DESCRIBE / EXPLAIN), stopped after a row limit and a time limit, with no sink, and with any
derived stream it reads started without its sink for the length of the query.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import uuid
from typing import Any

import orjson
from sqlglot import exp

from velostream.engine import Engine
from velostream.errors import SqlError
from velostream.formats.json import _default as _json_default
from velostream.plan.columns import output_columns
from velostream.secrets import mask_props, mask_text
from velostream.sql.ast import Statement
from velostream.sql.parse import parse_script
from velostream_kernel.agents.project import Project, ProjectError, StreamInfo

MAX_ROWS = 10_000
MAX_SECONDS = 60.0
READ_ONLY_KINDS = ("select", "show", "describe", "explain")


class ToolError(ValueError):
    """Bad input to a tool: the message says what and how to fix it."""


def json_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with every value JSON-ready (DECIMAL as a string that keeps its scale, times ISO)."""
    return orjson.loads(orjson.dumps(rows, default=_json_default))


def sql_error(e: SqlError) -> dict[str, Any]:
    """A SQL error as the tools report it: line, column, what was found and expected."""
    return {**e.to_dict(), "text": str(e)}


def list_streams(project: Project) -> dict[str, Any]:
    """Every stream of the project, and the files that did not parse."""
    return {
        "project": str(project.root),
        "streams": [s.summary() for s in sorted(project.streams.values(), key=lambda s: s.name)],
        "errors": list(project.errors),
    }


def referenced(stmt: Statement) -> list[str]:
    """The names a statement's query reads (FROM and JOIN), lower case."""
    target = stmt.explained if stmt.kind == "explain" and stmt.explained else stmt
    if target.query is None:
        return []
    return sorted({t.name.lower() for t in target.query.find_all(exp.Table) if t.name})


def _sandboxed(project: Project, stmt: Statement, seen: set[str]) -> tuple[Statement, list]:
    """A copy of `stmt` that reads the project's sources (their WITH keys added where the
    statement does not declare them) and never writes a sink, and the derived streams it
    reads (each sandboxed the same way), in the order they must start."""
    stmt = copy.copy(stmt)
    props = dict(stmt.properties)
    target = (stmt.name or "").lower()
    if target:  # a derived stream run for a query: its output stays in memory
        props = {k: v for k, v in props.items() if not k.startswith(target + ".")}
    deps: list[Statement] = []
    for name in referenced(stmt):
        if f"{name}.type" in props or name not in project.streams:
            continue
        info = project.streams[name]
        if info.kind in ("stream", "table") and info.statement is not None:
            if name in seen:
                raise ToolError(f"stream '{name}' is defined in terms of itself")
            dep, dep_deps = _sandboxed(project, info.statement, seen | {name})
            deps.extend(d for d in dep_deps if d not in deps)
            deps.append(dep)
        elif info.kind == "source":
            props.update({f"{name}.{k}": v for k, v in _source_props(info).items()})
    stmt.properties = paths_inside(project, props)
    return stmt, deps


def paths_inside(project: Project, props: dict[str, str]) -> dict[str, str]:
    """Properties with every file path (`path`, `*.path`, `*.file`) made absolute inside the
    project folder; a path that leaves it is a ProjectError."""
    out = dict(props)
    for key, value in props.items():
        last = key.rsplit(".", 1)[-1]
        if last in ("path", "file") and value:
            out[key] = str(project.inside(value))
    return out


def _source_props(info: StreamInfo) -> dict[str, str]:
    props = dict(info.props)
    if (info.type or "").startswith("kafka"):
        # an agent's look at a topic must not move the offsets of the user's consumer group
        props["group.id"] = f"velo-mcp-{uuid.uuid4().hex[:12]}"
    return props


def parse_one(sql: str) -> Statement:
    """The single statement of `sql`, or a ToolError / SqlError that says what is wrong."""
    script = parse_script(sql)
    if len(script.statements) != 1:
        raise ToolError(f"expected exactly one statement, found {len(script.statements)}")
    return script.statements[0]


async def query_stream(
    project: Project, sql: str, max_rows: int = 100, timeout_seconds: float = 10.0
) -> dict[str, Any]:
    """Run one read-only query, bounded by rows and seconds; its columns and rows."""
    if not 1 <= max_rows <= MAX_ROWS:
        raise ToolError(f"max_rows must be between 1 and {MAX_ROWS}, not {max_rows}")
    if not 0 < timeout_seconds <= MAX_SECONDS:
        raise ToolError(f"timeout_seconds must be in (0, {MAX_SECONDS:g}], not {timeout_seconds}")
    stmt = parse_one(sql)
    if stmt.kind not in READ_ONLY_KINDS:
        raise ToolError(
            f"query_stream runs one read-only SELECT (or SHOW, DESCRIBE, EXPLAIN); this is "
            f"{stmt.kind.upper().replace('_', ' ')}: use deploy_query to start a pipeline"
        )
    stmt, deps = _sandboxed(project, stmt, set())
    warnings: list[str] = []
    engine = Engine(on_warning=warnings.append)
    rows: list[dict[str, Any]] = []
    upstream: list[asyncio.Task] = []
    timed_out = False
    result = None

    async def run() -> Any:
        for dep in deps:
            res = await engine.execute_statement(dep)
            if res.task is not None:
                upstream.append(res.task)
        return await engine.execute_statement(
            stmt, on_rows=lambda _s, batch: rows.extend(batch), row_limit=max_rows
        )

    task = asyncio.ensure_future(run())
    try:
        result = await asyncio.wait_for(asyncio.shield(task), timeout_seconds)
        if result.task is not None and not result.task.done():  # an unbounded SELECT
            await asyncio.wait_for(asyncio.shield(result.task), timeout_seconds)
    except TimeoutError:
        timed_out = True
    finally:
        for job in list(engine.jobs.values()):
            job.stop()
        pending = [t for t in [task, *engine.tasks, *upstream] if not t.done()]
        for t in pending:
            t.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*pending, return_exceptions=True)
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()
    if result is not None and result.task is not None and result.task.done():
        if not result.task.cancelled() and result.task.exception() is not None:
            raise result.task.exception()
    if result is not None and result.kind == "rows" and result.rows and not rows:
        rows = list(result.rows)  # SHOW / DESCRIBE / EXPLAIN answer at once
    columns = (result.columns if result is not None else []) or (list(rows[0]) if rows else [])
    return {
        "columns": columns,
        "rows": json_rows(rows[:max_rows]),
        "row_count": min(len(rows), max_rows),
        "truncated": len(rows) >= max_rows,
        "timed_out": timed_out,
        "warnings": warnings,
    }


async def describe_stream(project: Project, name: str, sample_rows: int = 5) -> dict[str, Any]:
    """A stream's kind, connector, properties (secrets masked), columns and a few rows."""
    info = project.get(name)
    if info.kind == "sink":
        raise ToolError(f"'{info.name}' is a sink: it is written, not read; nothing to sample")
    out: dict[str, Any] = {
        **info.summary(),
        "properties": mask_props(info.props),
        "sql": info.statement.sql if info.statement is not None else None,
    }
    columns: list[str] | None = None
    if info.statement is not None:
        stmt, deps = _sandboxed(project, info.statement, {info.name})
        engine = Engine()
        with contextlib.suppress(SqlError):
            columns = output_columns(engine.plan(stmt)) if not deps else None
    rows: list[dict[str, Any]] = []
    try:
        sample = await query_stream(
            project, f"SELECT * FROM {info.name}", max_rows=max(1, sample_rows), timeout_seconds=5
        )
        rows = sample["rows"]
        out["sample_error"] = None
    except (SqlError, ToolError, ProjectError, OSError) as e:  # metadata is still worth giving
        out["sample_error"] = mask_text(str(e))
    if columns is None:
        seen: dict[str, None] = {}
        for r in rows:
            seen.update(dict.fromkeys(r))
        columns = list(seen)
    out["columns"] = [{"name": c, "type": _type_of(rows, c)} for c in columns]
    out["sample"] = rows[:sample_rows]
    return out


def _type_of(rows: list[dict[str, Any]], column: str) -> str:
    """The JSON type of a column's sampled values (DECIMAL and times arrive as strings)."""
    kinds = {type(r.get(column)).__name__ for r in rows if r.get(column) is not None}
    names = {"int": "BIGINT", "float": "DOUBLE", "str": "STRING", "bool": "BOOLEAN"}
    if len(kinds) == 1:
        return names.get(kinds.pop(), "JSON")
    return "UNKNOWN" if not kinds else "MIXED"


def validate_sql(project: Project, sql: str) -> dict[str, Any]:
    """Check SQL against the project's streams: errors with line and column, warnings."""
    try:
        script = parse_script(sql)
    except SqlError as e:
        return {"valid": False, "errors": [sql_error(e)], "warnings": []}
    statements: list[Statement] = []
    errors: list[dict[str, Any]] = []
    for stmt in script.statements:
        try:
            sandboxed, deps = _sandboxed(project, stmt, set())
        except ToolError as e:
            errors.append({"message": str(e), "line": stmt.line, "column": stmt.col})
            continue
        statements.extend(d for d in deps if d not in statements)
        statements.append(sandboxed)
    for e in Engine().validate_statements(statements):
        if e.path is None:  # errors of the project's own files are list_streams' business
            errors.append(sql_error(e))
    return {"valid": not errors, "errors": errors, "warnings": list(script.warnings)}


__all__ = [
    "ProjectError",
    "ToolError",
    "describe_stream",
    "list_streams",
    "query_stream",
    "validate_sql",
]
