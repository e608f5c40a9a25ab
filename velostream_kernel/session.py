"""Runs notebook cells against one `Engine`: the part the kernel and `%%velo` share.

A cell's statements run in order. SELECT runs in the foreground with a live display until it
ends, hits its LIMIT or is interrupted; CREATE STREAM|TABLE starts a background job whose status
display keeps updating after the cell; SET and STOP JOB are handled here; SHOW, DESCRIBE and
EXPLAIN answer at once. In bounded mode every source stops at a record count, so a notebook
gives the same output on every run (papermill, CI).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from velostream.engine import Engine, locate
from velostream.errors import SqlError
from velostream.runtime.job import Job
from velostream.sql.ast import Statement
from velostream.sql.parse import parse_script
from velostream_kernel.display import LiveResult, Publisher, ResultTable, static_table
from velostream_kernel.statements import Chunk, ParamRef, bind_parameters, split_cell

# `SET velo.<key> = value` settings: name -> (type, default)
SETTINGS: dict[str, tuple[type, Any]] = {
    "mode": (str, "live"),  # live | bounded
    "refresh": (float, 0.5),  # seconds between display updates
    "max_rows": (int, 50),  # rows a live table shows
    "bounded.count": (int, 2000),  # records each synthetic source makes in bounded mode
    "bounded.timeout": (float, 60.0),  # seconds a bounded query may run before it is stopped
    "chart": (bool, True),
}
STOP_GRACE_S = 0.05  # a stopped job ends after its batch; then it is cancelled


@dataclass
class Outcome:
    """What a cell did: status ok|error|stopped, the last rows (for `-o`), the error if any."""

    status: str = "ok"
    error: SqlError | BaseException | None = None
    rows: list[dict] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # the engine's, raised during the cell


@dataclass
class Background:
    """A job started by a cell, with its live display."""

    job: Job
    task: asyncio.Task
    live: LiveResult


class VeloSession:
    """One engine, its settings and parameters, and the background jobs' displays."""

    def __init__(self, engine: Engine | None = None, mode: str = "live") -> None:
        self.engine = engine or Engine()
        self.settings: dict[str, Any] = {k: d for k, (_, d) in SETTINGS.items()}
        self.settings["mode"] = mode if mode in ("live", "bounded") else "live"
        self.params: dict[str, Any] = {}
        self.background: dict[str, Background] = {}
        self._ticker: asyncio.Task | None = None
        self._interrupt: asyncio.Event | None = None
        self._cell_jobs: list[Background] = []  # bounded mode: jobs the cell waits for
        self._selects = 0

    @property
    def bounded(self) -> bool:
        """Whether sources are bounded (papermill, CI)."""
        return self.settings["mode"] == "bounded"

    # -- interrupt ------------------------------------------------------------------------

    def interrupt(self) -> None:
        """Stop the foreground query (call on the session's loop)."""
        if self._interrupt is not None:
            self._interrupt.set()

    # -- cells ----------------------------------------------------------------------------

    async def run_cell(
        self,
        code: str,
        publish: Publisher,
        path: str | None = None,
        keep_rows: bool = False,
        params: dict[str, Any] | None = None,
    ) -> Outcome:
        """Run every statement of a cell; stops at the first error or an interrupt."""
        self._interrupt = asyncio.Event()
        self._cell_jobs = []
        out = Outcome()
        seen = len(self.engine.warnings)
        try:
            chunks = split_cell(code)
            for chunk in chunks:
                status = await self._run_chunk(chunk, publish, path, keep_rows, params, out)
                if status != "ok":
                    out.status = status
                    break
            if await self._finish_cell_jobs() and out.status == "ok":
                out.status = "stopped"
        except SqlError as e:
            if e.path is None:
                e.path = path
            out.status, out.error = "error", e
        finally:
            for bg in self._cell_jobs:  # an error or interrupt left some running
                await stop_job_task(bg.job, bg.task)
            self._cell_jobs = []
            self._interrupt = None
            out.warnings = self.engine.warnings[seen:]
        return out

    async def _finish_cell_jobs(self) -> bool:
        """Bounded mode: wait for the jobs the cell started; True when one was stopped."""
        any_stopped = False
        while self._cell_jobs:
            bg = self._cell_jobs[0]
            stopped = await self._follow(bg.job, bg.task, bg.live, foreground=True)
            self._cell_jobs.pop(0)
            any_stopped = any_stopped or stopped
            bg.live.note = "stopped" if stopped else ""
            bg.live.flush()
            if not bg.task.cancelled() and bg.task.exception() is not None:
                raise bg.task.exception()  # type: ignore[misc]
        return any_stopped

    async def _run_chunk(
        self,
        chunk: Chunk,
        publish: Publisher,
        path: str | None,
        keep_rows: bool,
        params: dict[str, Any] | None,
        out: Outcome,
    ) -> str:
        if chunk.kind == "set":
            self._set(chunk, {**self.params, **(params or {})})
            return "ok"
        if chunk.kind == "stop_job":
            await self.stop_job(chunk.key, chunk)
            publish("display_data", {"text/plain": f"stopped job {chunk.key}"}, "", {})
            return "ok"
        text = bind_parameters(chunk.text, {**self.params, **(params or {})})
        script = parse_script(text, path)
        for w in script.warnings:
            self.engine.warn(w)
        stmt = script.statements[0]
        if self.bounded:
            _bound_sources(stmt, self.settings["bounded.count"])
        try:
            if stmt.kind in ("show", "describe", "explain"):
                res = await self.engine.execute_statement(stmt)
                if self.bounded and "records_per_s" in res.columns:  # wall-clock: not repeatable
                    res.columns = [c for c in res.columns if c != "records_per_s"]
                    res.rows = [{c: r.get(c) for c in res.columns} for r in res.rows]
                publish("display_data", static_table(res.rows, res.columns), "", {})
                out.rows, out.columns = res.rows, res.columns
                return "ok"
            if stmt.kind == "select":
                return await self._select(stmt, publish, keep_rows, out)
            return await self._create(stmt, publish)
        except SqlError as e:
            if e.path is None:
                e.path = path
            raise locate(e, stmt) from None

    def _set(self, chunk: Chunk, params: dict[str, Any]) -> None:
        key = chunk.key
        if isinstance(chunk.value, ParamRef):
            ref = chunk.value.name
            if ref not in params:
                raise SqlError(
                    f"no parameter named '{ref}'",
                    line=chunk.line,
                    col=chunk.col,
                    token="SET",
                    source_line=chunk.text.splitlines()[chunk.line - 1],
                    kind="name",
                )
            chunk.value = params[ref]
        if key == "velo_mode":  # a papermill parameter name cannot hold a dot
            key = "velo.mode"
        if not key.startswith("velo."):
            self.params[key] = chunk.value
            return
        name = key[len("velo.") :]
        if name not in SETTINGS:
            raise SqlError(
                f"unknown setting '{key}'",
                line=chunk.line,
                col=chunk.col,
                token="SET",
                expected=[f"velo.{k}" for k in SETTINGS],
                source_line=chunk.text.splitlines()[chunk.line - 1],
                kind="name",
            )
        typ, _ = SETTINGS[name]
        value = chunk.value
        try:
            if typ is bool and isinstance(value, str):
                value = value.lower() in ("true", "on", "1", "yes")
            value = typ(value)
        except (TypeError, ValueError):
            raise SqlError(
                f"setting '{key}' takes a {typ.__name__}, not {value!r}",
                line=chunk.line,
                col=chunk.col,
                token="SET",
                source_line=chunk.text.splitlines()[chunk.line - 1],
                kind="type",
            ) from None
        if name == "mode" and value not in ("live", "bounded"):
            raise SqlError(
                f"velo.mode is live or bounded, not {value!r}",
                line=chunk.line,
                col=chunk.col,
                token="SET",
                expected=["live", "bounded"],
                source_line=chunk.text.splitlines()[chunk.line - 1],
                kind="type",
            )
        self.settings[name] = value

    def _live(self, publish: Publisher, job: Job, stmt: Statement, table: bool) -> LiveResult:
        t = None
        if table:
            mode, keys = result_mode(job, stmt)
            t = ResultTable(
                job.plan_columns(),
                mode,
                keys,
                max_rows=self.settings["max_rows"],
                time_columns=time_columns(job),
            )
        hints = {a.key: a.value for a in stmt.annotations if a.key.startswith("viz")}
        title = stmt.annotation("name") or ""
        return LiveResult(
            publish,
            t,
            job,
            hints,
            title,
            interval=self.settings["refresh"],
            chart=self.settings["chart"],
            timing=not self.bounded,
        )

    async def _select(
        self, stmt: Statement, publish: Publisher, keep_rows: bool, out: Outcome
    ) -> str:
        rows: list[dict] = []
        live_box: list[LiveResult] = []
        job = self.engine.build_job(stmt, [lambda b: collect(b)], sink=False)
        sort_all = job.bounded and bool(job.plan.order_by)
        keep = keep_rows or sort_all

        def collect(batch: list[dict]) -> None:
            if keep:
                rows.extend(batch)
            live_box[0].add_rows(batch)
            live_box[0].tick()

        if sort_all:  # ORDER BY of a bounded query sorts the whole result before LIMIT
            job.set_row_limit(None)
        live = self._live(publish, job, stmt, table=True)
        self._selects += 1  # ad-hoc queries have no name of their own: number them
        live.label = f"select_{self._selects}"
        live_box.append(live)
        table = live.table
        if sort_all:
            live.table = None  # shown once sorted, at the end
        live.flush()
        task = asyncio.create_task(job.run(), name=job.name)
        stopped = await self._follow(job, task, live, foreground=True)
        if sort_all and table is not None:
            from velostream.runtime.ordering import sort_rows

            rows = sort_rows(rows, job.plan)
            if job.plan.limit is not None:
                rows = rows[: job.plan.limit]
            table.newest_first = False
            table.add(rows)
            live.table, live._dirty = table, True
        live.note = "stopped: partial result" if stopped else ""
        live.flush()
        if keep_rows and table is not None and table.mode in ("update", "single"):
            rows = table.rows()  # the result as shown: the latest row per key, not the changelog
        out.rows, out.columns = rows, [c for c in (job.columns or job.plan_columns()) if c != "*"]
        if live.table is not None:
            out.columns = live.table.columns or out.columns
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
        return "stopped" if stopped else "ok"

    async def _follow(
        self, job: Job, task: asyncio.Task, live: LiveResult, foreground: bool
    ) -> bool:
        """Wait for a job, refreshing its display; True when it was stopped (interrupt/timeout)."""
        interrupt = self._interrupt or asyncio.Event()
        limit = self.settings["bounded.timeout"] if self.bounded else None
        loop = asyncio.get_running_loop()
        deadline = None if limit is None else loop.time() + limit
        waiter = asyncio.create_task(interrupt.wait())
        try:
            while not task.done():
                timeout = live.interval
                if deadline is not None:
                    timeout = min(timeout, max(0.0, deadline - loop.time()))
                await asyncio.wait({task, waiter}, timeout=timeout, return_when="FIRST_COMPLETED")
                if interrupt.is_set() or (deadline is not None and loop.time() >= deadline):
                    await stop_job_task(job, task)
                    return True
                live.tick()
            return False
        finally:
            waiter.cancel()

    async def _create(self, stmt: Statement, publish: Publisher) -> str:
        res = await self.engine.execute_statement(stmt)
        job, task = res.job, res.task
        if job is None or task is None:
            return "ok"
        live = self._live(publish, job, stmt, table=not job.sinks)
        if live.table is not None:  # no sink: the rows are shown instead
            job.outputs.append(live.add_rows)
        live.flush()
        if self.bounded:  # papermill records a cell only until it ends: the cell waits for it
            # (at its end, so later statements of the cell can still read this stream)
            self._cell_jobs.append(Background(job, task, live))
            return "ok"
        self.background[job.name] = Background(job, task, live)
        self._ensure_ticker()
        return "ok"

    # -- background jobs ------------------------------------------------------------------

    def _ensure_ticker(self) -> None:
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.create_task(self._tick_background(), name="velo-displays")

    async def _tick_background(self) -> None:
        """Refresh every background job's display until none is left running."""
        while self.background:
            await asyncio.sleep(self.settings["refresh"])
            for name, bg in list(self.background.items()):
                if bg.task.done():
                    err = None if bg.task.cancelled() else bg.task.exception()
                    if err is not None:  # nobody awaits a background job: say why it ended
                        bg.live.note = f"failed: {str(err).splitlines()[0]}"
                    bg.live.flush()
                    del self.background[name]
                else:
                    bg.live.tick()

    async def stop_job(self, name: str, where: Chunk | None = None) -> None:
        """Stop a job by name and show its final status."""
        job = self.engine.jobs.get(name) or self.engine.jobs.get(name.lower())
        if job is None:
            known = sorted(self.engine.jobs)
            raise SqlError(
                f"no job named '{name}'",
                line=where.line if where else None,
                col=(where.col + len("STOP JOB ")) if where else None,
                token=name,
                expected=known,
                source_line=where.text.splitlines()[where.line - 1] if where else None,
                kind="name",
            )
        task = self.engine.task_of(job.name)
        if task is not None:
            await stop_job_task(job, task)
        bg = self.background.pop(job.name, None)
        if bg is not None:
            bg.live.note = "stopped by STOP JOB"
            bg.live.flush()

    async def shutdown(self) -> None:
        """Stop every running job (kernel shutdown)."""
        for name, job in list(self.engine.jobs.items()):
            task = self.engine.task_of(name)
            if task is not None and not task.done():
                await stop_job_task(job, task)
        if self._ticker is not None:
            self._ticker.cancel()


