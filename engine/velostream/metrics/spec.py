"""`-- @metric...` annotation blocks -> `MetricSpec`s, checked as reference section 2.1 says.

A block starts at `@metric: <name>`; the `@metric_*` lines after it (up to the next `@metric`)
describe it. Other annotations (`@name`, `@job_mode`, ...) may be mixed in and are skipped.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass

from sqlglot import exp

from velostream.errors import SqlError
from velostream.sql.ast import Annotation, Statement

KINDS = ("counter", "gauge", "histogram")
NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
KEYS = (
    "metric",
    "metric_type",
    "metric_help",
    "metric_labels",
    "metric_field",
    "metric_buckets",
    "metric_condition",
    "metric_sample_rate",
)
MAX_LABEL_SETS = 100  # distinct label value combinations kept per metric (as Velostream)


@dataclass
class MetricSpec:
    """One `@metric` block: what to export and how to compute it from an output row."""

    name: str
    kind: str = "counter"
    help: str = ""
    labels: list[str] = dataclasses.field(
        default_factory=list
    )  # output field paths (dots for nesting)
    field: str | None = None
    buckets: list[float] | None = None
    condition: str | None = None
    condition_expr: exp.Expression | None = None
    sample_rate: float = 1.0
    line: int = 0  # the `@metric` line
    lines: dict[str, int] = dataclasses.field(default_factory=dict)  # directive -> its line

    @property
    def label_names(self) -> list[str]:
        """Prometheus label names: the field paths with anything but [A-Za-z0-9_] as `_`."""
        return [re.sub(r"[^a-zA-Z0-9_]", "_", p) for p in self.labels]

    @property
    def exposed_name(self) -> str:
        """The name Prometheus stores: a counter always ends in `_total`."""
        if self.kind == "counter" and not self.name.endswith("_total"):
            return self.name + "_total"
        return self.name

    @property
    def help_text(self) -> str:
        """The HELP text (default "<name> metric")."""
        return self.help or f"{self.name} metric"

    def signature(self) -> tuple:
        """What must match for two statements to share one Prometheus metric."""
        return (self.kind, self.help_text, tuple(self.label_names), tuple(self.buckets or ()))


def annotation_error(
    a: Annotation, message: str, expected: list[str], stmt: Statement | None
) -> SqlError:
    """An error located at the annotation's value."""
    prefix = f"-- @{a.key}: "
    return SqlError(
        message,
        line=a.line,
        col=len(prefix) + 1,
        token=a.value or None,
        expected=expected,
        source_line=prefix + a.value,
        path=stmt.path if stmt is not None else None,
        kind="annotation",
    )


def metric_specs(stmt: Statement, warn: object = None) -> list[MetricSpec]:
    """The `@metric` blocks above a statement, checked; raises a located SqlError."""
    specs: list[MetricSpec] = []
    current: MetricSpec | None = None
    for a in stmt.annotations:
        key = a.key.lower()
        if not key.startswith("metric"):
            continue
        if key not in KEYS:
            if callable(warn):
                warn(f"line {a.line}: unknown annotation @{a.key} is ignored")
            continue
        if key == "metric":
            if current is not None:
                specs.append(_finish(current, stmt))
            current = _start(a, stmt)
            continue
        if current is None:
            raise annotation_error(
                a, f"@{a.key} appears before any @metric", ["@metric: <name>"], stmt
            )
        if key in current.lines:
            raise annotation_error(
                a, f"@{a.key} is given twice for metric {current.name}", [], stmt
            )
        current.lines[key] = a.line
        _apply(current, key, a, stmt)
    if current is not None:
        specs.append(_finish(current, stmt))
    seen: dict[str, MetricSpec] = {}
    for s in specs:
        if s.exposed_name in seen:
            a = Annotation("metric", s.name, s.line)
            raise annotation_error(
                a, f"metric {s.name} is declared twice above this statement", [], stmt
            )
        seen[s.exposed_name] = s
    return specs


def _start(a: Annotation, stmt: Statement) -> MetricSpec:
    name = a.value.strip()
    if not NAME_RE.match(name):
        raise annotation_error(
            a,
            f"invalid metric name {name!r}" if name else "@metric needs a name",
            ["a Prometheus name matching [a-zA-Z_:][a-zA-Z0-9_:]*"],
            stmt,
        )
    return MetricSpec(name=name, line=a.line, lines={"metric": a.line})


