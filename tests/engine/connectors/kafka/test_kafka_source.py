"""kafka_source against a real broker: bounded reads, system columns, event time, headers,
keys, start positions and malformed messages."""

from __future__ import annotations

import duckdb
import pytest
from kafka_helpers import kafka_with
from services.kafka import consume_all, create_topic, produce

from velostream import Engine
from velostream.errors import RecordError, SqlError


def _trades(n: int, partitions: int) -> list[dict]:
    """n messages spread over partitions, with increasing message timestamps."""
    return [
        {
            "value": {"sym": "ABCD"[i % 4], "qty": i % 7 + 1, "price": f"{10 + i % 5}.25"},
            "partition": i % partitions,
            "timestamp": 1_700_000_000_000 + 250 * i,
            "key": f"k{i % 4}",
        }
        for i in range(n)
    ]


def test_bounded_read_has_every_message_and_its_system_columns(kafka_broker, topic):
    create_topic(kafka_broker, topic, 3)
    msgs = _trades(60, 3)
    produce(kafka_broker, topic, msgs)
    rows = Engine().query(
        "SELECT sym, qty, price, _partition, _offset, _key, _timestamp, _event_time "
        f"FROM trades WITH ({kafka_with('trades', kafka_broker, topic)})"
    )
    assert len(rows) == 60
    # Within a partition, offsets count the messages produced to it, in order.
    expected = []
    for p in range(3):
        mine = [m for m in msgs if m["partition"] == p]
        for off, m in enumerate(mine):
            expected.append(
                (p, off, m["value"]["sym"], m["value"]["qty"], m["key"], m["timestamp"])
            )
    got = sorted(
        (r["_partition"], r["_offset"], r["sym"], r["qty"], r["_key"], r["_timestamp"])
        for r in rows
    )
    assert got == expected
    assert all(r["_event_time"] == r["_timestamp"] for r in rows)
    assert {str(r["price"]) for r in rows} == {"10.25", "11.25", "12.25", "13.25", "14.25"}


