"""`@metric`s of one statement, updated from each batch of its output rows."""

from __future__ import annotations

import random
from bisect import bisect_left
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlglot import exp

from velostream import values as V
from velostream.metrics.spec import MAX_LABEL_SETS, MetricSpec
from velostream.runtime.codegen import Compiler, Resolver

Row = dict[str, Any]


def field_path(row: Row, path: tuple[str, ...]) -> Any:
    """A field of an output row: a key as given, else case-insensitively, else nested by dots."""
    full = ".".join(path)
    if full in row:
        return row[full]
    value: Any = row
    for part in path:
        if not isinstance(value, dict):
            return None
        if part in value:
            value = value[part]
            continue
        low = part.lower()
        value = next((v for k, v in value.items() if k.lower() == low), None)
    return value


def getter(path: str) -> Callable[[Row], Any]:
    """A function reading the field `path` (dots for nested fields) from an output row."""
    parts = tuple(path.split("."))
    if len(parts) == 1:
        name = parts[0]
        return lambda r: r[name] if name in r else field_path(r, parts)
    return lambda r: field_path(r, parts)


class OutputResolver(Resolver):
    """Columns of a condition are fields of the output row `r` (`a.b` reads a nested field)."""

    def column(self, col: exp.Column, compiler: Compiler) -> str:
        parts = tuple(p.name for p in col.parts)
        fn = compiler.fn("field_path", field_path)
        return f"{fn}(r, {parts!r})"


def compile_condition(node: exp.Expression) -> Callable[[Row], Any]:
    """The condition as a function of an output row (SQL truth: only True passes)."""
    return Compiler(OutputResolver()).lambda_("r", node)


def label_text(value: Any) -> str:
    """A label value as text; a missing value is "unknown"."""
    if type(value) is str:
        return value
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal | str):
        return str(value)
    j = V.to_json_value(value)
    return j if isinstance(j, str) else str(j)


def number(value: Any) -> float | None:
    """A measured value as a float; None when it is NULL or not a number."""
    t = type(value)
    if t is float:
        return value
    if t is int or t is Decimal or t is bool:
        return float(value)
    if value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def key_function(paths: list[str]) -> Callable[[Row], tuple[str, ...]]:
    """The label values of a row as a tuple (specialised for the usual one or two labels)."""
    gets = [getter(p) for p in paths]
    text = label_text
    if not gets:
        return lambda r: ()
    if len(gets) == 1:
        g0 = gets[0]
        return lambda r: (text(g0(r)),)
    if len(gets) == 2:
        g0, g1 = gets
        return lambda r: (text(g0(r)), text(g1(r)))
    return lambda r: tuple(text(g(r)) for g in gets)


def observe_many(child: Any, values: list[float]) -> None:
    """Observe values into a histogram series: bucket counts added once per bucket (through
    prometheus_client's own value holders when it has them, else one observe() each)."""
    bounds = getattr(child, "_upper_bounds", None)
    buckets = getattr(child, "_buckets", None)
    total = getattr(child, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for v in values:
            child.observe(v)
        return
    counts = [0] * len(bounds)
    for v in values:
        counts[bisect_left(bounds, v)] += 1  # the first bound >= v, as observe() does
    for i, n in enumerate(counts):
        if n:
            buckets[i].inc(n)
    total.inc(sum(values))


class RowMetric:
    """One `@metric`: its Prometheus collector and how an output row updates it."""

    def __init__(
        self,
        spec: MetricSpec,
        metric: Any,
        warn: Callable[[str], None],
        rng: random.Random,
    ):
        self.spec = spec
        self.metric = metric
        self.warn = warn
        self.rng = rng
        self.cond = compile_condition(spec.condition_expr) if spec.condition_expr else None
        self.key = key_function(spec.labels)
        self.value = getter(spec.field) if spec.field else None
        self.children: dict[tuple[str, ...], Any] = {}
        self._warned: set[str] = set()

    def warn_once(self, what: str, message: str) -> None:
        """Pass a warning on, once per kind of problem."""
        if what not in self._warned:
            self._warned.add(what)
            self.warn(f"metric {self.spec.name}: {message}")

    def child(self, key: tuple[str, ...]) -> Any:
        """The labelled series for these label values (None past the label-set limit)."""
        c = self.children.get(key)
        if c is not None:
            return c
        if not key:
            c = self.metric
        elif len(self.children) >= MAX_LABEL_SETS:
            self.warn_once(
                "labels", f"more than {MAX_LABEL_SETS} label combinations; the rest are dropped"
            )
            return None
        else:
            c = self.metric.labels(*key)
        self.children[key] = c
        return c

    def selected(self, rows: list[Row]) -> list[Row]:
        """The rows that pass the condition, then the sample (`@metric_sample_rate`)."""
        cond = self.cond
        if cond is not None:
            try:
                rows = [r for r in rows if cond(r) is True]
            except Exception:  # a row the condition cannot evaluate fails it, alone
                rows = [r for r in rows if self._passes(cond, r)]
        rate = self.spec.sample_rate
        if rate < 1.0:
            rnd = self.rng.random
            rows = [r for r in rows if rnd() < rate]
        return rows

    def _passes(self, cond: Callable[[Row], Any], r: Row) -> bool:
        try:
            return cond(r) is True
        except Exception as e:
            self.warn_once("condition", f"condition {self.spec.condition!r} failed: {e}")
            return False

    def update(self, rows: list[Row]) -> None:
        """Apply a batch of output rows."""
        rows = self.selected(rows)
        if not rows:
            return
        key = self.key
        if self.spec.kind == "counter":
            counts: dict[tuple[str, ...], int] = {}
            for r in rows:
                k = key(r)
                counts[k] = counts.get(k, 0) + 1
            for k, n in counts.items():
                c = self.child(k)
                if c is not None:
                    c.inc(n)
            return
        value = self.value
        groups: dict[tuple[str, ...], list[float]] = {}
        for r in rows:
            raw = value(r)  # type: ignore[misc]
            v = number(raw)
            if v is None:
                if raw is not None:
                    self.warn_once("value", f"{self.spec.field} = {raw!r} is not a number")
                continue
            k = key(r)
            vs = groups.get(k)
            if vs is None:
                groups[k] = [v]
            else:
                vs.append(v)
        gauge = self.spec.kind == "gauge"
        for k, vs in groups.items():
            c = self.child(k)
            if c is None:
                continue
            if gauge:
                c.set(vs[-1])  # the last row of the batch wins
            else:
                observe_many(c, vs)


def make_collector(spec: MetricSpec) -> Any:
    """The prometheus_client metric for a spec (not registered anywhere yet)."""
    from prometheus_client import Counter, Gauge, Histogram

    kw: dict[str, Any] = {"labelnames": spec.label_names, "registry": None}
    if spec.kind == "counter":
        return Counter(spec.name, spec.help_text, **kw)
    if spec.kind == "gauge":
        return Gauge(spec.name, spec.help_text, **kw)
    if spec.buckets:
        kw["buckets"] = spec.buckets
    return Histogram(spec.name, spec.help_text, **kw)
