"""The one-line status of a running job: state, records in/out, rate, watermark, lag, late."""

from __future__ import annotations

import html
import time
from typing import Any

from velostream_kernel.display.values import iso_ms

_SYMBOL = {"running": "●", "created": "○", "finished": "■", "stopped": "■", "failed": "✖"}


def status_fields(
    job: Any, note: str = "", timing: bool = True, label: str | None = None
) -> dict[str, Any]:
    """The numbers of the status line, from a job's stats (also a JSON-ready metadata dict).

    Without `timing` (bounded mode) the wall-clock numbers (rate, lag) are left out, so a
    bounded notebook's saved output is the same on every run.
    """
    st = job.stats
    wm = st.watermark
    if wm is not None and wm <= -(2**62):  # the engine's "no event time yet"
        wm = None
    live = not getattr(job, "bounded", True)
    lag = None
    if wm is not None and live and timing and job.state == "running":
        lag = max(0.0, time.time() - wm / 1000)
    return {
        "job": label or job.name,
        "state": job.state,
        "records_in": st.records_in,
        "rows_out": st.rows_out,
        "rate": round(st.rate(), 1) if timing else None,
        "watermark": wm,
        "lag_s": None if lag is None else round(lag, 2),
        "late": st.late if st.ended_at else getattr(job.pipeline, "late", st.late),
        "malformed": st.malformed,
        "note": note,
    }


def status_text(f: dict[str, Any]) -> str:
    """The status line as text."""
    rate = f" ({f['rate']:,.0f}/s)" if f["rate"] is not None else ""
    parts = [
        f"{_SYMBOL.get(f['state'], '·')} {f['job']} {f['state']}",
        f"{f['records_in']:,} records in{rate}",
        f"{f['rows_out']:,} rows out",
    ]
    if f["watermark"] is not None:
        parts.append(f"watermark {iso_ms(f['watermark'])}")
    if f["lag_s"] is not None:
        parts.append(f"lag {f['lag_s']:.1f} s")
    parts.append(f"{f['late']:,} late")
    if f["malformed"]:
        parts.append(f"{f['malformed']:,} malformed")
    if f["note"]:
        parts.append(f["note"])
    return " · ".join(parts)


def status_html(f: dict[str, Any]) -> str:
    """The status line as HTML (monospace, small)."""
    return (
        '<div class="velo-status" style="font-family: monospace; font-size: 90%;">'
        f"{html.escape(status_text(f))}</div>"
    )