def test_windows_on_message_timestamps_match_duckdb(kafka_broker, topic):
    create_topic(kafka_broker, topic, 2)
    msgs = _trades(400, 2)
    produce(kafka_broker, topic, msgs)
    rows = Engine().query(
        "SELECT sym, COUNT(*) AS n, SUM(qty) AS q, _window_start AS ws FROM trades "
        "GROUP BY sym WINDOW TUMBLING(10s) "
        f"WITH ({kafka_with('trades', kafka_broker, topic)}, "
        "'watermark.max_out_of_orderness' = '10m')"
    )
    con = duckdb.connect()
    con.execute("CREATE TABLE t (sym VARCHAR, qty BIGINT, ts BIGINT)")
    con.executemany(
        "INSERT INTO t VALUES (?, ?, ?)",
        [(m["value"]["sym"], m["value"]["qty"], m["timestamp"]) for m in msgs],
    )
    want = con.execute(
        "SELECT sym, COUNT(*), SUM(qty), ts // 10000 * 10000 FROM t GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert sorted((r["sym"], r["n"], r["q"], r["ws"]) for r in rows) == want


def test_event_time_field_header_and_key_field(kafka_broker, topic):
    create_topic(kafka_broker, topic, 1)
    produce(
        kafka_broker,
        topic,
        [
            {"value": {"id": 1, "ts": 5000}, "key": "a", "headers": [("trace", b"t-1")]},
            {"value": {"id": 2, "ts": 7000}, "key": "b"},
            {"value": {"id": 3, "ts": 9000}, "headers": [("trace", b"t-3"), ("x", b"y")]},
        ],
    )
    rows = Engine().query(
        "SELECT id, user_key, HEADER('trace') AS trace, HEADER('nope') AS nope, _event_time "
        f"FROM ev WITH ({kafka_with('ev', kafka_broker, topic)}, "
        "'ev.event.time.field' = 'ts', 'ev.key.field' = 'user_key')"
    )
    assert rows == [
        {"id": 1, "user_key": "a", "trace": "t-1", "nope": None, "_event_time": 5000},
        {"id": 2, "user_key": "b", "trace": None, "nope": None, "_event_time": 7000},
        {"id": 3, "user_key": None, "trace": "t-3", "nope": None, "_event_time": 9000},
    ]


def test_explicit_end_offsets_and_timestamp_start(kafka_broker, topic):
    create_topic(kafka_broker, topic, 2)
    msgs = [{"value": {"i": i}, "partition": i % 2, "timestamp": 1000 * i} for i in range(20)]
    produce(kafka_broker, topic, msgs)
    # Partition 0 holds i = 0, 2, 4, ... at offsets 0, 1, 2, ...; partition 1 holds the odd i.
    rows = Engine().query(
        f"SELECT i FROM s WITH ({kafka_with('s', kafka_broker, topic, end='0:3,1:2')})"
    )
    assert sorted(r["i"] for r in rows) == [0, 1, 2, 3, 4]
    rows = Engine().query(  # partition 1 is not named: read to its end at the start
        f"SELECT i FROM s WITH ({kafka_with('s', kafka_broker, topic, end='0:2')})"
    )
    assert sorted(r["i"] for r in rows) == sorted([0, 2, *range(1, 20, 2)])
    rows = Engine().query(
        f"SELECT i FROM s WITH ({kafka_with('s', kafka_broker, topic, auto_offset_reset='12000')})"
    )
    assert sorted(r["i"] for r in rows) == list(range(12, 20))
    rows = Engine().query(
        f"SELECT i FROM s WITH ({kafka_with('s', kafka_broker, topic, auto_offset_reset='latest')})"
    )
    assert rows == []
    rows = Engine().query(
        f"SELECT i FROM s WITH ({kafka_with('s', kafka_broker, topic)}, 's.partitions' = '1')"
    )
    assert sorted(r["i"] for r in rows) == list(range(1, 20, 2))


def _with_bad(kafka_broker: str, topic: str) -> None:
    create_topic(kafka_broker, topic, 1)
    produce(
        kafka_broker,
        topic,
        [
            {"value": {"n": 1}},
            {"value": b"{not json", "key": "bad-key", "headers": [("h", b"1")]},
            {"value": {"n": 2}},
            {"value": b"[1, 2]"},
            {"value": {"n": 3}},
        ],
    )


def test_malformed_messages_are_counted_reported_and_skipped(kafka_broker, topic):
    _with_bad(kafka_broker, topic)
    warnings: list[str] = []
    eng = Engine(on_warning=warnings.append)
    rows = eng.query(f"SELECT n FROM s WITH ({kafka_with('s', kafka_broker, topic)})")
    assert [r["n"] for r in rows] == [1, 2, 3]
    reports = [w for w in warnings if "source s:" in w]
    assert len(reports) == 2
    assert f"{topic}/0@1: invalid JSON" in reports[0]
    assert f"{topic}/0@3: expected a JSON object" in reports[1]


def test_malformed_message_fails_the_job_with_its_position(kafka_broker, topic):
    _with_bad(kafka_broker, topic)
    with pytest.raises(RecordError) as info:
        Engine().query(
            f"SELECT n FROM s WITH ({kafka_with('s', kafka_broker, topic)}, 's.on.error' = 'fail')"
        )
    assert info.value.position == f"{topic}/0@1"


def test_malformed_messages_go_to_a_dead_letter_topic(kafka_broker, topic):
    _with_bad(kafka_broker, topic)
    dlq = topic + "-dlq"
    create_topic(kafka_broker, dlq, 1)
    rows = Engine().query(
        f"SELECT n FROM s WITH ({kafka_with('s', kafka_broker, topic)}, "
        f"'s.on.error' = 'dead_letter', 's.dead.letter.topic' = '{dlq}')"
    )
    assert [r["n"] for r in rows] == [1, 2, 3]
    dead = consume_all(kafka_broker, dlq)
    assert [m.value for m in dead] == [b"{not json", b"[1, 2]"]
    assert dead[0].key == b"bad-key"
    h0 = dict(dead[0].headers)
    assert h0["h"] == b"1" and h0["velo.position"] == f"{topic}/0@1".encode()
    assert h0["velo.error"].startswith(b"invalid JSON")


def test_bad_properties_name_the_key():
    with pytest.raises(SqlError, match=r"'s.auto.offset.reset'"):
        Engine().query(
            "SELECT * FROM s WITH ('s.type' = 'kafka_source', 's.auto.offset.reset' = 'soon')"
        )
    with pytest.raises(
        SqlError, match=r"unknown property 's\.grup\.id'.*did you mean 's\.group\.id'"
    ):
        Engine().query("SELECT * FROM s WITH ('s.type' = 'kafka_source', 's.grup.id' = 'g')")
    with pytest.raises(SqlError, match=r"'s.dead.letter.path'"):
        Engine().query(
            "SELECT * FROM s WITH ('s.type' = 'kafka_source', 's.on.error' = 'dead_letter')"
        )


def test_missing_topic_and_unreachable_broker_are_clear_errors(kafka_broker):
    from services.kafka import free_port

    with pytest.raises(SqlError, match=r"topic 'no-such-topic' does not exist"):
        Engine().query(f"SELECT * FROM s WITH ({kafka_with('s', kafka_broker, 'no-such-topic')})")
    with pytest.raises(SqlError, match=r"cannot reach '127.0.0.1:"):
        Engine().query(f"SELECT * FROM s WITH ({kafka_with('s', f'127.0.0.1:{free_port()}', 'x')})")


def test_default_brokers_come_from_the_environment(kafka_broker, topic, monkeypatch):
    create_topic(kafka_broker, topic, 1)
    produce(kafka_broker, topic, [{"value": {"v": 7}}])
    monkeypatch.setenv("VELOSTREAM_KAFKA_BROKERS", kafka_broker)
    rows = Engine().query(
        f"SELECT v FROM s WITH ('s.type' = 'kafka_source', 's.topic' = '{topic}', "
        "'s.auto.offset.reset' = 'earliest', 's.end' = 'latest-at-start')"
    )
    assert rows == [{"v": 7}]


def test_a_live_select_reads_new_messages_without_joining_a_group(kafka_broker, topic):
    import asyncio

    from services.kafka import produce_async

    create_topic(kafka_broker, topic, 2)
    produce(kafka_broker, topic, [{"value": {"n": 1}, "partition": 0}])

    async def run() -> list[int]:
        eng = Engine()
        seen: list[int] = []
        sql = (
            f"SELECT n FROM s WITH ('s.type' = 'kafka_source', 's.topic' = '{topic}', "
            f"'s.bootstrap.servers' = '{kafka_broker}', 's.auto.offset.reset' = 'earliest')"
        )
        async for rows in eng.stream(sql):
            seen += [r["n"] for r in rows]
            if seen == [1]:  # the old message first, then what arrives while it runs
                await produce_async(kafka_broker, topic, [{"value": {"n": 2}, "partition": 1}])
            if len(seen) == 2:
                break
        return seen

    assert asyncio.run(asyncio.wait_for(run(), 60)) == [1, 2]
