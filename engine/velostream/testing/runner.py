"""Runs a spec against a SQL app: feeds every source from the spec (generated, inline rows or a
file) through the `memory` connector, captures every statement's output instead of writing its
sink, runs the app bounded, then evaluates the assertions.

Nothing leaves the process: sinks are captured, dead-letter files and checkpoints are off.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlglot import exp

from velostream.errors import SqlError
from velostream.testing.assertions import Context, Output, Result, evaluate
from velostream.testing.generator import TimeSimulation, generate_rows
from velostream.testing.metrics_view import MetricsView, attach_metrics, evaluate_metric
from velostream.testing.schema import SchemaError
from velostream.testing.spec import InputSpec, SpecError, TestSpec, find_spec, load_spec

Progress = Callable[[str], None]
# Source keys that keep their meaning when the harness feeds the source from memory.
_KEPT_SOURCE_KEYS = ("event.time.field", "event.time.format", "watermark.max_out_of_orderness")
_SOURCE_TYPES = ("file_source", "synthetic", "memory")


class HarnessError(RuntimeError):
    """The app cannot be run as the spec says (a source without data, a job that fails)."""


@dataclass
class TestReport:
    """The outcome of one `velo test` run."""

    __test__ = False  # not a pytest class

    application: str
    sql_path: str | None
    spec_path: str | None
    seed: int
    results: list[Result] = field(default_factory=list)
    outputs: dict[str, Output] = field(default_factory=dict)
    inputs: dict[str, int] = field(default_factory=dict)  # source -> records fed
    error: str | None = None  # the run itself failed (the app, not an assertion)
    duration_s: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when the run worked and every assertion held."""
        return self.error is None and all(r.passed for r in self.results)

    @property
    def failed(self) -> list[Result]:
        """The assertions that did not hold."""
        return [r for r in self.results if not r.passed]


def statement_name(stmt: Any, selects: int) -> str:
    """A statement's name in a spec: its CREATE name, its `-- @name`, else `select_N`."""
    return (stmt.name or stmt.annotation("name") or f"select_{selects}").lower()


def _from_names(stmt: Any) -> list[str]:
    """Every table name a query reads (FROM and JOIN), lower case, in order."""
    q = stmt.query
    if q is None:
        return []
    return list(dict.fromkeys(t.name.lower() for t in q.find_all(exp.Table) if t.name))


def _only_count(inp: InputSpec) -> bool:
    """An input that only bounds a source (records, seed), giving no data of its own."""
    return inp.schema is None and inp.rows is None and inp.data_file is None


def _sub_seed(seed: int, name: str) -> int:
    """A per-source seed: adding an input never changes another input's data."""
    return zlib.crc32(f"{seed}:{name.lower()}".encode())


