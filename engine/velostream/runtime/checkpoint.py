"""Checkpoints: a job's operator state and the source offsets it covers, committed together to
a state store, and the restart that resumes from them.

Job-level WITH keys:

- `'state.store'`: `memory` (default: state lives in the operators and ends with the job) or
  `sqlite` (checkpoints go to the file `'state.path'`, and a job started over a file that holds
  a checkpoint resumes from it).
- `'checkpoint.interval'`: time between checkpoints (default `1s`). A job also checkpoints when
  it ends without an error: at the end of a bounded input (after the end-of-input flush), at
  LIMIT and at `stop()`.

A checkpoint is taken between batches: the job first hands its pending output to the sinks, then
puts every operator's `snapshot()` and commits it with the last `_offset` each source has had
processed, in one transaction. Delivery is at least once: after a crash, the rows emitted after
the last checkpoint are emitted again on restart (the same rows, in the same order); rows emitted
before it never are. A job resumed from a checkpoint appends to its file sinks.

Restarting needs sources whose records carry increasing `_offset`s that are the same in every
run over the same input (file, memory, synthetic with its seed); the job drops records up to the
committed offset (`ResumedSource`), and a source may skip them itself when it sees
`resume_after` (the synthetic source replays its generator without pacing). A `partitioned`
source (Kafka) has an offset per `_partition`, kept as `<source>@<partition>`; it is handed
`resume_positions` ({partition: last offset processed}) and seeks there itself. Another job's
live output (a stream read by name) is not replayed. One job per state file: a checkpoint
written by a different query is refused. A task that is cancelled (not stopped) ends without a
final checkpoint, as a crash does.
"""

from __future__ import annotations

import bisect
import hashlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from velostream.connectors.common import parse_duration_ms
from velostream.errors import ConfigError
from velostream.runtime.state import SqliteStateStore, StateStore

if TYPE_CHECKING:
    from velostream.plan.logical import QueryPlan
    from velostream.runtime.job import Job

OPERATORS = "operators"  # namespace: operator path -> snapshot
META = "checkpoint"  # namespace: "last" -> what the checkpoint is of
NEG_INF = -(2**63)


def _now() -> float:
    """Monotonic seconds (a function, so tests can drive checkpoints deterministically)."""
    return time.monotonic()


def fingerprint(plan: QueryPlan) -> str:
    """What the operator state depends on: the query and its window, emit mode and sources."""
    parts = [
        plan.select.sql(),
        repr(plan.window),
        plan.emit,
        ",".join(s.name for s in plan.sources),
    ]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def checkpointer_for(job_name: str, plan: QueryPlan) -> Checkpointer | None:
    """The checkpointer the job's WITH keys ask for; None for the default in-memory state
    (nothing to checkpoint, and no per-batch work at all)."""
    props = {k.lower(): v for k, v in plan.job_props.items()}
    kind = props.get("state.store", "memory").strip().lower()
    interval = props.get("checkpoint.interval", "1s")
    try:
        interval_ms = parse_duration_ms(interval)
    except ValueError as exc:
        raise ConfigError(
            f"bad value for 'checkpoint.interval': {exc}",
            kind="property",
            token="checkpoint.interval",
        ) from None
    if kind == "memory":
        return None
    if kind != "sqlite":
        raise ConfigError(
            f"bad value for 'state.store': '{kind}'",
            kind="property",
            token="state.store",
            expected=["memory", "sqlite"],
        )
    path = props.get("state.path")
    if not path:
        raise ConfigError(
            "'state.store' = 'sqlite' needs 'state.path' (the state file)",
            kind="property",
            token="state.store",
        )
    return Checkpointer(lambda: SqliteStateStore(path), interval_ms, fingerprint(plan), job_name)


