"""Exactly-once output for `kafka_sink` (`'<sink>.transactional' = 'true'`), with
confluent-kafka's transactional producer: aiokafka's transactions fail against brokers that
need InitProducerId v3+ (Tansu 0.6, the test broker), librdkafka's work.

A transaction is opened by the first output of a batch. When the job reads a Kafka topic, the
source closes it once the batch is processed (`KafkaSource.ack`): for a query without state
(filters, projections) the consumer group's offsets of that batch go into the same
transaction, so output and input positions commit together, or neither does (exactly once for
readers with `isolation.level = read_committed`). For queries with state the transaction still
makes each batch's output atomic, but offsets follow the at-least-once rules (kafka_source.py):
the windows in memory are not part of a transaction. Without a Kafka source every batch of
output is its own transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from velostream.connectors.kafka_config import confluent_config
from velostream.errors import ConfigError


class TransactionalWriter:
    """One transactional producer per sink."""

    def __init__(self, sink: Any, job: Any) -> None:
        self.sink = sink
        self.topic = sink.topic
        props = sink.props
        job_name = getattr(job, "name", "adhoc")
        self.conf: dict[str, Any] = {
            **confluent_config(props),
            "transactional.id": props.get("transactional.id") or f"velo-{job_name}-{sink.name}",
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": int(props.get("linger.ms", "5")),
            "compression.type": props.get("compression.type", "none"),
        }
        # A Kafka source of the job closes the transactions (with its offsets); else each
        # write is one transaction.
        self.driven = any(
            getattr(s, "partitioned", False) for s in (getattr(job, "sources", None) or {}).values()
        )
        self.timeout_s = int(props.get("transaction.timeout.ms", "30000")) / 1000
        self.producer: Any = None
        self.in_txn = False
        self._metadata: dict[str, Any] = {}

    async def open(self) -> None:
        """Create the producer and register its transactional id with the broker."""
        from confluent_kafka import KafkaException, Producer

        self.producer = Producer(self.conf)
        try:
            await asyncio.to_thread(self.producer.init_transactions, self.timeout_s)
        except KafkaException as exc:
            self.producer = None
            raise ConfigError(
                f"'{self.sink.name}.transactional' = 'true': the broker at "
                f"'{self.conf['bootstrap.servers']}' did not start a Kafka transaction "
                f"({exc.args[0].str() if exc.args else exc}); it needs transactions "
                "(InitProducerId) support, or set transactional to false for at-least-once",
                kind="property",
                token=f"{self.sink.name}.transactional",
            ) from None

    async def write(self, messages: list[tuple[bytes | None, bytes, int | None]]) -> None:
        """Produce one batch inside the open transaction (opening one if needed)."""
        await self._begin()
        producer = self.producer
        for key, value, ts in messages:
            while True:
                try:
                    producer.produce(self.topic, value=value, key=key, timestamp=ts or 0)
                    break
                except BufferError:  # the local queue is full: let deliveries drain
                    await asyncio.to_thread(producer.poll, 0.05)
        producer.poll(0)
        if not self.driven:
            await self.commit()

    async def _begin(self) -> None:
        if self.producer is None:
            await self.open()
        if not self.in_txn:
            self.producer.begin_transaction()
            self.in_txn = True

    async def commit(
        self, offsets: dict[tuple[str, int], int] | None = None, group_id: str | None = None
    ) -> None:
        """Commit the open transaction, with the consumer group's next offsets when given."""
        from confluent_kafka import TopicPartition

        if offsets and group_id:
            await self._begin()
            parts = [TopicPartition(t, p, off) for (t, p), off in offsets.items()]
            await asyncio.to_thread(
                self.producer.send_offsets_to_transaction,
                parts,
                self._group_metadata(group_id),
                self.timeout_s,
            )
        if self.in_txn:
            await asyncio.to_thread(self.producer.commit_transaction, self.timeout_s)
            self.in_txn = False

    def _group_metadata(self, group_id: str) -> Any:
        """The group metadata librdkafka sends with the offsets (a consumer outside the group
        commits like a simple consumer)."""
        md = self._metadata.get(group_id)
        if md is None:
            from confluent_kafka import Consumer

            consumer = Consumer(
                {**confluent_config(self.sink.props), "group.id": group_id}
                | {"enable.auto.commit": False}
            )
            md = consumer.consumer_group_metadata()
            consumer.close()
            self._metadata[group_id] = md
        return md

    async def close(self) -> None:
        """Commit what is open and flush."""
        if self.producer is None:
            return
        if self.in_txn:
            await self.commit()
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self.producer.flush, self.timeout_s)
        self.producer = None