def _apply(spec: MetricSpec, key: str, a: Annotation, stmt: Statement) -> None:
    value = a.value.strip()
    if key == "metric_type":
        kind = value.lower()
        if kind not in KINDS:
            raise annotation_error(a, f"unknown metric type {value!r}", list(KINDS), stmt)
        spec.kind = kind
    elif key == "metric_help":
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        spec.help = value
    elif key == "metric_labels":
        labels = [p.strip() for p in value.split(",")]
        if not value or any(not p for p in labels):
            raise annotation_error(
                a, "empty label in @metric_labels", ["a comma list of fields"], stmt
            )
        for p in labels:
            if not all(LABEL_RE.match(part) for part in p.split(".")):
                raise annotation_error(
                    a, f"invalid label field {p!r}", ["an output field name"], stmt
                )
        names = [re.sub(r"[^a-zA-Z0-9_]", "_", p) for p in labels]
        if len(set(names)) != len(names):
            raise annotation_error(a, "a label is listed twice", ["distinct fields"], stmt)
        if "le" in names or "quantile" in names:
            raise annotation_error(a, "'le' and 'quantile' are reserved label names", [], stmt)
        spec.labels = labels
    elif key == "metric_field":
        if not value or not all(LABEL_RE.match(p) for p in value.split(".")):
            raise annotation_error(a, f"invalid field {value!r}", ["an output field name"], stmt)
        spec.field = value
    elif key == "metric_buckets":
        spec.buckets = _buckets(a, value, stmt)
    elif key == "metric_condition":
        if not value:
            raise annotation_error(
                a, "@metric_condition is empty", ["a SQL boolean expression"], stmt
            )
        spec.condition = value
        spec.condition_expr = _condition(a, value, stmt)
    elif key == "metric_sample_rate":
        try:
            rate = float(value)
        except ValueError:
            rate = -1.0
        if not 0.0 <= rate <= 1.0:
            raise annotation_error(
                a, f"sample rate {value!r} is not a number in 0.0..1.0", ["0.0-1.0"], stmt
            )
        spec.sample_rate = rate


def _buckets(a: Annotation, value: str, stmt: Statement) -> list[float]:
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        out = [float(p) for p in text.split(",")]
    except ValueError:
        raise annotation_error(
            a, f"bad bucket list {value!r}", ["numbers such as 1, 5, 10"], stmt
        ) from None
    if any(b <= 0 for b in out) or any(x >= y for x, y in itertools.pairwise(out)):
        raise annotation_error(a, f"buckets {value!r} must be > 0 and strictly ascending", [], stmt)
    return out


def _condition(a: Annotation, value: str, stmt: Statement) -> exp.Expression:
    """Parse the condition with the engine's own parser (as the select item of a SELECT)."""
    from velostream.sql.parse import parse_script

    head = "SELECT "
    try:
        script = parse_script(head + value)
    except SqlError as e:
        err = annotation_error(a, f"bad @metric_condition: {e.message}", e.expected, stmt)
        if e.col is not None:
            err.col = len(f"-- @{a.key}: ") + max(1, e.col - len(head))
            err.token = e.token
        raise err from None
    stmts = script.statements
    query = stmts[0].query if len(stmts) == 1 else None
    if (
        not isinstance(query, exp.Select)
        or len(query.expressions) != 1
        or any(query.args.get(k) for k in ("from", "from_", "where", "group"))
    ):
        raise annotation_error(
            a, "@metric_condition must be one expression", ["a boolean expression"], stmt
        )
    node = query.expressions[0]
    return node.this if isinstance(node, exp.Alias) else node


def _finish(spec: MetricSpec, stmt: Statement) -> MetricSpec:
    if spec.kind in ("gauge", "histogram") and spec.field is None:
        a = Annotation("metric", spec.name, spec.line)
        raise annotation_error(
            a,
            f"{spec.kind} metric {spec.name} needs @metric_field",
            ["@metric_field: <field>"],
            stmt,
        )
    if spec.buckets is not None and spec.kind != "histogram":
        a = Annotation("metric_buckets", "", spec.lines["metric_buckets"])
        raise annotation_error(
            a, f"@metric_buckets applies to histograms, not {spec.kind}s", [], stmt
        )
    return spec
