"""`kafka_source`: records from a Kafka topic (aiokafka), fetched in batches with `getmany`.

Each fetch becomes one micro-batch (in slices of `fetch.max.records`). aiokafka hands over whole
record batches (`install_raw_batches`), taken and decoded with the cyclic GC paused (`_fetch`).
JSON values of a slice decode in one go into a Polars DataFrame when that is exact
(formats/json_frame.py), holding only the fields the query reads (`decode_only`), else value by
value through the format's codec. Every record carries the system columns `_timestamp` (the
message timestamp), `_event_time` (the message timestamp unless `event.time.field` names a
field), `_key` (text), `_partition` and `_offset`; message headers are readable with
`HEADER('name')`. `isolation.level = read_committed` skips aborted transactions (aiokafka's
handling, kept in `_unpack_batches`). aiokafka is pinned (0.14): the batch hand-over patches its
PartitionRecords, and the quiet wait for a fetch uses its fetcher (with a fallback to getmany).

Where it starts, per partition: the job's checkpoint (state.store = sqlite), else the group's
committed offset (when the read is in a group), else `auto.offset.reset`. A bounded read
(`end`) stops at the end offsets taken when it starts, or at the offsets given.

Offsets are committed to the group only after the sinks have the output of the records they
cover: after each batch for a stateless query, after each checkpoint with a state store, and
only at the end of a bounded run for an aggregation that keeps its state in memory (its open
windows would otherwise be lost on a crash).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import operator
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from velostream.connectors.base import Record, Source
from velostream.connectors.common import (
    MalformedPolicy,
    event_time_extractor,
    frame_event_time,
    parse_bool,
)
from velostream.connectors.kafka_config import (
    brokers_of,
    parse_end,
    parse_partitions,
    parse_reset,
    security_kwargs,
    topic_of,
)
from velostream.errors import ConfigError
from velostream.formats.codecs import JsonCodec, value_codec
from velostream.formats.event_time import EventTimeError

_TOMBSTONE = "message has no value (a tombstone)"
HEADERS = "_headers"  # record field holding the message headers (name -> text) for HEADER()
_VALUE = operator.attrgetter("value")
_KEY = operator.attrgetter("key")
_HEADERS = operator.attrgetter("headers")
_TIMESTAMP = operator.attrgetter("timestamp")
_OFFSET = operator.attrgetter("offset")


def raw_records(value: Any) -> Any:
    """The value deserializer our consumers pass: it marks them for whole raw batches."""
    return value


def install_raw_batches() -> None:
    """Make consumers whose value deserializer is `raw_records` return, from `getmany`, one
    list of aiokafka's decoded records (offset, timestamp, key, value, headers) per record
    batch instead of a ConsumerRecord per message: the per-message Python work of aiokafka's
    fetcher costs more than the rest of a JSON message's trip through a query. The batch
    handling (CRC, control batches, aborted transactions, records before the fetch offset)
    is aiokafka 0.14's; other consumers are unaffected. aiokafka is pinned for this."""
    from aiokafka.consumer import fetcher

    original = fetcher.PartitionRecords._unpack_records
    if getattr(original, "velostream", False):
        return

    def _unpack_records(self: Any) -> Any:
        if self._value_deserializer is raw_records:
            return _unpack_batches(self, fetcher)
        return original(self)

    _unpack_records.velostream = True  # type: ignore[attr-defined]
    fetcher.PartitionRecords._unpack_records = _unpack_records


def _unpack_batches(self: Any, fetcher: Any) -> Any:
    """aiokafka's PartitionRecords._unpack_records, a list of records per batch."""
    tp = self._tp
    records = self._records
    while records.has_next():
        batch = records.next_batch()
        if self._check_crcs and not batch.validate_crc():
            raise fetcher.Errors.CorruptRecordException(f"Invalid CRC - {tp}")
        if self._isolation_level == fetcher.READ_COMMITTED and batch.producer_id is not None:
            self._consume_aborted_up_to(batch.base_offset)
            if batch.is_control_batch and self._contains_abort_marker(batch):
                self._aborted_producers.discard(batch.producer_id)
            if batch.is_transactional and batch.producer_id in self._aborted_producers:
                self.next_fetch_offset = batch.next_offset
                continue
        if batch.is_control_batch:
            self.next_fetch_offset = batch.next_offset
            continue
        recs = list(batch)  # KafkaSource._fetch pauses the cyclic GC meanwhile
        if recs and recs[0].offset < self.next_fetch_offset:
            start = self.next_fetch_offset
            recs = [r for r in recs if r.offset >= start]
        self.next_fetch_offset = batch.next_offset
        if recs:
            yield recs