async def stop_job_task(job: Job, task: asyncio.Task) -> None:
    """Ask a job to stop after its batch; cancel it if it has not ended by then."""
    job.stop()
    with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
        await asyncio.wait_for(asyncio.shield(task), STOP_GRACE_S)
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def result_mode(job: Job, stmt: Statement) -> tuple[str, list[str]]:
    """append (rows, windows), update (one row per group key) or single (one global group).

    `-- @mode: append|update|single` overrides.
    """
    plan = job.plan
    keys = _key_columns(job)
    forced = (stmt.annotation("mode") or "").strip().lower()
    if forced in ("append", "update", "single"):
        return forced, keys
    if stmt.kind == "create_table" and plan.primary_key:  # a table: the latest row per key
        return "update", list(plan.primary_key)
    if plan.aggregate and plan.window is None and plan.emit.upper() == "CHANGES":
        return ("update", keys) if keys else ("single", [])
    return "append", keys


TIME_SOURCES = ("_window_start", "_window_end", "_event_time")


def time_columns(job: Job) -> set[str]:
    """Output columns that are window bounds or event times (epoch ms), by their expression."""
    out = set()
    for name, expr in job.plan.items:
        inner = expr.this if expr.key == "alias" else expr
        if inner.key == "column" and inner.name.lower() in TIME_SOURCES:
            out.add(name)
    return out


