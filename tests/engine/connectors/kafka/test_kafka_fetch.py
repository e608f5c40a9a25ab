"""kafka_source's bulk path (a fetch's JSON values to one DataFrame) against a real broker:
compressed record batches, headers among many messages, a read that starts inside a batch,
offset gaps left by transaction markers, a slice that spans partitions. Each
aggregate is checked against sums worked out here from the produced messages, and a spy on
`KafkaSource._frame` checks which path decoded the fetches."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import orjson
import pytest
from kafka_helpers import kafka_with, read_committed
from services.kafka import consume_all, create_topic, produce

from velostream import Engine
from velostream.connectors.kafka_source import KafkaSource
from velostream.errors import RecordError

T0 = 1_700_000_000_000  # message timestamps: T0 + 10 ms * i (one 1-hour window)
HOUR = 3_600_000

AGG = (
    "SELECT sym, COUNT(*) AS n, SUM(qty) AS q, _window_start AS ws FROM ev "
    "GROUP BY sym WINDOW TUMBLING(1h) WITH ({with_}, 'watermark.max_out_of_orderness' = '1h')"
)


def _value(i: int) -> dict:
    return {"sym": "ABCDE"[i % 5], "qty": i % 7 + 1, "note": f"n{i}"}


def _expected(values: list[dict], timestamps: list[int]) -> list[tuple]:
    """(sym, count, sum of qty, window start) per symbol, sorted: worked out directly."""
    n: dict[str, int] = defaultdict(int)
    q: dict[str, int] = defaultdict(int)
    for v in values:
        n[v["sym"]] += 1
        q[v["sym"]] += v["qty"]
    starts = {t // HOUR * HOUR for t in timestamps}
    assert len(starts) == 1  # the messages were chosen to fall into one window
    ws = starts.pop()
    return sorted((s, n[s], q[s], ws) for s in n)


def _agg(rows: list[dict]) -> list[tuple]:
    return sorted((r["sym"], r["n"], r["q"], r["ws"]) for r in rows)


async def _produce_batches_async(
    bootstrap: str, topic: str, batches: list[list[tuple]], compression: str | None = None
) -> None:
    """Each inner list as one record batch on partition 0: (value, timestamp, headers)."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, compression_type=compression, max_batch_size=4 << 20
    )
    await producer.start()
    try:
        for msgs in batches:
            batch = producer.create_batch()
            for value, ts, headers in msgs:
                assert batch.append(key=None, value=value, timestamp=ts, headers=headers)
            batch.close()
            await (await producer.send_batch(batch, topic, partition=0))
    finally:
        await producer.stop()


def _produce_batches(bootstrap: str, topic: str, batches: list[list[tuple]], **kw) -> None:
    asyncio.run(_produce_batches_async(bootstrap, topic, batches, **kw))