class Checkpointer:
    """Takes a job's checkpoints into a state store and restores the job from the last one."""

    def __init__(
        self,
        store: StateStore | Any,
        interval_ms: int = 1000,
        fingerprint: str = "",
        job_name: str = "",
    ):
        # `store` is a StateStore, or a factory called when the job starts (so building a job,
        # e.g. to validate it, never creates a file).
        self._store_or_factory = store
        self.store: StateStore | None = None
        self.interval_s = interval_ms / 1000
        self.fingerprint = fingerprint
        self.job_name = job_name
        self.offsets: dict[str, int] = {}  # source key -> last _offset processed
        self.keys: dict[int, str] = {}  # leaf index -> source key (only resumable sources)
        self.read_to: dict[int, int] = {}  # merged runs: leaf -> last _offset read
        self.read_parts: dict[int, dict[int, int]] = {}  # the same per partition (Kafka)
        self.restored = False
        self.count = 0  # checkpoints committed by this run
        self._last = 0.0
        self._owns_store = not isinstance(store, StateStore)

    # -- start and restore ---------------------------------------------------------------

    def start(self, job: Job) -> bool:
        """Open the store; restore the job from its last checkpoint when there is one. Returns
        True when the job resumes."""
        obj = self._store_or_factory
        self.store = obj if isinstance(obj, StateStore) else obj()
        self.keys = _source_keys(job)
        self._last = _now()
        meta = self.store.get(META, "last")
        if meta is None:
            return False
        if self.fingerprint and meta.get("fingerprint") not in ("", self.fingerprint):
            where = getattr(self.store, "path", "the state store")
            raise ConfigError(
                f"the checkpoint in {where} was written by a different query "
                f"(job '{meta.get('job')}'); remove it or give 'state.path' another file",
                kind="property",
                token="state.path",
            )
        snaps = dict(self.store.scan(OPERATORS))
        try:
            job.pipeline.restore(snaps)
        except KeyError as exc:
            raise ConfigError(
                f"the checkpoint has no state for operator {exc}; it was written by another query",
                kind="property",
                token="state.path",
            ) from None
        wm = meta.get("watermark")
        job.start_wm = wm if wm is not None else NEG_INF
        job.stats.watermark = wm
        keys = set(self.keys.values())
        self.offsets = {
            k: v
            for k, v in self.store.offsets().items()
            if k.rpartition("@")[0] in keys or k in keys
        }
        for i, key in self.keys.items():
            if getattr(job.sources[i], "partitioned", False):
                head = key + "@"
                job.sources[i].resume_positions = {
                    int(k[len(head) :]): v for k, v in self.offsets.items() if k.startswith(head)
                }
                continue
            off = self.offsets.get(key)
            if off is not None:
                src = job.sources[i]
                src.resume_after = off  # a source may skip natively (seek, replay without pacing)
                job.sources[i] = ResumedSource(src, off)
        for sink in job.sinks:
            if hasattr(sink, "append"):
                sink.append = True  # rows before the checkpoint are in the file already
        self.restored = True
        return True

    # -- taking checkpoints --------------------------------------------------------------

    def due(self) -> bool:
        """True once the interval has passed since the last checkpoint."""
        return _now() - self._last >= self.interval_s

    async def after_batch(self, job: Job, leaf: int, batch: Any) -> None:
        """A whole batch of leaf `leaf` has been processed and its output flushed."""
        key = self.keys.get(leaf)
        if key is not None and len(batch):
            if getattr(job.sources[leaf], "partitioned", False):
                for p, off in partition_offsets(batch).items():
                    self.offsets[f"{key}@{p}"] = off
            else:
                self.offsets[key] = last_offset(batch)
        if self.due():
            await self.save(job)

    def note_read(self, leaf: int, batch: Any) -> None:
        """Merged runs: a batch of leaf `leaf` was read into its buffer."""
        if len(batch):
            self.read_to[leaf] = last_offset(batch)
            if isinstance(batch, list) and "_partition" in batch[0]:
                self.read_parts.setdefault(leaf, {}).update(partition_offsets(batch))

    async def at_merge_point(self, job: Job, bufs: dict[int, Any]) -> None:
        """Merged runs: records still buffered are not processed yet; all others are."""
        for i, key in self.keys.items():
            buf = bufs.get(i)
            if job is not None and getattr(job.sources[i], "partitioned", False):
                done = dict(self.read_parts.get(i, {}))
                for r in buf or ():  # buffered records are not processed yet
                    p, off = r["_partition"], r["_offset"] - 1
                    if off < done.get(p, off + 1):
                        done[p] = off
                for p, off in done.items():
                    self.offsets[f"{key}@{p}"] = off
                continue
            if buf:
                self.offsets[key] = buf[0]["_offset"] - 1
            elif i in self.read_to:
                self.offsets[key] = self.read_to[i]
        if self.due():
            await self.save(job)

    async def save(self, job: Job) -> None:
        """Flush pending output to the sinks, then commit operator state and offsets."""
        await job._flush()
        store = self.store
        if store is None:
            return
        for path, snap in job.pipeline.snapshot().items():
            store.put(OPERATORS, path, snap)
        store.put(
            META,
            "last",
            {
                "job": self.job_name,
                "fingerprint": self.fingerprint,
                "watermark": job.stats.watermark,
                "time": time.time(),
            },
        )
        store.commit(dict(self.offsets))
        self.count += 1
        self._last = _now()
        for src in job.sources.values():  # Kafka commits the checkpointed offsets to its group
            hook = getattr(src, "on_checkpoint", None)
            if hook is not None:
                await hook()

    def close(self) -> None:
        """Close the store when this checkpointer opened it."""
        if self.store is not None and self._owns_store:
            self.store.close()
        self.store = None


