"""A running query: reads its sources, merges them by event time (bounded runs) or in arrival
order (live runs), keeps the watermark, drives the pipeline and hands output to its sinks."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from velostream import values as V
from velostream.connectors.base import Sink, Source
from velostream.connectors.common import event_time_extractor
from velostream.plan.logical import QueryPlan
from velostream.runtime.checkpoint import Checkpointer, checkpointer_for
from velostream.runtime.pipeline import Leaf, Pipeline

OutputFn = Callable[[list[dict]], Any]
STOP_GRACE_S = 5.0  # how long a stopping job waits for each live source's reader to end


@dataclass
class JobStats:
    """Counters a job exposes (SHOW JOBS, the jobs panel, metrics)."""

    records_in: int = 0
    rows_out: int = 0
    late: int = 0
    malformed: int = 0
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    watermark: int | None = None

    def rate(self) -> float:
        """Input records per second since the start."""
        end = self.ended_at or time.time()
        return self.records_in / max(end - self.started_at, 1e-9)


class Channel:
    """In-process fan-out of a job's output, for queries that read another stream by name."""

    def __init__(self) -> None:
        self.subscribers: list[asyncio.Queue] = []
        self.closed = False
        # The output of a bounded job is kept, so a query that starts reading it later (a
        # later notebook cell) still sees all of it; a live stream's readers see what follows.
        self.history: list[list[dict]] | None = None

    def subscribe(self) -> asyncio.Queue:
        """A queue that receives the kept history, every later batch, and None at the end."""
        q: asyncio.Queue = asyncio.Queue()
        for rows in self.history or ():
            q.put_nowait(rows)
        if self.closed:
            q.put_nowait(None)
        self.subscribers.append(q)
        return q

    def publish(self, rows: list[dict]) -> None:
        """Send a batch to every subscriber."""
        if self.history is not None:
            self.history.append(rows)
        for q in self.subscribers:
            q.put_nowait(rows)

    def close(self) -> None:
        """No more batches."""
        self.closed = True
        for q in self.subscribers:
            q.put_nowait(None)


class ChannelSource(Source):
    """Reads another job's output in this session (bounded when that job is)."""

    resumable = False  # offsets restart with every run of the upstream job

    def __init__(
        self, name: str, queue: asyncio.Queue, bounded: bool, props: dict[str, str] | None = None
    ):
        super().__init__(name, props or {})
        self.queue = queue
        self.bounded = bounded
        # '<stream>.event.time.field' re-times the rows; else they keep the upstream's time.
        self.event_time = event_time_extractor(self.props)

    async def batches(self) -> AsyncIterator[list[dict]]:
        offset = 0
        while True:
            rows = await self.queue.get()
            if rows is None:
                return
            out = []
            extract = self.event_time
            for row in rows:
                r = dict(row)
                if extract is not None:
                    r["_event_time"] = extract(r)
                r.setdefault("_timestamp", r.get("_event_time"))
                r["_offset"] = offset
                r.setdefault("_partition", 0)
                r.setdefault("_key", None)
                offset += 1
                out.append(r)
            yield out


