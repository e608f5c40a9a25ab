"""Column checks for `velo validate`: where a source's columns are known without reading it
(a synthetic schema, registered data, an earlier stream of the script), every column a query
names must exist."""

from __future__ import annotations

import difflib
from typing import Any

from sqlglot import exp

from velostream.connectors.base import SYSTEM_COLUMNS
from velostream.errors import SqlError, position_of
from velostream.plan.logical import QueryPlan, SourceRef


def known_columns(
    ref: SourceRef, memory: dict[str, Any], streams: dict[str, list[str]]
) -> list[str] | None:
    """The columns of a source when they can be known without reading it, else None."""
    if ref.upstream is not None:
        return streams.get(ref.upstream)
    typ = (ref.props.get("type") or "").lower()
    if typ == "synthetic":
        from velostream.connectors.synthetic import PRESETS, parse_schema

        text = ref.props.get("schema") or PRESETS.get(ref.props.get("preset", "trades").lower())
        return [c.name for c in parse_schema(text)] if text else None
    if typ == "memory":
        data = memory.get(ref.name)
        names = getattr(data, "column_names", None) or getattr(data, "columns", None)
        if names is not None:
            return list(names)
        if isinstance(data, list) and data and isinstance(data[0], dict):
            return list(data[0].keys())
    return None


def output_columns(plan: QueryPlan) -> list[str] | None:
    """The output column names of a plan, unless a `*` makes them depend on the data."""
    names = [n for n, _ in plan.items]
    return None if "*" in names else names


def check_columns(plan: QueryPlan, columns: dict[str, list[str] | None]) -> None:
    """Raise a located SqlError for the first column no source (or earlier alias) has.

    `columns` maps a source alias to its known columns (None: unknown, not checked).
    """
    if not columns or any(v is None for v in columns.values()):
        return
    lower = {alias: {c.lower() for c in cols} for alias, cols in columns.items() if cols}
    system = {c.lower() for c in SYSTEM_COLUMNS}
    aliases = {  # names that select items define (a bare column is not an alias)
        n.lower()
        for n, e in plan.items
        if n != "*" and not (isinstance(e, exp.Column) and e.name.lower() == n.lower())
    }
    names = {s.name: s.alias for s in plan.sources}
    nodes: list[exp.Expression] = [e for n, e in plan.items if n != "*"]
    nodes += [x for x in (plan.where, plan.having) if x is not None]
    nodes += plan.group_by
    for node in nodes:
        for col in node.find_all(exp.Column):
            if isinstance(col.this, exp.Star):
                continue
            name = col.name.lower()
            if name in system:
                continue
            table = col.table.lower()
            alias = names.get(table, table)
            if table:
                pool = lower.get(alias)
                if pool is None or name in pool:
                    continue
                options = columns[alias] or []
            else:
                if name in aliases or any(name in p for p in lower.values()):
                    continue
                options = sorted({c for cols in columns.values() for c in cols or []})
            close = difflib.get_close_matches(col.name, options, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            where = f"source '{alias}'" if table else "the query's sources"
            raise SqlError(
                f"unknown column '{col.sql()}' in {where}{hint}",
                kind="name",
                token=col.name,
                expected=options,
                **position_of(col),
            )
