"""The Python API: query, query_arrow, stream, start/stop, chained streams, SHOW/EXPLAIN."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from velostream import Engine, SqlError

TRADES = [
    {"symbol": "A", "price": Decimal("10.50"), "qty": 2, "ts": 1000},
    {"symbol": "B", "price": Decimal("20.00"), "qty": 1, "ts": 1500},
    {"symbol": "A", "price": Decimal("11.25"), "qty": 3, "ts": 2100},
    {"symbol": "A", "price": Decimal("9.00"), "qty": 1, "ts": 3500},
]
ET = "WITH ('trades.event.time.field' = 'ts')"


def engine() -> Engine:
    eng = Engine()
    eng.register("trades", [dict(r) for r in TRADES])
    return eng


def test_query_projection_keeps_decimals_exact() -> None:
    rows = engine().query(f"SELECT symbol, price * qty AS notional FROM trades {ET}")
    # 10.50*2, 20.00*1, 11.25*3, 9.00*1 by hand
    assert rows == [
        {"symbol": "A", "notional": Decimal("21.00")},
        {"symbol": "B", "notional": Decimal("20.00")},
        {"symbol": "A", "notional": Decimal("33.75")},
        {"symbol": "A", "notional": Decimal("9.00")},
    ]
    assert str(rows[2]["notional"]) == "33.75"


def test_query_tumbling_window_emits_at_close_in_window_order() -> None:
    rows = engine().query(
        "SELECT symbol, COUNT(*) AS n, _window_start AS ws FROM trades "
        f"GROUP BY symbol WINDOW TUMBLING(1s) {ET}"
    )
    # [1000,2000): A, B (first-arrival order); [2000,3000): A; [3000,4000): A
    assert rows == [
        {"symbol": "A", "n": 1, "ws": 1000},
        {"symbol": "B", "n": 1, "ws": 1000},
        {"symbol": "A", "n": 1, "ws": 2000},
        {"symbol": "A", "n": 1, "ws": 3000},
    ]


def test_query_arrow_returns_a_table() -> None:
    table = engine().query_arrow(f"SELECT symbol, qty FROM trades WHERE qty > 1 {ET}")
    assert table.column_names == ["symbol", "qty"]
    assert table.to_pylist() == [{"symbol": "A", "qty": 2}, {"symbol": "A", "qty": 3}]


def test_order_by_and_limit_on_an_ad_hoc_query() -> None:
    rows = engine().query(f"SELECT symbol, qty FROM trades ORDER BY qty DESC LIMIT 2 {ET}")
    # a bounded ad-hoc query sorts its whole result (3, 2, 1, 1), then keeps the first 2
    assert [r["qty"] for r in rows] == [3, 2]


def test_stream_yields_batches_until_the_bounded_query_ends() -> None:
    async def collect() -> list[dict]:
        out: list[dict] = []
        async for batch in engine().stream(f"SELECT symbol FROM trades {ET}"):
            out.extend(batch)
        return out

    assert [r["symbol"] for r in asyncio.run(collect())] == ["A", "B", "A", "A"]


def test_stopping_a_live_job_really_stops_it() -> None:
    async def run() -> tuple[str, int]:
        eng = Engine()
        seen: list[dict] = []
        job = await eng.start(
            "CREATE STREAM live AS SELECT symbol FROM ticks "
            "WITH ('ticks.type' = 'synthetic', 'ticks.preset' = 'trades', 'ticks.rate' = '1000')",
            on_rows=seen.extend,
        )
        for _ in range(200):
            await asyncio.sleep(0.01)
            if seen:
                break
        eng.stop(job.name)
        await asyncio.gather(*eng.tasks, return_exceptions=True)
        count = len(seen)
        await asyncio.sleep(0.1)
        assert len(seen) == count  # nothing arrives after the stop
        return job.state, count

    state, count = asyncio.run(run())
    assert state == "stopped"
    assert count > 0


def test_a_stream_can_read_another_stream_of_the_session() -> None:
    eng = engine()
    results = eng.execute(
        "CREATE STREAM big AS SELECT symbol, qty FROM trades WHERE qty >= 2 "
        "WITH ('trades.event.time.field' = 'ts', 'big.type' = 'memory');"
        "CREATE STREAM big_count AS SELECT COUNT(*) AS n FROM big EMIT FINAL "
        "WITH ('big_count.type' = 'memory');"
    )
    assert [r.kind for r in results] == ["job", "job"]
    assert eng.sink_memory["big"] == [{"symbol": "A", "qty": 2}, {"symbol": "A", "qty": 3}]
    assert eng.sink_memory["big_count"] == [{"n": 2}]


def test_show_functions_lists_the_registry() -> None:
    res = engine().execute("SHOW FUNCTIONS")
    names = {r["name"] for r in res[0].rows}
    assert {"COUNT", "SUM", "LAG", "SPLIT_PART", "JSON_VALUE"} <= names
    assert all(r["description"] for r in res[0].rows)


def test_explain_names_sources_window_emit_and_state_keys() -> None:
    res = engine().execute(
        "EXPLAIN SELECT symbol, SUM(qty) AS q FROM trades GROUP BY symbol "
        f"WINDOW SLIDING(2s, 1s) EMIT CHANGES {ET}"
    )
    text = "\n".join(r["plan"] for r in res[0].rows)
    assert "Emit: CHANGES" in text
    assert "group keys: symbol" in text
    assert "SLIDING(size=2000ms, advance=1000ms)" in text
    assert "Source: trades" in text and "event_time=ts" in text


def test_show_jobs_reports_counters() -> None:
    eng = engine()
    eng.execute(
        "CREATE STREAM s AS SELECT symbol FROM trades WHERE qty > 1 "
        "WITH ('trades.event.time.field' = 'ts', 's.type' = 'memory')"
    )
    rows = eng.execute("SHOW JOBS")[0].rows
    assert rows[0]["name"] == "s"
    assert rows[0]["state"] == "finished"
    assert rows[0]["records_in"] == 4
    assert rows[0]["rows_out"] == 2


def test_unknown_function_is_an_error_naming_it() -> None:
    with pytest.raises(SqlError) as err:
        engine().query(f"SELECT FROBNICATE(qty) FROM trades {ET}")
    assert "FROBNICATE" in str(err.value)
    assert err.value.line == 1


def test_unknown_source_without_type_is_an_error_naming_the_key() -> None:
    with pytest.raises(SqlError) as err:
        Engine().query("SELECT a FROM nowhere")
    assert "'nowhere.type'" in str(err.value)


def test_a_running_stream_cannot_be_created_again_but_can_be_replaced() -> None:
    live = (
        "CREATE STREAM s AS SELECT symbol FROM ticks "
        "WITH ('ticks.type' = 'synthetic', 'ticks.preset' = 'trades', 'ticks.rate' = '100')"
    )

    async def run() -> tuple[str, str]:
        eng = Engine()
        first = await eng.start(live)
        with pytest.raises(SqlError, match="STOP JOB s"):
            await eng.execute_async(live, wait=False)
        [res] = await eng.execute_async(live.replace("CREATE", "CREATE OR REPLACE"), wait=False)
        await asyncio.sleep(0.1)
        eng.stop("s")
        await asyncio.gather(*eng.tasks, return_exceptions=True)
        return first.state, res.job.state

    first_state, second_state = asyncio.run(run())
    assert first_state == "stopped"  # OR REPLACE stopped the first job
    assert second_state == "stopped"


def test_a_finished_stream_can_be_created_again() -> None:
    eng = engine()
    sql = "CREATE STREAM s AS SELECT symbol FROM trades WITH ('s.type' = 'memory')"
    eng.execute(sql)
    eng.execute(sql)
    assert [r["symbol"] for r in eng.sink_memory["s"]] == ["A", "B", "A", "A"]


def test_a_later_query_reads_all_of_a_finished_bounded_stream() -> None:
    async def run() -> list[dict]:
        eng = engine()
        await eng.execute_async(
            f"CREATE STREAM big AS SELECT symbol, qty, ts FROM trades WHERE qty >= 2 {ET}"
        )
        [res] = await eng.execute_async(
            "SELECT symbol, COUNT(*) AS n FROM big GROUP BY symbol WINDOW TUMBLING(1s) "
            "WITH ('big.event.time.field' = 'ts')"
        )
        return res.rows

    # big holds A@1000 (qty 2) and A@2100 (qty 3), re-timed by its ts column
    assert asyncio.run(run()) == [{"symbol": "A", "n": 1}, {"symbol": "A", "n": 1}]


def test_ad_hoc_queries_get_distinct_names() -> None:
    eng = engine()
    a = eng.execute(f"SELECT symbol FROM trades {ET}")[0].job.name
    b = eng.execute(f"SELECT symbol FROM trades {ET}")[0].job.name
    assert a != b