def _key_columns(job: Job) -> list[str]:
    """Output columns that hold the GROUP BY keys (by expression or by name)."""
    plan = job.plan
    group = [g.sql(dialect="velostream") for g in plan.group_by]
    keys = []
    for name, expr in plan.items:
        inner = expr.this if expr.key == "alias" else expr
        if inner.sql(dialect="velostream") in group or name in group:
            keys.append(name)
    return keys


def _bound_sources(stmt: Statement, count: int) -> None:
    """Bounded mode: a synthetic source without `count` makes `count` records; files stop
    at their end instead of being watched; Kafka topics and Redis streams are read up to
    where they end when the query starts."""
    props = stmt.properties
    for key, value in list(props.items()):
        if not key.endswith(".type"):
            continue
        prefix = key[: -len("type")]
        if value.lower() == "synthetic" and f"{prefix}count" not in props:
            props[f"{prefix}count"] = str(count)
        if value.lower() == "file_source" and props.get(f"{prefix}watch", "").lower() == "true":
            props[f"{prefix}watch"] = "false"
        stream_mode = props.get(f"{prefix}mode", "stream").lower() == "stream"
        if value.lower() == "kafka_source" or (value.lower() == "redis_source" and stream_mode):
            props.setdefault(f"{prefix}end", "latest-at-start")


RowCallback = Callable[[list[dict]], Any]
