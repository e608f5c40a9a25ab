"""Schemas for generated data: the struct syntax of `*.schema.yaml` files (Velostream's
`Schema`), read into `FieldSpec`s with errors that name the file and the key path.

```yaml
name: market_data
record_count: 1000
fields:
  - name: symbol
    type: string                       # string|integer|float|boolean|timestamp|date|uuid
    constraints:                       #   or {decimal: {precision: 2}} / "decimal(10,2)"
      enum_values: {values: [AAPL, MSFT], weights: [0.7, 0.3]}
  - name: price
    type: {decimal: {precision: 2}}
    constraints:
      range: {min: 100, max: 200}
      distribution: {random_walk: {drift: 0.0, volatility: 0.01, group_by: symbol}}
  - name: volume
    type: integer
    constraints: {range: {min: 1, max: 100000}, distribution: {log_normal: {mean: 5, std_dev: 1}}}
  - name: notional
    type: float
    constraints: {derived: {expression: "price * volume"}}
  - name: customer_id
    type: string
    constraints: {references: {source: customers, field: id}}
  - name: note
    type: string
    null_rate: 0.1
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TYPES = {
    "string": "string",
    "str": "string",
    "varchar": "string",
    "text": "string",
    "integer": "integer",
    "int": "integer",
    "bigint": "integer",
    "long": "integer",
    "float": "float",
    "double": "float",
    "number": "float",
    "boolean": "boolean",
    "bool": "boolean",
    "decimal": "decimal",
    "timestamp": "timestamp",
    "date": "date",
    "uuid": "uuid",
}
DISTRIBUTIONS = ("uniform", "normal", "log_normal", "zipf", "random_walk")
CONSTRAINT_KEYS = (
    "enum_values",
    "range",
    "distribution",
    "derived",
    "references",
    "pattern",
    "length",
    "sequence",
    "timestamp_epoch_ms",
    "timestamp_range",
    "cardinality",
    "probability",
    "format",
)


class SchemaError(ValueError):
    """A schema that cannot be used; the message names the file and the key."""


@dataclass
class FieldSpec:
    """How one field of a generated record is made."""

    name: str
    type: str  # string | integer | float | decimal | boolean | timestamp | date | uuid
    scale: int = 0  # decimal places of a decimal
    null_rate: float = 0.0
    enum: list[Any] | None = None
    weights: list[float] | None = None
    lo: Any = None  # range (inclusive); numbers, or epoch ms / ISO dates for times
    hi: Any = None
    distribution: str = "uniform"
    params: dict[str, Any] = field(default_factory=dict)  # the distribution's parameters
    sequence: tuple[int, int] | None = None  # (start, step)
    pattern: str | None = None
    length: tuple[int, int] | None = None
    derived: str | None = None
    references: tuple[str, str] | None = None  # (source, field)
    match_rate: float = 1.0  # fraction of references that hit an existing key
    event_time: bool = False  # carries the simulated clock
    cardinality: int | None = None  # distinct values of a free string
    probability: float = 0.5  # P(true) of a boolean
    format: str = "epoch_millis"  # timestamp output: epoch_millis | epoch_seconds | iso8601
    description: str = ""


@dataclass
class Schema:
    """A named list of fields, with the defaults a schema file may carry."""

    name: str
    fields: list[FieldSpec]
    record_count: int | None = None
    key_field: str | None = None
    description: str = ""

    def field(self, name: str) -> FieldSpec | None:
        """The field called `name` (case-insensitive)."""
        low = name.lower()
        return next((f for f in self.fields if f.name.lower() == low), None)


def _num(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise SchemaError(f"{where}: expected a number, got {v!r}")
    try:
        return float(v)
    except ValueError:
        raise SchemaError(f"{where}: expected a number, got {v!r}") from None


def _int(v: Any, where: str) -> int:
    n = _num(v, where)
    if n != int(n):
        raise SchemaError(f"{where}: expected an integer, got {v!r}")
    return int(n)


def _map(v: Any, where: str) -> dict:
    if not isinstance(v, dict):
        raise SchemaError(f"{where}: expected a mapping, got {type(v).__name__}")
    return v


def _unknown(d: dict, allowed: tuple[str, ...] | set[str], where: str) -> None:
    for k in d:
        if k not in allowed:
            raise SchemaError(
                f"{where}: unknown key {k!r} (expected one of {', '.join(sorted(allowed))})"
            )


def parse_type(v: Any, where: str) -> tuple[str, int]:
    """`string`, `decimal(10,2)`, `{decimal: {precision: 2}}` -> (type, scale)."""
    if isinstance(v, dict):
        if len(v) != 1 or "decimal" not in v:
            raise SchemaError(f"{where}: a type mapping must be {{decimal: {{precision: N}}}}")
        inner = v["decimal"] or {}
        inner = _map(inner, f"{where}.decimal")
        scale = inner.get("precision", inner.get("scale", 2))
        return "decimal", _int(scale, f"{where}.decimal.precision")
    if not isinstance(v, str):
        raise SchemaError(f"{where}: expected a type name, got {v!r}")
    m = re.fullmatch(r"\s*([A-Za-z_]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*", v)
    if not m or m.group(1).lower() not in TYPES:
        raise SchemaError(
            f"{where}: unknown type {v!r} (expected one of {', '.join(sorted(set(TYPES)))})"
        )
    t = TYPES[m.group(1).lower()]
    if t == "decimal":
        # decimal(p, s) as in SQL; decimal(s) as Velostream's "precision" = decimal places
        scale = m.group(3) if m.group(3) is not None else (m.group(2) or "2")
        return t, int(scale)
    return t, 0


def parse_field(d: Any, where: str) -> FieldSpec:
    """One entry of `fields:`."""
    d = _map(d, where)
    _unknown(d, {"name", "type", "nullable", "null_rate", "description", "constraints"}, where)
    name = d.get("name")
    if not isinstance(name, str) or not name:
        raise SchemaError(f"{where}.name: every field needs a name")
    where = f"{where} ({name})"
    typ, scale = parse_type(d.get("type", "string"), f"{where}.type")
    f = FieldSpec(name=name, type=typ, scale=scale, description=str(d.get("description", "")))
    if "null_rate" in d:
        f.null_rate = _num(d["null_rate"], f"{where}.null_rate")
    elif d.get("nullable") is True:
        f.null_rate = 0.1  # nullable without a rate: one value in ten is NULL
    if not 0 <= f.null_rate <= 1:
        raise SchemaError(f"{where}.null_rate: must be between 0 and 1, got {f.null_rate}")
    c = _map(d.get("constraints") or {}, f"{where}.constraints")
    _unknown(c, CONSTRAINT_KEYS, f"{where}.constraints")
    apply_constraints(f, c, f"{where}.constraints")
    return f


def apply_constraints(f: FieldSpec, c: dict, where: str) -> None:
    """Fill a field from its `constraints:` mapping."""
    if "enum_values" in c:
        ev = c["enum_values"]
        if isinstance(ev, list):
            ev = {"values": ev}
        ev = _map(ev, f"{where}.enum_values")
        _unknown(ev, ("values", "weights"), f"{where}.enum_values")
        values = ev.get("values")
        if not isinstance(values, list) or not values:
            raise SchemaError(f"{where}.enum_values.values: expected a non-empty list")
        f.enum = values
        if ev.get("weights") is not None:
            w = ev["weights"]
            if not isinstance(w, list) or len(w) != len(values):
                raise SchemaError(
                    f"{where}.enum_values.weights: expected {len(values)} weights, one per value"
                )
            f.weights = [_num(x, f"{where}.enum_values.weights") for x in w]
            if any(x < 0 for x in f.weights) or sum(f.weights) <= 0:
                raise SchemaError(f"{where}.enum_values.weights: must be >= 0 with a positive sum")
    if "range" in c:
        r = _map(c["range"], f"{where}.range")
        _unknown(r, ("min", "max"), f"{where}.range")
        if "min" not in r or "max" not in r:
            raise SchemaError(f"{where}.range: needs min and max")
        if f.type in ("date", "timestamp"):
            f.lo, f.hi = r["min"], r["max"]
        else:
            f.lo, f.hi = _num(r["min"], f"{where}.range.min"), _num(r["max"], f"{where}.range.max")
            if f.lo > f.hi:
                raise SchemaError(f"{where}.range: min {f.lo} is above max {f.hi}")
    if "distribution" in c:
        dist = c["distribution"]
        if isinstance(dist, str):
            dist = {dist: {}}
        dist = _map(dist, f"{where}.distribution")
        if len(dist) != 1 or next(iter(dist)) not in DISTRIBUTIONS:
            raise SchemaError(
                f"{where}.distribution: expected one of {', '.join(DISTRIBUTIONS)}, got "
                f"{', '.join(map(str, dist)) or 'nothing'}"
            )
        kind, params = next(iter(dist.items()))
        f.distribution = kind
        f.params = dict(_map(params or {}, f"{where}.distribution.{kind}"))
        _check_distribution(f, f"{where}.distribution.{kind}")
    if "derived" in c:
        dv = c["derived"]
        if isinstance(dv, str):
            dv = {"expression": dv}
        dv = _map(dv, f"{where}.derived")
        _unknown(dv, ("expression", "depends_on"), f"{where}.derived")
        if not isinstance(dv.get("expression"), str):
            raise SchemaError(f"{where}.derived.expression: expected an SQL expression")
        f.derived = dv["expression"]
    if "references" in c:
        rf = _map(c["references"], f"{where}.references")
        _unknown(rf, ("source", "schema", "field", "file", "match_rate"), f"{where}.references")
        src = rf.get("source", rf.get("schema"))
        if not isinstance(src, str) or not isinstance(rf.get("field"), str):
            raise SchemaError(f"{where}.references: needs source and field")
        f.references = (src, rf["field"])
        f.match_rate = _num(rf.get("match_rate", 1.0), f"{where}.references.match_rate")
        if "file" in rf:
            f.params["references_file"] = str(rf["file"])
    if "pattern" in c:
        if not isinstance(c["pattern"], str):
            raise SchemaError(f"{where}.pattern: expected a text such as 'ORD-[0-9]{{6}}'")
        f.pattern = c["pattern"]
        from velostream.testing.patterns import compile_pattern

        try:
            compile_pattern(f.pattern)
        except ValueError as e:
            raise SchemaError(f"{where}.pattern: {e}") from None
    if "length" in c:
        ln = _map(c["length"], f"{where}.length")
        f.length = (
            _int(ln.get("min", 1), f"{where}.length.min"),
            _int(ln.get("max", ln.get("min", 8)), f"{where}.length.max"),
        )
    if "sequence" in c:
        sq = c["sequence"]
        if sq is True:
            sq = {}
        sq = _map(sq, f"{where}.sequence")
        f.sequence = (
            _int(sq.get("start", 1), f"{where}.sequence.start"),
            _int(sq.get("step", 1), f"{where}.sequence.step"),
        )
    for key in ("timestamp_epoch_ms", "timestamp_range"):
        if key in c:
            tr = _map(c[key], f"{where}.{key}")
            _unknown(tr, ("start", "end"), f"{where}.{key}")
            f.lo, f.hi = tr.get("start", "-1h"), tr.get("end", "now")
    if "cardinality" in c:
        f.cardinality = _int(c["cardinality"], f"{where}.cardinality")
    if "probability" in c:
        f.probability = _num(c["probability"], f"{where}.probability")
    if "format" in c:
        if c["format"] not in ("epoch_millis", "epoch_seconds", "iso8601"):
            raise SchemaError(f"{where}.format: expected epoch_millis, epoch_seconds or iso8601")
        f.format = c["format"]


_DIST_PARAMS = {
    "uniform": (),
    "normal": ("mean", "std_dev"),
    "log_normal": ("mean", "std_dev"),
    "zipf": ("exponent", "n"),
    "random_walk": (
        "drift",
        "volatility",
        "group_by",
        "start",
        "allow_below_min",
        "allow_above_max",
    ),
}


def _check_distribution(f: FieldSpec, where: str) -> None:
    _unknown(f.params, _DIST_PARAMS[f.distribution], where)
    if f.distribution in ("normal", "log_normal"):
        for k in ("mean", "std_dev"):
            if k not in f.params:
                raise SchemaError(f"{where}: needs {k}")
            f.params[k] = _num(f.params[k], f"{where}.{k}")
        if f.params["std_dev"] < 0:
            raise SchemaError(f"{where}.std_dev: must not be negative")
    if f.distribution == "zipf":
        f.params["exponent"] = _num(f.params.get("exponent", 1.0), f"{where}.exponent")
        if "n" in f.params:
            f.params["n"] = _int(f.params["n"], f"{where}.n")
    if f.distribution == "random_walk":
        for k in ("drift", "volatility"):
            f.params[k] = _num(f.params.get(k, 0.0 if k == "drift" else 0.01), f"{where}.{k}")


def parse_schema_dict(d: Any, where: str = "schema") -> Schema:
    """A schema from its YAML mapping."""
    d = _map(d, where)
    _unknown(d, ("name", "description", "record_count", "key_field", "fields"), where)
    fields = d.get("fields")
    if not isinstance(fields, list) or not fields:
        raise SchemaError(f"{where}.fields: expected a list of fields")
    specs = [parse_field(x, f"{where}.fields[{i}]") for i, x in enumerate(fields)]
    names = [s.name.lower() for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SchemaError(f"{where}.fields: duplicate field {dup[0]!r}")
    count = d.get("record_count")
    return Schema(
        name=str(d.get("name", "")),
        fields=specs,
        record_count=_int(count, f"{where}.record_count") if count is not None else None,
        key_field=d.get("key_field"),
        description=str(d.get("description", "")),
    )


def read_yaml_file(p: Path, what: str, error: type[ValueError]) -> Any:
    """A YAML file's data; a missing file or bad YAML is `error` naming the file (and the line
    and column of the YAML error)."""
    import yaml

    try:
        return yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise error(f"{p}: no such {what} file") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise error(f"{p}{at}: not valid YAML: {getattr(e, 'problem', e)}") from None


def load_schema(path: str | Path) -> Schema:
    """Read a `*.schema.yaml` (or `.json`) file."""
    p = Path(path)
    data = read_yaml_file(p, "schema", SchemaError)
    schema = parse_schema_dict(data, str(p))
    if not schema.name:
        schema.name = p.name.split(".")[0]
    return schema


def schema_from_columns(columns: list[Any], name: str = "") -> Schema:
    """A schema from the `synthetic` source's column specs (its one-line grammar)."""
    fields: list[FieldSpec] = []
    group = next((c.name for c in columns if c.type == "string"), None)
    types = {"bigint": "integer", "double": "float"}
    for c in columns:
        f = FieldSpec(name=c.name, type=types.get(c.type, c.type), scale=c.scale)
        f.null_rate = c.nulls
        if c.enum is not None:
            f.enum = list(c.enum)
        if c.lo is not None:
            f.lo, f.hi = c.lo, c.hi
        if c.walk:
            # a small step per record, like a tick: sd 0.12% (as uniform +-0.2% had)
            f.distribution = "random_walk"
            f.params = {"drift": 0.0, "volatility": 0.00115, "group_by": group}
        if c.sequence:
            f.sequence = (1, 1)
        if c.type == "timestamp":
            f.event_time = True
        fields.append(f)
    return Schema(name=name, fields=fields)


