"""Metric assertions read the Prometheus registry of the run's `@metric`s and engine metrics
(`velostream.metrics`): counter value, gauge value, exists."""

from __future__ import annotations

import functools
from typing import Any

from velostream.testing.assertions import Context, Result, _show, compare_count


class MetricsUnavailable(RuntimeError):
    """The engine has no metrics support to assert against."""


class MetricsView:
    """The samples of one registry, looked up by name and labels."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    def families(self) -> list[Any]:
        """Every metric family collected now."""
        return list(self.registry.collect())

    def family(self, name: str) -> Any | None:
        """The family a metric name refers to (`x_total` finds the counter `x`)."""
        base = name[: -len("_total")] if name.endswith("_total") else name
        for fam in self.families():
            if fam.name in (name, base):
                return fam
        return None

    def samples(self, name: str, labels: dict[str, str]) -> list[tuple[dict, float]]:
        """(labels, value) of the series of `name` whose labels include `labels`."""
        fam = self.family(name)
        if fam is None:
            return []
        want = {str(k): str(v) for k, v in labels.items()}
        value_names = (
            {name, f"{fam.name}_total", fam.name}
            if fam.type == "counter"
            else {
                fam.name,
                name,
            }
        )
        out = []
        for s in fam.samples:
            if s.name not in value_names or s.name.endswith("_created"):
                continue
            if all(s.labels.get(k) == v for k, v in want.items()):
                out.append((dict(s.labels), float(s.value)))
        return out


def attach_metrics(engine: Any, seed: int) -> Any | None:
    """The run's `EngineMetrics`, seeded so `@metric_sample_rate` samples the same rows on
    every run (None when the engine has no metrics support)."""
    try:
        from velostream.metrics.registry import EngineMetrics
    except ImportError:
        return None
    metrics = EngineMetrics(seed=seed)
    if hasattr(engine, "metrics"):  # the engine attaches every job it builds to its own
        engine.metrics = metrics
    return metrics


def evaluate_metric(query: str, spec: Any, ctx: Context) -> Result:
    """Run one metric assertion (metric_exists, metric_counter, metric_gauge)."""
    p = spec.params
    name = str(p["name"])
    verdict = functools.partial(Result, query, "", spec.type, spec.label)
    view: MetricsView | None = ctx.metrics
    if view is None:
        return verdict(
            False,
            "metric assertions are not supported: this engine has no metrics registry "
            "(velostream.metrics)",
            error=True,
        )
    fam = view.family(name)
    if spec.type == "metric_exists":
        if fam is None:
            known = sorted(f.name for f in view.families())
            return verdict(
                False,
                f"no metric {name!r} (metrics: {', '.join(known) or 'none'})",
                name,
                None,
            )
        want_type = p.get("expected_type")
        if want_type and fam.type != want_type:
            return verdict(
                False,
                f"{name} is a {fam.type}, expected a {want_type}",
                want_type,
                fam.type,
            )
        return verdict(True, f"{name} exists ({fam.type})", name, fam.type)
    labels = dict(p.get("labels") or {})
    series = view.samples(name, labels)
    if fam is None or not series:
        where = f" with labels {labels}" if labels else ""
        return verdict(False, f"no series of {name!r}{where}", error=fam is None)
    if spec.type == "metric_gauge" and len(series) > 1:
        shown = "; ".join(str(s[0]) for s in series[:5])
        return verdict(
            False,
            f"{len(series)} series of {name} match; give labels to pick one ({shown})",
        )
    value = sum(v for _, v in series)
    params = dict(p)
    op = params.pop("operator", None)
    if "value" in params:
        params[op or ("equals" if spec.type == "metric_gauge" else "greater_than")] = params.pop(
            "value"
        )
    tol = float(p.get("tolerance", 0.0))
    if "equals" in params and tol:
        want = float(params.pop("equals"))
        params["between"] = [want - tol, want + tol]
    ok, want_text = compare_count(value, params, ctx)
    what = f"{name}{labels if labels else ''}"
    return verdict(
        ok,
        f"{what} = {_show(value)}, expected {want_text}",
        want_text,
        value,
    )
