"""`kafka_sink`: output rows as messages of a topic (aiokafka), keyed by the query's key.

The message key is `key.field` when given, else the `PRIMARY KEY` columns, else the GROUP BY
columns (one column: its value as text; several: a JSON array of their values); otherwise
messages have no key. The message timestamp is the row's `_event_time` when the query selects
it, else the time of writing. `write` returns once the broker has acknowledged every message of the batch
(with `acks` = 0, once they are sent), so the job may then commit its source offsets.

`'<sink>.transactional' = 'true'` writes through confluent-kafka's transactional producer
(kafka_transactions.py): each batch of output and the offsets of the input records it covers
commit together.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from typing import Any

import orjson

from velostream.connectors.base import SYSTEM_COLUMNS, Record, Sink
from velostream.connectors.common import parse_bool
from velostream.connectors.kafka_config import brokers_of, security_kwargs, topic_of
from velostream.errors import ConfigError
from velostream.formats.codecs import JsonCodec, value_codec
from velostream.formats.json import dumps_row, shape_row, to_json_value

_SYSTEM = frozenset(SYSTEM_COLUMNS)


def key_columns(plan: Any, key_field: str | None) -> list[str]:
    """The output columns whose values make the message key: `key.field`, else PRIMARY KEY,
    else the GROUP BY columns that are selected (by output name)."""
    if key_field:
        return [key_field]
    if plan is None:
        return []
    if plan.primary_key:
        return list(plan.primary_key)
    if plan.group_by:
        from velostream.runtime.compile import key_sql

        keys = {key_sql(g) for g in plan.group_by}
        return [n for n, e in plan.items if n != "*" and key_sql(e) in keys]
    return []


def key_encoder(columns: list[str]) -> Callable[[Record], bytes | None]:
    """Row -> message key bytes (None when the query has no key)."""
    if not columns:
        return lambda row: None
    if len(columns) == 1:
        col = columns[0]

        def one(row: Record) -> bytes | None:
            v = row.get(col)
            if v is None:
                return None
            if isinstance(v, str):
                return v.encode()
            if isinstance(v, bytes):
                return v
            if isinstance(v, bool):
                return b"true" if v else b"false"
            return str(to_json_value(v)).encode()

        return one

    def many(row: Record) -> bytes | None:
        return orjson.dumps([to_json_value(row.get(c)) for c in columns])

    return many


class KafkaSink(Sink):
    """Produces every output row to `topic`."""

    def __init__(self, name: str, props: dict[str, str]) -> None:
        super().__init__(name, props)
        self.topic = topic_of(name, props)
        self.brokers = brokers_of(props)
        self.codec = value_codec(props)
        self.json = isinstance(self.codec, JsonCodec)
        self.key_field = props.get("key.field")
        self.acks: Any = props.get("acks", "1").lower()
        self.acks = "all" if self.acks in ("all", "-1") else int(self.acks)
        self.compression = props.get("compression.type", "none").lower()
        self.linger_ms = int(props.get("linger.ms", "5"))
        self.batch_bytes = int(props.get("batch.size", "262144"))
        self.partitions = int(props["partitions"]) if props.get("partitions") else None
        self.transactional = parse_bool(props.get("transactional", "false"))
        self.columns: list[str] = []
        self.key_of: Callable[[Record], bytes | None] = key_encoder(
            [self.key_field] if self.key_field else []
        )
        self.job: Any = None
        self.producer: Any = None
        self.txn: Any = None  # kafka_transactions.TransactionalWriter when transactional
        self.rows_written = 0
        self._n_partitions: int | None = None

    def bind_job(self, job: Any) -> None:
        """Take the message key from the query's PRIMARY KEY / GROUP BY."""
        self.job = job
        self.key_of = key_encoder(key_columns(job.plan, self.key_field))

    async def open(self, columns: list[str]) -> None:
        """Start the producer (and create the topic when `partitions` is given)."""
        self.columns = list(columns)
        if self.transactional:
            from velostream.connectors.kafka_transactions import TransactionalWriter

            self.txn = TransactionalWriter(self, self.job)
            await self.txn.open()
            return
        from aiokafka import AIOKafkaProducer

        if self.partitions:
            await ensure_topic(self.brokers, self.topic, self.partitions, self.props)
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.brokers,
            "acks": self.acks,
            "linger_ms": self.linger_ms,
            "max_batch_size": self.batch_bytes,
            "compression_type": None if self.compression == "none" else self.compression,
            **security_kwargs(self.props),
        }
        if self.props.get("client.id"):
            kwargs["client_id"] = self.props["client.id"]
        if self.props.get("enable.idempotence"):
            kwargs["enable_idempotence"] = parse_bool(self.props["enable.idempotence"])
        self.producer = AIOKafkaProducer(**kwargs)
        try:
            await self.producer.start()
        except Exception as exc:
            with contextlib.suppress(Exception):
                await self.producer.stop()
            self.producer = None
            raise ConfigError(
                f"kafka sink '{self.name}': cannot reach '{self.brokers}': {exc}",
                kind="property",
                token=f"{self.name}.bootstrap.servers",
            ) from None

    def encode(self, rows: list[Record]) -> list[tuple[bytes | None, bytes, int | None]]:
        """(key, value, timestamp) of each row's message."""
        cols = self.columns
        encode = self.codec.encode
        key_of = self.key_of
        out = []
        system = _SYSTEM.difference(cols)  # system columns not selected: not in the value
        shaped_rows = []
        n = len(cols)
        for r in rows:
            if n and len(r) == n and list(r) == cols:
                shaped_rows.append(r)  # the columns in order (none of `system`): as it is
                continue
            shaped = shape_row(r, cols) if cols else r
            if not system.isdisjoint(shaped):
                shaped = {k: v for k, v in shaped.items() if k not in system}
            shaped_rows.append(shaped)
        values = self._json_values(shaped_rows) if self.json else None
        if values is None:
            values = [encode(r) for r in shaped_rows]
        keys = list(map(key_of, rows))
        stamps = [r.get("_event_time") for r in rows]
        if any(ts.__class__ is not int for ts in stamps):
            stamps = [ts if ts.__class__ is int else None for ts in stamps]
        out.extend(zip(keys, values, stamps, strict=True))
        return out

    @staticmethod
    def _json_values(rows: list[Record]) -> list[bytes] | None:
        """JSON values of many rows from one orjson call (one value each costs several
        times more: orjson over-allocates every output), split where one object ends and
        the next begins; None when a `},{` inside a value makes the split ambiguous."""
        if len(rows) < 16:
            return None
        big = dumps_row(rows)  # type: ignore[arg-type]
        parts = big[2:-2].split(b"},{")
        if len(parts) != len(rows) or not big.startswith(b"[{"):
            return None
        return [b"{%b}" % p for p in parts]

    async def write(self, rows: list[Record]) -> None:
        """Produce one batch; returns when the broker has acknowledged all of it."""
        if not rows:
            return
        if not self.columns:
            self.columns = [k for k in rows[0] if not k.startswith("_")] or list(rows[0])
        if self.producer is None and self.txn is None:
            await self.open(self.columns)
        messages = self.encode(rows)
        if self.txn is not None:
            await self.txn.write(messages)
        else:
            await produce_batch(self.producer, self.topic, messages)
        self.rows_written += len(rows)

    async def commit_transaction(
        self, offsets: dict[tuple[str, int], int], group_id: str | None
    ) -> None:
        """Transactional sinks: commit the open transaction, with these consumer offsets."""
        if not self.transactional:
            return
        if self.txn is None:
            from velostream.connectors.kafka_transactions import TransactionalWriter

            self.txn = TransactionalWriter(self, self.job)
            await self.txn.open()
        await self.txn.commit(offsets or None, group_id)

    async def close(self) -> None:
        """Flush and stop the producer."""
        if self.txn is not None:
            await self.txn.close()
            self.txn = None
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.flush()
            with contextlib.suppress(Exception):
                await self.producer.stop()
            self.producer = None