def _flat(got: dict[Any, list[Any]]) -> dict[Any, list[Any]]:
    """getmany's answer of a raw consumer with each partition's batches joined."""
    out = {}
    for tp, batches in got.items():
        if len(batches) == 1:
            out[tp] = batches[0]
        else:
            out[tp] = list(itertools.chain.from_iterable(batches))
    return out


def _last_offsets(batch: Any) -> dict[int, int]:
    """The last offset of each partition in a batch; a frame of one partition (the usual
    case) without checkpoint.partition_offsets' group_by."""
    from velostream.runtime.checkpoint import partition_offsets

    if isinstance(batch, list):
        return partition_offsets(batch)
    parts = batch.get_column("_partition")
    p = parts.min()
    if p is None or p != parts.max():
        return partition_offsets(batch)
    return {p: batch.get_column("_offset").max()}


def position(topic: str, partition: int, offset: int) -> str:
    """How a message is named in error reports: topic/partition@offset."""
    return f"{topic}/{partition}@{offset}"


class _DeadLetterTopic(MalformedPolicy):
    """on.error = dead_letter with `dead.letter.topic`: malformed messages are queued here and
    produced (raw key, value and headers, plus the error) by the source."""

    def __init__(self, source: str, errors: Any, on_warning: Callable[[str], None], topic: str):
        super().__init__(source, errors, on_warning, "skip")
        self.mode = "dead_letter"
        self.topic = topic
        self.queue: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
        self.current: Any = None  # the message being decoded (key and headers go along)

    def _dead_letter(self, position: str, message: str, raw: str | bytes | None) -> None:
        msg = self.current
        value = raw if isinstance(raw, bytes) or raw is None else str(raw).encode()
        headers = list(getattr(msg, "headers", None) or ())
        headers += [("velo.error", message.encode()), ("velo.position", position.encode())]
        self.queue.append((getattr(msg, "key", None), value, headers))
        self.errors.dead_lettered += 1


