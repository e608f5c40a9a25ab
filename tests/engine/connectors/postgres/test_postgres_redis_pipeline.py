"""A live pipeline over both real servers: a Redis stream read in a consumer group, enriched from
a PostgreSQL reference table, aggregated into a PostgreSQL table by upsert while entries keep
arriving; the result is checked against the same join and aggregation run by PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import psycopg
import redis
from services.redis import redis_server_url  # noqa: F401  (a session fixture)

from velostream import Engine


def test_live_stream_joined_to_postgres_table_upserted_into_postgres(
    pg: str,
    redis_server_url: str,  # noqa: F811
) -> None:
    r = redis.Redis.from_url(redis_server_url)
    r.delete("pay")
    with psycopg.connect(pg, autocommit=True) as c:
        c.execute("CREATE TABLE accounts (acct int PRIMARY KEY, region text)")
        c.execute("INSERT INTO accounts VALUES (1, 'eu'), (2, 'us'), (3, 'eu'), (4, 'apac')")
        c.execute("CREATE TABLE by_region (region text PRIMARY KEY, n bigint, total numeric)")
    payments = [
        {"id": i, "acct": 1 + (i * 7) % 5, "amt": f"{(i * 13) % 50}.{i % 100:02d}"}
        for i in range(1, 61)
    ]  # acct 5 has no account row: the inner join drops it
    for p in payments[:20]:
        r.xadd("pay", {"value": json.dumps(p)})
    sql = (
        "CREATE TABLE by_region AS SELECT a.region, COUNT(*) AS n, SUM(p.amt) AS total "
        "FROM pay p JOIN accounts a ON p.acct = a.acct GROUP BY a.region WITH ("
        f"'pay.type' = 'redis_source', 'pay.url' = '{redis_server_url}', "
        "'pay.group' = 'agg', 'pay.block' = '20ms', "
        f"'accounts.type' = 'postgres_source', 'accounts.dsn' = '{pg}', "
        "'accounts.table' = 'accounts', "
        f"'by_region.type' = 'postgres_sink', 'by_region.dsn' = '{pg}', "
        "'by_region.table' = 'by_region', 'by_region.mode' = 'upsert')"
    )

    def stored_n() -> int:
        with psycopg.connect(pg) as c:
            return c.execute("SELECT coalesce(sum(n), 0) FROM by_region").fetchone()[0]

    want_rows = sum(1 for p in payments if p["acct"] != 5)

    async def run() -> None:
        eng = Engine()
        job = await eng.start(sql)
        for p in payments[20:]:
            r.xadd("pay", {"value": json.dumps(p)})
            await asyncio.sleep(0.002)
        for _ in range(1500):  # a generous deadline (30 s) on a loaded machine
            if await asyncio.to_thread(stored_n) >= want_rows:
                break
            await asyncio.sleep(0.02)
        job.stop()
        for t in eng.tasks:
            await asyncio.wait_for(t, 30)

    asyncio.run(run())
    with psycopg.connect(pg, autocommit=True) as c:
        c.execute("CREATE TABLE pay (id int, acct int, amt numeric)")
        with c.cursor().copy("COPY pay (id, acct, amt) FROM STDIN") as cp:
            for p in payments:
                cp.write_row((p["id"], p["acct"], p["amt"]))
        want = c.execute(
            "SELECT a.region, count(*), sum(p.amt) FROM pay p JOIN accounts a USING (acct) "
            "GROUP BY a.region ORDER BY 1"
        ).fetchall()
        got = c.execute("SELECT region, n, total FROM by_region ORDER BY 1").fetchall()
    assert len(want) == 3
    assert got == want
    # every entry the job read was acknowledged (none stays pending for a re-read)
    assert r.xpending("pay", "agg")["pending"] == 0
