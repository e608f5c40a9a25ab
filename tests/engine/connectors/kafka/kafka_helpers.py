"""Shared helpers of the Kafka tests."""

from __future__ import annotations

from typing import Any


def kafka_with(name: str, bootstrap: str, topic: str, **extra: str) -> str:
    """WITH entries for a bounded kafka_source read of the whole topic."""
    props = {
        "type": "kafka_source",
        "topic": topic,
        "bootstrap.servers": bootstrap,
        "auto.offset.reset": "earliest",
        "end": "latest-at-start",
        **{k.replace("_", "."): v for k, v in extra.items()},
    }
    return ", ".join(f"'{name}.{k}' = '{v}'" for k, v in props.items())


def sink_with(name: str, bootstrap: str, topic: str, **extra: str) -> str:
    """WITH entries for a kafka_sink."""
    props = {"type": "kafka_sink", "topic": topic, "bootstrap.servers": bootstrap, **extra}
    return ", ".join(f"'{name}.{k.replace('_', '.')}' = '{v}'" for k, v in props.items())


def rows_of(messages: list[Any]) -> list[dict]:
    """The JSON values of consumed messages."""
    import orjson

    return [orjson.loads(m.value) for m in messages]


def read_committed(bootstrap: str, topic: str, group: str = "reader") -> list[Any]:
    """Every committed message of partition 0 of `topic`, read a second way: librdkafka's
    consumer with read_committed (aiokafka is what the source under test uses)."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        out, idle = [], 0
        while idle < 3:
            msgs = c.consume(1000, 0.5)
            idle = 0 if msgs else idle + 1
            out += [m for m in msgs if not m.error()]
        return out
    finally:
        c.close()
