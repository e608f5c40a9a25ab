"""A pure-Python model of SEMANTICS' watermarks: which window each record lands in, which are late."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Model:
    """What SEMANTICS says a bounded windowed EMIT FINAL run does with each record."""

    late: int = 0
    # (record id, window start) for every window a kept, not-late record is added to
    assigned: list[tuple[int, int]] = field(default_factory=list)
    windows: dict[tuple, dict] = field(default_factory=dict)


def window_starts(t: int, size: int, advance: int) -> list[int]:
    """Starts of the epoch-aligned windows [s, s + size) that hold time t (none in a gap)."""
    s = (t // advance) * advance  # floor division: right for times before the epoch too
    starts = []
    while s > t - size:
        starts.append(s)
        s -= advance
    return starts


def reference(
    rows: list[dict],
    size: int,
    advance: int,
    delay: int,
    keep: Callable[[dict], bool] = lambda r: True,
) -> Model:
    """Read records in order; the watermark is the running max minus the delay; a window is
    closed once the watermark reaches its end; a record whose windows are all closed is late
    (a record in a gap between windows has no window to be late for)."""
    model = Model()
    max_ts: int | None = None
    for r in rows:
        t = r["ts"]
        max_ts = t if max_ts is None else max(max_ts, t)
        watermark = max_ts - delay  # every record read advances it, kept by WHERE or not
        starts = window_starts(t, size, advance)
        open_starts = [s for s in starts if s + size > watermark]
        if starts and not open_starts:
            model.late += 1
            continue
        if not keep(r):
            continue
        for s in open_starts:
            model.assigned.append((r["id"], s))
            w = model.windows.setdefault(
                (s, r["k"]), {"ws": s, "k": r["k"], "n": 0, "sv": None, "ids": 0}
            )
            w["n"] += 1
            w["ids"] += r["id"]
            if r["v"] is not None:
                w["sv"] = r["v"] if w["sv"] is None else w["sv"] + r["v"]
    return model
