"""@metric semantics on real engine runs: counters per output row, gauges from a field,
histogram buckets, labels, conditions, sample rates; engine metrics per job. Expected values
are worked out from the input data by hand or with plain Python, never read from the engine."""

from __future__ import annotations

import collections
import math
from decimal import Decimal

import pytest

from velostream import Engine
from velostream.errors import SqlError

TRADES = [
    {"symbol": "A", "qty": 5, "price": Decimal("10.50"), "ts": 100},
    {"symbol": "B", "qty": 20, "price": Decimal("11.00"), "ts": 200},
    {"symbol": "A", "qty": 30, "price": Decimal("12.25"), "ts": 900},
    {"symbol": "C", "qty": 40, "price": Decimal("9.75"), "ts": 1100},
    {"symbol": "B", "qty": None, "price": Decimal("10.00"), "ts": 1200},
    {"symbol": "A", "qty": 15, "price": Decimal("13.00"), "ts": 2100},
    {"symbol": "B", "qty": 7, "price": Decimal("8.00"), "ts": 2500},
]


def value(eng: Engine, name: str, **labels: str) -> float | None:
    return eng.metrics.registry.get_sample_value(name, labels)


def run(sql: str, data: list[dict] | None = None, seed: int | None = None) -> Engine:
    eng = Engine()
    eng.metrics.seed = seed
    eng.register("t", TRADES if data is None else data)
    eng.execute(sql)
    return eng


def test_counter_counts_every_output_row_by_label() -> None:
    eng = run(
        "-- @metric: velo_rows_total\n-- @metric_labels: symbol\n"
        "CREATE STREAM s AS SELECT symbol, qty FROM t"
    )
    expected = collections.Counter(r["symbol"] for r in TRADES)
    for sym, n in expected.items():
        assert value(eng, "velo_rows_total", symbol=sym) == n
    assert value(eng, "velo_rows_total", symbol="Z") is None


def test_counter_without_labels_and_without_total_suffix() -> None:
    eng = run("-- @metric: velo_rows\nCREATE STREAM s AS SELECT symbol FROM t WHERE qty > 10")
    # qty > 10: 20, 30, 40, 15 (NULL is not > 10)
    assert value(eng, "velo_rows_total") == 4


def test_counter_on_an_aggregate_counts_emitted_rows_not_input_rows() -> None:
    eng = run(
        "-- @metric: velo_windows_total\n-- @metric_labels: symbol\n"
        "CREATE STREAM s AS SELECT symbol, COUNT(*) AS n FROM t GROUP BY symbol "
        "WINDOW TUMBLING(1s) EMIT FINAL WITH ('t.event.time.field' = 'ts')"
    )
    # windows [0,1000): A, B; [1000,2000): C, B; [2000,3000): A, B
    assert value(eng, "velo_windows_total", symbol="A") == 2
    assert value(eng, "velo_windows_total", symbol="B") == 3
    assert value(eng, "velo_windows_total", symbol="C") == 1


def test_gauge_is_the_field_of_the_last_row_per_label_set() -> None:
    eng = run(
        "-- @metric: velo_volume\n-- @metric_type: gauge\n-- @metric_field: volume\n"
        "-- @metric_labels: symbol\n"
        "CREATE STREAM s AS SELECT symbol, SUM(qty) AS volume, SUM(price) AS notional FROM t "
        "GROUP BY symbol WINDOW TUMBLING(1s) EMIT FINAL WITH ('t.event.time.field' = 'ts')"
    )
    # last window per symbol: A [2000,3000): 15; B [2000,3000): 7; C [1000,2000): 40
    assert value(eng, "velo_volume", symbol="A") == 15
    assert value(eng, "velo_volume", symbol="B") == 7
    assert value(eng, "velo_volume", symbol="C") == 40


def test_gauge_of_a_decimal_field() -> None:
    eng = run(
        "-- @metric: velo_price\n-- @metric_type: gauge\n-- @metric_field: price\n"
        "CREATE STREAM s AS SELECT price FROM t"
    )
    assert value(eng, "velo_price") == 8.0  # the last row's price "8.00"


