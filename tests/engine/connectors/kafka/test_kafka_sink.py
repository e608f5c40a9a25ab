"""kafka_sink against a real broker: values, message keys from PRIMARY KEY / GROUP BY /
key.field, producer settings, and a Kafka-to-Kafka pipeline."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest
from kafka_helpers import kafka_with, sink_with
from services.kafka import consume_all, create_topic, produce

from velostream import Engine
from velostream.errors import SqlError


def _orders(n: int) -> list[dict]:
    return [
        {
            "value": {"id": i, "cust": f"c{i % 3}", "amount": f"{i}.50", "ts": 1000 * i},
            "timestamp": 1000 * i,
        }
        for i in range(n)
    ]


def test_group_by_columns_become_the_message_key(kafka_broker, topic):
    create_topic(kafka_broker, topic, 1)
    out = topic + "-out"
    create_topic(kafka_broker, out, 3)
    produce(kafka_broker, topic, _orders(30))
    Engine().execute(
        "CREATE STREAM totals AS SELECT cust, COUNT(*) AS n, SUM(amount) AS total "
        "FROM orders GROUP BY cust EMIT FINAL "
        f"WITH ({kafka_with('orders', kafka_broker, topic)}, "
        f"{sink_with('totals', kafka_broker, out)})"
    )
    msgs = consume_all(kafka_broker, out)
    got = {m.key: orjson.loads(m.value) for m in msgs}
    # c0 holds ids 0, 3, ..., 27: ten orders, sum of i + 0.5 each.
    want = {}
    for c in range(3):
        ids = [i for i in range(30) if i % 3 == c]
        want[f"c{c}".encode()] = {
            "cust": f"c{c}",
            "n": len(ids),
            "total": f"{sum(ids) + len(ids) // 2}.{'50' if len(ids) % 2 else '00'}",
        }
    assert got == want
    # The same key always lands in the same partition (the default partitioner's choice).
    by_key = {m.key: m.partition for m in msgs}
    assert len(msgs) == 3 and len(set(by_key.values())) >= 1


def test_primary_key_and_key_field_pick_the_key(kafka_broker, topic):
    create_topic(kafka_broker, topic, 1)
    produce(kafka_broker, topic, _orders(4))
    for clause, key_field, want in (
        ("id PRIMARY KEY, cust", None, [b"0", b"1", b"2", b"3"]),
        ("id, cust", "cust", [b"c0", b"c1", b"c2", b"c0"]),
        ("id, cust", None, [None, None, None, None]),
    ):
        out = f"{topic}-{len(clause)}-{key_field}"
        create_topic(kafka_broker, out, 1)
        extra = {"key_field": key_field} if key_field else {}
        Engine().execute(
            f"CREATE STREAM o AS SELECT {clause} FROM orders "
            f"WITH ({kafka_with('orders', kafka_broker, topic)}, "
            f"{sink_with('o', kafka_broker, out, **extra)})"
        )
        msgs = consume_all(kafka_broker, out)
        assert [m.key for m in msgs] == want
        assert [orjson.loads(m.value) for m in msgs] == [
            {"id": i, "cust": f"c{i % 3}"} for i in range(4)
        ]


def test_several_key_columns_make_a_json_array_key(kafka_broker, topic):
    create_topic(kafka_broker, topic, 1)
    produce(kafka_broker, topic, _orders(6))
    out = topic + "-out"
    create_topic(kafka_broker, out, 2)
    Engine().execute(
        "CREATE STREAM o AS SELECT cust, id % 2 AS parity, COUNT(*) AS n FROM orders "
        "GROUP BY cust, parity EMIT FINAL "
        f"WITH ({kafka_with('orders', kafka_broker, topic)}, {sink_with('o', kafka_broker, out)})"
    )
    msgs = consume_all(kafka_broker, out)
    keys = Counter(m.key for m in msgs)
    # ids 0..5: (c0,0):0  (c1,1):1  (c2,0):2  (c0,1):3  (c1,0):4  (c2,1):5
    assert keys == Counter(
        orjson.dumps([c, p])
        for c, p in [("c0", 0), ("c1", 1), ("c2", 0), ("c0", 1), ("c1", 0), ("c2", 1)]
    )


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_producer_settings_are_applied(kafka_broker, topic, compression):
    create_topic(kafka_broker, topic, 1)
    produce(kafka_broker, topic, _orders(50))
    out = f"{topic}-out"
    Engine().execute(
        "CREATE STREAM o AS SELECT id FROM orders WHERE id >= 40 "
        f"WITH ({kafka_with('orders', kafka_broker, topic)}, "
        f"{sink_with('o', kafka_broker, out, acks='all', compression_type=compression, linger_ms='0', partitions='2')})"
    )
    msgs = consume_all(kafka_broker, out)
    assert sorted(orjson.loads(m.value)["id"] for m in msgs) == list(range(40, 50))
    assert {m.partition for m in msgs} == {0, 1}  # keyless rows are spread over partitions


def test_bad_sink_properties_name_the_key():
    with pytest.raises(SqlError, match=r"'o.compression.type'"):
        Engine().execute(
            "CREATE STREAM o AS SELECT * FROM s WITH ('s.type' = 'memory', "
            "'o.type' = 'kafka_sink', 'o.compression.type' = 'brotli')"
        )
    with pytest.raises(SqlError, match=r"'o.linger.ms'"):
        Engine().execute(
            "CREATE STREAM o AS SELECT * FROM s WITH ('s.type' = 'memory', "
            "'o.type' = 'kafka_sink', 'o.linger.ms' = 'soon')"
        )


def test_json_values_of_a_batch_equal_one_encoding_per_row():
    from decimal import Decimal

    from velostream.connectors.kafka_sink import KafkaSink

    sink = KafkaSink("o", {"topic": "o"})
    sink.columns = ["a", "b", "c"]
    tricky = ["plain", "x},{y", "}", "{", "é ü", None]
    nested = [[{"q": 1}, {"q": 2}], {"m": {"n": 1}}]
    for extra in (tricky, nested, ["s"]):
        rows = [
            {"a": i, "b": Decimal("1.50"), "c": extra[i % len(extra)], "_event_time": i}
            for i in range(40)
        ]
        values = [v for _, v, _ in sink.encode(rows)]
        # by hand: each row alone, system columns left out
        want = [orjson.dumps({"a": r["a"], "b": "1.50", "c": r["c"]}) for r in rows]
        assert values == want


@pytest.mark.parametrize("partitions", [1, 3])
def test_a_write_larger_than_a_producer_batch_keeps_every_message(kafka_broker, topic, partitions):
    # 3000 keyed rows in one write; batch.size = 4096 bytes splits them into dozens of
    # producer batches per partition.
    create_topic(kafka_broker, topic, 1)
    msgs = [
        {"value": {"id": i, "cust": f"c{i % 7}"}, "timestamp": 1_000_000 + i} for i in range(3000)
    ]
    produce(kafka_broker, topic, msgs)
    out = f"{topic}-out"
    create_topic(kafka_broker, out, partitions)
    Engine().execute(
        "CREATE STREAM o AS SELECT id, cust, _event_time FROM orders "
        f"WITH ({kafka_with('orders', kafka_broker, topic, fetch_max_records='5000')}, "
        f"{sink_with('o', kafka_broker, out, batch_size='4096', key_field='cust')})"
    )
    got = consume_all(kafka_broker, out)
    assert sorted((m.key, orjson.loads(m.value)["id"], m.timestamp) for m in got) == sorted(
        (f"c{i % 7}".encode(), i, 1_000_000 + i) for i in range(3000)
    )
    from aiokafka.partitioner import murmur2

    # Each key on the partition Kafka's default partitioner gives it (murmur2, positive).
    assert all(m.partition == (murmur2(m.key) & 0x7FFFFFFF) % partitions for m in got)
    # Within a partition, the rows keep their order.
    for p in range(partitions):
        ids = [orjson.loads(m.value)["id"] for m in got if m.partition == p]
        assert ids == sorted(ids)