class Runner:
    """One run of an app under a spec."""

    def __init__(
        self,
        sql: str,
        spec: TestSpec,
        base: Path,
        seed: int | None = None,
        sql_path: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.sql = sql
        self.spec = spec
        self.base = base
        self.seed = spec.seed if seed is None else seed
        self.sql_path = sql_path
        self.progress = progress or (lambda m: None)
        self.inputs: dict[str, list[dict]] = {}
        self.read: set[str] = set()  # the sources the app reads

    # -- inputs ---------------------------------------------------------------------------

    def _input_rows(self, inp: InputSpec, pending: dict[str, InputSpec]) -> list[dict]:
        """The rows of one spec input (generating what it references first)."""
        name = inp.source.lower()
        if name in self.inputs:
            return self.inputs[name]
        if inp.rows is not None:  # decimal strings are exact decimals, as in JSON input
            from velostream.testing.data import decimal_strings

            rows = [decimal_strings(dict(r)) for r in inp.rows]
        elif inp.data_file is not None:
            from velostream.testing.data import DataError, read_rows

            try:
                rows = read_rows(inp.data_file, inp.format)
            except DataError as e:
                raise SpecError(f"{inp.where}.data_file: {e}") from None
        elif inp.schema is not None:
            for f in inp.schema.fields:  # foreign keys: the referenced input first
                if f.references is not None:
                    ref = f.references[0].lower()
                    if ref not in self.inputs and ref in pending and ref != name:
                        self._input_rows(pending[ref], pending)
            count = inp.records or inp.schema.record_count or self.spec.default_records
            seed = inp.seed if inp.seed is not None else _sub_seed(self.seed, name)
            if count >= 50_000:
                self.progress(f"generating {count:,} records for {inp.source}")
            try:
                rows = generate_rows(
                    inp.schema, count, seed, inp.time, self.spec.now_ms, self.inputs
                )
            except SchemaError as e:
                raise SpecError(f"{inp.where}: {e}") from None
        else:
            raise SpecError(f"{inp.where}: give the input a schema, rows or a data_file")
        if inp.schema is None:
            self._stamp(rows, inp.time)
        self.inputs[name] = rows
        return rows

    def _stamp(self, rows: list[dict], sim: TimeSimulation) -> None:
        """Rows from a file or the spec get times on the simulated clock (arrival order), so
        a query without an event-time field still runs the same way every time."""
        arrivals = sim.arrivals(len(rows), self.spec.now_ms)
        for r, t in zip(rows, arrivals, strict=True):
            r.setdefault("_timestamp", t)
            r.setdefault("_event_time", r["_timestamp"])

    def _synthetic_rows(self, name: str, props: dict[str, str]) -> list[dict]:
        """A `synthetic` source's records, made by the same generator with the same seed as
        `velo run` would, bounded at its count (else the spec's default_records)."""
        from velostream.connectors.synthetic import (
            BOUNDED_START_MS,
            PRESETS,
            parse_schema,
            parse_start_time,
        )
        from velostream.testing.schema import Schema, schema_from_columns

        cols = parse_schema(props.get("schema") or PRESETS[props.get("preset", "trades").lower()])
        if cols and hasattr(cols[0], "walk"):
            schema = schema_from_columns(cols, name)
        else:
            schema = Schema(name, list(cols))
        count = int(props.get("count") or self.spec.default_records)
        seed = int(props["seed"]) if props.get("seed") else self.seed  # (42, as velo run)
        rate = float(props.get("rate") or 0)
        start = (
            parse_start_time(props["start.time"]) if props.get("start.time") else BOUNDED_START_MS
        )
        sim = TimeSimulation(start=start, rate=rate if rate > 0 else 1000.0)
        keys = int(props.get("keys") or 10)
        return generate_rows(schema, count, seed, sim, self.spec.now_ms, keys=keys)

    # -- rewriting the statements ---------------------------------------------------------

    def _rewrite(
        self, stmt: Any, created: set[str], engine: Any, pending: dict[str, InputSpec]
    ) -> None:
        from velostream.connectors.registry import split_properties

        props = stmt.properties
        names = [n for n in _from_names(stmt) if n not in created]
        self.read.update(names)
        per, _job = split_properties(props, [*names, *([stmt.name.lower()] if stmt.name else [])])
        for name in names:
            own = per.get(name, {})
            kind = (own.get("type") or "").strip().lower()
            inp = pending.get(name)
            if inp is not None and kind == "synthetic" and _only_count(inp):
                if name not in self.inputs:  # the source's own generator, bounded by the spec
                    bound = {"count": str(inp.records or self.spec.default_records)}
                    if inp.seed is not None:
                        bound["seed"] = str(inp.seed)
                    self.inputs[name] = self._synthetic_rows(name, {**own, **bound})
                rows, batch = self.inputs[name], inp.time.batch_size
            elif inp is not None:
                rows = self._input_rows(inp, pending)
                batch = inp.time.batch_size
            elif kind == "synthetic":
                if name not in self.inputs:
                    self.inputs[name] = self._synthetic_rows(name, own)
                rows, batch = self.inputs[name], 100
            elif kind == "file_source":
                self._file_source(stmt, name, own)
                continue
            elif kind in ("", "memory") and name in engine.memory:
                continue
            else:
                what = f"a {kind} source" if kind else "a source without a type"
                raise HarnessError(
                    f"source {name!r} of {stmt.name or 'the query'} is {what}: give it an input "
                    "in the spec (a schema, rows or a data_file)"
                )
            self._to_memory(props, name, own, batch)
            engine.register(name, rows)
        if stmt.name:  # the statement's sink: captured instead of written
            me = stmt.name.lower()
            for key in [k for k in props if k.lower().startswith(me + ".")]:
                if key.lower()[len(me) + 1 :] not in _KEPT_SOURCE_KEYS:
                    del props[key]
        for key in [
            k for k in props if k.lower() in ("state.store", "state.path", "checkpoint.interval")
        ]:
            del props[key]
        for key in [k for k in props if "dead" in k.lower() and "letter" in k.lower()]:
            del props[key]
        if "late.data.strategy" in props:
            props["late.data.strategy"] = "drop"

    def _to_memory(self, props: dict[str, str], name: str, own: dict[str, str], batch: int) -> None:
        for key in [k for k in props if k.lower().startswith(name + ".")]:
            del props[key]
        for k, v in own.items():
            if k.lower() in _KEPT_SOURCE_KEYS:
                props[f"{name}.{k}"] = v
        props[f"{name}.type"] = "memory"
        props[f"{name}.batch.size"] = str(max(1, batch))

    def _file_source(self, stmt: Any, name: str, own: dict[str, str]) -> None:
        """A file source stays one; a relative path is taken from the SQL file's folder, and
        it is read once (never watched)."""
        from velostream.testing.data import read_rows

        path = own.get("path", "")
        p = Path(path)
        if path and not p.is_absolute() and not p.exists() and (self.base / p).exists():
            stmt.properties[f"{name}.path"] = str(self.base / p)
            p = self.base / p
        if own.get("watch"):
            stmt.properties[f"{name}.watch"] = "false"
        if p.exists() and name not in self.inputs and "*" not in path:
            try:
                self.inputs[name] = read_rows(p, own.get("format"))
            except Exception:  # only for counts and join coverage: the engine reads it
                pass

    # -- running --------------------------------------------------------------------------

    async def run(self, only: str | None = None) -> TestReport:
        """Run the app once, then every assertion of the spec (or of query `only`)."""
        from velostream.engine import Engine
        from velostream.sql.parse import parse_script

        t0 = time.monotonic()
        report = TestReport(
            self.spec.application or (Path(self.sql_path).stem if self.sql_path else "query"),
            self.sql_path,
            str(self.spec.path) if self.spec.path else None,
            self.seed,
        )
        engine = Engine(on_warning=report.warnings.append)
        metrics = attach_metrics(engine, self.seed)
        outputs: dict[str, Output] = {}
        try:
            script = parse_script(self.sql, self.sql_path)
            report.warnings.extend(script.warnings)
            await self._run_statements(script.statements, engine, metrics, outputs)
        except (SqlError, SpecError, HarnessError, SchemaError) as e:
            report.error = str(e)
        except Exception as e:  # a job that failed: the report says why
            report.error = f"{type(e).__name__}: {e}"
        report.outputs = outputs
        for name, inp in self.spec.all_inputs().items():
            if report.error is None and name not in self.read:
                report.warnings.append(
                    f"{inp.where}: the app reads no source {inp.source!r} "
                    f"(it reads {', '.join(sorted(self.read)) or 'none'})"
                )
        report.inputs = {k: len(v) for k, v in self.inputs.items()}
        if report.error is None:
            view = MetricsView(metrics.registry) if metrics is not None else None
            # expected files are named relative to the spec, as its inputs are
            base = self.spec.path.parent if self.spec.path else self.base
            ctx = Context(outputs, self.inputs, base, view)
            report.results = self._assert(ctx, outputs, only)
            if only and not report.results and report.error is None:
                names = ", ".join(q.name for q in self.spec.queries if q.name) or "none"
                report.error = f"--only {only}: no query of that name in the spec ({names})"
        report.duration_s = time.monotonic() - t0
        return report

    async def _run_statements(
        self, statements: list[Any], engine: Any, metrics: Any, outputs: dict[str, Output]
    ) -> None:
        pending = self.spec.all_inputs()
        created: set[str] = set()
        tasks: list[tuple[Any, asyncio.Task, Output]] = []
        selects = 0
        for stmt in statements:
            if stmt.kind in ("show", "describe", "explain") or stmt.query is None:
                continue
            if stmt.kind == "select":
                selects += 1
            name = statement_name(stmt, selects)
            self._rewrite(stmt, created, engine, pending)
            if stmt.kind == "select":
                job = engine.build_job(stmt, [], sink=False)
                task = asyncio.create_task(job.run(), name=name)
            else:
                res = await engine.execute_statement(stmt)
                job, task = res.job, res.task
                if stmt.name:
                    created.add(stmt.name.lower())
            if job is None or task is None:
                continue
            out = Output(name, [], [c for c in job.plan_columns() if c != "*"])
            outputs[name] = out
            self._capture(job, out)
            if metrics is not None and getattr(engine, "metrics", None) is not metrics:
                metrics.attach(job, stmt, None, engine.warn)
            tasks.append((job, task, out))
        await self._wait(tasks)

    def _capture(self, job: Any, out: Output) -> None:
        delay = max((leaf.ref.delay_ms for leaf in job.leaves), default=0)

        def capture(rows: list[dict]) -> None:
            wm = job.stats.watermark
            at = None if wm is None or wm < -(2**62) else wm + delay
            cols = out.columns
            for r in rows:
                shaped = {c: r.get(c) for c in cols} if cols else {}
                for k, v in r.items():
                    if k not in shaped and not k.startswith(("_", "\x00")):
                        shaped[k] = v
                out.rows.append(shaped)
                out.emitted_at.append(at)

        job.outputs.append(capture)

    async def _wait(self, tasks: list[tuple[Any, asyncio.Task, Output]]) -> None:
        if not tasks:
            return
        deadline = time.monotonic() + self.spec.timeout_ms / 1000
        pending = {t for _, t, _ in tasks}
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _, pending = await asyncio.wait(pending, timeout=min(1.0, left))
            if pending:  # a long run: say how far each job has got
                self.progress(
                    " | ".join(
                        f"{j.name}: {j.stats.records_in:,} in" for j, t, _ in tasks if not t.done()
                    )
                )
        if pending:
            for job, task, _ in tasks:
                if not task.done():
                    job.stop()
                    task.cancel()
            await asyncio.gather(*(t for _, t, _ in tasks), return_exceptions=True)
            running = ", ".join(j.name for j, t, _ in tasks if t.cancelled())
            raise HarnessError(
                f"timed out after {self.spec.timeout_ms} ms with {running} still running "
                "(is a source unbounded?)"
            )
        for job, task, out in tasks:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
            out.records_in = job.stats.records_in
            out.late = job.stats.late
            out.malformed = job.stats.malformed
            if job.plan.order_by:
                self._sort(job, out)

    @staticmethod
    def _sort(job: Any, out: Output) -> None:
        from velostream.runtime.ordering import sort_rows

        rows = sort_rows(out.rows, job.plan)
        if job.plan.limit is not None:
            rows = rows[: job.plan.limit]
        out.rows = rows

    # -- assertions -----------------------------------------------------------------------

    def _assert(self, ctx: Context, outputs: dict[str, Output], only: str | None) -> list[Result]:
        results: list[Result] = []
        default = next(reversed(outputs)) if outputs else ""
        for q in self.spec.queries:
            qname = (q.name or default).lower()
            if q.skip or (only and qname != only.lower()):
                continue
            for o in q.outputs:
                sink = (o.sink or qname).lower()
                out = outputs.get(sink)
                for a in o.assertions:
                    results.append(evaluate(q.name or qname, sink, a, out, ctx))
            for a in q.metric_assertions:
                results.append(evaluate_metric(q.name or qname, a, ctx))
        return results


def run_test(
    sql_path: str | Path,
    spec_path: str | Path | None = None,
    seed: int | None = None,
    only: str | None = None,
    progress: Progress | None = None,
) -> TestReport:
    """`velo test APP.sql`: run APP.sql under its spec (APP.test.yaml unless given)."""
    sql_file = Path(sql_path)
    try:
        sql = sql_file.read_text()
    except FileNotFoundError:
        raise HarnessError(f"{sql_file}: no such file") from None
    found = Path(spec_path) if spec_path else find_spec(sql_file)
    if found is None:
        raise HarnessError(
            f"{sql_file}: no spec found (looked for {sql_file.with_suffix('').name}.test.yaml "
            "beside it); `velo test init` writes one"
        )
    spec = load_spec(found)
    runner = Runner(sql, spec, sql_file.parent, seed, str(sql_file), progress)
    return asyncio.run(runner.run(only))


async def run_spec_async(
    sql: str,
    spec: TestSpec,
    base: Path | None = None,
    seed: int | None = None,
    only: str | None = None,
    path: str | None = None,
) -> TestReport:
    """Run SQL text under a parsed spec in the running event loop (the notebook uses this)."""
    runner = Runner(sql, spec, base or Path.cwd(), seed, path)
    return await runner.run(only)