def test_histogram_counts_values_into_cumulative_buckets() -> None:
    eng = run(
        "-- @metric: velo_qty\n-- @metric_type: histogram\n-- @metric_field: qty\n"
        "-- @metric_buckets: 10, 20, 35\n"
        "CREATE STREAM s AS SELECT qty FROM t"
    )
    qtys = [5, 20, 30, 40, 15, 7]  # the NULL qty is not observed
    # le=10: 5, 7; le=20: + 20, 15; le=35: + 30; +Inf: + 40
    assert value(eng, "velo_qty_bucket", le="10.0") == 2
    assert value(eng, "velo_qty_bucket", le="20.0") == 4
    assert value(eng, "velo_qty_bucket", le="35.0") == 5
    assert value(eng, "velo_qty_bucket", le="+Inf") == 6
    assert value(eng, "velo_qty_count") == 6
    assert value(eng, "velo_qty_sum") == sum(qtys)


def test_histogram_default_buckets_are_the_prometheus_client_defaults() -> None:
    eng = run(
        "-- @metric: velo_q\n-- @metric_type: histogram\n-- @metric_field: qty\n"
        "CREATE STREAM s AS SELECT qty FROM t"
    )
    assert value(eng, "velo_q_bucket", le="0.005") == 0
    assert value(eng, "velo_q_bucket", le="10.0") == 2  # 5 and 7
    assert value(eng, "velo_q_bucket", le="+Inf") == 6


def test_labels_missing_nested_decimal_and_boolean_values() -> None:
    data = [
        {"symbol": "A", "meta": {"region": "eu"}, "px": Decimal("1.50"), "ok": True},
        {"symbol": None, "meta": {"region": "us"}, "px": Decimal("1.50"), "ok": False},
        {"symbol": "A", "meta": {}, "px": Decimal("2"), "ok": True},
    ]
    eng = run(
        "-- @metric: velo_l_total\n-- @metric_labels: symbol, meta.region, px, ok\n"
        "CREATE STREAM s AS SELECT symbol, meta, px, ok FROM t",
        data,
    )

    def v(symbol: str, region: str, px: str, ok: str) -> float | None:
        return value(eng, "velo_l_total", symbol=symbol, meta_region=region, px=px, ok=ok)

    assert v("A", "eu", "1.50", "true") == 1
    assert v("unknown", "us", "1.50", "false") == 1
    assert v("A", "unknown", "2", "true") == 1


def test_condition_is_sql_over_output_fields_and_null_is_false() -> None:
    eng = run(
        "-- @metric: velo_big_total\n-- @metric_labels: symbol\n"
        "-- @metric_condition: size > 10 AND sym IN ('A', 'B')\n"
        "CREATE STREAM s AS SELECT symbol AS sym, qty AS size, symbol FROM t"
    )
    # rows with qty > 10 and symbol A or B: B 20, A 30, A 15 (C 40 is not A/B; NULL fails)
    assert value(eng, "velo_big_total", symbol="A") == 2
    assert value(eng, "velo_big_total", symbol="B") == 1
    assert value(eng, "velo_big_total", symbol="C") is None


def test_condition_also_filters_gauges_and_histograms() -> None:
    eng = run(
        "-- @metric: velo_g\n-- @metric_type: gauge\n-- @metric_field: qty\n"
        "-- @metric_condition: symbol = 'A'\n"
        "--\n"
        "-- @metric: velo_h\n-- @metric_type: histogram\n-- @metric_field: qty\n"
        "-- @metric_condition: qty >= 20\n"
        "CREATE STREAM s AS SELECT symbol, qty FROM t"
    )
    assert value(eng, "velo_g") == 15  # A's last qty
    assert value(eng, "velo_h_count") == 3 and value(eng, "velo_h_sum") == 20 + 30 + 40


SAMPLED = [{"k": i % 2, "ts": i} for i in range(20000)]
SAMPLE_SQL = (
    "-- @metric: velo_s_total\n-- @metric_sample_rate: {rate}\nCREATE STREAM s AS SELECT k FROM t"
)


def test_sample_rate_records_about_that_fraction_of_rows_reproducibly_with_a_seed() -> None:
    n, p = len(SAMPLED), 0.3
    a = run(SAMPLE_SQL.format(rate=p), SAMPLED, seed=7)
    b = run(SAMPLE_SQL.format(rate=p), SAMPLED, seed=7)
    got = value(a, "velo_s_total")
    assert got == value(b, "velo_s_total")  # the same seed samples the same rows
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    assert abs(got - mean) < 5 * sd, (got, mean, sd)  # binomial: 5 sd is ~1 in 3.5 million
    c = run(SAMPLE_SQL.format(rate=p), SAMPLED, seed=8)
    assert value(c, "velo_s_total") != got  # another seed, another sample


def test_sample_rate_one_keeps_all_and_zero_keeps_none() -> None:
    assert value(run(SAMPLE_SQL.format(rate="1.0"), SAMPLED), "velo_s_total") == len(SAMPLED)
    assert value(run(SAMPLE_SQL.format(rate="0"), SAMPLED), "velo_s_total") in (None, 0)


