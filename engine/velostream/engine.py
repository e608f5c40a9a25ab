"""The Python API: an `Engine` session that runs Velostream SQL.

eng = Engine()
eng.register("trades", rows)                 # list of dicts, Arrow table or Polars frame
rows = eng.query("SELECT ... FROM trades")   # bounded query -> list of dicts
table = eng.query_arrow("SELECT ...")        # -> pyarrow.Table
async for batch in eng.stream("SELECT ..."): # live query -> batches of rows
    ...
job = await eng.start("CREATE STREAM ...")   # background job with .stop()
eng.run_script(open("app.sql").read())       # what `velo run` does
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from velostream.connectors import registry
from velostream.connectors.base import Source
from velostream.connectors.registry import split_properties
from velostream.errors import SqlError
from velostream.metrics.registry import EngineMetrics
from velostream.plan.columns import output_columns
from velostream.plan.logical import QueryPlan, SourceRef
from velostream.plan.planner import Catalog, Planner
from velostream.runtime.job import Channel, ChannelSource, Job
from velostream.sql.ast import Statement
from velostream.sql.parse import parse_script

Rows = list[dict[str, Any]]


@dataclass
class Result:
    """What one statement produced."""

    statement: Statement
    kind: str  # rows | job | info
    # repr=False: asyncio formats the finished task's result (this) when it restores handlers
    rows: Rows = field(default_factory=list, repr=False)
    columns: list[str] = field(default_factory=list)
    job: Job | None = field(default=None, repr=False)
    task: asyncio.Task | None = field(default=None, repr=False)  # the job's task, once started
    message: str = ""


class Engine:
    """A session: named streams, tables and registered data, and the jobs running over them."""

    def __init__(self, on_warning: Callable[[str], None] | None = None):
        self.catalog = Catalog()
        self.jobs: dict[str, Job] = {}
        self.channels: dict[str, Channel] = {}
        self.memory: dict[str, Any] = self.catalog.memory
        self.sink_memory: dict[str, list] = {}
        self.warnings: list[str] = []
        self._on_warning = on_warning
        self._tasks: dict[str, asyncio.Task] = {}
        self._row_limit: int | None = None
        self._query_numbers = itertools.count(1)  # names of ad-hoc queries: query_1, query_2..
        self.metrics = EngineMetrics()  # this session's Prometheus registry (velostream.metrics)

    # -- registration --------------------------------------------------------------------

    def register(self, name: str, data: Any) -> None:
        """Make Python data (list of dicts, pyarrow.Table, polars.DataFrame) a bounded source."""
        self.catalog.memory[name.lower()] = data

    def warn(self, message: str) -> None:
        """Record a warning (and pass it to the session's callback)."""
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    # -- planning ------------------------------------------------------------------------

    def plan(self, stmt: Statement) -> QueryPlan:
        """The logical plan of a query statement in this session."""
        planner = Planner(self.catalog, plan_table=self._plan_table)
        try:
            return planner.plan(stmt)
        except SqlError as e:
            raise locate(e, stmt) from None

    def _plan_table(self, name: str) -> QueryPlan:
        return self.plan(self.catalog.tables[name])

    def build_job(
        self,
        stmt: Statement,
        outputs: list[Callable[[Rows], Any]] | None = None,
        sink: bool = True,
    ) -> Job:
        """Plan a statement and create (not start) its job."""
        plan = self.plan(stmt)
        job_name = stmt.name or f"query_{next(self._query_numbers)}"
        channel = None
        if stmt.kind in ("create_stream", "create_table") and stmt.name:
            channel = Channel()
        job = Job(job_name, plan, {}, [], outputs or [], channel, self.warn)
        try:
            for i, leaf in enumerate(job.leaves):  # one connector per input of the pipeline
                job.sources[i] = self._source_for(leaf.ref)
            if sink and stmt.name and stmt.kind in ("create_stream", "create_table", "insert"):
                name = stmt.name.lower()
                sprops = split_properties(stmt.properties, [name])[0][name]
                if "type" in sprops:
                    job.sinks.append(registry.create_sink(name, sprops, memory=self.sink_memory))
            self.metrics.attach(job, stmt, output_columns(plan), self.warn)  # engine + @metric
        except SqlError as e:
            raise locate(e, stmt) from None
        if channel is not None and job.bounded:
            channel.history = []
        return job

    def validate(self, sql: str, path: str | None = None) -> tuple[list[SqlError], list[str]]:
        """Check a script without running it: syntax, names, functions, WITH properties.

        Returns the errors (one per failing statement) and the warnings.
        """
        from velostream.errors import SqlError as _E

        try:
            script = parse_script(sql, path)
        except _E as e:
            return [e], []
        return self.validate_statements(script.statements), list(script.warnings)

    def validate_statements(self, statements: list[Statement]) -> list[SqlError]:
        """Check parsed statements in order (each may use the streams the earlier ones
        create) without running them; one error per failing statement."""
        from velostream.errors import SqlError as _E

        errors: list[SqlError] = []
        stream_columns: dict[str, list[str] | None] = {}
        for stmt in statements:
            try:
                if stmt.kind in ("show", "describe"):
                    continue
                target = stmt.explained if stmt.kind == "explain" else stmt
                if target is None or target.query is None:
                    continue
                name = (target.name or "").lower()
                if target.kind == "create_table":
                    self.catalog.tables[name] = target
                job = self.build_job(target, [], sink=True)
                try:
                    self._check_columns(job.plan, stream_columns)
                except _E as e:
                    raise locate(e, target) from None
                if target.name:
                    stream_columns[name] = output_columns(job.plan)
                if target.kind == "create_stream":
                    self.catalog.streams[name] = target
                    self.channels[name] = job.channel or Channel()
                    self.jobs[job.name] = job
            except _E as e:
                if e.path is None:
                    e.path = stmt.path
                errors.append(e)
        return errors

    def _check_columns(self, plan: QueryPlan, streams: dict[str, list[str] | None]) -> None:
        from velostream.plan.columns import check_columns, known_columns

        known = {}
        for ref in plan.sources:
            if ref.table_plan is not None:
                known[ref.alias] = output_columns(ref.table_plan)
            else:
                known[ref.alias] = known_columns(ref, self.catalog.memory, streams)
        check_columns(plan, known)

    def _apply_row_limit(self, job: Job) -> None:
        limit = self._row_limit
        if limit is None:
            return
        job.set_row_limit(limit if job.row_limit is None else min(job.row_limit, limit))

    def _source_for(self, ref: SourceRef) -> Source:
        """The connector a query input reads: another job's output, or its WITH type."""
        if ref.upstream is None:
            return registry.create_source(
                ref.name, dict(ref.props), memory=self.catalog.memory, on_warning=self.warn
            )
        channel = self.channels.get(ref.upstream)
        upstream_job = self.jobs.get(ref.upstream)
        if channel is None or upstream_job is None:
            raise SqlError(f"stream '{ref.name}' is not running", kind="name")
        return ChannelSource(ref.name, channel.subscribe(), upstream_job.bounded, ref.props)

    def _register_output(self, stmt: Statement, job: Job) -> None:
        name = stmt.name.lower() if stmt.name else None
        if name is None:
            return
        if stmt.kind == "create_table":
            self.catalog.tables[name] = stmt
        elif stmt.kind == "create_stream":
            self.catalog.streams[name] = stmt
        if job.channel is not None:
            self.channels[name] = job.channel
        self.jobs[job.name] = job

    # -- running -------------------------------------------------------------------------

    async def execute_async(
        self,
        sql: str,
        path: str | None = None,
        on_rows: Callable[[Statement, Rows], Any] | None = None,
        wait: bool = True,
        row_limit: int | None = None,
    ) -> list[Result]:
        """Run every statement of a script in order; CREATE statements start jobs.

        With `wait`, returns when every job it started has ended (bounded inputs), else at once.
        `row_limit` stops every query after that many output rows (`velo run --limit`).
        """
        self._row_limit = row_limit
        script = parse_script(sql, path)
        for w in script.warnings:
            self.warn(w)
        results: list[Result] = []
        started: list[tuple[Job, asyncio.Task]] = []
        for stmt in script.statements:
            try:
                res = await self._execute_one(stmt, on_rows, started)
            except SqlError as e:
                if e.path is None:
                    e.path = path
                raise locate(e, stmt) from None
            results.append(res)
        if wait:
            await self._wait(started)
        return results

    async def execute_statement(
        self,
        stmt: Statement,
        on_rows: Callable[[Statement, Rows], Any] | None = None,
        row_limit: int | None = None,
    ) -> Result:
        """Run one parsed statement: SHOW/DESCRIBE/EXPLAIN answer at once, CREATE starts a
        background job (`result.task`), a bounded SELECT runs to its end. `row_limit` stops
        the query after that many output rows."""
        self._row_limit = row_limit
        started: list[tuple[Job, asyncio.Task]] = []
        try:
            res = await self._execute_one(stmt, on_rows, started)
        except SqlError as e:
            if e.path is None:
                e.path = stmt.path
            raise locate(e, stmt) from None
        if started:
            res.task = started[0][1]
        return res

    def _replace(self, stmt: Statement, name: str) -> None:
        """CREATE over an existing name: allowed once its job has ended, or with OR REPLACE
        (which stops the running job first); otherwise an error that says what to do."""
        job = self.jobs.get(name)
        running = job is not None and job.state in ("created", "running")
        if running and not stmt.expression.args.get("replace"):
            raise locate(
                SqlError(
                    f"'{stmt.name}' already exists and its job is running: STOP JOB {stmt.name} "
                    "first, or use CREATE OR REPLACE",
                    kind="name",
                    token=stmt.name,
                ),
                stmt,
            )
        if running:
            job.stop()
        self.catalog.streams.pop(name, None)
        self.catalog.tables.pop(name, None)
        self.channels.pop(name, None)
        self.jobs.pop(name, None)

    def task_of(self, name: str) -> asyncio.Task | None:
        """The asyncio task of the job called `name`, if it was started in this session."""
        return self._tasks.get(name)

    async def _execute_one(
        self,
        stmt: Statement,
        on_rows: Callable[[Statement, Rows], Any] | None,
        started: list[tuple[Job, asyncio.Task]],
    ) -> Result:
        from velostream.plan import describe

        if stmt.kind in ("show", "describe", "explain"):
            rows, columns = describe.run(self, stmt)
            return Result(stmt, "rows", rows=rows, columns=columns)
        if stmt.kind in ("create_stream", "create_table", "insert"):
            name = (stmt.name or "").lower()
            if stmt.kind != "insert" and (
                name in self.catalog.streams or name in self.catalog.tables
            ):
                self._replace(stmt, name)
            if stmt.kind == "create_table":
                self.catalog.tables[name] = stmt  # so the query itself can be planned as a table
            res = Result(stmt, "job")
            try:
                job = self.build_job(stmt, [])
            except Exception:
                self.catalog.tables.pop(name, None)
                raise
            self._apply_row_limit(job)
            if on_rows is not None and not job.sinks:  # no sink: show the rows instead
                job.outputs.append(lambda rows, s=stmt: on_rows(s, rows))
            self._register_output(stmt, job)
            res.job = job
            task = asyncio.create_task(_run_located(job, stmt), name=job.name)
            self._tasks[job.name] = task
            started.append((job, task))
            res.message = f"started job {job.name}"
            return res
        # plain SELECT: rows come back (and go to on_rows as they arrive)
        res = Result(stmt, "rows")

        def collect(rows: Rows) -> Any:
            if job.bounded or on_rows is None:  # a live query's rows go to on_rows only:
                res.rows.extend(rows)  # kept, they would grow for as long as it runs
            if on_rows is not None:
                return on_rows(stmt, rows)
            return None

        job = self.build_job(stmt, [collect], sink=False)
        self._apply_row_limit(job)
        res.job = job
        sort_all = job.bounded and bool(job.plan.order_by)
        if sort_all:  # ORDER BY .. LIMIT n of a bounded query: the first n rows after sorting
            job.set_row_limit(None)
        task = asyncio.create_task(_run_located(job, stmt), name=job.name)
        self._tasks[job.name] = task
        started.append((job, task))
        if job.bounded:
            await task
            res.rows = _order_rows(res.rows, job.plan)
        res.columns = job.columns or [c for c, _ in job.plan.items]
        return res

    async def _wait(self, started: list[tuple[Job, asyncio.Task]]) -> None:
        try:
            await asyncio.gather(*(t for _, t in started))
        except BaseException:
            for job, t in started:
                job.stop()
                t.cancel()
            await asyncio.gather(*(t for _, t in started), return_exceptions=True)
            raise

    def execute(self, sql: str, path: str | None = None) -> list[Result]:
        """Run a script to completion (bounded inputs) and return each statement's result."""
        return asyncio.run(self.execute_async(sql, path))

    run_script = execute

    def query(self, sql: str) -> Rows:
        """Run one bounded query and return its output rows."""
        results = self.execute(sql)
        rows: Rows = []
        for r in results:
            rows.extend(r.rows)
            if r.job is not None and r.kind == "job":
                rows.extend(self.sink_memory.get((r.statement.name or "").lower(), []))
        return rows

    def query_arrow(self, sql: str) -> Any:
        """Run one bounded query and return a pyarrow.Table."""
        import pyarrow as pa

        rows = self.query(sql)
        return pa.Table.from_pylist(rows)

    async def stream(self, sql: str) -> AsyncIterator[Rows]:
        """Run one query live; yields its output rows batch by batch until it ends or the
        consumer stops iterating (which stops the query)."""
        script = parse_script(sql)
        if len(script.statements) != 1:
            raise SqlError("stream() takes exactly one statement", kind="syntax")
        stmt = script.statements[0]
        queue: asyncio.Queue = asyncio.Queue()
        job = self.build_job(stmt, [queue.put_nowait], sink=stmt.kind != "select")
        if stmt.kind != "select":
            self._register_output(stmt, job)
        task = asyncio.create_task(_run_located(job, stmt), name=job.name)
        task.add_done_callback(lambda _t: queue.put_nowait(None))
        try:
            while True:
                rows = await queue.get()
                if rows is None:
                    break
                yield rows
            if task.done() and task.exception() is not None:
                raise task.exception()
        finally:
            job.stop()
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def start(self, sql: str, on_rows: Callable[[Rows], Any] | None = None) -> Job:
        """Start one statement as a background job in the running event loop."""
        script = parse_script(sql)
        if len(script.statements) != 1:
            raise SqlError("start() takes exactly one statement", kind="syntax")
        stmt = script.statements[0]
        job = self.build_job(stmt, [on_rows] if on_rows else [])
        self._register_output(stmt, job)
        self._tasks[job.name] = asyncio.create_task(_run_located(job, stmt), name=job.name)
        return job

    @property
    def tasks(self) -> list[asyncio.Task]:
        """The asyncio tasks of every job started in this session."""
        return list(self._tasks.values())

    def stop(self, name: str) -> None:
        """Stop a running job by name."""
        job = self.jobs.get(name)
        if job is None:
            raise SqlError(f"no job named '{name}'", kind="name")
        job.stop()  # the job ends after its current batch, flushing and checkpointing


async def _run_located(job: Job, stmt: Statement) -> None:
    """Run a job; a SqlError it raises points at its statement."""
    try:
        await job.run()
    except SqlError as e:
        if e.path is None:
            e.path = stmt.path
        raise locate(e, stmt) from None


def _order_rows(rows: Rows, plan: QueryPlan) -> Rows:
    """ORDER BY of an ad-hoc bounded SELECT sorts its whole result, then LIMIT applies."""
    if not plan.order_by:
        return rows
    from velostream.runtime.ordering import sort_rows

    ordered = sort_rows(rows, plan)
    return ordered if plan.limit is None else ordered[: plan.limit]


def locate(e: SqlError, stmt: Statement) -> SqlError:
    """Point an error at the statement that caused it (at its token when it can be found)."""
    if e.line is None:
        e.line = stmt.line
        e.col = stmt.col
        if e.token and e.token in stmt.sql:
            before = stmt.sql[: stmt.sql.index(e.token)]
            e.line = stmt.line + before.count("\n")
            e.col = (len(before) - before.rfind("\n")) if "\n" in before else stmt.col + len(before)
    if e.source_line is None:
        lines = stmt.sql.splitlines() or [""]
        idx = e.line - stmt.line
        if 0 <= idx < len(lines):
            e.source_line = lines[idx]
            if idx == 0:
                e.source_line = " " * (stmt.col - 1) + e.source_line
    return e
