"""The physical operators of a query: filter + projection (with OVER row windows), and
filter + grouped/windowed aggregation with watermark-driven window closing and emit modes.

Every operator takes records one at a time (`push`), is told when the watermark moves
(`advance`) and when a bounded input ends (`finish`); it hands output rows to `emit(row, ts)`,
where `ts` is the output row's event time.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from typing import Any

from velostream import values as V
from velostream.functions import registry as F
from velostream.plan.logical import QueryPlan
from velostream.runtime.codegen import Compiler, define
from velostream.runtime.compile import (
    GroupResolver,
    OverSlot,
    RowResolver,
    build_group_output,
    build_projection,
    inline_aliases,
)

Emit = Callable[[dict, int], None]
NEG_INF = -(2**63)


class Counters:
    """What a query has seen: records in, rows out, late and dropped records."""

    __slots__ = ("late", "records_in", "rows_out")

    def __init__(self) -> None:
        self.records_in = 0
        self.rows_out = 0
        self.late = 0


def _time_fn(plan: QueryPlan, compiler: Compiler, row: RowResolver) -> Callable[[dict], int]:
    """Event time (ms) of a record for window assignment: the window's time column or
    the record's `_event_time`."""
    col = plan.window.time_column if plan.window else None
    if col is None or (col.name.lower() == "_event_time" and not col.table):
        return lambda r: r["_event_time"]
    get = compiler.lambda_("r", col)

    def t(r: dict) -> int:
        v = get(r)
        return v if type(v) is int else V.to_epoch_ms(v) if v is not None else None

    return t


class ProjectOp:
    """WHERE, then one output row per input row (OVER functions computed in processing order)."""

    def __init__(self, plan: QueryPlan, emit: Emit, joined: bool = False):
        self.plan = plan
        self.emit = emit
        row = RowResolver(plan, joined)
        comp = Compiler(row)
        self.where = comp.lambda_("r", plan.where) if plan.where is not None else None
        self.project, self.batch, self.columns = build_projection(plan, comp, row, joined)
        self.over = OverState(row.over) if row.over else None
        self.counters = Counters()

    def push(self, r: dict) -> None:
        """Process one record."""
        if self.where is not None and self.where(r) is not True:
            return
        ts = r.get("_event_time")
        if self.over is None:
            self.emit(self.project(r, None), ts)
            return
        for rr, w in self.over.push(r):
            self.emit(self.project(rr, w), rr.get("_event_time"))

    def push_batch(self, rows: list[dict], append: Callable[[tuple], None] | None = None) -> None:
        """Process a batch of records. With `append`, output (row, ts) pairs go straight to it
        (the caller then applies DISTINCT/LIMIT); this is the generated, fast loop."""
        if self.batch is not None and append is not None:
            self.batch(rows, append)
            return
        for r in rows:
            self.push(r)

    def advance(self, wm: int) -> None:
        """Projections keep no windows."""

    def finish(self) -> None:
        """Flush rows held back for LEAD."""
        if self.over is not None:
            for rr, w in self.over.flush():
                self.emit(self.project(rr, w), rr.get("_event_time"))

    def snapshot(self) -> dict:
        """Row-window state as plain data (a projection without OVER keeps none)."""
        return {"over": self.over.snapshot() if self.over is not None else None}

    def restore(self, snap: dict) -> None:
        """Take over the state of `snapshot()`."""
        if self.over is not None:
            self.over.restore(snap["over"])


class _Partition:
    __slots__ = ("count", "distinct_sorted", "frame", "pending", "sorted_keys")

    def __init__(self, maxlen: int | None):
        self.frame: deque = deque(maxlen=maxlen)
        self.count = 0
        self.sorted_keys: list = []
        self.distinct_sorted: list = []
        self.pending: deque = deque()


