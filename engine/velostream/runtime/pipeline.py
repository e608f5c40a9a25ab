"""A query's operators wired together: joins in front, then the core (projection or
aggregation), then DISTINCT/LIMIT. Tables joined by the query run as sub-pipelines that keep
their latest rows in a `TableState`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from velostream.plan.logical import JoinSpec, QueryPlan, SourceRef
from velostream.runtime.codegen import Compiler
from velostream.runtime.compile import RowResolver, key_sql
from velostream.runtime.joins import IntervalJoin, StreamTableJoin, TableState
from velostream.runtime.operators import AggregateOp, OutputStage, ProjectOp
from velostream.runtime.vectorized import vectorize_aggregate, vectorize_project

Emit = Callable[[dict, int], None]
OnLate = Callable[[dict, str], None]


@dataclass
class Leaf:
    """One connector the job must read, and what to do with each of its records."""

    ref: SourceRef
    handle: Callable[[dict], None]
    rank: tuple[int, int]  # merge order at equal event times: tables first, then FROM order


class Pipeline:
    """Operators of one query plan, fed record by record."""

    def __init__(self, plan: QueryPlan, emit: Emit, on_late: OnLate, depth: int = 0):
        self.plan = plan
        self.output = OutputStage(emit, plan.distinct, plan.limit)
        joined = bool(plan.joins)
        core_cls = AggregateOp if plan.aggregate else ProjectOp
        if core_cls is AggregateOp:
            fast = None if joined else vectorize_aggregate(plan, self.output, on_late)
            if fast is None:
                fast = AggregateOp(plan, self.output, joined, on_late)
            self.core = fast
        else:
            proj = None if joined else vectorize_project(plan, self.output)
            self.core = proj if proj is not None else ProjectOp(plan, self.output, joined)
        self.leaves: list[Leaf] = []
        self.tables: list[Pipeline] = []
        self.interval: IntervalJoin | None = None
        self.lookups: list[StreamTableJoin] = []
        main = plan.sources[0]
        for i, j in enumerate(plan.joins):
            self._build_join(i, j, main, on_late, depth)
        self.leaves.insert(0, Leaf(main, self.push_main, (1, 0)))

    # -- construction --------------------------------------------------------------------

    def _build_join(
        self, i: int, j: JoinSpec, main: SourceRef, on_late: OnLate, depth: int
    ) -> None:
        plan = self.plan
        left_joined = i > 0  # after the first join, the left side is an already joined row
        lres = RowResolver(plan, joined=left_joined)
        lcomp = Compiler(lres)
        left_key = lcomp.function("r", _tuple(lcomp, j.left_keys))
        rres = RowResolver(plan, joined=False)
        rcomp = Compiler(rres)
        right_key = rcomp.function("r", _tuple(rcomp, j.right_keys))
        cres = RowResolver(plan, joined=True)
        ccomp = Compiler(cres)
        condition = ccomp.lambda_("r", j.on) if j.on is not None else None
        right = j.right
        if j.is_interval:
            if i != 0:
                raise ValueError("a stream-stream join must be the first join")
            self.interval = IntervalJoin(
                j.kind,
                main.alias,
                right.alias,
                left_key,
                right_key,
                condition,
                j.interval,
                j.within_ms,
            )
            self.leaves.append(Leaf(right, self.push_right, (1, right.order)))
            return
        table = TableState(right_key, None)  # keyed by the join key unless a plan says more
        self.lookups.append(
            StreamTableJoin(j.kind, main.alias, right.alias, left_key, table, condition)
        )
        if right.table_plan is not None:
            tplan = right.table_plan
            sub = Pipeline(tplan, lambda row, ts, t=table: t.upsert(row, ts), on_late, depth + 1)
            table.primary_key = _table_pk(tplan, right_key)
            self.tables.append(sub)
            for leaf in sub.leaves:
                self.leaves.append(Leaf(leaf.ref, leaf.handle, (0, right.order)))
        else:
            self.leaves.append(Leaf(right, table.upsert, (0, right.order)))

    # -- records -------------------------------------------------------------------------

    def push_main(self, r: dict) -> None:
        """A record of the FROM source."""
        if self.interval is not None:
            self._after_interval(self.interval.push_left(r))
        elif self.lookups:
            self._after_interval([r])
        else:
            self.core.push(r)

    def push_right(self, r: dict) -> None:
        """A record of the right side of a stream-stream join."""
        self._after_interval(self.interval.push_right(r))

    def _after_interval(self, rows: list[dict]) -> None:
        for lk in self.lookups:
            nxt = []
            for row in rows:
                nxt.extend(lk.probe(row))
            rows = nxt
        push = self.core.push
        for row in rows:
            push(row)

    def set_watermark(self, wm: int) -> None:
        """The job's watermark moved (windows are closed by `close_due`)."""
        for t in self.tables:
            t.set_watermark(wm)
        if self.interval is not None:
            expired = self.interval.expire(wm)
            if expired:
                self._after_interval(expired)
        core = self.core
        if isinstance(core, AggregateOp) and wm > core.wm:
            core.wm = wm

    def close_due(self) -> None:
        """Close the windows the watermark has passed."""
        for t in self.tables:
            t.close_due()
        core = self.core
        if isinstance(core, AggregateOp):
            core.close_due()

    def finish(self) -> None:
        """End of bounded input."""
        for t in self.tables:
            t.finish()
        if self.interval is not None:
            self._after_interval(self.interval.finish())
        self.core.finish()

    @property
    def done(self) -> bool:
        """True once LIMIT has been reached."""
        return self.output.done

    @property
    def late(self) -> int:
        """Late records dropped by this pipeline and its tables."""
        own = self.core.counters.late
        return own + sum(t.late for t in self.tables)

    # -- checkpoints ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Every operator's state as plain data, by operator path (tables as `tableN/...`)."""
        out: dict[str, Any] = {"core": self.core.snapshot(), "output": self.output.snapshot()}
        if self.interval is not None:
            out["interval"] = self.interval.snapshot()
        for i, lk in enumerate(self.lookups):
            out[f"lookup{i}"] = lk.table.snapshot()
        for i, t in enumerate(self.tables):
            for path, snap in t.snapshot().items():
                out[f"table{i}/{path}"] = snap
        return out

    def restore(self, snaps: dict[str, Any]) -> None:
        """Take over the state of `snapshot()` (a missing operator path is a KeyError)."""
        self.core.restore(snaps["core"])
        self.output.restore(snaps["output"])
        if self.interval is not None:
            self.interval.restore(snaps["interval"])
        for i, lk in enumerate(self.lookups):
            lk.table.restore(snaps[f"lookup{i}"])
        for i, t in enumerate(self.tables):
            head = f"table{i}/"
            t.restore({k[len(head) :]: v for k, v in snaps.items() if k.startswith(head)})


def _tuple(comp: Compiler, nodes: list[exp.Expression]) -> str:
    return "(" + ", ".join(comp.compile(n) for n in nodes) + ",)"


def _table_pk(plan: QueryPlan, join_key: Callable[[dict], tuple]) -> Callable[[dict], tuple]:
    """The primary key of a table's rows: PRIMARY KEY items, else the GROUP BY columns,
    else the join key."""
    names = list(plan.primary_key)
    if not names and plan.group_by:
        keys = {key_sql(g) for g in plan.group_by}
        names = [n for n, e in plan.items if n != "*" and key_sql(e) in keys]
    if not names:
        return join_key
    if len(names) == 1:
        n = names[0]
        return lambda r: (r.get(n),)
    return lambda r: tuple(r.get(n) for n in names)