def _source_keys(job: Job) -> dict[int, str]:
    """Offset keys by leaf: the source's name (`name#i` when a name repeats). Sources that
    cannot be replayed (another job's live output) have none."""
    keys: dict[int, str] = {}
    seen: set[str] = set()
    for i, src in sorted(job.sources.items()):
        if not getattr(src, "resumable", True):
            continue
        key = src.name if src.name not in seen else f"{src.name}#{i}"
        seen.add(src.name)
        keys[i] = key
    return keys


# -- resuming sources ----------------------------------------------------------------------


def first_last_offset(batch: Any) -> tuple[int, int]:
    """The `_offset` of the first and last record of a non-empty batch (records or a frame)."""
    if isinstance(batch, list):
        return batch[0]["_offset"], batch[-1]["_offset"]
    col = batch.get_column("_offset")
    return col[0], col[-1]


def partition_offsets(batch: Any) -> dict[int, int]:
    """The last `_offset` of each `_partition` in a non-empty batch (records or a frame)."""
    if isinstance(batch, list):
        out: dict[int, int] = {}
        for r in batch:
            p, off = r["_partition"], r["_offset"]
            if off > out.get(p, -1):
                out[p] = off
        return out
    import polars as pl

    g = batch.group_by("_partition").agg(pl.col("_offset").max())
    return dict(zip(g["_partition"].to_list(), g["_offset"].to_list(), strict=True))


def last_offset(batch: Any) -> int:
    """The `_offset` of the last record of a non-empty batch."""
    return first_last_offset(batch)[1]


def drop_through(batch: Any, after: int) -> Any:
    """The records of a batch whose `_offset` is greater than `after` (offsets increase)."""
    if isinstance(batch, list):
        return batch[bisect.bisect_right(batch, after, key=lambda r: r["_offset"]) :]
    return batch.filter(batch.get_column("_offset") > after)


async def skip_through(stream: AsyncIterator[Any], after: int) -> AsyncIterator[Any]:
    """`stream` without the records up to offset `after`; checks stop once past it."""
    done = False
    async for batch in stream:
        if not done:
            if not len(batch):
                continue
            first, last = first_last_offset(batch)
            if last <= after:
                continue
            if first <= after:
                batch = drop_through(batch, after)
            done = True
        yield batch


class ResumedSource:
    """A source read from just after a committed offset (everything else is the source's)."""

    def __init__(self, inner: Any, after: int):
        self.inner = inner
        self.after = after

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def open(self) -> None:
        """Open the source."""
        await self.inner.open()

    async def close(self) -> None:
        """Close the source."""
        await self.inner.close()

    def batches(self) -> AsyncIterator[Any]:
        """The source's batches after the offset."""
        return skip_through(self.inner.batches(), self.after)

    def frames(self) -> AsyncIterator[Any]:
        """The source's batches or frames after the offset."""
        return skip_through(self.inner.frames(), self.after)