def schema_to_dict(schema: Schema) -> dict[str, Any]:
    """The YAML mapping of a schema (what `velo test infer-schema` writes)."""
    out: dict[str, Any] = {"name": schema.name}
    if schema.record_count is not None:
        out["record_count"] = schema.record_count
    fields = []
    for f in schema.fields:
        d: dict[str, Any] = {"name": f.name}
        d["type"] = {"decimal": {"precision": f.scale}} if f.type == "decimal" else f.type
        if f.null_rate:
            d["null_rate"] = round(f.null_rate, 4)
        c: dict[str, Any] = {}
        if f.enum is not None:
            c["enum_values"] = {"values": f.enum}
            if f.weights is not None:
                c["enum_values"]["weights"] = f.weights
        if f.lo is not None and f.hi is not None:
            if f.type in ("timestamp",):
                c["timestamp_epoch_ms"] = {"start": f.lo, "end": f.hi}
            else:
                c["range"] = {"min": f.lo, "max": f.hi}
        if f.distribution != "uniform":
            c["distribution"] = {f.distribution: f.params}
        if f.sequence is not None:
            c["sequence"] = {"start": f.sequence[0], "step": f.sequence[1]}
        if f.pattern:
            c["pattern"] = f.pattern
        if f.cardinality is not None:
            c["cardinality"] = f.cardinality
        if c:
            d["constraints"] = c
        fields.append(d)
    out["fields"] = fields
    return out