class Job:
    """One running query."""

    def __init__(
        self,
        name: str,
        plan: QueryPlan,
        sources: dict[int, Source],
        sinks: list[Sink],
        outputs: list[OutputFn],
        channel: Channel | None = None,
        on_warning: Callable[[str], None] | None = None,
    ):
        self.name = name
        self.plan = plan
        self.stats = JobStats()
        self.sinks = sinks
        self.outputs = outputs
        self.channel = channel
        self.on_warning = on_warning or (lambda m: None)
        self.pending: list[tuple[dict, int]] = []
        self.pipeline = Pipeline(plan, self._collect, self._late)
        self.leaves: list[Leaf] = self.pipeline.leaves
        self.sources = sources  # leaf index -> connector (the engine fills it from `leaves`)
        self.columns: list[str] | None = None
        self._sinks_open = False
        self._stop = asyncio.Event()  # binds to the running loop when first awaited
        self.error: BaseException | None = None
        self.state = "created"
        self._dead_letter = None
        # Checkpoints ('state.store' = 'sqlite'); None keeps the loops free of any of its work.
        self.checkpointer: Checkpointer | None = checkpointer_for(name, plan)
        self.start_wm = -(2**63)  # a restored job starts from its checkpoint's watermark
        # Called once per input batch with its processing time in seconds (metrics).
        self.on_batch: Callable[[float], None] | None = None

    # -- output --------------------------------------------------------------------------

    def _collect(self, row: dict, ts: int) -> None:
        self.pending.append((row, ts))

    def _late(self, record: dict, why: str) -> None:
        if self.plan.late_strategy != "dead_letter":
            return
        path = self.plan.dead_letter_path
        if not path:
            return
        if self._dead_letter is None:
            self._dead_letter = open(path, "ab")
        clean = {k: V.to_json_value(v) for k, v in record.items() if not k.startswith("\x00")}
        entry = {"job": self.name, "error": why, "record": clean}
        self._dead_letter.write(orjson.dumps(entry) + b"\n")

    async def _flush(self) -> None:
        pending = self.pending
        if not pending:
            return
        self.pending = []
        self.stats.rows_out += len(pending)
        rows = [r for r, _ in pending]
        if self.channel is not None:  # downstream queries need each row's event time
            self.channel.publish(
                [r if "_event_time" in r else {**r, "_event_time": ts} for r, ts in pending]
            )
        if self.sinks:
            if not self._sinks_open:  # columns: every key of the first batch, in order
                await self._open_sinks(list(dict.fromkeys(k for r in rows for k in r)))
            for s in self.sinks:
                await s.write(rows)
        for out in self.outputs:
            res = out(rows)
            if asyncio.iscoroutine(res):
                await res

    def plan_columns(self) -> list[str]:
        """Output column names as planned (`*` where a star expands at run time)."""
        return [n for n, _ in self.plan.items]

    async def _open_sinks(self, columns: list[str]) -> None:
        self.columns = columns
        for s in self.sinks:
            await s.open(columns)
        self._sinks_open = True

    # -- running -------------------------------------------------------------------------

    @property
    def bounded(self) -> bool:
        """True when every input ends (a file read once, a synthetic source with a count)."""
        return all(s.bounded for s in self.sources.values())

    def set_row_limit(self, limit: int | None) -> None:
        """Stop after `limit` output rows; None lifts any limit (also the query's LIMIT)."""
        self.pipeline.output.limit = limit

    @property
    def row_limit(self) -> int | None:
        """The number of output rows after which the job stops, if any."""
        return self.pipeline.output.limit

    def stop(self) -> None:
        """Ask the job to stop after the current batch."""
        self._stop.set()

    async def run(self) -> None:
        """Run to the end of bounded input, LIMIT, or `stop()`."""
        self.state = "running"
        opened: list[Source] = []
        try:
            if self.checkpointer is not None:
                self.checkpointer.start(self)  # may restore state and wrap sources to resume
            for c in [*self.sources.values(), *self.sinks]:  # Kafka: group id, key, commits
                bind = getattr(c, "bind_job", None)
                if bind is not None:
                    bind(self)
            for s in self.sources.values():
                await s.open()
                opened.append(s)
            if len(self.leaves) == 1:
                await self._run_single()
            elif self.bounded:
                await self._run_merged()
            else:
                await self._run_live()
            complete = not self.pipeline.done and not self._stop.is_set()
            if complete:
                self.pipeline.finish()
            await self._flush()
            if self.sinks and not self._sinks_open:
                await self._open_sinks([c for c in self.plan_columns() if c != "*"])
            if self.checkpointer is not None:
                await self.checkpointer.save(self)
            for s in self.sources.values():  # the sinks have everything: commit source offsets
                on_end = getattr(s, "on_end", None)
                if on_end is not None:
                    await on_end(complete)
            self.state = "stopped" if self._stop.is_set() else "finished"
        except asyncio.CancelledError:
            self.state = "stopped"
            raise
        except BaseException as e:
            self.error = e
            self.state = "failed"
            raise
        finally:
            self.stats.ended_at = time.time()
            self.stats.late = self.pipeline.late
            self.stats.malformed = sum(s.errors.malformed for s in self.sources.values())
            for s in opened:
                try:
                    await s.close()
                except Exception:
                    pass
            for s in self.sinks:
                if self._sinks_open:
                    await s.close()
            if self.channel is not None:
                self.channel.close()
            if self._dead_letter is not None:
                self._dead_letter.close()
            if self.checkpointer is not None:
                self.checkpointer.close()

    async def _run_single(self) -> None:
        leaf = self.leaves[0]
        src = self.sources[0]
        delay = leaf.ref.delay_ms
        pipe = self.pipeline
        handle = leaf.handle
        core = pipe.core
        aggregating = hasattr(core, "close_due")
        simple = not aggregating and not pipe.lookups and pipe.interval is None
        single_agg = aggregating and not pipe.lookups and pipe.interval is None and not pipe.tables
        wm = self.start_wm
        ckpt = self.checkpointer
        # A vectorized core takes whole batches, or DataFrame slices from a columnar source.
        ingest = getattr(core, "ingest", None) if not pipe.lookups and not pipe.interval else None
        columnar = ingest is not None or (simple and getattr(core, "takes_frames", False))
        frames = getattr(src, "frames", None) if columnar else None
        if frames is not None and hasattr(src, "decode_only"):
            src.decode_only(getattr(core, "read_columns", None))  # bulk decoding may skip fields
        stream = frames() if frames is not None else src.batches()
        if not src.bounded:  # a live source may wait for input: stop must not wait with it
            stream = self._until_stopped(stream)
        ack = getattr(src, "ack", None)  # told once the sinks have a batch's output
        async for batch in stream:
            t0 = time.perf_counter()
            self.stats.records_in += len(batch)
            # A batch makes thousands of small acyclic objects (rows, groups): the cyclic
            # collector would scan every live row again and again; let it run between batches.
            paused = gc.isenabled()
            gc.disable()
            try:
                wm = self._process_batch(batch, wm, delay, ingest, simple, single_agg, handle)
            finally:
                if paused:
                    gc.enable()
            self.stats.watermark = wm
            await self._flush()
            if self.on_batch is not None:
                self.on_batch(time.perf_counter() - t0)
            if ack is not None:
                await ack(batch)
            if ckpt is not None:
                await ckpt.after_batch(self, 0, batch)
            if pipe.done or self._stop.is_set():
                return

    def _process_batch(
        self,
        batch: Any,
        wm: int,
        delay: int,
        ingest: Callable[..., int] | None,
        simple: bool,
        single_agg: bool,
        handle: Callable[[dict], None],
    ) -> int:
        """Run one batch of the single input through the pipeline; returns the watermark."""
        pipe = self.pipeline
        core = pipe.core
        if ingest is not None:
            wm = ingest(batch, delay)
            pipe.close_due()
        elif simple:
            self._project_batch(core, batch)
        elif single_agg:
            core.push_batch_wm(batch, delay)
            pipe.close_due()
            wm = core.wm
        else:
            for r in batch:
                handle(r)
                t = r["_event_time"] - delay
                if t > wm:
                    wm = t
                    pipe.set_watermark(wm)
                if pipe.done:
                    break
            pipe.close_due()
        return wm

    async def _until_stopped(self, batches: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """The batches of a live source, ending as soon as `stop()` is called."""
        it = batches.__aiter__()
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            while True:
                nxt = asyncio.ensure_future(it.__anext__())
                done, _ = await asyncio.wait({nxt, stop}, return_when=asyncio.FIRST_COMPLETED)
                if nxt not in done:
                    nxt.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await nxt
                    return
                try:
                    yield nxt.result()
                except StopAsyncIteration:
                    return
        finally:
            stop.cancel()

    def _project_batch(self, core: Any, batch: list[dict]) -> None:
        """Filter and project a batch with the generated loop, then apply LIMIT."""
        out = self.pipeline.output
        if out.distinct:
            core.push_batch(batch)
            return
        pending = self.pending
        before = len(pending)
        core.push_batch(batch, pending.append)
        if out.limit is not None:
            room = out.limit - out.count
            added = len(pending) - before
            if added >= room:
                del pending[before + room :]
                out.count = out.limit
                out.done = True
            else:
                out.count += added

    async def _run_merged(self) -> None:
        """Bounded inputs merged by event time: the earliest next record goes first; ties go
        to table sources, then to sources in the order the statement names them."""
        iters = {i: self.sources[i].batches().__aiter__() for i in self.sources}
        bufs: dict[int, deque] = {i: deque() for i in self.sources}
        ckpt = self.checkpointer

        async def refill(i: int) -> bool:
            while not bufs[i]:
                try:
                    batch = await iters[i].__anext__()
                except StopAsyncIteration:
                    return False
                if ckpt is not None:
                    ckpt.note_read(i, batch)
                bufs[i].extend(batch)
            return True

        heap: list[tuple[int, tuple[int, int], int, int]] = []
        seq = 0
        for i in self.sources:
            if await refill(i):
                heapq.heappush(heap, (bufs[i][0]["_event_time"], self.leaves[i].rank, seq, i))
                seq += 1
        pipe = self.pipeline
        wm = self.start_wm
        n = 0
        t0 = time.perf_counter()
        while heap:
            _, _, _, i = heapq.heappop(heap)
            r = bufs[i].popleft()
            leaf = self.leaves[i]
            leaf.handle(r)
            self.stats.records_in += 1
            t = r["_event_time"] - leaf.ref.delay_ms
            if t > wm:
                wm = t
                pipe.set_watermark(wm)
                pipe.close_due()
            if bufs[i] or await refill(i):
                heapq.heappush(heap, (bufs[i][0]["_event_time"], leaf.rank, seq, i))
                seq += 1
            n += 1
            if n % 4096 == 0 or not heap:
                self.stats.watermark = wm
                await self._flush()
                if self.on_batch is not None:  # a merged run's "batch": 4096 records
                    t1 = time.perf_counter()
                    self.on_batch(t1 - t0)
                    t0 = t1
                if ckpt is not None:
                    await ckpt.at_merge_point(self, bufs)
                if pipe.done or self._stop.is_set():
                    return

    async def _run_live(self) -> None:
        """Unbounded inputs: process batches in arrival order."""
        queue: asyncio.Queue = asyncio.Queue(maxsize=64)

        async def pump(i: int) -> None:
            async for batch in self.sources[i].batches():
                await queue.put((i, batch))
            await queue.put((i, None))

        tasks = [asyncio.create_task(pump(i)) for i in self.sources]
        live = len(tasks)
        pipe = self.pipeline
        wm = self.start_wm
        ckpt = self.checkpointer
        stop_wait = asyncio.create_task(self._stop.wait())
        try:
            while live:
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, stop_wait}, return_when="FIRST_COMPLETED")
                if stop_wait in done:
                    getter.cancel()
                    return
                i, batch = getter.result()
                if batch is None:
                    live -= 1
                    continue
                t0 = time.perf_counter()
                leaf = self.leaves[i]
                delay = leaf.ref.delay_ms
                self.stats.records_in += len(batch)
                for r in batch:
                    leaf.handle(r)
                    t = r["_event_time"] - delay
                    if t > wm:
                        wm = t
                        pipe.set_watermark(wm)
                pipe.close_due()
                self.stats.watermark = wm
                await self._flush()
                if self.on_batch is not None:
                    self.on_batch(time.perf_counter() - t0)
                ack = getattr(self.sources[i], "ack", None)
                if ack is not None:
                    await ack(batch)
                if ckpt is not None:
                    await ckpt.after_batch(self, i, batch)
                if pipe.done:
                    return
        finally:
            stop_wait.cancel()
            for t in tasks:
                t.cancel()
            # a source whose client swallows the cancellation must not keep the job from
            # stopping: it gets a few seconds, then its connection is closed under it
            done, stuck = await asyncio.wait(tasks, timeout=STOP_GRACE_S) if tasks else ((), ())
            for t in done:  # retrieved, so asyncio does not log them (the job's error is raised)
                if not t.cancelled():
                    t.exception()
            if stuck:
                self.on_warning(f"job {self.name}: a source did not stop within {STOP_GRACE_S:g} s")