class OverState:
    """Row windows: per partition, the current row and the rows before it (at most n)."""

    def __init__(self, slots: list[OverSlot]):
        self.slots = slots
        self.parts: list[dict[Any, _Partition]] = [{} for _ in slots]
        self.leads = [i for i, s in enumerate(slots) if s.func == "LEAD"]
        self.seq = 0

    def push(self, r: dict) -> list[tuple[dict, list]]:
        """Compute the window values of `r`; returns the rows now complete. A row with LEAD
        is held back until the row `offset` places later in its partition arrives."""
        w: list[Any] = [None] * len(self.slots)
        self.seq += 1
        entry = [r, w, len(self.leads), self.seq]
        done = []
        for i, s in enumerate(self.slots):
            key = s.partition(r) if s.partition is not None else None
            parts = self.parts[i]
            p = parts.get(key)
            if p is None:
                maxlen = None if s.frame is None or s.func == "LEAD" else s.frame + 1
                p = parts[key] = _Partition(maxlen)
            if s.func == "LEAD":
                offset = int(s.constants[0]) if s.constants else 1
                p.pending.append(entry)
                if len(p.pending) > offset:
                    earlier = p.pending.popleft()
                    earlier[1][i] = s.args[0](r)
                    earlier[2] -= 1
                    if earlier[2] == 0:
                        done.append((earlier[0], earlier[1]))
            else:
                w[i] = self._compute(s, p, r)
        if not self.leads:
            return [(r, w)]
        return done

    def flush(self) -> list[tuple[dict, list]]:
        """At the end of a bounded input, LEAD values not yet known are NULL (or the default);
        the rows still held come out in arrival order."""
        held: dict[int, list] = {}
        for i in self.leads:
            s = self.slots[i]
            default = s.constants[1] if len(s.constants) > 1 else None
            for p in self.parts[i].values():
                for e in p.pending:
                    e[1][i] = default
                    held[e[3]] = e
                p.pending.clear()
        return [(e[0], e[1]) for _, e in sorted(held.items())]

    def snapshot(self) -> dict:
        """Partitions as plain data; rows held for LEAD are shared between slots, so the
        snapshot must be pickled as one value to keep them shared."""
        parts = [
            [
                (k, p.frame, p.count, p.sorted_keys, p.distinct_sorted, p.pending)
                for k, p in d.items()
            ]
            for d in self.parts
        ]
        return {"seq": self.seq, "parts": parts}

    def restore(self, snap: dict) -> None:
        """Take over the state of `snapshot()`."""
        self.seq = snap["seq"]
        for d, items in zip(self.parts, snap["parts"], strict=True):
            d.clear()
            for k, frame, count, sorted_keys, distinct_sorted, pending in items:
                p = d[k] = _Partition(frame.maxlen)
                p.frame, p.count, p.pending = frame, count, pending
                p.sorted_keys, p.distinct_sorted = sorted_keys, distinct_sorted

    def _compute(self, s: OverSlot, p: _Partition, r: dict) -> Any:
        f = s.func
        order_key = s.order(r) if s.order is not None else None
        value = s.args[0](r) if s.args else None
        if f == "LAG":
            offset = int(s.constants[0]) if s.constants else 1
            default = s.constants[1] if len(s.constants) > 1 else None
            frame = p.frame
            res = frame[-offset][1] if 0 < offset <= len(frame) else default
            frame.append((order_key, value))
            p.count += 1
            return res
        p.frame.append((order_key, value))
        p.count += 1
        frame = p.frame
        if f == "ROW_NUMBER":
            return len(frame)
        if f in ("RANK", "DENSE_RANK"):
            mine = order_key
            keys = [k for k, _ in frame]
            if f == "RANK":
                return 1 + sum(1 for k in keys if _lt(k, mine))
            return 1 + len({_hashable(k) for k in keys if _lt(k, mine)})
        if f == "NTILE":
            return None
        vals = [v for _, v in frame if v is not None]
        if f == "COUNT":
            return len(frame) if not s.args else len(vals)
        if not vals:
            return None
        if f == "FIRST_VALUE":
            return vals[0]
        if f == "LAST_VALUE":
            return vals[-1]
        if f == "NTH_VALUE":
            n = int(s.constants[0]) if s.constants else 1
            return vals[n - 1] if 0 < n <= len(vals) else None
        if f in ("SUM", "AVG", "MIN", "MAX"):  # the aggregate functions' own accumulators
            acc = F.AGGREGATES[f].factory()
            for v in vals:
                acc.add(v)
            return acc.result()
        return None


