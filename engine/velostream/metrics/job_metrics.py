"""Engine metrics of every job, labelled `job_name`: read from the jobs' own counters when
Prometheus scrapes (nothing on the hot path), plus a batch latency histogram the job feeds
once per batch."""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

NO_WATERMARK = -(2**62)  # the engine starts watermarks at -2**63: "no event time yet"
LABEL = "job_name"  # not `job`: Prometheus sets `job` to the scrape job's name

# name -> (kind, help); counters are named without `_total` (the family adds it)
ENGINE_METRICS: dict[str, tuple[str, str]] = {
    "velo_job_records_in": ("counter", "Records the job read from its sources"),
    "velo_job_records_out": ("counter", "Rows the job emitted"),
    "velo_job_late_records": ("counter", "Records that arrived after their window closed"),
    "velo_job_malformed_records": ("counter", "Input records that could not be read"),
    "velo_job_watermark_lag_seconds": ("gauge", "Wall clock minus the job's watermark"),
    "velo_job_state_size": ("gauge", "Entries the job keeps in state (groups, rows, sessions)"),
    "velo_job_running": ("gauge", "1 while the job runs, else 0"),
}
BATCH_LATENCY = "velo_job_batch_latency_seconds"
BATCH_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def exposed_names() -> set[str]:
    """Every series family name the engine metrics use (for clash checks with @metric)."""
    names = {n + "_total" if k == "counter" else n for n, (k, _) in ENGINE_METRICS.items()}
    return names | set(ENGINE_METRICS) | {BATCH_LATENCY}


def state_size(pipeline: Any) -> int:
    """Entries a pipeline holds: groups per open window, sessions, join buffers, table rows."""
    core = pipeline.core
    n = len(getattr(core, "groups", None) or ())
    windows = getattr(core, "windows", None)
    if windows:
        n += sum(len(g) for g in list(windows.values()))
    sessions = getattr(core, "sessions", None)
    if sessions:
        n += sum(len(s) for s in list(sessions.values()))
    over = getattr(core, "over", None)
    if over is not None and hasattr(over, "parts"):
        n += sum(len(p) for p in over.parts)
    if getattr(pipeline, "interval", None) is not None:
        n += len(pipeline.interval.order)
    for lk in getattr(pipeline, "lookups", ()):
        n += len(lk.table.rows)
    for t in getattr(pipeline, "tables", ()):
        n += state_size(t)
    return n


class JobCollector(Collector):
    """Collects the engine metrics of the jobs it was given (held weakly)."""

    def __init__(self) -> None:
        self.jobs: dict[str, weakref.ref] = {}
        self._state: dict[str, int] = {}  # the last size read, if a read meets a resize

    def add(self, job: Any) -> None:
        """Export this job's metrics (a job of the same name replaces the earlier one)."""
        self.jobs[job.name] = weakref.ref(job)

    def describe(self) -> list[Metric]:
        """The families, without samples (so a clashing @metric name is refused up front)."""
        return list(self._families().values())

    def _families(self) -> dict[str, Metric]:
        out: dict[str, Metric] = {}
        for name, (kind, doc) in ENGINE_METRICS.items():
            cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            out[name] = cls(name, doc, labels=[LABEL])
        return out

    def collect(self) -> Iterator[Metric]:
        """One sample per job and metric, read now."""
        fams = self._families()
        now = time.time()
        for name, ref in list(self.jobs.items()):
            job = ref()
            if job is None:
                self.jobs.pop(name, None)
                continue
            for metric, value in self._values(job, now).items():
                if value is not None:
                    fams[metric].add_metric([name], value)
        yield from fams.values()

    def _values(self, job: Any, now: float) -> dict[str, float | None]:
        st = job.stats
        ended = st.ended_at is not None
        pipe = job.pipeline
        late = st.late if ended else pipe.late
        malformed = st.malformed
        if not ended:
            malformed = sum(
                getattr(getattr(s, "errors", None), "malformed", 0) for s in job.sources.values()
            )
        wm = st.watermark
        lag = None  # a job that keeps no watermark (a projection) has no lag sample
        if wm is not None and wm > NO_WATERMARK:
            lag = max(0.0, (st.ended_at or now) - wm / 1000)
        try:
            size = state_size(pipe)
        except RuntimeError:  # a dict resized while the job's thread ran: keep the last value
            size = self._state.get(job.name, 0)
        self._state[job.name] = size
        return {
            "velo_job_records_in": st.records_in,
            "velo_job_records_out": st.rows_out,
            "velo_job_late_records": late,
            "velo_job_malformed_records": malformed,
            "velo_job_watermark_lag_seconds": lag,
            "velo_job_state_size": size,
            "velo_job_running": 1.0 if job.state == "running" else 0.0,
        }