@pytest.fixture
def frames_used(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For every decoded slice of a fetch: True when it became a DataFrame."""
    used: list[bool] = []
    original = KafkaSource._frame

    def spy(self, msgs, partitions):
        frame = original(self, msgs, partitions)
        used.append(frame is not None)
        return frame

    monkeypatch.setattr(KafkaSource, "_frame", spy)
    return used


def test_gzip_compressed_batches_decode_in_bulk(kafka_broker, topic, frames_used):
    create_topic(kafka_broker, topic, 1)
    values = [_value(i) for i in range(3000)]
    ts = [T0 + 10 * i for i in range(3000)]
    batches = [
        [(orjson.dumps(values[i]), ts[i], None) for i in range(start, start + 1000)]
        for start in range(0, 3000, 1000)
    ]
    _produce_batches(kafka_broker, topic, batches, compression="gzip")
    rows = Engine().query(AGG.format(with_=kafka_with("ev", kafka_broker, topic)))
    assert _agg(rows) == _expected(values, ts)
    assert frames_used and all(frames_used)


def test_a_read_starting_inside_a_batch_skips_the_records_before_it(
    kafka_broker, topic, frames_used
):
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.structs import OffsetAndMetadata

    create_topic(kafka_broker, topic, 1)
    values = [_value(i) for i in range(2000)]
    ts = [T0 + 10 * i for i in range(2000)]
    one_batch = [[(orjson.dumps(v), t, None) for v, t in zip(values, ts, strict=True)]]
    _produce_batches(kafka_broker, topic, one_batch)
    group = "g-" + topic

    async def commit(offset: int) -> None:
        c = AIOKafkaConsumer(bootstrap_servers=kafka_broker, group_id=group)
        await c.start()
        try:
            c.assign([TopicPartition(topic, 0)])
            await c.commit({TopicPartition(topic, 0): OffsetAndMetadata(offset, "")})
        finally:
            await c.stop()

    asyncio.run(commit(737))  # the group goes on from the middle of the only batch
    with_ = kafka_with("ev", kafka_broker, topic, group_id=group, enable_auto_commit="false")
    rows = Engine().query(AGG.format(with_=with_))
    assert _agg(rows) == _expected(values[737:], ts[737:])
    assert frames_used and all(frames_used)
    offsets = Engine().query(
        f"SELECT MIN(_offset) AS lo, MAX(_offset) AS hi, COUNT(*) AS n FROM ev WITH ({with_})"
    )
    assert offsets[-1] == {"lo": 737, "hi": 1999, "n": 1263}  # (one row per update)


def test_headers_among_many_messages_are_kept(kafka_broker, topic, frames_used):
    create_topic(kafka_broker, topic, 1)
    values = [_value(i) for i in range(3000)]
    ts = [T0 + 10 * i for i in range(3000)]
    # Batches 0 and 2 carry no headers; in batch 1 every 100th message has one.
    batches = [
        [
            (
                orjson.dumps(values[i]),
                ts[i],
                [("trace", f"t{i}".encode())] if start == 1000 and i % 100 == 0 else None,
            )
            for i in range(start, start + 1000)
        ]
        for start in range(0, 3000, 1000)
    ]
    _produce_batches(kafka_broker, topic, batches)
    with_ = kafka_with("ev", kafka_broker, topic, fetch_max_records="1000")
    rows = Engine().query(AGG.format(with_=with_))
    assert _agg(rows) == _expected(values, ts)
    # No HEADER() in the query: the headers do not matter, every slice is a frame.
    assert frames_used == [True, True, True]
    traced = Engine().query(
        f"SELECT note, HEADER('trace') AS trace FROM ev WITH ({with_}) "
        "WHERE HEADER('trace') IS NOT NULL"
    )
    want = [{"note": f"n{i}", "trace": f"t{i}"} for i in range(1000, 2000, 100)]
    assert sorted(traced, key=lambda r: int(r["note"][1:])) == want
    # An aggregate that calls HEADER(): the slice with headers is read record by record.
    del frames_used[:]
    untraced = Engine().query(
        "SELECT sym, COUNT(*) AS n, SUM(qty) AS q, _window_start AS ws FROM ev "
        "WHERE HEADER('trace') IS NULL GROUP BY sym WINDOW TUMBLING(1h) "
        f"WITH ({with_}, 'watermark.max_out_of_orderness' = '1h')"
    )
    kept = [i for i in range(3000) if not (1000 <= i < 2000 and i % 100 == 0)]
    assert _agg(untraced) == _expected([values[i] for i in kept], [ts[i] for i in kept])


def test_a_frame_leaves_headers_out_only_when_nothing_reads_them():
    from aiokafka.record.default_records import DefaultRecord

    msgs = [
        DefaultRecord(i, T0 + i, 0, None, orjson.dumps(_value(i)), [("h", b"x")] if i else [])
        for i in range(3)
    ]
    source = KafkaSource("ev", {"topic": "t"})
    source._uses_headers = False
    source.decode_only(["sym", "qty"])
    frame = source._frame(msgs, [0, 0, 0])
    assert frame is not None and frame["qty"].to_list() == [1, 2, 3]
    assert "_headers" not in frame.columns
    source._uses_headers = True  # HEADER() in the query: the records carry them
    assert source._frame(msgs, [0, 0, 0]) is None
    source._uses_headers = False
    source.decode_only(None)  # every field (SELECT *): the records carry them
    assert source._frame(msgs, [0, 0, 0]) is None


def _transactions(bootstrap: str, topic: str, txns: list[tuple[list[dict], bool]]) -> None:
    """Produce each list of values in one transaction (confluent-kafka), committed or not."""
    from confluent_kafka import Producer

    p = Producer(
        {"bootstrap.servers": bootstrap, "transactional.id": f"tx-{topic}", "linger.ms": 5}
    )
    p.init_transactions(10)
    for values, commit in txns:
        p.begin_transaction()
        for v in values:
            p.produce(topic, orjson.dumps(v), partition=0, timestamp=T0 + 10 * v["i"])
        p.flush(10)
        if commit:
            p.commit_transaction(10)
        else:
            p.abort_transaction(10)


def test_transactions_leave_offset_gaps_that_the_system_columns_keep(
    kafka_broker, topic, frames_used
):
    # Each transaction ends with a marker (a control batch) that takes an offset: the
    # messages' offsets have gaps. (Tansu 0.6 lists no aborted transactions in its fetch
    # answers, so librdkafka and aiokafka alike hand out aborted messages under
    # read_committed there: only committed transactions are produced here.)
    create_topic(kafka_broker, topic, 1)

    def vals(lo: int, hi: int) -> list[dict]:
        return [{**_value(i), "i": i} for i in range(lo, hi)]

    txns = [(vals(0, 800), True), (vals(800, 1400), True), (vals(1400, 2200), True)]
    _transactions(kafka_broker, topic, txns)
    values = [v for vs, _ in txns for v in vs]
    ts = [T0 + 10 * v["i"] for v in values]
    with_ = kafka_with("ev", kafka_broker, topic, isolation_level="read_committed")
    rows = Engine().query(AGG.format(with_=with_))
    assert _agg(rows) == _expected(values, ts)
    assert frames_used and all(frames_used)
    # The same (offset, value) pairs as librdkafka's read_committed consumer reports.
    n_agg = len(frames_used)
    got = Engine().query(f"SELECT _offset, i FROM ev WITH ({with_})")
    assert len(frames_used) > n_agg and all(frames_used)
    committed = read_committed(kafka_broker, topic, "check-" + topic)
    want = [(m.offset(), orjson.loads(m.value())["i"]) for m in committed]
    assert want[799:801] == [(799, 799), (801, 800)]  # the first marker is offset 800
    assert sorted((r["_offset"], r["i"]) for r in got) == want


def test_a_slice_spanning_partitions_keeps_each_message_s_system_columns(
    kafka_broker, topic, frames_used
):
    create_topic(kafka_broker, topic, 3)
    msgs = [
        {
            "value": {**_value(i), "i": i},
            "partition": i % 3,
            "timestamp": T0 + 10 * i,
            "key": f"k{i % 11}",
        }
        for i in range(3000)
    ]
    produce(kafka_broker, topic, msgs)
    # 700 records a slice: slices hold the end of one partition and the start of the next.
    with_ = kafka_with("ev", kafka_broker, topic, fetch_max_records="700")
    rows = Engine().query(AGG.format(with_=with_))
    values = [m["value"] for m in msgs]
    assert _agg(rows) == _expected(values, [m["timestamp"] for m in msgs])
    assert frames_used and all(frames_used)
    n_agg = len(frames_used)
    got = Engine().query(
        "SELECT i, _partition, _offset, _key, _timestamp, _event_time FROM ev "
        f"WITH ({with_}) WHERE i % 10 = 3"
    )
    assert len(frames_used) > n_agg and all(frames_used)
    seen: dict[int, int] = defaultdict(int)
    want = []
    for m in msgs:  # within a partition, offsets count the messages produced to it
        p = m["partition"]
        i = m["value"]["i"]
        if i % 10 == 3:
            want.append((i, p, seen[p], m["key"], m["timestamp"], m["timestamp"]))
        seen[p] += 1
    assert sorted(
        (r["i"], r["_partition"], r["_offset"], r["_key"], r["_timestamp"], r["_event_time"])
        for r in got
    ) == sorted(want)


def test_event_time_from_a_field_of_the_bulk_decoded_values(kafka_broker, topic, frames_used):
    # The message timestamps say nothing useful (all T0); the `ts` field puts the messages
    # into ten 1 s windows, and the aggregate reads none of the other fields.
    create_topic(kafka_broker, topic, 1)
    values = [{**_value(i), "ts": 5_000_000 + 10 * i} for i in range(1000)]
    batches = [[(orjson.dumps(v), T0, None) for v in values]]
    _produce_batches(kafka_broker, topic, batches)
    rows = Engine().query(
        "SELECT sym, COUNT(*) AS n, _window_start AS ws FROM ev GROUP BY sym "
        f"WINDOW TUMBLING(1s) WITH ({kafka_with('ev', kafka_broker, topic)}, "
        "'ev.event.time.field' = 'ts', 'watermark.max_out_of_orderness' = '1h')"
    )
    want: dict[tuple[str, int], int] = defaultdict(int)
    for v in values:
        want[(v["sym"], v["ts"] // 1000 * 1000)] += 1
    assert sorted((r["sym"], r["ws"], r["n"]) for r in rows) == sorted(
        (s, ws, n) for (s, ws), n in want.items()
    )
    assert frames_used and all(frames_used)


def test_the_plain_wait_reads_the_same(kafka_broker, topic, frames_used, monkeypatch):
    # Without the fetcher internals the quiet wait needs (another aiokafka), or during a
    # rebalance, the wait is a getmany that takes one record batch: same result.
    monkeypatch.setattr(KafkaSource, "_quiet_wait_possible", lambda self, fetcher: False)
    create_topic(kafka_broker, topic, 2)
    msgs = [{"value": _value(i), "partition": i % 2, "timestamp": T0 + 10 * i} for i in range(3000)]
    produce(kafka_broker, topic, msgs)
    rows = Engine().query(AGG.format(with_=kafka_with("ev", kafka_broker, topic)))
    values = [m["value"] for m in msgs]
    assert _agg(rows) == _expected(values, [m["timestamp"] for m in msgs])
    assert frames_used and all(frames_used)


def test_the_pinned_aiokafka_allows_the_quiet_wait(kafka_broker, topic):
    # The fast path needs aiokafka 0.14's fetcher; an upgrade that removes what it uses
    # falls back to the plain wait silently (still correct, slower): this test notices.
    create_topic(kafka_broker, topic, 1)
    props = {
        "topic": topic,
        "bootstrap.servers": kafka_broker,
        "auto.offset.reset": "earliest",
        "end": "latest-at-start",
    }

    async def check() -> bool:
        source = KafkaSource("ev", props)
        await source.open()
        try:
            return source._quiet_wait_possible(source.consumer._fetcher)
        finally:
            await source.close()

    assert asyncio.run(check()) is True


def _produce_with_tombstones(bootstrap: str, topic: str, encoded: list[bytes | None]) -> None:
    """One record batch; a tombstone (value None) has the key b"gone", other messages none."""

    async def produce() -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, max_batch_size=4 << 20)
        await producer.start()
        try:
            batch = producer.create_batch()
            for i, value in enumerate(encoded):
                key = b"gone" if value is None else None
                assert batch.append(key=key, value=value, timestamp=T0 + 10 * i)
            batch.close()
            await (await producer.send_batch(batch, topic, partition=0))
        finally:
            await producer.stop()

    asyncio.run(produce())


def test_a_tombstone_and_a_malformed_value_among_many_are_routed_by_on_error(
    kafka_broker, topic, frames_used
):
    # 2,000 messages in one batch; message 700 is a tombstone (no value, a key) and message
    # 1,500 is not JSON: both go to the dead-letter topic with their positions, the rest
    # is read exactly.
    create_topic(kafka_broker, topic, 1)
    dlq = topic + "-dlq"
    create_topic(kafka_broker, dlq, 1)
    values = [_value(i) for i in range(2000)]
    encoded: list[bytes | None] = [orjson.dumps(v) for v in values]
    encoded[700] = None
    encoded[1500] = b'{"sym": "A", "qty": '

    _produce_with_tombstones(kafka_broker, topic, encoded)
    warnings: list[str] = []
    with_ = (
        f"{kafka_with('ev', kafka_broker, topic)}, "
        f"'ev.on.error' = 'dead_letter', 'ev.dead.letter.topic' = '{dlq}'"
    )
    rows = Engine(on_warning=warnings.append).query(AGG.format(with_=with_))
    good = [v for i, v in enumerate(values) if i not in (700, 1500)]
    ts = [T0 + 10 * i for i in range(2000) if i not in (700, 1500)]
    assert _agg(rows) == _expected(good, ts)
    assert frames_used == [False]  # the slice with them decodes message by message
    dead = consume_all(kafka_broker, dlq)
    assert [(m.key, m.value) for m in dead] == [(b"gone", None), (None, encoded[1500])]
    positions = [dict(m.headers)["velo.position"] for m in dead]
    assert positions == [f"{topic}/0@700".encode(), f"{topic}/0@1500".encode()]
    assert dict(dead[0].headers)["velo.error"] == b"message has no value (a tombstone)"


def test_tombstones_alone_leave_the_rest_on_the_bulk_path(kafka_broker, topic, frames_used):
    create_topic(kafka_broker, topic, 1)
    dlq = topic + "-dlq"
    create_topic(kafka_broker, dlq, 1)
    values = [_value(i) for i in range(2000)]
    gone = {0, 700, 1999}  # the first, one inside, the last
    encoded = [None if i in gone else orjson.dumps(v) for i, v in enumerate(values)]
    _produce_with_tombstones(kafka_broker, topic, encoded)
    with_ = (
        f"{kafka_with('ev', kafka_broker, topic)}, "
        f"'ev.on.error' = 'dead_letter', 'ev.dead.letter.topic' = '{dlq}'"
    )
    rows = Engine().query(AGG.format(with_=with_))
    kept = [i for i in range(2000) if i not in gone]
    assert _agg(rows) == _expected([values[i] for i in kept], [T0 + 10 * i for i in kept])
    assert frames_used == [True]
    dead = consume_all(kafka_broker, dlq)
    assert [(m.key, m.value, dict(m.headers)["velo.position"]) for m in dead] == [
        (b"gone", None, f"{topic}/0@{i}".encode()) for i in sorted(gone)
    ]
    # The offsets of the frame's rows skip the tombstones.
    offsets = Engine().query(f"SELECT _offset FROM ev WITH ({with_})")
    assert sorted(r["_offset"] for r in offsets) == kept
    with pytest.raises(RecordError) as info:  # on.error = fail: the first one fails the job
        Engine().query(
            f"SELECT _offset FROM ev WITH ({kafka_with('ev', kafka_broker, topic)}, "
            "'ev.on.error' = 'fail')"
        )
    assert info.value.position == f"{topic}/0@0"
