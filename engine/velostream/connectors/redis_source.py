"""`redis_source`: entries of a Redis stream (XREAD, or XREADGROUP in a consumer group), or
keys read as rows of a lookup table (`mode` = `table`).

Stream mode: each entry is a record, from its field `value.field` decoded by `format` (json,
avro or protobuf; `encoding` = `value`, the default) or from its fields (`encoding` = `fields`,
numbers typed as in CSV). The entry id's milliseconds
are `_timestamp` and the default event time; `_key` is the entry id; `_offset` grows with it
(ms * 2**20 + seq), so a checkpointed job resumes after the last entry it processed. With
`group`, entries this consumer had but did not acknowledge are read first, and a batch is
acknowledged (XACK) once the job has handed its output to the sinks (the job's `ack`; a run
merged by event time acknowledges at its end; a checkpointing job at each checkpoint, so the
state those entries changed is durable first); malformed entries are acknowledged with the next
batch.
`end` = `latest-at-start` makes the read bounded.

Table mode: the keys matching `key.pattern` (default `<key.prefix>*`), read once (with
`poll.interval`, rescanned that often, and the keys whose value changed passed on): a hash gives
its fields, a string its value decoded by `format`; `key.column` holds the key without `key.prefix` (typed
as a CSV value, so `customer:42` joins an integer 42). Event time: `event.time.field`, else 0
when the job reads the keys as the lookup table of a join (so the table is in place before any
stream record is looked up), else the read time.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any

from velostream.connectors.base import Record, Source
from velostream.connectors.common import (
    event_time_extractor,
    malformed_policy,
    now_ms,
    parse_duration_ms,
)
from velostream.connectors.postgres_common import replay_batches, role_in
from velostream.connectors.redis_common import (
    client,
    close_quietly,
    decode_fields,
    entry_offset,
    mask,
    offset_entry,
    ping,
)
from velostream.errors import ConfigError
from velostream.formats.codecs import value_codec
from velostream.formats.csv import infer_value
from velostream.formats.event_time import EventTimeError


class RedisSource(Source):
    """Reads a Redis stream (bounded with `end`), or keys as a table (bounded)."""

    resume_after: int | None = None  # set by the checkpointer before open() on a restart

    def __init__(
        self, name: str, props: dict[str, str], on_warning: Callable[[str], None] | None = None
    ) -> None:
        super().__init__(name, props, on_warning)
        self.mode = props.get("mode", "stream").strip().lower()
        self.stream = props.get("stream") or name
        self.group = props.get("group")
        self.consumer = props.get("consumer") or f"{name}-1"
        self.start = props.get("start", "earliest").strip().lower()
        self.end = props.get("end")
        poll = props.get("poll.interval") if self.mode == "table" else None
        self.poll_ms = parse_duration_ms(poll) if poll else None
        self.bounded = (self.mode == "table" and self.poll_ms is None) or self.end is not None
        self.block_ms = max(1, parse_duration_ms(props.get("block", "200ms")))
        self.encoding = props.get("encoding", "value").strip().lower()
        self.value_field = (props.get("value.field") or "value").encode()
        self.codec = value_codec(props)
        self.key_prefix = props.get("key.prefix", "")
        self.key_pattern = props.get("key.pattern") or f"{self.key_prefix}*"
        self.key_column = props.get("key.column") or "key"
        self.batch_size = max(1, int(props.get("batch.size", "8192")))
        self.extractor = event_time_extractor(props)
        self.bad = malformed_policy(name, self.errors, self.on_warning, props)
        self.acked = 0
        self._redis: Any = None
        self._end_id: str | None = None
        self._stopped = False
        self._prefetched: list[list[Record]] | None = None
        self._delivered: deque[tuple[int, list[bytes]]] = deque()  # (last _offset, entry ids)
        self._orphans: list[bytes] = []  # malformed entries' ids, acknowledged with the next batch
        self._confirmed: list[bytes] = []  # processed, to acknowledge at the next checkpoint
        self._seen: dict[bytes, Any] = {}  # table mode: each key's last value read
        self._table_offset = 0
        self._ack_on_checkpoint = False
        self.role = "stream"  # or "table": the lookup side of a stream-table join

    def bind_job(self, job: Any) -> None:
        """Note whether the job reads this source as a stream or as a lookup table, and
        whether it checkpoints (then entries are acknowledged with each checkpoint)."""
        self.role = role_in(job, self)
        self._ack_on_checkpoint = getattr(job, "checkpointer", None) is not None

    async def open(self) -> None:
        """Connect; in a group, create the group if it is missing; note the end of a bounded
        read."""
        import redis

        self._redis = client(self.props)
        await ping(self.name, self.props, "redis_source", self._redis)
        if self.mode == "table":
            if self.role == "table":
                # Read the lookup table now: in a live run its rows are then in place before
                # the first stream record arrives (the job reads once all sources are open).
                self._prefetched = [b async for b in self._scan(True)]
            return
        try:
            if self.end is not None:
                info = await self._redis.xrevrange(self.stream, count=1)
                self._end_id = info[0][0].decode() if info else "0-0"
            if self.group:
                start = "0" if self.start == "earliest" else "$"
                if self.start not in ("earliest", "latest"):
                    start = self.start
                try:
                    await self._redis.xgroup_create(self.stream, self.group, start, mkstream=True)
                except redis.ResponseError as exc:
                    if "BUSYGROUP" not in str(exc):
                        raise
        except redis.RedisError as exc:
            await self.close()
            raise ConfigError(
                f"redis_source '{self.name}': stream '{self.stream}': {mask(str(exc), self.props)}",
                kind="property",
                token=f"{self.name}.stream",
            ) from None

    def stop(self) -> None:
        """Ask an unbounded source to end after its current read."""
        self._stopped = True

    async def close(self) -> None:
        """Close the connection."""
        if self._redis is not None:
            conn, self._redis = self._redis, None
            await close_quietly(conn)

    def batches(self) -> AsyncIterator[list[Record]]:
        """Record batches of the stream or of the table's keys."""
        return self._table() if self.mode == "table" else self._stream()

    # -- stream mode ---------------------------------------------------------------------

    async def _first_id(self) -> str:
        if self.resume_after is not None:
            return offset_entry(self.resume_after)
        if self.start == "earliest":
            return "0-0"
        if self.start == "latest":
            last = await self._redis.xrevrange(self.stream, count=1)
            return last[0][0].decode() if last else "0-0"
        return self.start

    async def _stream(self) -> AsyncIterator[list[Record]]:
        import redis

        r = self._redis
        last = await self._first_id() if not self.group else None
        pending = bool(self.group)  # a group member first re-reads what it never acknowledged
        pending_from = "0"
        end = self._end_id
        if end is not None and end == "0-0":
            return
        try:
            while not self._stopped:
                _raise_if_cancelled()
                if self.group:
                    block = None if pending or end is not None else self.block_ms
                    resp = await r.xreadgroup(
                        self.group,
                        self.consumer,
                        {self.stream: pending_from if pending else ">"},
                        count=self.batch_size,
                        block=block,
                    )
                else:
                    block = None if end is not None else self.block_ms
                    resp = await r.xread({self.stream: last}, count=self.batch_size, block=block)
                entries = resp[0][1] if resp else []
                if pending:
                    if not entries:
                        pending = False
                        continue
                    pending_from = entries[-1][0].decode()
                if not entries:
                    if end is not None:
                        return
                    continue
                done = False
                if end is not None:
                    keep = [e for e in entries if entry_offset(e[0]) <= entry_offset(end)]
                    done = len(keep) < len(entries) or (keep and keep[-1][0].decode() == end)
                    entries = keep
                if entries:
                    last = entries[-1][0].decode()
                    recs = self._decode(entries)
                    if self.group:
                        self._orphans.extend(e[0] for e in entries)
                        if recs:  # acknowledged when the job has the batch's output in its sinks
                            self._delivered.append((recs[-1]["_offset"], self._orphans))
                            self._orphans = []
                    if recs:
                        yield recs
                    await asyncio.sleep(0)
                if done:
                    return
        except redis.RedisError as exc:
            raise RuntimeError(
                f"redis_source '{self.name}': reading stream '{self.stream}' failed: "
                f"{mask(str(exc), self.props)}"
            ) from None

    async def ack(self, batch: Any) -> None:
        """The job has handed the output of `batch` to its sinks: XACK its entries (and the
        malformed ones read before it) in the consumer group."""
        if not self.group or not batch:
            return
        upto = batch[-1]["_offset"]
        ids: list[bytes] = []
        while self._delivered and self._delivered[0][0] <= upto:
            ids.extend(self._delivered.popleft()[1])
        if self._ack_on_checkpoint:
            self._confirmed.extend(ids)  # the state they changed is durable at the checkpoint
        else:
            await self._xack(ids)

    async def on_checkpoint(self) -> None:
        """A checkpoint holds the state and offsets: acknowledge what it covers."""
        ids, self._confirmed = self._confirmed, []
        await self._xack(ids)

    async def on_end(self, complete: bool) -> None:
        """The job ended and flushed its output: when it read its whole input, everything
        delivered is processed (a run merged by event time acknowledges here)."""
        if not self.group or not complete:
            return
        ids = self._confirmed + [i for _, b in self._delivered for i in b] + self._orphans
        self._delivered.clear()
        self._orphans = []
        self._confirmed = []
        await self._xack(ids)

    async def _xack(self, ids: list[bytes]) -> None:
        if ids and self._redis is not None:
            for start in range(0, len(ids), 10_000):
                chunk = ids[start : start + 10_000]
                await self._redis.xack(self.stream, self.group, *chunk)
            self.acked += len(ids)

    def _decode(self, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[Record]:
        """Entries as stamped records; malformed ones go to `on.error`."""
        recs: list[Record | None]
        errs: list[str | None]
        if self.encoding == "value":
            values: list[bytes] = []
            missing: dict[int, str] = {}
            for i, (_, fields) in enumerate(entries):
                v = fields.get(self.value_field)
                if v is None:
                    missing[i] = f"entry has no field '{self.value_field.decode()}'"
                    v = b"{}"
                values.append(v)
            recs, errs = self.codec.decode_many(values)
            for i, msg in missing.items():
                recs[i], errs[i] = None, msg
        else:
            recs, errs = [], []
            for _, fields in entries:
                try:
                    recs.append(decode_fields(fields))
                    errs.append(None)
                except UnicodeDecodeError as exc:
                    recs.append(None)
                    errs.append(f"field is not UTF-8 text: {exc}")
        out: list[Record] = []
        ext = self.extractor
        for (eid, fields), rec, err in zip(entries, recs, errs, strict=True):
            sid = eid.decode()
            if rec is None:
                self.bad(f"{self.stream}:{sid}", err or "malformed entry", _raw(fields))
                continue
            off = entry_offset(eid)
            ms = off >> 20
            if ext is not None:
                try:
                    et = ext(rec)
                except EventTimeError as exc:
                    self.bad(f"{self.stream}:{sid}", str(exc), _raw(fields))
                    continue
            else:
                et = ms
            rec["_event_time"] = et
            rec["_timestamp"] = ms
            rec["_offset"] = off
            rec["_partition"] = 0
            rec["_key"] = sid
            out.append(rec)
        return out

    # -- table mode ----------------------------------------------------------------------

    async def _table(self) -> AsyncIterator[list[Record]]:
        """The keys once; with `poll.interval`, then the keys whose value changed, rescanned
        every interval (a deleted key is not passed on)."""
        if self._prefetched is not None:
            async for b in replay_batches(self._prefetched):
                yield b
            self._prefetched = None
        else:
            async for b in self._scan(True):
                yield b
        if self.poll_ms is None:
            return
        while not self._stopped:
            _raise_if_cancelled()
            await asyncio.sleep(self.poll_ms / 1000)
            async for b in self._scan(False):
                yield b

    async def _scan(self, initial: bool) -> AsyncIterator[list[Record]]:
        import redis

        r = self._redis
        try:
            batch: list[bytes] = []
            async for key in r.scan_iter(match=self.key_pattern, count=1000):
                batch.append(key)
                if len(batch) >= min(self.batch_size, 1000):
                    recs = await self._read_keys(sorted(batch), initial)
                    batch = []
                    if recs:
                        yield recs
            if batch:
                recs = await self._read_keys(sorted(batch), initial)
                if recs:
                    yield recs
        except redis.RedisError as exc:
            raise RuntimeError(
                f"redis_source '{self.name}': reading keys '{self.key_pattern}' failed: "
                f"{mask(str(exc), self.props)}"
            ) from None

    async def _read_keys(self, keys: list[bytes], initial: bool) -> list[Record]:
        """One row per key (hash fields or a decoded string), stamped; after the first scan
        only keys whose value changed."""
        r = self._redis
        async with r.pipeline(transaction=False) as p:
            for k in keys:
                p.type(k)
            types = await p.execute()
        async with r.pipeline(transaction=False) as p:
            for k, t in zip(keys, types, strict=True):
                if t == b"hash":
                    p.hgetall(k)
                elif t == b"string":
                    p.get(k)
                else:
                    p.exists(k)
            values = await p.execute()
        ext = self.extractor
        out: list[Record] = []
        prefix = self.key_prefix
        for k, t, v in zip(keys, types, values, strict=True):
            if self.poll_ms is not None:
                if not initial and self._seen.get(k) == v:
                    continue
                self._seen[k] = v
            name = k.decode("utf-8", "replace")
            pos = f"{self.name}:key {name}"
            if t == b"hash":
                try:
                    rec = decode_fields(v)
                except UnicodeDecodeError as exc:
                    self.bad(pos, f"field is not UTF-8 text: {exc}", _raw(v))
                    continue
            elif t == b"string":
                recs, errs = self.codec.decode_many([v])
                if recs[0] is None:
                    self.bad(pos, errs[0] or "malformed value", v)
                    continue
                rec = recs[0]
            elif t == b"none":
                continue  # deleted since the scan
            else:
                self.bad(pos, f"key is a {t.decode()}, expected a hash or a JSON string", None)
                continue
            short = name[len(prefix) :] if prefix and name.startswith(prefix) else name
            rec = {self.key_column: infer_value(short), **rec}
            if ext is not None:
                try:
                    et = ext(rec)
                except EventTimeError as exc:
                    self.bad(pos, str(exc), _raw(v))
                    continue
            else:
                et = 0 if self.role == "table" and initial else now_ms()
            rec["_event_time"] = et
            rec["_timestamp"] = now_ms()
            rec["_offset"] = self._table_offset
            self._table_offset += 1
            rec["_partition"] = 0
            rec["_key"] = name
            out.append(rec)
        return out


def _raise_if_cancelled() -> None:
    """Re-raise a cancellation redis-py swallowed: a command cancelled mid-flight (the job
    stopping) can come back as an ordinary result, and the read loop would then wait forever
    in a task that is being cancelled."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _raw(fields: Any) -> str:
    """A malformed entry or key value as text for reports and dead letters."""
    if isinstance(fields, dict):
        return repr(
            {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in fields.items()}
        )
    if isinstance(fields, bytes):
        return fields.decode("utf-8", "replace")
    return repr(fields)
