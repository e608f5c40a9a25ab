"""SHOW, DESCRIBE and EXPLAIN: statements that answer from the session, never run a query."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from velostream.errors import SqlError
from velostream.functions import registry as F
from velostream.plan.logical import QueryPlan
from velostream.sql.ast import Statement

if TYPE_CHECKING:
    from velostream.engine import Engine

Rows = list[dict[str, Any]]


def run(engine: Engine, stmt: Statement) -> tuple[Rows, list[str]]:
    """The rows and columns a SHOW / DESCRIBE / EXPLAIN statement answers with."""
    if stmt.kind == "explain":
        inner = stmt.explained
        if inner is None or inner.query is None:
            raise SqlError("EXPLAIN needs a query", kind="syntax")
        lines = explain(engine.plan(inner), inner)
        return [{"plan": line} for line in lines], ["plan"]
    if stmt.kind == "describe":
        return _describe(engine, stmt)
    what = str(stmt.expression.this).upper()
    if what == "FUNCTIONS":
        rows = [
            {"name": n, "kind": k, "category": c, "description": d} for n, k, c, d in F.catalog()
        ]
        return rows, ["name", "kind", "category", "description"]
    if what == "STREAMS":
        rows = [_object_row(engine, n, "stream") for n in engine.catalog.streams]
        return rows, ["name", "kind", "job", "state"]
    if what == "TABLES":
        rows = [_object_row(engine, n, "table") for n in engine.catalog.tables]
        return rows, ["name", "kind", "job", "state"]
    if what == "JOBS":
        rows = []
        for job in engine.jobs.values():
            st = job.stats
            rows.append(
                {
                    "name": job.name,
                    "state": job.state,
                    "records_in": st.records_in,
                    "rows_out": st.rows_out,
                    "late": st.late,
                    "malformed": st.malformed,
                    "records_per_s": round(st.rate(), 1),
                }
            )
        cols = ["name", "state", "records_in", "rows_out", "late", "malformed", "records_per_s"]
        return rows, cols
    raise SqlError(
        f"SHOW {what} is not supported",
        kind="syntax",
        token=what,
        expected=["STREAMS", "TABLES", "JOBS", "FUNCTIONS"],
    )


def _object_row(engine: Engine, name: str, kind: str) -> dict:
    job = engine.jobs.get(name)
    return {
        "name": name,
        "kind": kind,
        "job": name if job else None,
        "state": job.state if job else None,
    }


def _describe(engine: Engine, stmt: Statement) -> tuple[Rows, list[str]]:
    name = stmt.name or ""
    key = name.lower()
    target = engine.catalog.streams.get(key) or engine.catalog.tables.get(key)
    if target is None:
        data = engine.catalog.memory.get(key)
        if data is None:
            raise SqlError(f"no stream or table named '{name}'", kind="name", token=name)
        first = _first_row(data)
        rows = [{"column": c, "type": _type_of(v)} for c, v in first.items()]
        return rows, ["column", "type"]
    plan = engine.plan(target)
    rows = []
    for n, e in plan.items:
        rows.append({"column": n, "expression": e.sql(dialect="velostream")})
    return rows, ["column", "expression"]


def _first_row(data: Any) -> dict:
    if isinstance(data, list):
        return data[0] if data else {}
    to_pylist = getattr(data, "to_pylist", None) or getattr(data, "to_dicts", None)
    if to_pylist is not None:
        rows = to_pylist()
        return rows[0] if rows else {}
    return {}


def _type_of(v: Any) -> str:
    from velostream.values import type_name

    return type_name(v)


def explain(plan: QueryPlan, stmt: Statement) -> list[str]:
    """The plan as indented lines: sources, operators, window, emit mode, state keys."""
    lines: list[str] = []
    target = f"{stmt.kind.upper()} {stmt.name}" if stmt.name else "SELECT (ad hoc)"
    lines.append(f"Query: {target}")
    indent = "  "
    if plan.limit is not None:
        lines.append(f"{indent}Limit: {plan.limit}")
    if plan.distinct:
        lines.append(f"{indent}Distinct")
    names = ", ".join(n for n, _ in plan.items)
    if plan.aggregate:
        lines.append(f"{indent}Emit: {plan.emit}")
        if plan.having is not None:
            lines.append(f"{indent}Having: {plan.having.sql(dialect='velostream')}")
        keys = ", ".join(g.sql(dialect="velostream") for g in plan.group_by) or "(none: one group)"
        state = "per (window, group key)" if plan.window else "per group key"
        lines.append(f"{indent}Aggregate: output [{names}]")
        lines.append(f"{indent * 2}group keys: {keys}")
        lines.append(f"{indent * 2}state: accumulators {state}")
        if plan.window is not None:
            lines.append(f"{indent * 2}window: {plan.window.describe()}")
    else:
        lines.append(f"{indent}Project: [{names}]")
    if plan.where is not None:
        lines.append(f"{indent}Filter: {plan.where.sql(dialect='velostream')}")
    for j in plan.joins:
        if j.is_interval:
            lo, hi = j.interval or (None, None)
            kind = f"interval join (right.time - left.time in [{lo}ms, {hi}ms])"
        else:
            kind = "stream-table lookup (latest row per key, as of event time)"
        keys = ", ".join(
            f"{a.sql()} = {b.sql()}" for a, b in zip(j.left_keys, j.right_keys, strict=True)
        )
        lines.append(f"{indent}{j.kind} Join {j.right.name} AS {j.right.alias}: {kind} on {keys}")
        if j.right.table_plan is not None:
            lines.append(f"{indent * 2}table {j.right.name} from its CREATE TABLE query")
    for s in plan.sources:
        typ = s.props.get("type") or ("session stream" if s.upstream else "table")
        et = s.props.get("event.time.field", "_timestamp (read time)")
        lines.append(
            f"{indent}Source: {s.name} AS {s.alias} [{typ}] role={s.role} event_time={et} "
            f"watermark=max(event_time) - {s.delay_ms}ms"
        )
    lines.append(f"{indent}Late data: {plan.late_strategy}")
    return lines
