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
