"""`velo test init APP.sql`: a first spec from the SQL (its sources, the fields each query
uses, a few assertions per query); `velo test infer-schema FILE`: a schema from sample rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlglot import exp

from velostream.testing.schema import Schema, schema_to_dict

_NUMERIC_FUNCS = ("SUM", "AVG", "MIN", "MAX", "STDDEV", "ROUND", "ABS")


def _dump(data: Any) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def _walk_fields(q: exp.Select, aliases: dict[str, str], single: str | None) -> dict[str, dict]:
    """source -> field -> what the query tells of it (numeric, enum literals, time)."""
    found: dict[str, dict[str, dict]] = {}
    outputs = {e.alias_or_name.lower() for e in q.expressions if isinstance(e, exp.Alias)}
    for col in q.find_all(exp.Column):
        name = col.name
        if not name or name.startswith("_") or name == "*":
            continue
        src = aliases.get(col.table.lower()) if col.table else single
        if src is None:
            continue
        if not col.table and name.lower() in outputs and _in_clause(col, q, ("group", "having")):
            continue  # an output alias reused in GROUP BY / HAVING, not a source field
        info = found.setdefault(src, {}).setdefault(name, {"numeric": False, "values": []})
        parent = col.parent
        while isinstance(parent, exp.Paren):
            parent = parent.parent
        if isinstance(parent, exp.Binary) and not isinstance(
            parent, exp.EQ | exp.NEQ | exp.And | exp.Or | exp.DPipe
        ):
            other = parent.expression if parent.this is col else parent.this
            if not (isinstance(other, exp.Literal) and other.is_string):
                info["numeric"] = True
        if isinstance(parent, exp.Func) and type(parent).__name__.upper() in _NUMERIC_FUNCS:
            info["numeric"] = True
        if isinstance(parent, exp.EQ | exp.NEQ):
            other = parent.expression if parent.this is col else parent.this
            if isinstance(other, exp.Literal):
                if other.is_string:
                    info["values"].append(other.this)
                else:
                    info["numeric"] = True
        if isinstance(parent, exp.In):
            info["values"].extend(e.this for e in parent.expressions if isinstance(e, exp.Literal))
    return found


def _in_clause(node: exp.Expression, q: exp.Select, clauses: tuple[str, ...]) -> bool:
    """Whether `node` sits inside one of the query's clauses."""
    roots = [q.args.get(c) for c in clauses if q.args.get(c) is not None]
    p = node
    while p is not None and p is not q:
        if any(p is r for r in roots):
            return True
        p = p.parent
    return False


def _field_yaml(name: str, info: dict, time_field: str | None) -> dict[str, Any]:
    if time_field and name.lower() == time_field.lower():
        return {"name": name, "type": "timestamp"}
    if info["values"]:
        return {
            "name": name,
            "type": "string",
            "constraints": {"enum_values": {"values": list(dict.fromkeys(info["values"]))}},
        }
    if info["numeric"]:
        return {"name": name, "type": "float", "constraints": {"range": {"min": 1, "max": 100}}}
    return {"name": name, "type": "string", "constraints": {"cardinality": 5}}


def scaffold_spec(sql: str, path: str | None = None) -> str:
    """A spec for SQL text: an input per external source, assertions per statement."""
    from velostream.connectors.registry import split_properties
    from velostream.sql.parse import parse_script

    script = parse_script(sql, path)
    created: set[str] = set()
    inputs: dict[str, dict] = {}
    queries: list[dict] = []
    selects = 0
    app = Path(path).stem if path else "app"
    for stmt in script.statements:
        app = stmt.annotation("app") or app
        q = stmt.query
        if q is None or stmt.kind in ("show", "describe", "explain"):
            continue
        if stmt.kind == "select":
            selects += 1
        name = stmt.name or stmt.annotation("name") or f"select_{selects}"
        tables = [t for t in q.find_all(exp.Table) if t.name]
        aliases = {(t.alias or t.name).lower(): t.name.lower() for t in tables}
        aliases.update({t.name.lower(): t.name.lower() for t in tables})
        external = [t.name.lower() for t in tables if t.name.lower() not in created]
        single = tables[0].name.lower() if len(tables) == 1 else None
        fields = _walk_fields(q, aliases, single)
        per, job = split_properties(stmt.properties, list(dict.fromkeys(external)))
        for src in dict.fromkeys(external):
            if src in inputs:
                continue
            props = per.get(src, {})
            time_field = props.get("event.time.field") or job.get("event.time.field")
            inputs[src] = _input_for(src, props, fields.get(src, {}), time_field, path)
        queries.append(_query_for(stmt, name, q))
        if stmt.name:
            created.add(stmt.name.lower())
    spec: dict[str, Any] = {
        "application": app,
        "description": f"generated by velo test init from {Path(path).name if path else 'SQL'}",
        "seed": 42,
        "default_records": 1000,
        "clock": {"now": "2024-01-01T00:00:00Z"},
        "inputs": list(inputs.values()),
        "queries": queries,
    }
    return _dump(spec)


def _input_for(
    src: str,
    props: dict[str, str],
    fields: dict[str, dict],
    time_field: str | None,
    path: str | None,
) -> dict[str, Any]:
    kind = (props.get("type") or "").lower()
    if kind == "synthetic":  # its own schema, seed and rate; the spec bounds it
        return {"source": src, "records": 1000}
    if kind == "file_source" and props.get("path"):
        base = Path(path).parent if path else Path(".")
        p = Path(props["path"])
        p = p if p.is_absolute() else base / p
        if p.exists():
            return {"source": src, "data_file": props["path"]}
    names = dict(fields)
    if time_field and time_field not in names:
        names[time_field] = {"numeric": False, "values": []}
    body = [_field_yaml(n, i, time_field) for n, i in names.items()] or [
        {"name": "id", "type": "integer", "constraints": {"sequence": {"start": 1}}}
    ]
    inp: dict[str, Any] = {"source": src, "records": 1000, "schema": {"fields": body}}
    if time_field:
        inp["time_simulation"] = {"start_time": "-10m", "events_per_second": 10}
    return inp


def _query_for(stmt: Any, name: str, q: exp.Select) -> dict[str, Any]:
    from velostream.sql.ast import StreamWindow

    assertions: list[dict[str, Any]] = [{"type": "record_count", "greater_than": 0}]
    cols = [e.alias_or_name for e in q.expressions if not isinstance(e, exp.Star)]
    cols = [c for c in cols if c and c != "*"]
    if cols:
        assertions.append({"type": "schema_contains", "fields": cols})
    keys = [
        g.name
        for g in (q.args.get("group") or exp.Group()).expressions
        if isinstance(g, exp.Column)
    ]
    keys = [k for k in keys if k in cols]
    if keys:
        assertions.append({"type": "no_nulls", "fields": keys})
    win = q.args.get("stream_window")
    if isinstance(win, StreamWindow):
        starts = [
            e.alias_or_name
            for e in q.expressions
            if isinstance(e, exp.Alias)
            and isinstance(e.this, exp.Column)
            and e.this.name.lower() == "_window_start"
        ]
        if starts and win.kind == "TUMBLING":
            assertions.append(
                {
                    "type": "window_boundary",
                    "window_start_field": starts[0],
                    "window_size_ms": win.args["size"].millis,
                }
            )
    return {"name": name, "outputs": [{"sink": name, "assertions": assertions}]}


def schema_yaml(schema: Schema) -> str:
    """A schema as `.schema.yaml` text."""
    return _dump(schema_to_dict(schema))
