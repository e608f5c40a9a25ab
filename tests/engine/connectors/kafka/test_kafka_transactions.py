"""'<sink>.transactional' = 'true': output and the consumer group's offsets commit in one Kafka
transaction (confluent-kafka's producer; aiokafka's transactions fail against Tansu)."""

from __future__ import annotations

import orjson
import pytest
from kafka_helpers import kafka_with, read_committed, sink_with
from services.kafka import create_topic, free_port, produce
from test_kafka_delivery import _committed

from velostream import Engine
from velostream.errors import SqlError


def _read_committed(bootstrap: str, topic: str) -> list[dict]:
    """The JSON values of every committed message of a one-partition topic."""
    return [orjson.loads(m.value()) for m in read_committed(bootstrap, topic)]


def test_output_and_offsets_commit_together(kafka_broker, topic):
    create_topic(kafka_broker, topic, 1)
    out = topic + "-out"
    create_topic(kafka_broker, out, 1)
    produce(kafka_broker, topic, [{"value": {"i": i}} for i in range(300)])
    group = "g-" + topic
    sql = (
        "CREATE STREAM odd AS SELECT i FROM nums WHERE i % 2 = 1 "
        f"WITH ({kafka_with('nums', kafka_broker, topic, group_id=group)}, "
        "'nums.fetch.max.records' = '50', "
        f"{sink_with('odd', kafka_broker, out, transactional='true')})"
    )
    Engine().execute(sql)
    assert [r["i"] for r in _read_committed(kafka_broker, out)] == list(range(1, 300, 2))
    assert _committed(kafka_broker, topic, group, 1) == {0: 300}  # through the transactions
    produce(kafka_broker, topic, [{"value": {"i": 301}}, {"value": {"i": 302}}])
    Engine().execute(sql)  # only the new messages: the offsets were committed
    assert [r["i"] for r in _read_committed(kafka_broker, out)] == [*range(1, 300, 2), 301]
    assert _committed(kafka_broker, topic, group, 1) == {0: 302}


def test_a_broker_without_transactions_is_a_clear_error(kafka_broker, topic):
    create_topic(kafka_broker, topic, 1)
    produce(kafka_broker, topic, [{"value": {"i": 1}}])
    dead = f"127.0.0.1:{free_port()}"
    with pytest.raises(SqlError, match=r"'odd\.transactional' = 'true'"):
        Engine().execute(
            "CREATE STREAM odd AS SELECT i FROM nums "
            f"WITH ({kafka_with('nums', kafka_broker, topic)}, "
            f"{sink_with('odd', dead, 'x', transactional='true', transaction_timeout_ms='1000')})"
        )
