"""The test spec (`APP.test.yaml`, Velostream's struct syntax): inputs per source, a simulated
clock, assertions per query and sink, metric assertions.

```yaml
application: market_agg
seed: 42                        # `velo test --seed N` overrides
default_records: 1000
clock: {now: "2024-01-01T00:00:00Z"}   # what "now" and "-1h" mean; fixed, so runs repeat
queries:
  - name: market_aggregates     # a CREATE STREAM/TABLE name, or a SELECT's -- @name
    inputs:
      - source: market_data
        schema: market_data     # schemas/market_data.schema.yaml, a path, an inline mapping
        records: 1000           #   or a synthetic schema line 'symbol STRING ENUM(A,B), ...'
        time_simulation: {start_time: "-5m", events_per_second: 10, jitter_ms: 50,
                          out_of_order: {fraction: 0.05, max_delay_ms: 2000},
                          late: {fraction: 0.01, delay_ms: 60000}}
      - source: customers
        data_file: data/customers.csv   # or rows: [{...}, ...]
    outputs:
      - sink: market_aggregates
        assertions:
          - {type: record_count, greater_than: 0}
    metric_assertions:
      - {type: metric_counter, name: velo_trades_total, greater_than: 0}
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from velostream.testing.generator import DEFAULT_NOW_MS, TimeSimulation, resolve_time
from velostream.testing.schema import (
    Schema,
    SchemaError,
    load_schema,
    parse_schema_dict,
    read_yaml_file,
)


class SpecError(ValueError):
    """A spec that cannot be used; the message names the file and the key."""


@dataclass
class InputSpec:
    """Where one source's records come from."""

    source: str
    schema: Schema | None = None
    records: int | None = None
    rows: list[dict] | None = None
    data_file: Path | None = None
    format: str | None = None
    seed: int | str | None = None
    time: TimeSimulation = field(default_factory=TimeSimulation)
    where: str = ""


@dataclass
class AssertionSpec:
    """One assertion: its `type` and the rest of its mapping."""

    type: str
    params: dict[str, Any]
    where: str = ""

    @property
    def label(self) -> str:
        """A short name for reports: the description, else the type and its main argument."""
        if self.params.get("description"):
            return str(self.params["description"])
        main = [
            f"{k}={v}"
            for k, v in self.params.items()
            if k not in ("description",) and not isinstance(v, dict | list)
        ][:3]
        lists = [
            f"{k}={','.join(map(str, v))}" for k, v in self.params.items() if isinstance(v, list)
        ]
        return f"{self.type}({', '.join(main + lists[:1])})"


@dataclass
class OutputSpec:
    """Assertions on what one sink (a statement's output) received."""

    sink: str
    assertions: list[AssertionSpec] = field(default_factory=list)


@dataclass
class QuerySpec:
    """The tests of one statement."""

    name: str
    description: str = ""
    skip: bool = False
    inputs: list[InputSpec] = field(default_factory=list)
    outputs: list[OutputSpec] = field(default_factory=list)
    metric_assertions: list[AssertionSpec] = field(default_factory=list)


@dataclass
class TestSpec:
    """A whole spec."""

    __test__ = False  # not a pytest class

    application: str
    description: str = ""
    seed: int = 42
    default_records: int = 1000
    now_ms: int = DEFAULT_NOW_MS
    timeout_ms: int = 60_000
    queries: list[QuerySpec] = field(default_factory=list)
    inputs: list[InputSpec] = field(default_factory=list)  # for every query
    path: Path | None = None

    def all_inputs(self) -> dict[str, InputSpec]:
        """Every input by source (lower case): the spec-wide ones, then each query's."""
        out: dict[str, InputSpec] = {}
        for inp in [*self.inputs, *(i for q in self.queries for i in q.inputs)]:
            out.setdefault(inp.source.lower(), inp)
        return out