class KafkaSource(Source):
    """Reads a topic; bounded when `end` is set."""

    partitioned = True  # checkpoints keep one offset per partition (runtime/checkpoint.py)

    def __init__(
        self, name: str, props: dict[str, str], on_warning: Callable[[str], None] | None = None
    ) -> None:
        super().__init__(name, props, on_warning)
        self.topic = topic_of(name, props)
        self.brokers = brokers_of(props)
        self.explicit_group = props.get("group.id")
        self.reset = parse_reset(props.get("auto.offset.reset", "latest"))
        self.end = parse_end(props["end"]) if props.get("end") else None
        self.bounded = self.end is not None
        self.only_partitions = (
            parse_partitions(props["partitions"]) if props.get("partitions") else None
        )
        self.codec = value_codec(props)  # avro/protobuf read their own keys from props
        self.json_fast = isinstance(self.codec, JsonCodec)
        self.key_field = props.get("key.field")
        self.max_records = int(props.get("batch.size") or props.get("fetch.max.records", "10000"))
        self.max_wait_ms = int(props.get("fetch.max.wait.ms", "20"))
        self.auto_commit = parse_bool(props.get("enable.auto.commit", "true"))
        self.commit_interval_s = int(props.get("auto.commit.interval.ms", "1000")) / 1000
        self.extractor = event_time_extractor(props)
        mode = props.get("on.error", "skip").lower()
        if mode == "dead_letter" and props.get("dead.letter.topic"):
            self.bad: MalformedPolicy = _DeadLetterTopic(
                name, self.errors, self.on_warning, props["dead.letter.topic"]
            )
        else:
            self.bad = MalformedPolicy(
                name, self.errors, self.on_warning, mode, props.get("dead.letter.path")
            )
        self.job_name = "adhoc"
        self.adhoc = False  # set by bind_job: an ad-hoc SELECT assigns partitions itself
        self.commit_mode = "batch"  # batch | checkpoint | end (see the module docstring)
        self.resume_positions: dict[int, int] | None = None  # partition -> last processed
        self.consumer: Any = None
        self._producer: Any = None  # dead letters
        self._ends: dict[int, int] = {}  # partition -> exclusive end (bounded reads)
        self._done: set[int] = set()
        self._partitions: list[int] = []
        self._processed: dict[int, int] = {}  # partition -> next offset to read (committable)
        self._committed: dict[int, int] = {}
        self._last_commit = time.monotonic()
        self._ts_floor: dict[int, bool] = {}  # timestamp reset: partitions still skipping
        self.rp_topic: str | None = None  # the repartition topic, when the query needs one
        self.txn_sinks: list[Any] = []  # transactional kafka sinks: offsets commit with them
        self.group_columns: list[str] = []
        self._forward_producer: Any = None
        self._positions: dict[tuple[str, int], int] = {}  # next offset this instance reads
        self._stopped = False
        self._pending: list[Any] = []  # decoded slices of the last fetch not handed over yet
        self._columns: list[str] | None = None  # fields bulk-decoded frames need (None: all)
        self._uses_headers = True  # the query calls HEADER() (bind_job finds out)

    # -- job wiring ------------------------------------------------------------------------

    def bind_job(self, job: Any) -> None:
        """Learn the job's name (default group id) and how its offsets may be committed."""
        from sqlglot import exp

        self.job_name = job.name
        # An ad-hoc SELECT (no stream name) reads every partition itself: no group to join
        # (a join takes seconds), nothing committed; CREATE STREAM jobs read in their group.
        self.adhoc = getattr(job, "channel", None) is None
        plan = job.plan
        stateful = (
            plan.aggregate
            or bool(plan.joins)
            or plan.distinct
            or plan.select.find(exp.Window) is not None
        )
        self._plan_repartition(plan, exp)
        self._uses_headers = any(
            f.name.upper() == "HEADER" for f in plan.select.find_all(exp.Anonymous)
        )
        self.txn_sinks = [k for k in job.sinks if getattr(k, "transactional", False)]
        if job.checkpointer is not None:
            self.commit_mode = "checkpoint"
        elif stateful:
            self.commit_mode = "end"
        else:
            self.commit_mode = "batch"

    def _plan_repartition(self, plan: Any, exp: Any) -> None:
        """A GROUP BY on columns other than the message key, read in a consumer group, goes
        through `<job>-repartition`, keyed by the group key, so that each key's state lives
        in one instance."""
        mode = self.props.get("repartition", "auto").lower()
        self.rp_topic = None
        if mode == "false" or not self._uses_group_membership() or not plan.group_by:
            return
        if plan.joins or len(plan.sources) != 1:
            return
        cols = [g.name for g in plan.group_by if isinstance(g, exp.Column)]
        if len(cols) != len(plan.group_by):
            self.on_warning(
                f"source {self.name}: GROUP BY of expressions is not repartitioned: each "
                "instance aggregates the partitions it reads"
            )
            return
        if len(cols) == 1 and self.key_field and cols[0].lower() == self.key_field.lower():
            return  # already keyed by the group key
        self.group_columns = cols
        self.rp_topic = self.props.get("repartition.topic") or f"{self.job_name}-repartition"

    @property
    def read_topic(self) -> str:
        """The topic whose records this source hands to the query."""
        return self.rp_topic or self.topic

    @property
    def group_id(self) -> str | None:
        """The consumer group: `group.id`, or velo-<job>-<source> for a read in a group."""
        if self.explicit_group:
            return self.explicit_group
        if self._uses_group_membership():
            return f"velo-{self.job_name}-{self.name}"
        return None

    def _uses_group_membership(self) -> bool:
        """Unbounded reads of the whole topic join the group and share its partitions;
        bounded reads and reads of chosen partitions assign partitions themselves."""
        if self.adhoc and not self.explicit_group:
            return False
        return not self.bounded and self.only_partitions is None

    # -- opening -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, pick partitions and starting offsets, and (bounded) the end offsets."""
        try:
            await self._open()
        except BaseException:
            await self._close_quietly()  # the job closes only the sources that opened
            raise

    async def _open(self) -> None:
        from aiokafka import AIOKafkaConsumer

        group = self.group_id
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.brokers,
            "group_id": group,
            "enable_auto_commit": False,  # committed by us, after the sinks have the output
            "value_deserializer": raw_records,
            # Like librdkafka's default (check.crcs=false): the broker checked them on produce
            # and TCP on the way (the CRC pass is about 15% of decoding a record batch).
            "check_crcs": False,
            "auto_offset_reset": self.reset if isinstance(self.reset, str) else "earliest",
            "fetch_max_wait_ms": self.max_wait_ms,
            "isolation_level": self.props.get("isolation.level", "read_uncommitted").lower(),
            "max_partition_fetch_bytes": 4 << 20,
            "fetch_max_bytes": 64 << 20,
            "session_timeout_ms": int(self.props.get("session.timeout.ms", "10000")),
            "heartbeat_interval_ms": int(self.props.get("heartbeat.interval.ms", "1000")),
            "rebalance_timeout_ms": int(self.props.get("session.timeout.ms", "10000")),
            **security_kwargs(self.props),
        }
        if self.props.get("client.id"):
            kwargs["client_id"] = self.props["client.id"]
        install_raw_batches()
        self.consumer = consumer = AIOKafkaConsumer(**kwargs)
        try:
            await consumer.start()
        except Exception as exc:
            await self._close_quietly()
            consumer._closed = True  # a consumer that never started has nothing to close
            raise ConfigError(
                f"kafka source '{self.name}': cannot reach '{self.brokers}': {exc}",
                kind="property",
                token=f"{self.name}.bootstrap.servers",
            ) from None
        parts = await self._topic_partitions()
        if self._uses_group_membership():
            from aiokafka.abc import ConsumerRebalanceListener

            source = self

            class _Listener(ConsumerRebalanceListener):
                async def on_partitions_revoked(self, revoked: Any) -> None:
                    await source._commit_safely()

                async def on_partitions_assigned(self, assigned: Any) -> None:
                    # The fetcher may run while this awaits: paused, nothing it fetched from
                    # a position about to change is handed over (it would come twice).
                    consumer.pause(*assigned)
                    try:
                        for t in {tp.topic for tp in assigned}:
                            await source._start_positions(
                                [tp.partition for tp in assigned if tp.topic == t], t
                            )
                    finally:
                        consumer.resume(*(tp for tp in assigned if tp in consumer.assignment()))

            topics = [self.topic]
            if self.rp_topic is not None:
                from velostream.connectors.kafka_sink import ensure_topic

                await ensure_topic(self.brokers, self.rp_topic, max(1, len(parts)), self.props)
                topics.append(self.rp_topic)
            consumer.subscribe(topics, listener=_Listener())
            return
        if self.only_partitions is not None:
            missing = sorted(set(self.only_partitions) - set(parts))
            if missing:
                raise ConfigError(
                    f"'{self.name}.partitions': topic '{self.topic}' has no partition "
                    f"{', '.join(map(str, missing))} (it has {len(parts)})",
                    kind="property",
                    token=f"{self.name}.partitions",
                )
            parts = sorted(self.only_partitions)
        from aiokafka import TopicPartition

        self._partitions = parts
        consumer.assign([TopicPartition(self.topic, p) for p in parts])
        if self.bounded:
            await self._end_offsets(parts)
        await self._start_positions(parts)

    async def _topic_partitions(self) -> list[int]:
        consumer = self.consumer
        deadline = time.monotonic() + 2  # metadata of a new topic may lag its creation
        while True:
            parts = consumer.partitions_for_topic(self.topic)
            if parts:
                return sorted(parts)
            if time.monotonic() > deadline:
                break
            await consumer._client.force_metadata_update()
            if consumer.partitions_for_topic(self.topic):
                continue
            await asyncio.sleep(0.1)
        if self._uses_group_membership():
            return []  # a live read in a group waits for the topic to appear (subscribe)
        raise ConfigError(
            f"kafka source '{self.name}': topic '{self.topic}' does not exist on {self.brokers}",
            kind="property",
            token=f"{self.name}.topic",
        )

    async def _end_offsets(self, parts: list[int]) -> None:
        """Bounded reads: the exclusive end offset of every partition."""
        from aiokafka import TopicPartition

        tps = [TopicPartition(self.topic, p) for p in parts]
        if isinstance(self.end, dict):
            rest = [tp for tp in tps if tp.partition not in self.end]
            latest = await self._latest_offsets(rest) if rest else {}
            self._ends = {
                tp.partition: self.end.get(tp.partition, latest.get(tp.partition)) for tp in tps
            }
        else:
            self._ends = await self._latest_offsets(tps)

    async def _latest_offsets(self, tps: list[Any]) -> dict[int, int]:
        """The offset after the last message of each partition. The high watermark is that,
        except on brokers (Tansu 0.6) that report the base offset of the last batch + 1: the
        last batch is read to find its real end."""
        consumer = self.consumer
        begin = await consumer.beginning_offsets(tps)
        high = await consumer.end_offsets(tps)
        ends: dict[int, int] = {}
        probe = [tp for tp in tps if high[tp] > begin[tp]]
        for tp in tps:
            ends[tp.partition] = high[tp]
        if not probe:
            return ends
        for tp in probe:
            consumer.seek(tp, high[tp] - 1)
        waiting = set(probe)
        deadline = time.monotonic() + 10
        while waiting and time.monotonic() < deadline:
            got = _flat(await consumer.getmany(*waiting, timeout_ms=500))
            for tp, msgs in got.items():
                if msgs:
                    ends[tp.partition] = max(ends[tp.partition], msgs[-1].offset + 1)
                    waiting.discard(tp)
            for tp in list(waiting):
                # A last batch without messages to hand out (a transaction marker) moves
                # the position past it all the same.
                position = await consumer.position(tp)
                if position >= high[tp]:
                    ends[tp.partition] = max(ends[tp.partition], position)
                    waiting.discard(tp)
        return ends

    async def _start_positions(self, parts: list[int], topic: str | None = None) -> None:
        """Seek each partition of `topic` (the source's topic by default) to where this read
        starts (see the module docstring). A repartition topic starts at its beginning."""
        from aiokafka import TopicPartition

        topic = topic or self.topic
        consumer = self.consumer
        forwarding = self.rp_topic is not None and topic == self.topic
        resume = {} if forwarding else (self.resume_positions or {})
        for p in parts:
            tp = TopicPartition(topic, p)
            local = self._positions.get((topic, p))
            if local is not None:
                # Assigned again after a rebalance: go on where this instance is, not from
                # the group's commit, which lags (no record is handed over twice).
                consumer.seek(tp, local)
                continue
            if p in resume:
                consumer.seek(tp, resume[p] + 1)
                self._processed[p] = resume[p] + 1
                continue
            committed = None
            if self.group_id is not None:
                committed = await consumer.committed(tp)
            if committed is not None and committed >= 0:
                consumer.seek(tp, committed)
                if not forwarding:
                    self._processed[p] = committed
                    self._committed[p] = committed
                continue
            if topic == self.rp_topic:
                await consumer.seek_to_beginning(tp)
            elif self.reset == "latest":
                await consumer.seek_to_end(tp)
                if self.bounded:
                    # latest-at-start means "nothing old": a bounded read from latest is empty
                    consumer.seek(tp, self._ends.get(p, 0))
            elif self.reset == "earliest":
                await consumer.seek_to_beginning(tp)
            else:
                # A timestamp: start at the broker's answer when it has one, and drop the
                # records before it (Tansu 0.6 answers offsets_for_times with offset 0).
                found = await consumer.offsets_for_times({tp: self.reset})
                hit = found.get(tp)
                if hit is not None and hit.timestamp >= 0:
                    consumer.seek(tp, hit.offset)
                else:
                    await consumer.seek_to_beginning(tp)
                self._ts_floor[p] = True
        for p in parts:
            if (
                p in self._ends
                and await consumer.position(TopicPartition(self.topic, p)) >= (self._ends[p])
            ):
                self._done.add(p)
                consumer.pause(TopicPartition(self.topic, p))

    # -- reading ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask an unbounded read to end after its current fetch."""
        self._stopped = True

    def batches(self) -> AsyncIterator[list[Record]]:
        """Record batches, one per fetch."""
        return self._read(frames=False)

    def frames(self) -> AsyncIterator[Any]:
        """Batches as DataFrames where the JSON of a fetch decodes exactly in bulk."""
        return self._read(frames=self.json_fast)

    async def _read(self, frames: bool) -> AsyncIterator[Any]:
        while not self._stopped:
            if self.bounded and len(self._done) >= len(self._partitions) and not self._pending:
                return
            if not self._pending:  # a large fetch is handed over in slices of max_records
                await self._fetch(frames)
                if self.bad.__class__ is _DeadLetterTopic and self.bad.queue:
                    await self._send_dead_letters()
            if self._pending:
                yield self._pending.pop(0)

    async def _fetch(self, frames: bool) -> None:
        """One fetch into `_pending` (`_fetch_once`); a bounded read then marks the partitions
        whose position reached their end as done, also those whose last fetch had no message to
        show it (only a transaction marker or another control batch)."""
        await self._fetch_once(frames)
        if not self._ends:
            return
        from aiokafka import TopicPartition

        for p, end in self._ends.items():
            if p not in self._done:
                tp = TopicPartition(self.topic, p)
                if await self.consumer.position(tp) >= end:
                    self._done.add(p)
                    self.consumer.pause(tp)

    async def _fetch_once(self, frames: bool) -> None:
        """One fetch, decoded into `_pending`. Once data is there, the fetch is taken and
        decoded with the cyclic GC paused until its messages are gone: they are tens of
        thousands of tracked (acyclic) objects, and collections set off meanwhile would scan
        them over and over (a quarter of the CPU time of a bulk read). The pause never spans a
        wait: other code of the process (a notebook's cells) runs with the collector on."""
        consumer = self.consumer
        fetcher = getattr(consumer, "_fetcher", None)
        if self._quiet_wait_possible(fetcher):
            if not fetcher._records:  # wait for a fetch, taking none of its data yet
                waiter = fetcher._create_fetch_waiter()
                done, _ = await asyncio.wait([waiter], timeout=0.1)
                if not done:
                    waiter.cancel()
            if await self._take_and_decode({}, frames) or not fetcher._records:
                return
            # Nothing to hand out although the fetcher holds data (of paused partitions):
            # the plain wait below really waits.
        got = await consumer.getmany(timeout_ms=100, max_records=1)  # takes one record batch
        if got:
            await self._take_and_decode(got, frames)

    def _quiet_wait_possible(self, fetcher: Any) -> bool:
        """aiokafka 0.14's fetcher lets a wait for data take none of it; not while a
        rebalance goes on (getmany would wait for it)."""
        return (
            isinstance(getattr(fetcher, "_records", None), dict)
            and hasattr(fetcher, "_create_fetch_waiter")
            and not self._rebalancing()
        )

    def _rebalancing(self) -> bool:
        """A group rebalance is going on (aiokafka 0.14's subscription state; False when
        that cannot be told)."""
        subscription = getattr(self.consumer, "_subscription", None)
        return getattr(subscription, "reassignment_in_progress", False) is True

    async def _take_and_decode(self, got: dict[Any, list[Any]], frames: bool) -> bool:
        """Add what is fetched already to `got` (no wait: timeout_ms is 0) and decode it all,
        with the cyclic GC paused; False when there was nothing."""
        consumer = self.consumer
        paused = gc.isenabled()
        gc.disable()
        try:
            more: dict[Any, list[Any]] = {}
            if not self._rebalancing():  # getmany would wait for it, with the GC paused
                more = await consumer.getmany(timeout_ms=0, max_records=4096)
            for tp, batches in more.items():
                got[tp] = got[tp] + batches if tp in got else batches
            if not got:
                return False
            flat = _flat(got)
            got.clear()
            del more
            for tp, part in flat.items():
                if part:
                    self._positions[(tp.topic, tp.partition)] = part[-1].offset + 1
            if self.rp_topic is not None:
                inputs = {tp: part for tp, part in flat.items() if tp.topic == self.topic}
                flat = {tp: part for tp, part in flat.items() if tp.topic != self.topic}
                if inputs:
                    if paused:
                        gc.enable()  # forwarding waits for the broker: not with the GC paused
                    await self._forward(inputs)
                    del inputs
                    gc.disable()
            await self._decode_fetched(flat, frames)
            return True
        finally:
            if paused:
                gc.enable()

    async def _decode_fetched(self, got: dict[Any, list[Any]], frames: bool) -> None:
        from aiokafka import TopicPartition

        consumer = self.consumer
        msgs: list[Any] = []
        partitions: list[int] = []  # the partition of each message (raw records lack it)
        for tp, part in got.items():
            p = tp.partition
            end = self._ends.get(p)
            if end is not None:
                if part and part[-1].offset >= end:
                    part = [m for m in part if m.offset < end]
                if await consumer.position(tp) >= end or (part and part[-1].offset >= end - 1):
                    self._done.add(p)
                    consumer.pause(TopicPartition(self.topic, p))
            if self._ts_floor.get(p):
                part = self._drop_before_reset(p, part)
            msgs.extend(part)
            partitions.extend([p] * len(part))
        n = self.max_records
        for i in range(0, len(msgs), n):
            batch = self._decode(msgs[i : i + n], partitions[i : i + n], frames)
            if len(batch):
                self._pending.append(batch)

    def _drop_before_reset(self, p: int, part: list[Any]) -> list[Any]:
        floor = self.reset
        for i, m in enumerate(part):
            if m.timestamp >= floor:
                self._ts_floor[p] = False
                return part[i:]
        return []

    # -- decoding --------------------------------------------------------------------------

    def _decode(self, msgs: list[Any], partitions: list[int], frames: bool) -> Any:
        paused = gc.isenabled()
        gc.disable()  # thousands of small acyclic objects: no cyclic GC passes meanwhile
        try:
            if frames:
                frame = self._frame(msgs, partitions)
                if frame is not None:
                    return frame
            return self._records(msgs, partitions)
        finally:
            if paused:
                gc.enable()

    def decode_only(self, columns: list[str] | None) -> None:
        """DataFrames (`frames`) need hold only these fields of the JSON values (and the event
        time field); None: every field. Values are checked to be valid JSON all the same."""
        if columns is not None and self.extractor is not None:
            columns = [*columns, self.extractor.field]
        self._columns = columns

    def _frame(self, msgs: list[Any], partitions: list[int]) -> Any | None:
        """The fetch as one DataFrame with the system columns, or None (record path)."""
        import polars as pl

        from velostream.formats.json_frame import jsonl_frame

        values = list(map(_VALUE, msgs))  # map + attrgetter: no Python frame per message
        tombstones: list[tuple[Any, int]] = []
        if None in values:  # reported once the rest has made a frame (else the record path)
            both = zip(msgs, partitions, values, strict=True)
            tombstones = [(m, p) for m, p, v in both if v is None]
            if len(tombstones) == len(msgs):
                return None
            kept = [i for i, v in enumerate(values) if v is not None]
            msgs = [msgs[i] for i in kept]
            partitions = [partitions[i] for i in kept]
            values = [values[i] for i in kept]
        # Headers are not in frames: fine when the query reads named fields and no HEADER().
        if (self._uses_headers or self._columns is None) and any(map(_HEADERS, msgs)):
            return None
        raw = b"\n".join(values)
        n = len(values)
        if raw.count(b"\n") != n - 1:
            return None  # a value spans lines: each must be decoded alone
        frame = jsonl_frame(raw, self._columns)
        if frame is None or frame.height != n:
            return None
        ts = pl.Series("_timestamp", list(map(_TIMESTAMP, msgs)), dtype=pl.Int64)
        if self.extractor is None:
            event_time = ts.alias("_event_time")
        else:
            event_time = frame_event_time(frame, self.extractor)
            if event_time is None:
                return None
            event_time = event_time.alias("_event_time")
        keys = list(map(_KEY, msgs))
        if keys.count(None) != n:
            key_col = pl.Series(
                "_key", [k.decode("utf-8", "replace") if k is not None else None for k in keys]
            )
        else:
            key_col = pl.repeat(None, n, dtype=pl.Null, eager=True).alias("_key")
        p0 = partitions[0]
        first, last = msgs[0].offset, msgs[-1].offset
        if partitions[-1] == p0 and partitions.count(p0) == n:
            part_col = pl.repeat(p0, n, dtype=pl.Int64, eager=True).alias("_partition")
            if last - first == n - 1:  # no gaps (compaction, transaction markers) in between
                offsets = pl.int_range(first, last + 1, dtype=pl.Int64, eager=True)
            else:
                offsets = pl.Series(list(map(_OFFSET, msgs)), dtype=pl.Int64)
        else:
            part_col = pl.Series("_partition", partitions, dtype=pl.Int64)
            offsets = pl.Series(list(map(_OFFSET, msgs)), dtype=pl.Int64)
        cols = [event_time, ts, offsets.alias("_offset"), part_col, key_col]
        if self.key_field:
            cols.append(key_col.alias(self.key_field))
        frame = frame.with_columns(cols)
        bad = self.bad
        for m, p in tombstones:
            if isinstance(bad, _DeadLetterTopic):
                bad.current = m
            bad(position(self.topic, p, m.offset), _TOMBSTONE, None)
        return frame

    def _records(self, msgs: list[Any], partitions: list[int]) -> list[Record]:
        """The fetch as record dicts, malformed messages reported and routed by on.error."""
        values = [m.value if m.value is not None else b"" for m in msgs]
        records, errors = self.codec.decode_many(values)
        extractor = self.extractor
        bad = self.bad
        out: list[Record] = []
        topic = self.topic
        key_field = self.key_field
        for m, part, rec, err in zip(msgs, partitions, records, errors, strict=True):
            if rec is None:
                if isinstance(bad, _DeadLetterTopic):
                    bad.current = m
                why = err or "malformed"
                if m.value is None:
                    why = _TOMBSTONE
                bad(position(topic, part, m.offset), why, m.value)
                continue
            if extractor is None:
                et = m.timestamp
            else:
                try:
                    et = extractor(rec)
                except EventTimeError as exc:
                    if isinstance(bad, _DeadLetterTopic):
                        bad.current = m
                    bad(position(topic, part, m.offset), str(exc), m.value)
                    continue
            key = m.key.decode("utf-8", "replace") if m.key is not None else None
            rec["_event_time"] = et
            rec["_timestamp"] = m.timestamp
            rec["_offset"] = m.offset
            rec["_partition"] = part
            rec["_key"] = key
            if key_field:
                rec[key_field] = key
            if m.headers:
                rec[HEADERS] = {k: v.decode("utf-8", "replace") for k, v in m.headers}
            out.append(rec)
        return out

    async def _forward(self, inputs: dict[Any, list[Any]]) -> None:
        """Repartition: re-produce input messages (value, timestamp and headers unchanged)
        keyed by their group key, then commit their input offsets (the repartition topic
        holds them now)."""
        from aiokafka import AIOKafkaProducer, TopicPartition
        from aiokafka.structs import OffsetAndMetadata

        from velostream.connectors.kafka_sink import key_encoder, partition_of

        if self._forward_producer is None:
            self._forward_producer = AIOKafkaProducer(
                bootstrap_servers=self.brokers, linger_ms=2, **security_kwargs(self.props)
            )
            await self._forward_producer.start()
        producer = self._forward_producer
        n = len(await producer.partitions_for(self.rp_topic))
        key_of = key_encoder(self.group_columns)
        futures = []
        commits = {}
        for tp, part in inputs.items():
            if not part:
                continue
            values = [m.value if m.value is not None else b"" for m in part]
            records, errors = self.codec.decode_many(values)
            for m, rec, err in zip(part, records, errors, strict=True):
                if rec is None:
                    if isinstance(self.bad, _DeadLetterTopic):
                        self.bad.current = m
                    self.bad(
                        position(self.topic, tp.partition, m.offset), err or "malformed", m.value
                    )
                    continue
                lowered = {k.lower(): v for k, v in rec.items()}
                key = key_of({c: lowered.get(c.lower()) for c in self.group_columns})
                futures.append(
                    await producer.send(
                        self.rp_topic,
                        value=m.value,
                        key=key,
                        partition=partition_of(key, n),
                        timestamp_ms=m.timestamp,
                        headers=list(m.headers) or None,
                    )
                )
            commits[TopicPartition(self.topic, tp.partition)] = OffsetAndMetadata(
                part[-1].offset + 1, ""
            )
        if self.bad.__class__ is _DeadLetterTopic and self.bad.queue:
            await self._send_dead_letters()
        for f in futures:
            await f
        if commits and self.auto_commit:
            owned = self.consumer.assignment()
            commits = {tp: o for tp, o in commits.items() if tp in owned}
            if commits:
                await self.consumer.commit(commits)

    async def _send_dead_letters(self) -> None:
        from aiokafka import AIOKafkaProducer

        bad = self.bad
        assert isinstance(bad, _DeadLetterTopic)
        if self._producer is None:
            self._producer = AIOKafkaProducer(
                bootstrap_servers=self.brokers, linger_ms=0, **security_kwargs(self.props)
            )
            await self._producer.start()
        queue, bad.queue = bad.queue, []
        futures = [
            await self._producer.send(bad.topic, value=v, key=k, headers=h) for k, v, h in queue
        ]
        for f in futures:
            await f

    # -- committing ------------------------------------------------------------------------

    async def ack(self, batch: Any) -> None:
        """The job has handed the output of `batch` to its sinks."""
        if not len(batch):
            return
        for p, off in _last_offsets(batch).items():
            if off + 1 > self._processed.get(p, -1):
                self._processed[p] = off + 1
        if self.txn_sinks:  # each batch's output and (stateless) offsets: one transaction
            await self._commit(with_offsets=self.commit_mode == "batch")
            return
        if (
            self.commit_mode == "batch"
            and time.monotonic() - self._last_commit >= self.commit_interval_s
        ):
            await self._commit()

    async def on_checkpoint(self) -> None:
        """A checkpoint has made the state and offsets durable: commit them to the group."""
        if self.commit_mode == "checkpoint":
            await self._commit()

    async def on_end(self, complete: bool) -> None:
        """The job ended normally; `complete` when it read its whole input and flushed all
        its windows (not on stop or LIMIT)."""
        if self.commit_mode != "end" or complete:
            await self._commit()

    async def _commit_safely(self) -> None:
        # A rebalance may revoke partitions: commit what is safe to commit before they go.
        if self.commit_mode == "batch":
            with contextlib.suppress(Exception):
                await self._commit()

    async def _commit(self, with_offsets: bool = True) -> None:
        self._last_commit = time.monotonic()
        if self.txn_sinks:
            offsets = sent = self._uncommitted() if with_offsets else {}
            for sink in self.txn_sinks:
                await sink.commit_transaction(
                    {(tp.topic, tp.partition): o.offset for tp, o in offsets.items()},
                    self.group_id,
                )
                offsets = {}  # into the first sink's transaction only
            for tp, o in sent.items():
                self._committed[tp.partition] = o.offset
            return
        todo = self._uncommitted()
        if not todo:
            return
        await self.consumer.commit(todo)
        for tp, o in todo.items():
            self._committed[tp.partition] = o.offset

    def _uncommitted(self) -> dict[Any, Any]:
        """Processed offsets the group does not have yet (those this instance owns)."""
        if self.group_id is None or not self.auto_commit or self.consumer is None:
            return {}
        from aiokafka import TopicPartition
        from aiokafka.structs import OffsetAndMetadata

        todo = {
            TopicPartition(self.read_topic, p): OffsetAndMetadata(off, "")
            for p, off in self._processed.items()
            if self._committed.get(p) != off
        }
        if self._uses_group_membership():
            owned = self.consumer.assignment()
            todo = {tp: o for tp, o in todo.items() if tp in owned}
        return todo

    def committable(self) -> dict[int, int]:
        """Partition -> the next offset to read, for every message whose output the sinks have."""
        return dict(self._processed)

    # -- closing ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Leave the group and close the connections."""
        await self._close_quietly()

    async def _close_quietly(self) -> None:
        if self._forward_producer is not None:
            with contextlib.suppress(Exception):
                await self._forward_producer.stop()
            self._forward_producer = None
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await self._producer.stop()
            self._producer = None
        if self.consumer is not None:
            with contextlib.suppress(Exception):
                await self.consumer.stop()
            self.consumer = None
