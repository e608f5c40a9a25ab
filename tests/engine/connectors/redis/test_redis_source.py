"""redis_source against a real redis-server: bounded and followed stream reads, consumer groups
with XACK, keys as a lookup table in a stream-table join, malformed entries."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from velostream import Engine
from velostream.connectors.redis_common import entry_offset
from velostream.connectors.registry import create_source
from velostream.errors import RecordError


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def _with(name: str, url: str, **keys: str) -> str:
    props = {"type": "redis_source", "url": url, **keys}
    return ", ".join(f"'{name}.{k.replace('_', '.')}' = '{v}'" for k, v in props.items())


def _drain(src, acknowledge: bool = True) -> list[dict]:  # type: ignore[no-untyped-def]
    """Every record of a bounded source; with `acknowledge`, told after each batch and at the
    end what a job tells it once its sinks have the output (`ack`, `on_end`)."""

    async def run() -> list[dict]:
        await src.open()
        out: list[dict] = []
        try:
            async for b in src.batches():
                out += b
                if acknowledge:
                    await src.ack(b)
            if acknowledge:
                await src.on_end(True)
        finally:
            await src.close()
        return out

    return asyncio.run(run())


def _add_orders(r: redis.Redis) -> None:
    for i, (cust, amt) in enumerate([(7, "1.10"), (8, "2.50"), (7, "3.00"), (9, "4.25")], 1):
        r.xadd("orders", {"value": json.dumps({"id": i, "cust": cust, "amt": amt})}, id=f"{i}000-0")


def test_bounded_stream_read_json_entries(rurl: str) -> None:
    r = _client(rurl)
    _add_orders(r)
    rows = Engine().query(
        "SELECT id, cust, amt, _event_time AS et, _key AS k, _offset AS off FROM orders "
        f"WITH ({_with('orders', rurl, end='latest-at-start')})"
    )
    assert [(x["id"], x["cust"], x["amt"], x["et"], x["k"]) for x in rows] == [
        (1, 7, Decimal("1.10"), 1000, "1000-0"),
        (2, 8, Decimal("2.50"), 2000, "2000-0"),
        (3, 7, Decimal("3.00"), 3000, "3000-0"),
        (4, 9, Decimal("4.25"), 4000, "4000-0"),
    ]
    assert [x["off"] for x in rows] == [(i * 1000) << 20 for i in range(1, 5)]
    # a windowed sum over the entry times, worked out by hand: [0,2s) 1.10, [2s,4s) 5.50, 4.25
    sums = Engine().query(
        "SELECT SUM(amt) AS s, _window_start AS ws FROM orders WINDOW TUMBLING(2s) "
        f"WITH ({_with('orders', rurl, end='latest-at-start')})"
    )
    assert [(x["ws"], x["s"]) for x in sums] == [
        (0, Decimal("1.10")),
        (2000, Decimal("5.50")),
        (4000, Decimal("4.25")),
    ]


def test_flat_fields_and_event_time_field(rurl: str) -> None:
    r = _client(rurl)
    r.xadd("ticks", {"sym": "A", "px": "10.5", "n": "3", "ts": "2024-01-01T00:00:01Z"})
    r.xadd("ticks", {"sym": "B", "px": "7.25", "n": "-1", "ts": "2024-01-01T00:00:02Z"})
    props = {
        "type": "redis_source",
        "url": rurl,
        "stream": "ticks",
        "encoding": "fields",
        "end": "latest-at-start",
        "event.time.field": "ts",
    }
    recs = _drain(create_source("t", props))
    assert [(x["sym"], x["px"], x["n"], x["_event_time"]) for x in recs] == [
        ("A", Decimal("10.5"), 3, 1704067201000),
        ("B", Decimal("7.25"), -1, 1704067202000),
    ]


def test_start_latest_and_an_entry_id(rurl: str) -> None:
    r = _client(rurl)
    _add_orders(r)
    base = {"type": "redis_source", "url": rurl, "stream": "orders", "end": "latest-at-start"}
    assert [x["id"] for x in _drain(create_source("o", {**base, "start": "2000-0"}))] == [3, 4]
    assert _drain(create_source("o", {**base, "start": "latest"})) == []
    src = create_source("o", base)
    src.resume_after = entry_offset(b"3000-0")  # what a checkpoint hands a restarted job
    assert [x["id"] for x in _drain(src)] == [4]


def test_following_a_stream_sees_entries_added_while_running(rurl: str) -> None:
    r = _client(rurl)
    r.xadd("live", {"value": json.dumps({"n": 1})})
    sql = f"SELECT n FROM live WITH ({_with('live', rurl, block='50ms')})"

    async def run() -> list[dict]:
        got: list[dict] = []
        agen = Engine().stream(sql)
        try:
            got += await asyncio.wait_for(agen.__anext__(), 30)
            for n in (2, 3):
                r.xadd("live", {"value": json.dumps({"n": n})})
            while len(got) < 3:
                got += await asyncio.wait_for(agen.__anext__(), 30)
        finally:
            await agen.aclose()
        return got

    assert asyncio.run(run()) == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_consumer_group_reads_once_and_acknowledges(rurl: str) -> None:
    r = _client(rurl)
    _add_orders(r)
    group = _with("orders", rurl, group="enrich", end="latest-at-start", batch_size="2")
    sql = f"SELECT id FROM orders WITH ({group})"
    assert [x["id"] for x in Engine().query(sql)] == [1, 2, 3, 4]
    assert r.xpending("orders", "enrich")["pending"] == 0
    # the group has had everything: a second run reads nothing; a new entry is read once
    assert Engine().query(sql) == []
    r.xadd("orders", {"value": json.dumps({"id": 5, "cust": 7, "amt": "1"})}, id="5000-0")
    assert [x["id"] for x in Engine().query(sql)] == [5]
    assert r.xpending("orders", "enrich")["pending"] == 0


def test_consumer_group_acknowledges_only_what_the_job_confirms(rurl: str) -> None:
    r = _client(rurl)
    _add_orders(r)
    props = {
        "type": "redis_source",
        "url": rurl,
        "stream": "orders",
        "group": "g",
        "end": "latest-at-start",
        "batch.size": "3",
    }
    # read, but never told that a sink has the output: everything stays pending
    assert len(_drain(create_source("o", props), acknowledge=False)) == 4
    assert r.xpending("orders", "g")["pending"] == 4

    async def first_batch_confirmed() -> None:
        src = create_source("o", {**props, "consumer": "other"})
        r.xgroup_setid("orders", "g", id="0")
        await src.open()
        try:
            it = src.batches().__aiter__()
            batch = await it.__anext__()
            await src.ack(batch)
        finally:
            await src.close()

    asyncio.run(first_batch_confirmed())
    # the second consumer was given entries 1-3 again and confirmed them: acknowledged (for
    # the group); entry 4, read only by the first consumer, is still pending there
    pend = r.xpending_range("orders", "g", min="-", max="+", count=10)
    assert [(p["message_id"], p["consumer"]) for p in pend] == [(b"4000-0", b"o-1")]


def test_a_failing_sink_leaves_the_entries_pending(rurl: str) -> None:
    r = _client(rurl)
    r.xadd("in", {"value": json.dumps({"k": None, "v": 1})})
    sql = (
        "CREATE STREAM out AS SELECT k, v FROM src WITH ("
        f"{_with('src', rurl, stream='in', group='g', end='latest-at-start')}, "
        f"'out.type' = 'redis_sink', 'out.url' = '{rurl}', 'out.mode' = 'hash', "
        "'out.key.field' = 'k')"
    )
    with pytest.raises(RuntimeError, match="key column k is NULL"):
        Engine().execute(sql)
    assert r.xpending("in", "g")["pending"] == 1  # re-read by the next run of the group


def test_consumer_group_rereads_what_it_never_acknowledged(rurl: str) -> None:
    r = _client(rurl)
    _add_orders(r)
    r.xgroup_create("orders", "g", id="0")
    # a consumer that crashed: it was given two entries and acknowledged none
    r.xreadgroup("g", "worker", {"orders": ">"}, count=2)
    assert r.xpending("orders", "g")["pending"] == 2
    props = {
        "type": "redis_source",
        "url": rurl,
        "stream": "orders",
        "group": "g",
        "consumer": "worker",
        "end": "latest-at-start",
    }
    assert [x["id"] for x in _drain(create_source("o", props))] == [1, 2, 3, 4]
    assert r.xpending("orders", "g")["pending"] == 0


def test_stream_joins_redis_keys_as_a_table(rurl: str) -> None:
    r = _client(rurl)
    _add_orders(r)
    r.hset("cust:7", mapping={"name": "Ann", "limit": "100.00"})
    r.set("cust:8", json.dumps({"name": "Bob", "limit": "5.00"}))
    r.hset("other:9", mapping={"name": "Not a customer"})
    sources = (
        f"{_with('orders', rurl, end='latest-at-start')}, "
        f"{_with('cust', rurl, mode='table', key_prefix='cust:')}"
    )
    rows = Engine().query(
        "SELECT o.id, c.name, o.amt, c.limit - o.amt AS room FROM orders o "
        f"LEFT JOIN cust c ON o.cust = c.key WITH ({sources})"
    )
    assert rows == [
        {"id": 1, "name": "Ann", "amt": Decimal("1.10"), "room": Decimal("98.90")},
        {"id": 2, "name": "Bob", "amt": Decimal("2.50"), "room": Decimal("2.50")},
        {"id": 3, "name": "Ann", "amt": Decimal("3.00"), "room": Decimal("97.00")},
        {"id": 4, "name": None, "amt": Decimal("4.25"), "room": None},
    ]


def test_table_mode_rows_and_odd_keys(rurl: str) -> None:
    r = _client(rurl)
    r.hset("p:1", mapping={"name": "pen", "price": "1.50"})
    r.set("p:2", json.dumps({"name": "ink", "price": "9.00"}))
    r.set("p:3", "{broken")
    r.rpush("p:4", "a list")
    warnings: list[str] = []
    src = create_source(
        "p",
        {"type": "redis_source", "url": rurl, "mode": "table", "key.prefix": "p:"},
        on_warning=warnings.append,
    )
    recs = sorted(_drain(src), key=lambda x: x["key"])
    assert [(x["key"], x["name"], x["price"], x["_key"]) for x in recs] == [
        (1, "pen", Decimal("1.50"), "p:1"),
        (2, "ink", Decimal("9.00"), "p:2"),
    ]
    assert src.errors.malformed == 2
    assert any("key p:3" in w and "invalid JSON" in w for w in warnings)
    assert any("key p:4" in w and "is a list" in w for w in warnings)


def test_malformed_entries_are_counted_routed_and_acknowledged(rurl: str, tmp_path: Path) -> None:
    r = _client(rurl)
    r.xadd("m", {"value": json.dumps({"n": 1})}, id="1-0")
    r.xadd("m", {"value": "{not json"}, id="2-0")
    r.xadd("m", {"other": "x"}, id="3-0")
    r.xadd("m", {"value": json.dumps([1, 2])}, id="4-0")
    r.xadd("m", {"value": json.dumps({"n": 5})}, id="5-0")
    dead = tmp_path / "dead.jsonl"
    base = {"type": "redis_source", "url": rurl, "stream": "m", "end": "latest-at-start"}
    src = create_source(
        "m",
        {**base, "group": "g", "on.error": "dead_letter", "dead.letter.path": str(dead)},
    )
    assert [x["n"] for x in _drain(src)] == [1, 5]
    assert src.errors.malformed == 3 and src.errors.dead_lettered == 3
    entries = [json.loads(line) for line in dead.read_text().splitlines()]
    assert [e["position"] for e in entries] == ["m:2-0", "m:3-0", "m:4-0"]
    assert "no field 'value'" in entries[1]["error"]
    assert "expected a JSON object" in entries[2]["error"]
    assert r.xpending("m", "g")["pending"] == 0  # handled entries are not redelivered

    with pytest.raises(RecordError) as e:
        _drain(create_source("m", {**base, "on.error": "fail"}))
    assert "m:2-0" in str(e.value)


def test_checkpointed_stream_job_restarts_after_the_last_entry(rurl: str, tmp_path: Path) -> None:
    r = _client(rurl)
    for n in (1, 2, 3):
        r.xadd("feed", {"value": json.dumps({"n": n})})  # ids from the server clock
    state, out = tmp_path / "state.db", tmp_path / "out.jsonl"
    sql = (
        f"CREATE STREAM copy AS SELECT n FROM feed WITH ({_with('feed', rurl, block='20ms')}, "
        f"'copy.type' = 'file_sink', 'copy.path' = '{out}', "
        f"'state.store' = 'sqlite', 'state.path' = '{state}', 'checkpoint.interval' = '0ms')"
    )

    async def run_until(n: int) -> None:
        eng = Engine()
        job = await eng.start(sql)
        for _ in range(1500):  # a generous deadline (30 s) on a loaded machine
            if out.exists() and len(out.read_text().splitlines()) >= n:
                break
            await asyncio.sleep(0.02)
        job.stop()
        for t in eng.tasks:
            await asyncio.wait_for(t, 30)

    asyncio.run(run_until(3))
    for n in (4, 5):
        r.xadd("feed", {"value": json.dumps({"n": n})})
    asyncio.run(run_until(5))
    assert [json.loads(x)["n"] for x in out.read_text().splitlines()] == [1, 2, 3, 4, 5]


def test_checkpointing_group_job_acknowledges_at_checkpoints(
    rurl: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = _client(rurl)
    _add_orders(r)
    state = tmp_path / "state.db"
    sql = (
        "SELECT cust, COUNT(*) AS n FROM orders GROUP BY cust WITH ("
        f"{_with('orders', rurl, group='g', end='latest-at-start', batch_size='1')}, "
        f"'state.store' = 'sqlite', 'state.path' = '{state}', 'checkpoint.interval' = '1h')"
    )
    calls: list[int] = []
    real_xack = redis.asyncio.Redis.xack

    async def xack(self, name, groupname, *ids):  # type: ignore[no-untyped-def]
        calls.append(len(ids))
        return await real_xack(self, name, groupname, *ids)

    monkeypatch.setattr(redis.asyncio.Redis, "xack", xack)
    rows = Engine().query(sql)
    assert [(x["cust"], x["n"]) for x in rows] == [(7, 1), (8, 1), (7, 2), (9, 1)]
    # one batch per entry but a single checkpoint (at the end; the interval is 1h): the four
    # entries are acknowledged together, once their state is in the checkpoint
    assert calls == [4]
    assert r.xpending("orders", "g")["pending"] == 0


def test_polled_table_passes_on_changed_keys_only(rurl: str) -> None:
    r = _client(rurl)
    r.hset("fx:USD", mapping={"rate": "1.10"})
    r.hset("fx:GBP", mapping={"rate": "0.85"})
    props = {
        "type": "redis_source",
        "url": rurl,
        "mode": "table",
        "key.prefix": "fx:",
        "poll.interval": "20ms",
    }

    async def run() -> list[list[tuple]]:
        src = create_source("fx", props)
        assert not src.bounded
        await src.open()
        out = []
        try:
            it = src.batches().__aiter__()
            out.append(sorted((x["key"], x["rate"]) for x in await it.__anext__()))
            r.hset("fx:USD", mapping={"rate": "1.20"})
            r.hset("fx:EUR", mapping={"rate": "1.00"})
            out.append(sorted((x["key"], x["rate"]) for x in await it.__anext__()))
        finally:
            await src.close()
        return out

    first, changed = asyncio.run(run())
    assert first == [("GBP", Decimal("0.85")), ("USD", Decimal("1.10"))]
    assert changed == [("EUR", Decimal("1.00")), ("USD", Decimal("1.20"))]  # GBP unchanged


def test_live_stream_sees_updates_of_a_polled_key_table(rurl: str) -> None:
    r = _client(rurl)
    r.hset("px:A", mapping={"price": "10.00"})
    sql = (
        "SELECT o.id, p.price FROM orders o JOIN px p ON o.sym = p.key WITH ("
        f"{_with('orders', rurl, block='20ms')}, "
        f"{_with('px', rurl, mode='table', key_prefix='px:', poll_interval='20ms')})"
    )

    async def run() -> list[dict]:
        got: list[dict] = []
        agen = Engine().stream(sql)
        try:
            r.xadd("orders", {"value": json.dumps({"id": 1, "sym": "A"})})
            while len(got) < 1:
                got += await asyncio.wait_for(agen.__anext__(), 30)
            r.hset("px:A", mapping={"price": "12.50"})
            # orders keep coming until one sees the new price (the table is rescanned)
            for i in range(2, 1000):
                r.xadd("orders", {"value": json.dumps({"id": i, "sym": "A"})})
                while len(got) < i:
                    got += await asyncio.wait_for(agen.__anext__(), 30)
                if got[-1]["price"] != Decimal("10.00"):
                    break
                await asyncio.sleep(0.02)
        finally:
            await agen.aclose()
        return got

    got = asyncio.run(run())
    assert [x["id"] for x in got] == list(range(1, len(got) + 1))
    # the old price until the update arrived, then the new one
    assert [x["price"] for x in got] == [Decimal("10.00")] * (len(got) - 1) + [Decimal("12.50")]


def test_table_key_pattern_and_key_column(rurl: str) -> None:
    r = _client(rurl)
    r.set("user:1:profile", json.dumps({"name": "Ann"}))
    r.set("user:2:profile", json.dumps({"name": "Bob"}))
    r.set("user:2:session", json.dumps({"name": "not a profile"}))
    props = {
        "type": "redis_source",
        "url": rurl,
        "mode": "table",
        "key.prefix": "user:",
        "key.pattern": "user:*:profile",
        "key.column": "uid",
    }
    recs = sorted(_drain(create_source("u", props)), key=lambda x: x["uid"])
    assert [(x["uid"], x["name"]) for x in recs] == [("1:profile", "Ann"), ("2:profile", "Bob")]