ASSERTION_TYPES = (
    "record_count",
    "schema_contains",
    "no_nulls",
    "field_not_null",
    "unique",
    "no_duplicates",
    "unique_values",
    "field_values",
    "field_in_set",
    "field_range",
    "field_matches",
    "aggregate_check",
    "join_coverage",
    "ordering",
    "window_count",
    "window_boundary",
    "latency",
    "late_records",
    "file_matches",
    "matches_expected",
)
METRIC_TYPES = ("metric_exists", "metric_counter", "metric_gauge")


def _map(v: Any, where: str) -> dict:
    if not isinstance(v, dict):
        raise SpecError(f"{where}: expected a mapping, got {type(v).__name__}")
    return v


def _list(v: Any, where: str) -> list:
    if v is None:
        return []
    if not isinstance(v, list):
        raise SpecError(f"{where}: expected a list, got {type(v).__name__}")
    return v


def _unknown(d: dict, allowed: tuple[str, ...], where: str) -> None:
    for k in d:
        if k not in allowed:
            raise SpecError(
                f"{where}: unknown key {k!r} (expected one of {', '.join(sorted(allowed))})"
            )


def _int(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        try:
            if isinstance(v, str) and v.strip().lstrip("-").isdigit():
                return int(v)
        except ValueError:
            pass
        raise SpecError(f"{where}: expected an integer, got {v!r}")
    return v


def _assertion(d: Any, where: str, metric: bool = False) -> AssertionSpec:
    d = _map(d, where)
    t = d.get("type")
    kinds = METRIC_TYPES if metric else ASSERTION_TYPES
    if t not in kinds:
        raise SpecError(
            f"{where}.type: unknown assertion {t!r} (expected one of {', '.join(kinds)})"
        )
    params = {k: v for k, v in d.items() if k != "type"}
    from velostream.testing.assertions import check_params

    try:
        check_params(t, params)
    except ValueError as e:
        raise SpecError(f"{where} ({t}): {e}") from None
    return AssertionSpec(t, params, where)


def _time_sim(d: Any, where: str) -> TimeSimulation:
    d = _map(d or {}, where)
    _unknown(
        d,
        (
            "start_time",
            "end_time",
            "events_per_second",
            "jitter_ms",
            "out_of_order",
            "late",
            "field",
            "batch_size",
            "sequential",
            "time_scale",
        ),
        where,
    )
    sim = TimeSimulation(start=d.get("start_time"), end=d.get("end_time"))
    if d.get("events_per_second") is not None:
        try:
            sim.rate = float(d["events_per_second"])
        except (TypeError, ValueError):
            raise SpecError(f"{where}.events_per_second: expected a number") from None
        if sim.rate <= 0:
            raise SpecError(f"{where}.events_per_second: must be positive")
    sim.jitter_ms = _int(d.get("jitter_ms", 0), f"{where}.jitter_ms")
    sim.field = d.get("field")
    sim.batch_size = _int(d.get("batch_size", 100), f"{where}.batch_size")
    if d.get("out_of_order") is not None:
        o = _map(d["out_of_order"], f"{where}.out_of_order")
        _unknown(o, ("fraction", "max_delay_ms"), f"{where}.out_of_order")
        sim.out_of_order = float(o.get("fraction", 0.05))
        sim.max_delay_ms = _int(o.get("max_delay_ms", 1000), f"{where}.out_of_order.max_delay_ms")
    if d.get("late") is not None:
        lt = _map(d["late"], f"{where}.late")
        _unknown(lt, ("fraction", "delay_ms"), f"{where}.late")
        sim.late = float(lt.get("fraction", 0.01))
        sim.late_delay_ms = _int(lt.get("delay_ms", 60_000), f"{where}.late.delay_ms")
    for frac, key in ((sim.out_of_order, "out_of_order"), (sim.late, "late")):
        if not 0 <= frac <= 1:
            raise SpecError(f"{where}.{key}.fraction: must be between 0 and 1")
    return sim


def _schema(v: Any, base: Path, where: str) -> Schema:
    """A schema named, by path, inline, or as a synthetic schema line."""
    try:
        if isinstance(v, dict):
            return parse_schema_dict(v, where)
        if not isinstance(v, str):
            raise SpecError(f"{where}: expected a schema name, a path or a mapping")
        text = v.strip()
        if text.lower().endswith((".yaml", ".yml", ".json")):
            return load_schema(_resolve(base, text))
        if " " in text:  # a synthetic schema line: 'symbol STRING ENUM(A,B), ts TIMESTAMP'
            from velostream.connectors.synthetic import SchemaError as LineError
            from velostream.connectors.synthetic import parse_schema
            from velostream.testing.schema import schema_from_columns

            try:
                return schema_from_columns(parse_schema(text))
            except LineError as e:
                raise SpecError(f"{where}: {e}") from None
        for cand in (
            base / "schemas" / f"{text}.schema.yaml",
            base.parent / "schemas" / f"{text}.schema.yaml",
            base / f"{text}.schema.yaml",
        ):
            if cand.exists():
                return load_schema(cand)
        raise SpecError(
            f"{where}: no schema {text!r} (looked for schemas/{text}.schema.yaml beside the "
            "spec and one folder up)"
        )
    except SchemaError as e:
        raise SpecError(str(e)) from None


def _resolve(base: Path, p: str) -> Path:
    path = Path(p)
    return path if path.is_absolute() else base / path


def _input(d: Any, base: Path, where: str) -> InputSpec:
    d = _map(d, where)
    _unknown(
        d,
        (
            "source",
            "schema",
            "records",
            "rows",
            "data_file",
            "format",
            "seed",
            "time_simulation",
            "key_field",
            "description",
        ),
        where,
    )
    if not isinstance(d.get("source"), str):
        raise SpecError(f"{where}.source: every input names its source (the FROM name)")
    where = f"{where} ({d['source']})"
    inp = InputSpec(source=d["source"], where=where)
    given = [k for k in ("schema", "rows", "data_file") if d.get(k) is not None]
    if len(given) > 1:
        raise SpecError(
            f"{where}: give one of schema, rows or data_file, not {' and '.join(given)}"
        )
    if d.get("schema") is not None:
        inp.schema = _schema(d["schema"], base, f"{where}.schema")
    if d.get("rows") is not None:
        rows = _list(d["rows"], f"{where}.rows")
        for i, r in enumerate(rows):
            _map(r, f"{where}.rows[{i}]")
        inp.rows = [dict(r) for r in rows]
    if d.get("data_file") is not None:
        inp.data_file = _resolve(base, str(d["data_file"]))
        inp.format = d.get("format")
    if d.get("records") is not None:
        inp.records = _int(d["records"], f"{where}.records")
        if inp.records < 0:
            raise SpecError(f"{where}.records: must not be negative")
    if d.get("seed") is not None:
        inp.seed = d["seed"]
    inp.time = _time_sim(d.get("time_simulation"), f"{where}.time_simulation")
    return inp


def parse_spec(data: Any, base: Path, where: str = "spec") -> TestSpec:
    """A spec from its YAML mapping; `base` is the folder relative paths start from."""
    d = _map(data, where)
    _unknown(
        d,
        (
            "application",
            "description",
            "seed",
            "default_records",
            "default_timeout_ms",
            "clock",
            "queries",
            "inputs",
            "assertions",
            "outputs",
            "metric_assertions",
            "config",
        ),
        where,
    )
    spec = TestSpec(
        application=str(d.get("application") or ""), description=str(d.get("description", ""))
    )
    if d.get("seed") is not None:
        spec.seed = _int(d["seed"], f"{where}.seed")
    if d.get("default_records") is not None:
        spec.default_records = _int(d["default_records"], f"{where}.default_records")
    if d.get("default_timeout_ms") is not None:
        spec.timeout_ms = _int(d["default_timeout_ms"], f"{where}.default_timeout_ms")
    if d.get("clock") is not None:
        c = _map(d["clock"], f"{where}.clock")
        _unknown(c, ("now",), f"{where}.clock")
        try:
            spec.now_ms = resolve_time(
                c.get("now", DEFAULT_NOW_MS), DEFAULT_NOW_MS, f"{where}.clock.now"
            )
        except SchemaError as e:
            raise SpecError(str(e)) from None
    spec.inputs = [
        _input(x, base, f"{where}.inputs[{i}]")
        for i, x in enumerate(_list(d.get("inputs"), f"{where}.inputs"))
    ]
    for i, q in enumerate(_list(d.get("queries"), f"{where}.queries")):
        spec.queries.append(_query(q, base, f"{where}.queries[{i}]"))
    # A one-query spec (a notebook cell) may put its assertions at the top.
    top = _list(d.get("assertions"), f"{where}.assertions")
    top_metrics = _list(d.get("metric_assertions"), f"{where}.metric_assertions")
    top_outputs = _list(d.get("outputs"), f"{where}.outputs")
    if top or top_metrics or top_outputs:
        q = QuerySpec(name="")
        if top:
            q.outputs.append(
                OutputSpec(
                    "", [_assertion(a, f"{where}.assertions[{j}]") for j, a in enumerate(top)]
                )
            )
        for j, o in enumerate(top_outputs):
            q.outputs.append(_output(o, f"{where}.outputs[{j}]"))
        q.metric_assertions = [
            _assertion(a, f"{where}.metric_assertions[{j}]", metric=True)
            for j, a in enumerate(top_metrics)
        ]
        spec.queries.append(q)
    return spec


def _output(o: Any, where: str) -> OutputSpec:
    o = _map(o, where)
    _unknown(o, ("sink", "assertions", "description"), where)
    sink = o.get("sink")
    if not isinstance(sink, str):
        raise SpecError(f"{where}.sink: name the sink (the CREATE STREAM/TABLE name)")
    return OutputSpec(
        sink,
        [
            _assertion(a, f"{where}.assertions[{k}]")
            for k, a in enumerate(_list(o.get("assertions"), f"{where}.assertions"))
        ],
    )


def _query(q: Any, base: Path, where: str) -> QuerySpec:
    q = _map(q, where)
    _unknown(
        q,
        (
            "name",
            "description",
            "skip",
            "inputs",
            "outputs",
            "assertions",
            "metric_assertions",
            "dependencies",
            "timeout_ms",
            "output",
        ),
        where,
    )
    if not isinstance(q.get("name"), str):
        raise SpecError(f"{where}.name: every query names its statement")
    where = f"{where} ({q['name']})"
    spec = QuerySpec(
        name=q["name"], description=str(q.get("description", "")), skip=bool(q.get("skip"))
    )
    spec.inputs = [
        _input(x, base, f"{where}.inputs[{i}]")
        for i, x in enumerate(_list(q.get("inputs"), f"{where}.inputs"))
    ]
    spec.outputs = [
        _output(o, f"{where}.outputs[{j}]")
        for j, o in enumerate(_list(q.get("outputs"), f"{where}.outputs"))
    ]
    legacy = _list(q.get("assertions"), f"{where}.assertions")
    if legacy:  # assertions on the query's own output
        spec.outputs.insert(
            0,
            OutputSpec(
                spec.name, [_assertion(a, f"{where}.assertions[{k}]") for k, a in enumerate(legacy)]
            ),
        )
    spec.metric_assertions = [
        _assertion(a, f"{where}.metric_assertions[{k}]", metric=True)
        for k, a in enumerate(_list(q.get("metric_assertions"), f"{where}.metric_assertions"))
    ]
    return spec


def load_spec(path: str | Path) -> TestSpec:
    """Read a `.test.yaml` file."""
    p = Path(path)
    spec = parse_spec(read_yaml_file(p, "spec", SpecError), p.parent, f"{p}: spec")
    spec.path = p
    return spec


def find_spec(sql_path: Path) -> Path | None:
    """The spec beside APP.sql: APP.test.yaml, APP.spec.yaml, ../tests/APP.test.yaml."""
    stem = sql_path.name[: -len(".sql")] if sql_path.name.endswith(".sql") else sql_path.stem
    for cand in (
        sql_path.with_name(f"{stem}.test.yaml"),
        sql_path.with_name(f"{stem}.test.yml"),
        sql_path.with_name(f"{stem}.spec.yaml"),
        sql_path.parent.parent / "tests" / f"{stem}.test.yaml",
    ):
        if cand.exists():
            return cand
    return None
