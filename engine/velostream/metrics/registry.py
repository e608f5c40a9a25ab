"""`EngineMetrics`: one Prometheus registry per `Engine`, with its jobs' engine metrics and the
`@metric`s of their statements."""

from __future__ import annotations

import random
import weakref
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.exposition import generate_latest

from velostream.errors import SqlError
from velostream.metrics.job_metrics import (
    BATCH_BUCKETS,
    BATCH_LATENCY,
    LABEL,
    JobCollector,
    exposed_names,
)
from velostream.metrics.row_metrics import RowMetric, make_collector
from velostream.metrics.spec import MetricSpec, annotation_error, metric_specs
from velostream.sql.ast import Annotation, Statement

_ENGINES: weakref.WeakSet[EngineMetrics] = weakref.WeakSet()  # what `serve()` shows by default


class _Owned:
    """A registered @metric and the job that last attached it."""

    def __init__(self, spec: MetricSpec, metric: Any, job: Any):
        self.spec = spec
        self.metric = metric
        self.job = weakref.ref(job)


class EngineMetrics:
    """The metrics of one engine: `registry` is what /metrics serves for it."""

    def __init__(self, seed: int | None = None) -> None:
        self.registry = CollectorRegistry()
        self.jobs = JobCollector()
        self.registry.register(self.jobs)
        self.batch_latency = Histogram(
            BATCH_LATENCY,
            "Time to process one input batch, from receipt to output handed on",
            labelnames=[LABEL],
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.seed = seed
        self.sql: dict[str, _Owned] = {}  # exposed name -> registered @metric
        _ENGINES.add(self)

    @property
    def seed(self) -> int | None:
        """The seed of `@metric_sample_rate` sampling (None: not reproducible)."""
        return self._seed

    @seed.setter
    def seed(self, seed: int | None) -> None:
        self._seed = seed
        self._rng = random.Random(seed)

    def attach(
        self,
        job: Any,
        stmt: Statement | None,
        columns: list[str] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> list[RowMetric]:
        """Export a job's engine metrics and its statement's @metrics (updated per output row).

        `columns` are the statement's output columns when known; labels, fields and conditions
        must name them. Raises a SqlError that points at the bad annotation line.
        """
        warn = warn or (lambda m: None)
        specs = metric_specs(stmt, warn) if stmt is not None and stmt.annotations else []
        rows: list[RowMetric] = []
        for spec in specs:
            if columns is not None:
                _check_fields(spec, columns, stmt)
            rows.append(self._row_metric(spec, job, stmt, warn))
        self.jobs.add(job)
        child = self.batch_latency.labels(job.name)
        job.on_batch = child.observe
        if rows:
            job.outputs.append(_updater(rows))
        return rows

    def _row_metric(
        self, spec: MetricSpec, job: Any, stmt: Statement | None, warn: Callable[[str], None]
    ) -> RowMetric:
        name = spec.exposed_name
        if name in exposed_names() or spec.name in exposed_names():
            raise _located(spec, stmt, f"metric {spec.name} is an engine metric's name")
        owned = self.sql.get(name)
        if owned is not None and owned.spec.signature() == spec.signature():
            metric = owned.metric  # the same metric again (a re-run cell): keep counting
        else:
            if owned is not None:
                other = owned.job()
                if other is not None and other.state in ("created", "running"):
                    raise _located(
                        spec,
                        stmt,
                        f"metric {spec.name} is already defined differently by running job "
                        f"{other.name}",
                    )
                self.registry.unregister(owned.metric)
            metric = make_collector(spec)
            try:
                self.registry.register(metric)
            except ValueError as e:
                raise _located(spec, stmt, f"metric {spec.name} clashes: {e}") from None
        self.sql[name] = _Owned(spec, metric, job)
        rng = random.Random(self._rng.random()) if self.seed is not None else random.Random()
        return RowMetric(spec, metric, warn, rng)

    def exposition(self) -> bytes:
        """The registry in Prometheus text format (what /metrics answers)."""
        return generate_latest(self.registry)


def _updater(rows: list[RowMetric]) -> Callable[[list[dict]], None]:
    def update(batch: list[dict]) -> None:
        for m in rows:
            try:
                m.update(batch)
            except Exception as e:  # a metric never stops the job: say so once, go on
                m.warn_once("error", f"not updated: {type(e).__name__}: {e}")

    return update


def _located(spec: MetricSpec, stmt: Statement | None, message: str) -> SqlError:
    return annotation_error(Annotation("metric", spec.name, spec.line), message, [], stmt)


def _check_fields(spec: MetricSpec, columns: list[str], stmt: Statement | None) -> None:
    """Labels, the field and the condition's columns must be output columns of the query."""
    known = {c.lower() for c in columns}
    expected = [f"one of the output columns: {', '.join(columns)}"]

    def check(path: str, key: str, value: str) -> None:
        if path.lower() not in known and path.split(".")[0].lower() not in known:
            a = Annotation(key, value, spec.lines.get(key, spec.line))
            raise annotation_error(a, f"{path!r} is not an output column", expected, stmt)

    for p in spec.labels:
        check(p, "metric_labels", ", ".join(spec.labels))
    if spec.field:
        check(spec.field, "metric_field", spec.field)
    if spec.condition_expr is not None:
        from sqlglot import exp

        for col in spec.condition_expr.find_all(exp.Column):
            path = ".".join(p.name for p in col.parts)
            check(path, "metric_condition", spec.condition or "")


def all_engines() -> list[EngineMetrics]:
    """The metrics of every engine alive in this process."""
    return list(_ENGINES)
