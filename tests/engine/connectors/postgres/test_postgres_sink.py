"""postgres_sink against a real PostgreSQL server: COPY inserts, upserts on the query's key or
the table's, created tables, batches, and clear errors for a missing table or column."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import psycopg
import pytest

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


def _fetch(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as c:
        return c.execute(sql).fetchall()


def _exec(dsn: str, *stmts: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        for s in stmts:
            c.execute(s)


def _sink(name: str, dsn: str, **keys: str) -> str:
    props = {"type": "postgres_sink", "dsn": dsn, **keys}
    return ", ".join(f"'{name}.{k.replace('_', '.')}' = '{v}'" for k, v in props.items())


def _engine() -> Engine:
    eng = Engine()
    eng.register("trades", [dict(t) for t in TRADES])
    return eng


def test_insert_copies_rows_with_exact_types(pg: str) -> None:
    _exec(
        pg,
        "CREATE TABLE fills (id int, sym text, notional numeric(12, 2), at timestamptz, "
        "big boolean, meta jsonb, note text)",
    )
    _engine().execute(
        "CREATE STREAM fills AS SELECT id, sym, CAST(price AS DECIMAL) * qty AS notional, "
        "TO_TIMESTAMP(ts) AS at, qty > 3 AS big, "
        "CASE WHEN sym = 'A' THEN NULL ELSE sym END AS note FROM trades "
        f"WITH ('trades.event.time.field' = 'ts', {_sink('fills', pg, table='fills')})"
    )
    rows = _fetch(pg, "SELECT id, sym, notional, at, big, note FROM fills ORDER BY id")
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # TO_TIMESTAMP takes epoch seconds
    assert rows == [
        (1, "A", Decimal("21.00"), epoch + dt.timedelta(seconds=1000), False, None),
        (2, "B", Decimal("13.00"), epoch + dt.timedelta(seconds=2000), True, "B"),
        (3, "A", Decimal("11.00"), epoch + dt.timedelta(seconds=3000), False, None),
        (4, "C", Decimal("1.00"), epoch + dt.timedelta(seconds=4000), True, "C"),
        (5, "B", Decimal("9.90"), epoch + dt.timedelta(seconds=5000), False, "B"),
    ]


def test_upsert_of_a_grouped_table_equals_postgres_group_by(pg: str) -> None:
    # the same trades in a source table; the engine's upserted totals must equal PostgreSQL's
    _exec(
        pg,
        "CREATE TABLE trades (id int PRIMARY KEY, sym text, price numeric(10,2), qty int, ts bigint)",
        "INSERT INTO trades SELECT g, (ARRAY['A','B','C','D'])[1 + g % 4], (g % 97) / 4.0, "
        "1 + g % 7, g * 10 FROM generate_series(1, 500) g",
        "CREATE TABLE totals (sym text PRIMARY KEY, n bigint, notional numeric, hi numeric)",
    )
    src = (
        "'trades.type' = 'postgres_source', "
        f"'trades.dsn' = '{pg}', 'trades.table' = 'trades', 'trades.batch.size' = '64'"
    )
    Engine().execute(
        "CREATE TABLE totals AS SELECT sym, COUNT(*) AS n, SUM(price * qty) AS notional, "
        f"MAX(price) AS hi FROM trades GROUP BY sym WITH ({src}, "
        f"{_sink('totals', pg, table='totals', mode='upsert')})"
    )
    got = _fetch(pg, "SELECT sym, n, notional, hi FROM totals ORDER BY sym")
    want = _fetch(
        pg,
        "SELECT sym, count(*), sum(price * qty), max(price) FROM trades GROUP BY sym ORDER BY sym",
    )
    assert len(want) == 4
    assert got == want


def test_upsert_key_from_primary_key_item_and_create_table(pg: str) -> None:
    _engine().execute(
        "CREATE TABLE latest AS SELECT sym PRIMARY KEY, price, qty, ts FROM trades "
        f"WITH ({_sink('latest', pg, table='latest', mode='upsert', create_table='true')})"
    )
    assert _fetch(pg, "SELECT sym, price, qty FROM latest ORDER BY sym") == [
        ("A", Decimal("11.00"), 1),
        ("B", Decimal("3.30"), 3),
        ("C", Decimal("0.10"), 10),
    ]
    types = dict(
        _fetch(
            pg,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'latest'",
        )
    )
    assert types == {"sym": "text", "price": "numeric", "qty": "bigint", "ts": "bigint"}
    pk = _fetch(
        pg,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'latest'::regclass AND i.indisprimary",
    )
    assert pk == [("sym",)]


def test_upsert_uses_the_tables_own_primary_key(pg: str) -> None:
    _exec(pg, "CREATE TABLE last_qty (sym text PRIMARY KEY, qty int)")
    _engine().execute(
        "CREATE STREAM last_qty AS SELECT sym, qty FROM trades "
        f"WITH ({_sink('last_qty', pg, table='last_qty', mode='upsert')})"
    )
    assert _fetch(pg, "SELECT sym, qty FROM last_qty ORDER BY sym") == [
        ("A", 1),
        ("B", 3),
        ("C", 10),
    ]


def test_create_table_types_and_many_batches(pg: str) -> None:
    sink = create_sink(
        "out", {"type": "postgres_sink", "dsn": pg, "table": "app.out", "create.table": "true"}
    )
    _exec(pg, "CREATE SCHEMA app")
    rows = [
        {
            "n": i,
            "x": 0.5 * i,
            "d": Decimal(i) / 4,
            "s": f"s{i}",
            "b": i % 2 == 0,
            "t": dt.datetime(2024, 1, 1) + dt.timedelta(minutes=i),
            "day": dt.date(2024, 1, 1 + i % 28),
            "j": {"i": i, "price": Decimal("1.10")},
        }
        for i in range(1000)
    ]

    async def run() -> None:
        await sink.open(list(rows[0]))
        for start in range(0, len(rows), 300):
            await sink.write(rows[start : start + 300])
        await sink.close()

    asyncio.run(run())
    types = dict(
        _fetch(
            pg,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'app' AND table_name = 'out'",
        )
    )
    assert types == {
        "n": "bigint",
        "x": "double precision",
        "d": "numeric",
        "s": "text",
        "b": "boolean",
        "t": "timestamp without time zone",
        "day": "date",
        "j": "jsonb",
    }
    assert _fetch(pg, "SELECT count(*), sum(n), sum(d) FROM app.out") == [
        (1000, 499500, Decimal(499500) / 4)
    ]
    # a DECIMAL inside JSON is written as the engine's JSON writes it: a string with its scale
    assert _fetch(pg, "SELECT j FROM app.out WHERE n = 7") == [({"i": 7, "price": "1.10"},)]


def _open_error(pg: str, props: dict[str, str], columns: list[str]) -> str:
    sink = create_sink("out", {"type": "postgres_sink", "dsn": pg, **props})

    async def run() -> None:
        await sink.open(columns)
        await sink.close()

    with pytest.raises(ConfigError) as e:
        asyncio.run(run())
    return str(e.value)


def test_missing_table_missing_column_and_missing_key_are_clear(pg: str) -> None:
    msg = _open_error(pg, {"table": "nowhere"}, ["a"])
    assert "table nowhere does not exist" in msg and "out.create.table" in msg
    _exec(pg, "CREATE TABLE narrow (a int, b text)")
    msg = _open_error(pg, {"table": "narrow"}, ["a", "c"])
    assert "output column c is not a column of table narrow" in msg and "a, b" in msg
    msg = _open_error(pg, {"table": "narrow", "mode": "upsert"}, ["a", "b"])
    assert "needs a key" in msg and "no primary key" in msg
    msg = _open_error(pg, {"table": "narrow", "mode": "upsert", "primary.key": "z"}, ["a"])
    assert "key column z is not a column of narrow" in msg


def test_bad_values_and_unindexed_upsert_key_fail_with_the_table_named(pg: str) -> None:
    _exec(pg, "CREATE TABLE counts (k text, n int)")
    sink = create_sink("out", {"type": "postgres_sink", "dsn": pg, "table": "counts"})

    async def write(s, rows) -> None:  # type: ignore[no-untyped-def]
        await s.open(["k", "n"])
        try:
            await s.write(rows)
        finally:
            await s.close()

    with pytest.raises(RuntimeError) as e:
        asyncio.run(write(sink, [{"k": "a", "n": 1}, {"k": "b", "n": "many"}]))
    assert "writing to counts failed" in str(e.value) and "many" in str(e.value)
    assert _fetch(pg, "SELECT count(*) FROM counts") == [(0,)]  # the batch is one transaction

    sink = create_sink(
        "out",
        {
            "type": "postgres_sink",
            "dsn": pg,
            "table": "counts",
            "mode": "upsert",
            "primary.key": "k",
        },
    )
    with pytest.raises(RuntimeError) as e:
        asyncio.run(write(sink, [{"k": "a", "n": 1}]))
    assert "upsert needs a primary key or unique index on (k) in counts" in str(e.value)


def test_insert_of_a_change_stream_into_a_created_table_keeps_every_change(pg: str) -> None:
    # a GROUP BY emits a new row per update of a key: an insert-mode table gets no primary key
    _engine().execute(
        "CREATE STREAM changes AS SELECT sym, COUNT(*) AS n FROM trades GROUP BY sym "
        f"WITH ({_sink('changes', pg, table='changes', create_table='true')})"
    )
    assert _fetch(pg, "SELECT sym, n FROM changes ORDER BY sym, n") == [
        ("A", 1),
        ("A", 2),
        ("B", 1),
        ("B", 2),
        ("C", 1),
    ]
