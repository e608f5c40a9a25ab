"""redis_sink against a real redis-server: XADD (JSON or fields, MAXLEN), HSET and SET per key
with a prefix and a TTL, keys from PRIMARY KEY / GROUP BY / key.field, and a round trip through
redis_source."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
import redis

from velostream import Engine
from velostream.connectors.registry import create_sink
from velostream.errors import ConfigError

TRADES = [
    {"id": 1, "sym": "A", "price": Decimal("10.50"), "qty": 2, "ts": 1000},
    {"id": 2, "sym": "B", "price": Decimal("3.25"), "qty": 4, "ts": 2000},
    {"id": 3, "sym": "A", "price": Decimal("11.00"), "qty": 1, "ts": 3000},
    {"id": 4, "sym": "C", "price": Decimal("0.10"), "qty": 10, "ts": 4000},
    {"id": 5, "sym": "B", "price": Decimal("3.30"), "qty": 3, "ts": 5000},
]


def _engine() -> Engine:
    eng = Engine()
    eng.register("trades", [dict(t) for t in TRADES])
    return eng


def _sink(name: str, url: str, **keys: str) -> str:
    props = {"type": "redis_sink", "url": url, **keys}
    return ", ".join(f"'{name}.{k.replace('_', '.')}' = '{v}'" for k, v in props.items())


def test_xadd_json_values_in_order(rurl: str) -> None:
    _engine().execute(
        "CREATE STREAM big AS SELECT id, sym, price * qty AS notional FROM trades WHERE qty > 1 "
        f"WITH ({_sink('big', rurl)})"
    )
    entries = redis.Redis.from_url(rurl).xrange("big")
    got = [json.loads(fields[b"value"]) for _, fields in entries]
    # notional keeps the exact decimal (as a JSON string with its scale)
    assert got == [
        {"id": 1, "sym": "A", "notional": "21.00"},
        {"id": 2, "sym": "B", "notional": "13.00"},
        {"id": 4, "sym": "C", "notional": "1.00"},
        {"id": 5, "sym": "B", "notional": "9.90"},
    ]


def test_xadd_flat_fields_with_exact_maxlen(rurl: str) -> None:
    _engine().execute(
        "CREATE STREAM last3 AS SELECT id, sym, price, "
        "CASE WHEN sym = 'A' THEN NULL ELSE qty END AS qty FROM trades "
        f"WITH ({_sink('last3', rurl, stream='tail', encoding='fields', maxlen='3', maxlen_exact='true')})"
    )
    entries = redis.Redis.from_url(rurl).xrange("tail")
    assert [f for _, f in entries] == [
        {b"id": b"3", b"sym": b"A", b"price": b"11.00"},  # a NULL column is left out
        {b"id": b"4", b"sym": b"C", b"price": b"0.10", b"qty": b"10"},
        {b"id": b"5", b"sym": b"B", b"price": b"3.30", b"qty": b"3"},
    ]


def test_hset_per_group_key_with_prefix_and_ttl(rurl: str) -> None:
    _engine().execute(
        "CREATE TABLE pos AS SELECT sym, SUM(qty) AS qty, MAX(price) AS hi, COUNT(*) AS n "
        f"FROM trades GROUP BY sym WITH ({_sink('pos', rurl, mode='hash', key_prefix='pos:', ttl='1h')})"
    )
    r = redis.Redis.from_url(rurl)
    assert sorted(r.keys("*")) == [b"pos:A", b"pos:B", b"pos:C"]
    # the last update of each key wins; worked out from TRADES by hand
    assert r.hgetall("pos:A") == {b"sym": b"A", b"qty": b"3", b"hi": b"11.00", b"n": b"2"}
    assert r.hgetall("pos:B") == {b"sym": b"B", b"qty": b"7", b"hi": b"3.30", b"n": b"2"}
    assert r.hgetall("pos:C") == {b"sym": b"C", b"qty": b"10", b"hi": b"0.10", b"n": b"1"}
    for k in (b"pos:A", b"pos:B", b"pos:C"):
        assert 3_500_000 < r.pttl(k) <= 3_600_000


def test_set_json_per_primary_key_and_null_fields_removed_from_hashes(rurl: str) -> None:
    r = redis.Redis.from_url(rurl)
    _engine().execute(
        "CREATE STREAM by_id AS SELECT id PRIMARY KEY, sym, price FROM trades "
        f"WITH ({_sink('by_id', rurl, mode='string', key_prefix='trade:')})"
    )
    assert json.loads(r.get("trade:4")) == {"id": 4, "sym": "C", "price": "0.10"}
    assert r.pttl("trade:4") == -1  # no ttl: keys do not expire
    r.hset("h:1", mapping={"id": "1", "note": "stale"})
    sink = create_sink(
        "h",
        {"type": "redis_sink", "url": rurl, "mode": "hash", "key.prefix": "h:", "key.field": "id"},
    )

    async def run() -> None:
        await sink.open(["id", "note"])
        await sink.write([{"id": 1, "note": None}, {"id": 2, "note": "new"}])
        await sink.close()

    asyncio.run(run())
    assert r.hgetall("h:1") == {b"id": b"1"}
    assert r.hgetall("h:2") == {b"id": b"2", b"note": b"new"}


def test_round_trip_hashes_become_a_lookup_table(rurl: str) -> None:
    eng = _engine()
    eng.execute(
        "CREATE STREAM px AS SELECT sym PRIMARY KEY, price FROM trades "
        f"WITH ({_sink('px', rurl, mode='hash', key_prefix='px:')})"
    )
    eng.register("orders", [{"oid": "x", "sym": "B", "qty": 2}, {"oid": "y", "sym": "Z", "qty": 1}])
    rows = eng.query(
        "SELECT o.oid, p.price * o.qty AS cost FROM orders o LEFT JOIN prices p ON o.sym = p.sym "
        "WITH ('prices.type' = 'redis_source', "
        f"'prices.url' = '{rurl}', 'prices.mode' = 'table', 'prices.key.prefix' = 'px:')"
    )
    assert rows == [{"oid": "x", "cost": Decimal("6.60")}, {"oid": "y", "cost": None}]


def test_keyed_modes_need_a_key_among_the_columns(rurl: str) -> None:
    def open_error(props: dict[str, str], columns: list[str]) -> str:
        sink = create_sink("s", {"type": "redis_sink", "url": rurl, **props})
        with pytest.raises(ConfigError) as e:
            asyncio.run(sink.open(columns))
        return str(e.value)

    msg = open_error({"mode": "hash"}, ["a", "b"])
    assert "needs a key" in msg and "'s.key.field'" in msg
    msg = open_error({"mode": "string", "key.field": "c"}, ["a", "b"])
    assert "key column c is not an output column (columns: a, b)" in msg


def test_null_key_value_fails_the_write(rurl: str) -> None:
    sink = create_sink("s", {"type": "redis_sink", "url": rurl, "mode": "hash", "key.field": "k"})

    async def run() -> None:
        await sink.open(["k", "v"])
        try:
            await sink.write([{"k": None, "v": 1}])
        finally:
            await sink.close()

    with pytest.raises(RuntimeError) as e:
        asyncio.run(run())
    assert "redis_sink 's': key column k is NULL" in str(e.value)


def test_avro_values_round_trip_through_a_stream(rurl: str) -> None:
    schema = json.dumps(
        {
            "type": "record",
            "name": "Trade",
            "fields": [
                {"name": "id", "type": "long"},
                {"name": "sym", "type": "string"},
                {
                    "name": "price",
                    "type": {
                        "type": "bytes",
                        "logicalType": "decimal",
                        "precision": 10,
                        "scale": 2,
                    },
                },
            ],
        }
    )

    def avro(name: str) -> str:
        return f"'{name}.format' = 'avro', '{name}.avro.schema' = '{schema}'"

    _engine().execute(
        "CREATE STREAM av AS SELECT id, sym, price FROM trades WHERE sym = 'B' "
        f"WITH ({_sink('av', rurl)}, {avro('av')})"
    )
    raw = redis.Redis.from_url(rurl).xrange("av")[0][1][b"value"]
    assert not raw.startswith(b"{")  # Avro binary, not JSON
    rows = Engine().query(
        "SELECT id, sym, price FROM av WITH ('av.type' = 'redis_source', "
        f"'av.url' = '{rurl}', 'av.end' = 'latest-at-start', {avro('av')})"
    )
    assert rows == [
        {"id": 2, "sym": "B", "price": Decimal("3.25")},
        {"id": 5, "sym": "B", "price": Decimal("3.30")},
    ]