def _lt(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    return V.lt(a, b) is True


def _hashable(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


class _Group:
    __slots__ = ("accs", "key", "last", "ts")

    def __init__(self, key: Any, accs: list, last: dict | None, ts: int):
        self.key = key
        self.accs = accs
        self.last = last
        self.ts = ts


class _Session:
    __slots__ = ("group", "last_t", "start")

    def __init__(self, start: int, last_t: int, group: _Group):
        self.start = start
        self.last_t = last_t
        self.group = group


class AggregateOp:
    """WHERE, GROUP BY and windows; emits per SEMANTICS.md's emit table."""

    def __init__(
        self,
        plan: QueryPlan,
        emit: Emit,
        joined: bool = False,
        on_late: Callable[[dict, str], None] | None = None,
    ):
        self.plan = plan
        self.emit = emit
        self.on_late = on_late or (lambda r, why: None)
        self.window = plan.window
        self.changes = plan.emit == "CHANGES"
        row = RowResolver(plan, joined)
        comp = Compiler(row)
        self.where = comp.lambda_("r", plan.where) if plan.where is not None else None
        group = GroupResolver(plan, row, windowed=self.window is not None)
        gcomp = Compiler(group)
        gcomp.env = comp.env
        gcomp._consts = comp._consts
        self.output, self.columns = build_group_output(plan, gcomp, group)
        self.slots = group.slots
        self.needs_last = group.needs_last
        # GROUP BY keys and aggregate arguments are evaluated on the input row; they may name
        # earlier non-aggregate select aliases.
        keys = [inline_aliases(g, plan) for g in plan.group_by]
        if not keys:
            self.key_fn = lambda r: ()
        else:
            body = "(" + ", ".join(comp.compile(k) for k in keys) + ",)"
            self.key_fn = comp.function("r", body)
        self.update = self._build_update(comp)
        self.factories = [s.factory for s in self.slots]
        self.time_of = _time_fn(plan, comp, row) if self.window else None
        col = plan.window.time_column if plan.window else None
        # True when windows use a column other than the record's event time
        self.time_col = col is not None and not (
            col.name.lower() == "_event_time" and not col.table
        )
        self.wm = NEG_INF
        self.groups: dict[Any, _Group] = {}  # unwindowed
        self.windows: dict[tuple[int, int], dict[Any, _Group]] = {}  # (start, end) -> groups
        self.ends: list[tuple[int, int]] = []  # heap of open (end, start)
        self.sessions: dict[Any, list[_Session]] = {}
        self.session_heap: list[tuple[int, int, Any]] = []
        self.counters = Counters()

    def _build_update(self, comp: Compiler) -> Callable[[list, dict], None]:
        lines = ["def _update(a, r):"]
        if not self.slots:
            lines.append("    pass")
        for i, s in enumerate(self.slots):
            args = [inline_aliases(x, self.plan) for x in s.args]
            if not args:
                lines.append(f"    a[{i}].add()")
                continue
            names = []
            for j, x in enumerate(args):
                lines.append(f"    x{i}_{j} = {comp.compile(x)}")
                names.append(f"x{i}_{j}")
            cond = " and ".join(f"{n} is not None" for n in names)
            lines.append(f"    if {cond}:")
            lines.append(f"        a[{i}].add({', '.join(names)})")
        return define("\n".join(lines), comp.env, "_update")

    def _new_group(self, key: Any, r: dict, ts: int) -> _Group:
        return _Group(key, [f() for f in self.factories], r if self.needs_last else None, ts)

    def _out(self, g: _Group, ws: int | None, we: int | None) -> dict | None:
        return self.output(g.key, g.accs, g.last or {}, ws, we)

    # -- input ---------------------------------------------------------------------------

    def push(self, r: dict) -> None:
        """Process one record (the watermark has already been advanced by it)."""
        if self.where is not None and self.where(r) is not True:
            return
        w = self.window
        if w is None:
            self._push_unwindowed(r)
        elif w.kind == "SESSION":
            self._push_session(r)
        else:
            self._push_windowed(r)

    def push_batch(self, rows: list[dict]) -> None:
        """Process records whose watermark effect the caller handles per batch."""
        for r in rows:
            self.push(r)

    def push_batch_wm(self, rows: list[dict], delay: int) -> None:
        """Process a batch from a single source, advancing the watermark after each record
        (`_event_time - delay`) exactly as record-at-a-time processing does; windows that
        became due are closed by `close_due()` afterwards."""
        w = self.window
        if self.changes or (w is not None and w.kind != "TUMBLING") or self.time_col:
            push = self.push
            wm = self.wm
            for r in rows:
                push(r)
                t = r["_event_time"] - delay
                if t > wm:
                    wm = self.wm = t
            return
        where, key_fn, update, needs_last = self.where, self.key_fn, self.update, self.needs_last
        wm = self.wm
        if w is None:
            groups = self.groups
            for r in rows:
                et = r["_event_time"]
                if where is None or where(r) is True:
                    key = key_fn(r)
                    g = groups.get(key)
                    if g is None:
                        g = groups[key] = self._new_group(key, r, et)
                    elif needs_last:
                        g.last = r
                    g.ts = et
                    update(g.accs, r)
                if et - delay > wm:
                    wm = et - delay
            self.wm = wm
            return
        size = w.size_ms
        windows, ends = self.windows, self.ends
        cur_start = None
        cur: dict = {}
        for r in rows:
            et = r["_event_time"]
            if where is None or where(r) is True:
                start = et - et % size
                end = start + size
                if end <= wm:
                    self._late(r, "late: its windows have closed")
                else:
                    if start != cur_start:
                        cur = windows.get((start, end))
                        if cur is None:
                            cur = windows[(start, end)] = {}
                            heapq.heappush(ends, (end, start))
                        cur_start = start
                    key = key_fn(r)
                    g = cur.get(key)
                    if g is None:
                        g = cur[key] = self._new_group(key, r, end)
                    elif needs_last:
                        g.last = r
                    update(g.accs, r)
            if et - delay > wm:
                wm = et - delay
        self.wm = wm

    def _push_unwindowed(self, r: dict) -> None:
        key = self.key_fn(r)
        g = self.groups.get(key)
        ts = r.get("_event_time")
        if g is None:
            g = self.groups[key] = self._new_group(key, r, ts)
        elif self.needs_last:
            g.last = r
        g.ts = ts
        self.update(g.accs, r)
        if self.changes:
            row = self._out(g, None, None)
            if row is not None:
                self.emit(row, ts)

    def _assign(self, t: int) -> list[tuple[int, int]]:
        w = self.window
        if w.kind == "TUMBLING":
            s = t - t % w.size_ms
            return [(s, s + w.size_ms)]
        adv, size = w.advance_ms, w.size_ms
        last = t - t % adv
        out = []
        s = last
        while s > t - size:
            out.append((s, s + size))
            s -= adv
        out.reverse()
        return out

    def _push_windowed(self, r: dict) -> None:
        t = self.time_of(r)
        if t is None:
            self._late(r, "no event time")
            return
        wins = self._assign(t)
        if not wins:
            return  # in a gap between hopping windows (advance > size): in no window, not late
        live = [win for win in wins if win[1] > self.wm]
        if not live:
            self._late(r, "late: its windows have closed")
            return
        key = self.key_fn(r)
        for win in live:
            groups = self.windows.get(win)
            if groups is None:
                groups = self.windows[win] = {}
                heapq.heappush(self.ends, (win[1], win[0]))
            g = groups.get(key)
            if g is None:
                g = groups[key] = self._new_group(key, r, win[1])
            elif self.needs_last:
                g.last = r
            self.update(g.accs, r)
            if self.changes:
                row = self._out(g, win[0], win[1])
                if row is not None:
                    self.emit(row, win[1])

    def _push_session(self, r: dict) -> None:
        t = self.time_of(r)
        if t is None:
            self._late(r, "no event time")
            return
        gap = self.window.size_ms
        key = self.key_fn(r)
        sessions = self.sessions.setdefault(key, [])
        wm = self.wm  # the watermark before this record
        # A record exactly `gap` after a session still joins it ("at most gap apart"), so a
        # session stays open while the watermark is at its end and closes once it is past it.
        hits = [
            s for s in sessions if s.last_t + gap >= wm and s.start - gap <= t <= s.last_t + gap
        ]
        if not hits and t + gap < wm:
            self._late(r, "late: its session has closed")
            return
        if not hits:
            s = _Session(t, t, self._new_group(key, r, t + gap))
            sessions.append(s)
        else:
            s = hits[0]
            for other in hits[1:]:
                for a, b in zip(s.group.accs, other.group.accs, strict=True):
                    a.merge(b)
                s.start = min(s.start, other.start)
                s.last_t = max(s.last_t, other.last_t)
                sessions.remove(other)
            s.start = min(s.start, t)
            s.last_t = max(s.last_t, t)
            if self.needs_last:
                s.group.last = r
        self.update(s.group.accs, r)
        heapq.heappush(self.session_heap, (s.last_t + gap, id(s), key))
        if self.changes:
            row = self._out(s.group, s.start, s.last_t + gap)
            if row is not None:
                self.emit(row, s.last_t + gap)

    def _late(self, r: dict, why: str) -> None:
        self.counters.late += 1
        self.on_late(r, why)

    # -- time ----------------------------------------------------------------------------

    def advance(self, wm: int) -> None:
        """Move the watermark and close (for EMIT FINAL: emit) the windows it has passed."""
        if wm > self.wm:
            self.wm = wm
        self.close_due()

    def close_due(self) -> None:
        """Close the windows whose end the watermark has reached.

        Records are checked for lateness against `self.wm` as they arrive, so a window that
        is due but not yet closed can no longer change: closing may wait until a batch ends.
        """
        if self.window is None:
            return
        wm = self.wm
        if self.window.kind == "SESSION":
            if self.session_heap and self.session_heap[0][0] < wm:
                self._close_sessions(wm)
            return
        ends = self.ends
        while ends and ends[0][0] <= wm:
            end, start = heapq.heappop(ends)
            self._close((start, end))

    def _close(self, win: tuple[int, int]) -> None:
        groups = self.windows.pop(win, None)
        if not groups or self.changes:
            return
        for g in groups.values():
            row = self._out(g, win[0], win[1])
            if row is not None:
                self.emit(row, win[1])

    def _close_sessions(self, wm: int) -> None:
        gap = self.window.size_ms
        heap = self.session_heap
        due: list[tuple[int, int, Any, _Session]] = []
        while heap and heap[0][0] < wm:
            end, sid, key = heapq.heappop(heap)
            for s in self.sessions.get(key, ()):
                if id(s) == sid and s.last_t + gap == end:
                    due.append((end, s.start, key, s))
        due.sort(key=lambda d: (d[0], d[1]))
        for end, _start, key, s in due:
            sessions = self.sessions.get(key)
            if sessions is None or s not in sessions:
                continue
            sessions.remove(s)
            if not sessions:
                del self.sessions[key]
            if not self.changes:
                row = self._out(s.group, s.start, end)
                if row is not None:
                    self.emit(row, end)

    def finish(self) -> None:
        """End of a bounded input: close every window; flush EMIT FINAL groups."""
        if self.window is None:
            if not self.changes:
                for g in self.groups.values():
                    row = self._out(g, None, None)
                    if row is not None:
                        self.emit(row, g.ts)
            return
        if self.window.kind == "SESSION":
            self._close_sessions(2**62)
            return
        for end, start in sorted(self.ends):
            self._close((start, end))
        self.ends.clear()

    # -- checkpoints ---------------------------------------------------------------------

    def snapshot(self) -> dict:
        """Groups, open windows, sessions and the watermark as plain data (for a checkpoint)."""

        def g(x: _Group) -> tuple:
            return (x.key, x.accs, x.last, x.ts)

        return {
            "wm": self.wm,
            "late": self.counters.late,
            "groups": [(k, g(x)) for k, x in self.groups.items()],
            "windows": [(w, [(k, g(x)) for k, x in gs.items()]) for w, gs in self.windows.items()],
            "ends": list(self.ends),
            "sessions": [
                (k, [(s.start, s.last_t, g(s.group)) for s in ss])
                for k, ss in self.sessions.items()
            ],
        }

    def restore(self, snap: dict) -> None:
        """Take over the state of `snapshot()` (in place: generated code holds these dicts)."""
        self.wm = snap["wm"]
        self.counters.late = snap["late"]
        self.groups.clear()
        self.groups.update((k, _Group(*t)) for k, t in snap["groups"])
        self.windows.clear()
        for w, gs in snap["windows"]:
            self.windows[tuple(w)] = {k: _Group(*t) for k, t in gs}
        self.ends[:] = [tuple(e) for e in snap["ends"]]
        heapq.heapify(self.ends)
        self.sessions.clear()
        self.session_heap.clear()
        gap = self.window.size_ms if self.window is not None else 0
        for k, ss in snap["sessions"]:
            mine = self.sessions[k] = []
            for start, last_t, t in ss:
                s = _Session(start, last_t, _Group(*t))
                mine.append(s)
                heapq.heappush(self.session_heap, (last_t + gap, id(s), k))


class OutputStage:
    """DISTINCT and LIMIT on the emitted rows; tells the job when LIMIT is reached."""

    def __init__(self, sink: Emit, distinct: bool, limit: int | None):
        self.sink = sink
        self.distinct = distinct
        self.limit = limit
        self.seen: set = set()
        self.count = 0
        self.done = limit is not None and limit <= 0

    def __call__(self, row: dict, ts: int) -> None:
        if self.done:
            return
        if self.distinct:
            key = tuple(_hashable(v) for v in row.values())
            if key in self.seen:
                return
            self.seen.add(key)
        self.count += 1
        self.sink(row, ts)
        if self.limit is not None and self.count >= self.limit:
            self.done = True

    def snapshot(self) -> dict:
        """Rows seen (DISTINCT) and rows counted (LIMIT), as plain data."""
        return {"seen": self.seen, "count": self.count, "done": self.done}

    def restore(self, snap: dict) -> None:
        """Take over the state of `snapshot()`."""
        self.seen = set(snap["seen"])
        self.count = snap["count"]
        self.done = snap["done"]
