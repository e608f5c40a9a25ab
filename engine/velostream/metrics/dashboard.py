"""A Grafana dashboard for a SQL file or notebook, built with grafana-foundation-sdk: a panel
per `@metric` (rate for counters, the value for gauges, p50/p95/p99 for histograms), then the
engine panels per job, over a Prometheus datasource variable."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableOption

from velostream.metrics.job_metrics import BATCH_LATENCY, LABEL
from velostream.metrics.spec import MetricSpec, metric_specs
from velostream.sql.ast import Statement

DS_VAR = "datasource"
JOB_VAR = "job"
QUANTILES = (0.5, 0.95, 0.99)
_DS = DataSourceRef(type_val="prometheus", uid="${" + DS_VAR + "}")


@dataclass
class Panel:
    """What a panel shows: its title, kind and PromQL targets (legend, expression)."""

    title: str
    kind: str  # timeseries | stat
    targets: list[tuple[str, str]]
    unit: str = ""
    description: str = ""


def job_names(statements: Sequence[Statement]) -> list[str]:
    """The job names the statements run under (named statements only)."""
    names = [s.name for s in statements if s.query is not None and s.name]
    return list(dict.fromkeys(names))


def sql_metric_panels(specs: Sequence[MetricSpec]) -> list[Panel]:
    """One panel per @metric."""
    panels = []
    for s in specs:
        labels = s.label_names
        legend = " ".join("{{" + n + "}}" for n in labels) or s.name
        by = f" by ({', '.join(labels)})" if labels else ""
        if s.kind == "counter":
            expr = f"sum{by} (rate({s.exposed_name}[$__rate_interval]))"
            panels.append(Panel(s.help_text, "timeseries", [(legend, expr)], "ops", s.name))
        elif s.kind == "gauge":
            panels.append(Panel(s.help_text, "timeseries", [(legend, s.name)], "", s.name))
        else:
            le = f" by ({', '.join(['le', *labels])})"
            targets = [
                (
                    f"p{round(q * 100)} {legend}",
                    f"histogram_quantile({q}, sum{le} (rate({s.name}_bucket[$__rate_interval])))",
                )
                for q in QUANTILES
            ]
            panels.append(Panel(s.help_text, "timeseries", targets, "", s.name))
    return panels


def engine_panels() -> list[Panel]:
    """The engine's panels, one series per job of the `$job` variable."""
    sel = "{" + f'{LABEL}=~"${JOB_VAR}"' + "}"
    legend = "{{" + LABEL + "}}"

    def rate(metric: str) -> str:
        return f"sum by ({LABEL}) (rate({metric}{sel}[$__rate_interval]))"

    latency = [
        (
            f"p{round(q * 100)} {legend}",
            f"histogram_quantile({q}, sum by (le, {LABEL}) "
            f"(rate({BATCH_LATENCY}_bucket{sel}[$__rate_interval])))",
        )
        for q in QUANTILES
    ]
    return [
        Panel("Running jobs", "stat", [("running", f"sum(velo_job_running{sel})")]),
        Panel("Records in", "timeseries", [(legend, rate("velo_job_records_in_total"))], "ops"),
        Panel("Rows out", "timeseries", [(legend, rate("velo_job_records_out_total"))], "ops"),
        Panel("Late records", "timeseries", [(legend, rate("velo_job_late_records_total"))], "ops"),
        Panel(
            "Malformed records",
            "timeseries",
            [(legend, rate("velo_job_malformed_records_total"))],
            "ops",
        ),
        Panel("Batch latency", "timeseries", latency, "s"),
        Panel(
            "Watermark lag",
            "timeseries",
            [(legend, f"max by ({LABEL}) (velo_job_watermark_lag_seconds{sel})")],
            "s",
        ),
        Panel(
            "State size",
            "timeseries",
            [(legend, f"sum by ({LABEL}) (velo_job_state_size{sel})")],
            "short",
        ),
    ]


def _build(p: Panel) -> Any:
    b = timeseries.Panel() if p.kind == "timeseries" else stat.Panel()
    b = b.title(p.title).datasource(_DS).height(8).span(12 if p.kind == "timeseries" else 6)
    if p.description:
        b = b.description(p.description)
    if p.unit:
        b = b.unit(p.unit)
    for i, (legend, expr) in enumerate(p.targets):
        q = prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(chr(ord("A") + i))
        b = b.with_target(q.datasource(_DS))
    return b


def _job_variable(jobs: list[str], unnamed: bool) -> Any:
    alts = [re.escape(j) for j in jobs] + ([r"query_\d+"] if unnamed or not jobs else [])
    every = "|".join(alts)
    var = gd.CustomVariable(JOB_VAR).label("Job").values(",".join(jobs) or "query_1")
    var = var.multi(True).include_all(True).all_value(every)
    return var.current(VariableOption(selected=True, text="All", value="$__all"))


def build_dashboard(statements: Sequence[Statement], title: str, uid: str) -> dict[str, Any]:
    """The dashboard JSON model for these statements."""
    specs: list[MetricSpec] = []
    for st in statements:
        if st.query is not None and st.annotations:
            specs.extend(metric_specs(st))
    jobs = job_names(statements)
    unnamed = any(s.query is not None and not s.name for s in statements)
    ds = gd.DatasourceVariable(DS_VAR).label("Prometheus").type("prometheus")
    b = (
        gd.Dashboard(title)
        .uid(uid)
        .tags(["velostream"])
        .refresh("5s")
        .time("now-15m", "now")
        .with_variable(ds)
        .with_variable(_job_variable(jobs, unnamed))
    )
    if specs:
        b = b.with_row(gd.Row("SQL metrics (@metric)"))
        for p in sql_metric_panels(specs):
            b = b.with_panel(_build(p))
    b = b.with_row(gd.Row("Engine"))
    for p in engine_panels():
        b = b.with_panel(_build(p))
    return json.loads(json.dumps(b.build(), cls=JSONEncoder))


def dashboard_for(path: str | Path, title: str | None = None) -> dict[str, Any]:
    """The dashboard of a .sql file or notebook."""
    from velostream.metrics.sources import statements_of

    p = Path(path)
    slug = re.sub(r"[^a-z0-9-]+", "-", p.stem.lower()).strip("-") or "pipeline"
    return build_dashboard(statements_of(p), title or f"Velostream: {p.stem}", f"velo-{slug}"[:40])


def expressions(model: dict[str, Any]) -> list[str]:
    """Every PromQL expression of a dashboard model, in panel order."""
    out = []
    for panel in model.get("panels", []):
        for t in panel.get("targets") or []:
            if t.get("expr"):
                out.append(t["expr"])
    return out
