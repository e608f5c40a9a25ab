"""postgres_source against a real PostgreSQL server: bounded reads, value types, event time,
polling, resuming, stream-table joins, malformed rows, and a streaming aggregation checked
against the same aggregation run by PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from velostream import Engine
from velostream.connectors.postgres_source import PostgresSource
from velostream.connectors.registry import create_source
from velostream.errors import RecordError


def _exec(dsn: str, *stmts: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        for s in stmts:
            c.execute(s)


def _with(name: str, dsn: str, **keys: str) -> str:
    props = {"type": "postgres_source", "dsn": dsn, **keys}
    return ", ".join(f"'{name}.{k.replace('_', '.')}' = '{v}'" for k, v in props.items())


def _drain(src: PostgresSource) -> list[list[dict]]:
    async def run() -> list[list[dict]]:
        await src.open()
        out = []
        try:
            async for b in src.batches():
                out.append(b)
        finally:
            await src.close()
        return out

    return asyncio.run(run())


TYPES_DDL = """
CREATE TABLE typed (
  id integer PRIMARY KEY, big bigint, price numeric(12, 4), ratio double precision,
  name text, code varchar(5), ok boolean, at timestamptz, local timestamp, day date,
  doc jsonb, uid uuid, tags text[], span interval
)"""


def test_bounded_table_read_maps_types(pg: str) -> None:
    _exec(
        pg,
        TYPES_DDL,
        "INSERT INTO typed VALUES (1, 9007199254740993, 12.34, 0.5, 'a', 'xy', true, "
        "'2024-03-01 12:00:00+02', '2024-03-01 12:00:00', '2024-03-01', "
        """'{"k": [1, 2]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{x,y}', '90 seconds')""",
        "INSERT INTO typed (id) VALUES (2)",
    )
    rows = Engine().query(f"SELECT * FROM typed WITH ({_with('typed', pg, table='typed')})")
    rows.sort(key=lambda r: r["id"])
    assert rows[0] == {
        "id": 1,
        "big": 9007199254740993,  # beyond a double's exact range: still exact
        "price": Decimal("12.3400"),  # NUMERIC(12,4) keeps its scale
        "ratio": 0.5,
        "name": "a",
        "code": "xy",
        "ok": True,
        "at": dt.datetime(2024, 3, 1, 10, 0),  # +02 -> naive UTC
        "local": dt.datetime(2024, 3, 1, 12, 0),
        "day": dt.date(2024, 3, 1),
        "doc": {"k": [1, 2]},
        "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "tags": ["x", "y"],
        "span": 90_000,
    }
    assert isinstance(rows[0]["price"], Decimal)
    assert set(rows[1].values()) == {2, None}


def test_query_read_in_batches_with_counted_offsets(pg: str) -> None:
    _exec(
        pg,
        "CREATE TABLE nums (n int)",
        "INSERT INTO nums SELECT g FROM generate_series(1, 10) g",
    )
    props = {
        "type": "postgres_source",
        "dsn": pg,
        "query": "SELECT n, n * n AS sq FROM nums WHERE n % 2 = 0 ORDER BY n",
        "batch.size": "2",
    }
    before = int(time.time() * 1000)
    batches = _drain(create_source("nums", props))
    assert [len(b) for b in batches] == [2, 2, 1]
    recs = [r for b in batches for r in b]
    assert [(r["n"], r["sq"]) for r in recs] == [(2, 4), (4, 16), (6, 36), (8, 64), (10, 100)]
    assert [r["_offset"] for r in recs] == [0, 1, 2, 3, 4]
    # read as a stream without an event-time field: the read time is the event time
    assert all(r["_event_time"] >= before for r in recs)


def test_windowed_aggregation_matches_postgres_own_group_by(pg: str) -> None:
    # 200 trades over 10 minutes for 3 symbols; exact prices
    _exec(
        pg,
        "CREATE TABLE trades (id serial PRIMARY KEY, sym text, price numeric(10,2), qty int, "
        "ts timestamptz)",
        "INSERT INTO trades (sym, price, qty, ts) SELECT (ARRAY['A','B','C'])[1 + g % 3], "
        "(g * 7 % 1000) / 100.0, 1 + g % 5, "
        "'2024-01-01 00:00:00+00'::timestamptz + (g * 3) * interval '1 second' "
        "FROM generate_series(1, 200) g",
    )
    sql = (
        "SELECT sym, COUNT(*) AS n, SUM(price * qty) AS notional, MAX(price) AS hi, "
        "_window_start AS ws FROM trades GROUP BY sym WINDOW TUMBLING(1m) EMIT FINAL "
        f"WITH ({_with('trades', pg, table='trades', event_time_field='ts')})"
    )
    got = sorted((r["ws"], r["sym"], r["n"], r["notional"], r["hi"]) for r in Engine().query(sql))
    with psycopg.connect(pg) as c:
        want = c.execute(
            "SELECT (extract(epoch FROM date_bin('1 minute', ts, '1970-01-01')) * 1000)::bigint, "
            "sym, count(*), sum(price * qty), max(price) FROM trades GROUP BY 1, 2 ORDER BY 1, 2"
        ).fetchall()
    assert len(want) > 20
    assert got == [tuple(w) for w in want]


def test_polling_follows_rows_inserted_while_the_job_runs(pg: str) -> None:
    _exec(
        pg,
        "CREATE TABLE events (id bigserial PRIMARY KEY, v int)",
        "INSERT INTO events (v) VALUES (1), (2)",
    )
    sql = (
        "SELECT id, v FROM events "
        f"WITH ({_with('events', pg, table='events', poll_column='id', poll_interval='30ms')})"
    )

    async def run() -> list[dict]:
        got: list[dict] = []
        agen = Engine().stream(sql)
        try:
            while len(got) < 2:
                got += await asyncio.wait_for(agen.__anext__(), 30)
            await asyncio.to_thread(_exec, pg, "INSERT INTO events (v) VALUES (3), (4), (5)")
            while len(got) < 5:
                got += await asyncio.wait_for(agen.__anext__(), 30)
            await asyncio.to_thread(_exec, pg, "INSERT INTO events (v) VALUES (6)")
            while len(got) < 6:
                got += await asyncio.wait_for(agen.__anext__(), 30)
        finally:
            await agen.aclose()
        return got

    got = asyncio.run(run())
    assert got == [{"id": i, "v": i} for i in range(1, 7)]


def test_polling_resumes_after_a_committed_offset(pg: str) -> None:
    _exec(
        pg,
        "CREATE TABLE ticks (at timestamp, v int)",
        "INSERT INTO ticks VALUES ('2024-01-01 00:00:01', 1), ('2024-01-01 00:00:02', 2), "
        "('2024-01-01 00:00:03', 3)",
    )
    # a query with '%' in it: the poll value must not be sent as a parameter
    props = {
        "type": "postgres_source",
        "dsn": pg,
        "query": "SELECT at, v FROM ticks WHERE v % 1 = 0 AND 'x' LIKE '%'",
        "poll.column": "at",
    }

    async def first_batch(resume: int | None) -> list[dict]:
        src = create_source("ticks", props)
        src.resume_after = resume
        await src.open()
        try:
            return await src.batches().__anext__()
        finally:
            await src.close()

    all_rows = asyncio.run(first_batch(None))
    assert [r["v"] for r in all_rows] == [1, 2, 3]
    # the offset of a timestamp column is its epoch microseconds
    assert all_rows[1]["_offset"] == (1704067200 + 2) * 1_000_000
    rest = asyncio.run(first_batch(all_rows[1]["_offset"]))
    assert [r["v"] for r in rest] == [3]


def test_checkpointed_polling_job_restarts_where_it_stopped(pg: str, tmp_path: Path) -> None:
    _exec(
        pg,
        "CREATE TABLE feed (id int PRIMARY KEY, v int)",
        "INSERT INTO feed SELECT g, g * 10 FROM generate_series(1, 3) g",
    )
    state = tmp_path / "state.db"
    out = tmp_path / "out.jsonl"
    sql = (
        "CREATE STREAM copy AS SELECT id, v FROM feed "
        f"WITH ({_with('feed', pg, table='feed', poll_column='id', poll_interval='20ms')}, "
        f"'copy.type' = 'file_sink', 'copy.path' = '{out}', "
        f"'state.store' = 'sqlite', 'state.path' = '{state}', 'checkpoint.interval' = '0ms')"
    )

    async def run_until(n: int) -> None:
        eng = Engine()
        job = await eng.start(sql)
        for _ in range(1500):  # a generous deadline (30 s) on a loaded machine
            lines = out.read_text().splitlines() if out.exists() else []
            if len(lines) >= n:
                break
            await asyncio.sleep(0.02)
        job.stop()
        for t in eng.tasks:
            await asyncio.wait_for(t, 30)

    asyncio.run(run_until(3))
    _exec(pg, "INSERT INTO feed VALUES (4, 40), (5, 50)")
    asyncio.run(run_until(5))
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == [{"id": i, "v": i * 10} for i in range(1, 6)]  # nothing twice, none lost


def test_stream_joins_postgres_reference_table(pg: str, tmp_path: Path) -> None:
    _exec(
        pg,
        "CREATE TABLE customers (id int PRIMARY KEY, name text, tier text)",
        "INSERT INTO customers VALUES (1, 'Ann', 'gold'), (2, 'Bob', 'silver')",
    )
    orders = tmp_path / "orders.jsonl"
    orders.write_text(
        "\n".join(
            json.dumps(o)
            for o in [
                {"oid": "o1", "cid": 1, "amt": "10.50", "ts": 1000},
                {"oid": "o2", "cid": 3, "amt": "1.00", "ts": 2000},
                {"oid": "o3", "cid": 2, "amt": "7.25", "ts": 3000},
            ]
        )
        + "\n"
    )
    src = (
        f"'orders.type' = 'file_source', 'orders.path' = '{orders}', "
        f"'orders.event.time.field' = 'ts', {_with('customers', pg, table='customers')}"
    )
    eng = Engine()
    inner = eng.query(
        f"SELECT o.oid, c.name, o.amt FROM orders o JOIN customers c ON o.cid = c.id WITH ({src})"
    )
    assert inner == [
        {"oid": "o1", "name": "Ann", "amt": Decimal("10.50")},
        {"oid": "o3", "name": "Bob", "amt": Decimal("7.25")},
    ]
    left = eng.query(
        f"SELECT o.oid, c.tier FROM orders o LEFT JOIN customers c ON o.cid = c.id WITH ({src})"
    )
    assert left == [
        {"oid": "o1", "tier": "gold"},
        {"oid": "o2", "tier": None},
        {"oid": "o3", "tier": "silver"},
    ]


def test_rows_without_an_event_time_follow_on_error(pg: str, tmp_path: Path) -> None:
    _exec(
        pg,
        "CREATE TABLE readings (id int, at timestamptz)",
        "INSERT INTO readings VALUES (1, '2024-01-01 00:00:00+00'), (2, NULL), "
        "(3, '2024-01-01 00:00:05+00')",
    )
    base = {"type": "postgres_source", "dsn": pg, "table": "readings", "event.time.field": "at"}
    warnings: list[str] = []
    src = create_source("readings", base, on_warning=warnings.append)
    recs = [r for b in _drain(src) for r in b]
    assert [r["id"] for r in recs] == [1, 3]
    assert [r["_event_time"] for r in recs] == [1704067200000, 1704067205000]
    assert src.errors.malformed == 1
    assert "readings" in warnings[0] and "row 2" in warnings[0]

    dead = tmp_path / "dead.jsonl"
    src = create_source(
        "readings", {**base, "on.error": "dead_letter", "dead.letter.path": str(dead)}
    )
    assert len([r for b in _drain(src) for r in b]) == 2
    entry = json.loads(dead.read_text())
    assert entry["source"] == "readings" and "'id': 2" in entry["raw"]

    with pytest.raises(RecordError):
        _drain(create_source("readings", {**base, "on.error": "fail"}))


def test_polling_never_splits_equal_poll_values_across_batches(pg: str) -> None:
    _exec(
        pg,
        "CREATE TABLE batches (grp int, v text)",
        "INSERT INTO batches VALUES (1, 'a'), (1, 'b'), (2, 'c'), (2, 'd'), (2, 'e'), (3, 'f'), "
        "(4, 'g'), (4, 'h'), (5, 'i')",
    )
    props = {
        "type": "postgres_source",
        "dsn": pg,
        "table": "batches",
        "poll.column": "grp",
        "batch.size": "2",
        "poll.interval": "10ms",
    }

    async def first(n: int) -> list[list[tuple]]:
        src = create_source("b", props)
        await src.open()
        out = []
        try:
            it = src.batches().__aiter__()
            for _ in range(n):
                out.append(sorted((r["grp"], r["v"]) for r in await it.__anext__()))
        finally:
            await src.close()
        return out

    # pages of 2: a page that is all one value takes the whole run of it; a page that ends
    # inside a run (3, 4 | 4) leaves that run to the next poll
    assert asyncio.run(first(4)) == [
        [(1, "a"), (1, "b")],
        [(2, "c"), (2, "d"), (2, "e")],
        [(3, "f")],
        [(4, "g"), (4, "h")],
    ]