def test_sample_rate_applies_to_histograms() -> None:
    sql = (
        "-- @metric: velo_sh\n-- @metric_type: histogram\n-- @metric_field: k\n"
        "-- @metric_sample_rate: 0.5\nCREATE STREAM s AS SELECT k FROM t"
    )
    got = value(run(sql, SAMPLED, seed=1), "velo_sh_count")
    n = len(SAMPLED)
    assert abs(got - n / 2) < 5 * math.sqrt(n / 4)


def test_a_non_numeric_field_is_skipped_with_a_warning_not_a_failure() -> None:
    warned: list[str] = []
    eng = Engine(on_warning=warned.append)
    eng.register("t", [{"v": "1.5"}, {"v": "abc"}, {"v": "2"}])
    eng.execute(
        "-- @metric: velo_v\n-- @metric_type: histogram\n-- @metric_field: v\n"
        "CREATE STREAM s AS SELECT v FROM t"
    )
    assert value(eng, "velo_v_count") == 2 and value(eng, "velo_v_sum") == 3.5
    assert any("velo_v" in w and "'abc' is not a number" in w for w in warned)


def test_label_sets_are_capped_at_100_with_a_warning() -> None:
    warned: list[str] = []
    eng = Engine(on_warning=warned.append)
    eng.register("t", [{"k": f"k{i}"} for i in range(150)])
    eng.execute(
        "-- @metric: velo_k_total\n-- @metric_labels: k\nCREATE STREAM s AS SELECT k FROM t"
    )
    series = [
        s
        for m in eng.metrics.registry.collect()
        if m.name == "velo_k"
        for s in m.samples
        if s.name == "velo_k_total"
    ]
    assert len(series) == 100
    assert any("more than 100 label combinations" in w for w in warned)


def test_each_engine_has_its_own_registry() -> None:
    sql = "-- @metric: velo_e_total\nCREATE STREAM s AS SELECT symbol FROM t"
    a = run(sql)
    b = run(sql, TRADES[:2])
    assert value(a, "velo_e_total") == len(TRADES)
    assert value(b, "velo_e_total") == 2


def test_a_rerun_statement_keeps_counting_and_a_clashing_definition_is_refused() -> None:
    eng = Engine()
    eng.register("t", TRADES)
    sql = "-- @metric: velo_r_total\nCREATE OR REPLACE STREAM s AS SELECT symbol FROM t"
    eng.execute(sql)
    eng.execute(sql)
    assert value(eng, "velo_r_total") == 2 * len(TRADES)

    async def clash() -> None:
        live = Engine()
        live.register("t", TRADES)
        job = await live.start(
            "-- @metric: velo_c_total\nCREATE STREAM s1 AS SELECT symbol FROM g "
            "WITH ('g.type' = 'synthetic', 'g.schema' = 'symbol STRING', 'g.rate' = '10')"
        )
        try:
            with pytest.raises(SqlError) as e:
                await live.start(
                    "-- @metric: velo_c_total\n-- @metric_labels: symbol\n"
                    "CREATE STREAM s2 AS SELECT symbol FROM t"
                )
            assert "already defined differently by running job s1" in str(e.value)
        finally:
            job.stop()
            await live.task_of("s1")

    import asyncio

    asyncio.run(clash())


# -- engine metrics ---------------------------------------------------------------------


def test_engine_metrics_records_in_out_and_state_size() -> None:
    eng = run("CREATE STREAM agg AS SELECT symbol, COUNT(*) AS n FROM t GROUP BY symbol")
    assert value(eng, "velo_job_records_in_total", job_name="agg") == len(TRADES)
    # EMIT CHANGES without a window: one row per input row
    assert value(eng, "velo_job_records_out_total", job_name="agg") == len(TRADES)
    assert value(eng, "velo_job_state_size", job_name="agg") == 3  # groups A, B, C
    assert value(eng, "velo_job_late_records_total", job_name="agg") == 0
    assert value(eng, "velo_job_running", job_name="agg") == 0  # it has ended
    assert value(eng, "velo_job_batch_latency_seconds_count", job_name="agg") >= 1