async def produce_batch(
    producer: Any, topic: str, messages: list[tuple[bytes | None, bytes, int | None]]
) -> None:
    """Send messages (key, value, timestamp) and wait for every acknowledgement. Keyed
    messages go to the partition the default partitioner picks; batches are built per
    partition (much faster than one `send` per message)."""
    parts = await producer.partitions_for(topic)
    n = len(parts)
    by_part: dict[int, list[tuple[bytes | None, bytes, int | None]]] = {}
    if n == 1:
        by_part[next(iter(parts))] = messages
    else:
        rr = 0
        for m in messages:
            key = m[0]
            if key is None:
                p = rr % n  # keyless: spread round robin
                rr += 1
            else:
                p = _key_hash(key) % n
            by_part.setdefault(p, []).append(m)
    futures = []
    for p, msgs in by_part.items():
        for batch in _batches(producer, msgs):
            futures.append(await producer.send_batch(batch, topic, partition=p))
    if futures:
        await asyncio.gather(*futures)


def _batches(producer: Any, msgs: list[tuple[bytes | None, bytes, int | None]]) -> list[Any]:
    """The messages as closed producer batches (BatchBuilder), each up to the batch size (a
    message larger than that gets a batch of its own, as aiokafka does)."""
    out = []
    batch = producer.create_batch()
    if not _plain_builder(batch):
        for key, value, ts in msgs:
            if batch.append(key=key, value=value, timestamp=ts) is None:
                out.append(batch)
                batch = producer.create_batch()
                if batch.append(key=key, value=value, timestamp=ts) is None:
                    raise ValueError(f"a message of {len(value)} bytes exceeds batch.size")
        batch.close()
        out.append(batch)
        return out
    # aiokafka 0.14's BatchBuilder.append is a Python wrapper (serializers, of which our
    # producers have none) around the Cython record builder: appending to the builder itself
    # costs half as much. The wrapper's count of records is set when the batch is full.
    append, i = batch._builder.append, 0
    no_headers: list[Any] = []
    for key, value, ts in msgs:
        if append(i, ts, key, value, no_headers) is None:  # full (never the first record)
            batch._relative_offset = i
            batch.close()
            out.append(batch)
            batch = producer.create_batch()
            append, i = batch._builder.append, 0
            if append(i, ts, key, value, no_headers) is None:
                raise ValueError(f"a message of {len(value)} bytes exceeds batch.size")
        i += 1
    batch._relative_offset = i
    batch.close()
    out.append(batch)
    return out


def _plain_builder(batch: Any) -> bool:
    """True for aiokafka 0.14's BatchBuilder without serializers, around the Cython builder."""
    return (
        getattr(batch, "_relative_offset", None) == 0
        and getattr(batch, "_key_serializer", 1) is None
        and getattr(batch, "_value_serializer", 1) is None
        and type(getattr(batch, "_builder", None)).__name__ == "DefaultRecordBatchBuilder"
    )


def partition_of(key: bytes | None, n: int) -> int | None:
    """The partition Kafka's default partitioner gives a key (None: the producer picks)."""
    return None if key is None else _key_hash(key) % n


@functools.lru_cache(maxsize=65536)
def _key_hash(key: bytes) -> int:
    """Kafka's default partitioner hash (murmur2, positive), cached: keys repeat."""
    from aiokafka.partitioner import murmur2

    return murmur2(key) & 0x7FFFFFFF


async def ensure_topic(brokers: str, topic: str, partitions: int, props: dict[str, str]) -> None:
    """Create `topic` with `partitions` partitions unless it exists."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=brokers, **security_kwargs(props))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, partitions, 1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()