def test_engine_metrics_count_late_records() -> None:
    data = [
        {"k": "a", "ts": 0},
        {"k": "a", "ts": 1500},
        {"k": "a", "ts": 2500},
        {"k": "a", "ts": 100},  # [0, 1000) closed when the watermark passed 1000: late
        {"k": "a", "ts": 2600},
    ]
    eng = run(
        "CREATE STREAM w AS SELECT k, COUNT(*) AS n FROM t GROUP BY k WINDOW TUMBLING(1s) "
        "WITH ('t.event.time.field' = 'ts')",
        data,
    )
    assert value(eng, "velo_job_late_records_total", job_name="w") == 1
    assert value(eng, "velo_job_records_in_total", job_name="w") == 5
    assert value(eng, "velo_job_records_out_total", job_name="w") == 3  # windows 0, 1, 2
    assert value(eng, "velo_job_state_size", job_name="w") == 0  # every window closed


def test_engine_metrics_count_malformed_records(tmp_path) -> None:
    f = tmp_path / "in.jsonl"
    f.write_text('{"k": "a"}\n{"k": \n{"k": "b"}\nnot json\n')
    eng = Engine()
    eng.execute(
        f"CREATE STREAM m AS SELECT k FROM src WITH ('src.type' = 'file_source', "
        f"'src.path' = '{f}', 'src.format' = 'jsonl')"
    )
    assert value(eng, "velo_job_malformed_records_total", job_name="m") == 2
    assert value(eng, "velo_job_records_in_total", job_name="m") == 2


def test_engine_metrics_of_a_running_job_and_its_watermark_lag() -> None:
    import asyncio
    import time

    async def main() -> dict[str, float | None]:
        eng = Engine()
        job = await eng.start(
            "CREATE STREAM live AS SELECT symbol, COUNT(*) AS n FROM g GROUP BY symbol "
            "WINDOW TUMBLING(1s) WITH ('g.type' = 'synthetic', "
            "'g.schema' = 'symbol STRING ENUM(A,B), ts TIMESTAMP', 'g.rate' = '200', "
            "'g.event.time.field' = 'ts')"
        )
        try:
            deadline = time.monotonic() + 20
            while job.stats.records_in < 50 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return {
                "running": value(eng, "velo_job_running", job_name="live"),
                "in": value(eng, "velo_job_records_in_total", job_name="live"),
                "lag": value(eng, "velo_job_watermark_lag_seconds", job_name="live"),
                "state": value(eng, "velo_job_state_size", job_name="live"),
            }
        finally:
            job.stop()
            await eng.task_of("live")

    got = asyncio.run(main())
    assert got["running"] == 1 and got["in"] >= 50
    # a live synthetic source stamps records with the current time: the lag is small
    assert got["lag"] is not None and 0 <= got["lag"] < 10
    assert 1 <= got["state"] <= 4  # one or two open windows of at most two symbols


def test_batched_histogram_updates_equal_one_observe_per_value() -> None:
    from prometheus_client import CollectorRegistry, Histogram

    from velostream.metrics.row_metrics import observe_many

    values = [0.0, 1.0, 10.0, 10.000001, 5.5, 100.0, 1e9, -3.0, 10.0]
    reg = CollectorRegistry()
    one = Histogram("one", "h", buckets=[1, 10, 100], registry=reg)
    many = Histogram("many", "h", buckets=[1, 10, 100], registry=reg)
    for v in values:
        one.observe(v)
    observe_many(many, values)
    for suffix, le in [("_bucket", "1.0"), ("_bucket", "10.0"), ("_bucket", "100.0")]:
        assert reg.get_sample_value("many" + suffix, {"le": le}) == reg.get_sample_value(
            "one" + suffix, {"le": le}
        )
    # by hand: <=1: 0, 1, -3 -> 3; <=10: + 10, 5.5, 10 -> 6; <=100: + 10.000001, 100 -> 8
    assert [reg.get_sample_value("many_bucket", {"le": le}) for le in ("1.0", "10.0", "100.0")] == [
        3,
        6,
        8,
    ]
    assert reg.get_sample_value("many_count") == 9
    assert reg.get_sample_value("many_sum") == sum(values)


def test_a_row_the_condition_cannot_evaluate_is_skipped_with_a_warning() -> None:
    warned: list[str] = []
    eng = Engine(on_warning=warned.append)
    eng.register("t", [{"a": "x"}, {"a": 2}, {"a": 0}, {"a": 5}])
    eng.execute(
        "-- @metric: velo_c_total\n-- @metric_condition: a > 1\nCREATE STREAM s AS SELECT a FROM t"
    )
    assert eng.jobs["s"].state == "finished"
    assert value(eng, "velo_c_total") == 2  # 2 and 5; 'x' cannot be compared
    assert len([w for w in warned if "velo_c_total" in w and "failed" in w]) == 1
