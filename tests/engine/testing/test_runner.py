"""Running apps under specs: outputs checked against DuckDB over the same generated inputs,
the synthetic source and `velo test` making the same data, errors that say what to do."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest
import yaml

from velostream.engine import Engine
from velostream.testing.runner import Runner, TestReport, run_test
from velostream.testing.spec import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[3]
APPS = ROOT / "example-notebooks" / "apps"


def run_app(sql_path: Path, spec_path: Path | None = None, seed: int | None = None, only=None):
    spec = load_spec(spec_path or sql_path.with_name(sql_path.stem + ".test.yaml"))
    runner = Runner(sql_path.read_text(), spec, sql_path.parent, seed, str(sql_path))
    return runner, asyncio.run(runner.run(only))


def run_text(tmp_path: Path, sql: str, spec: str, seed: int | None = None) -> TestReport:
    (tmp_path / "app.sql").write_text(sql)
    (tmp_path / "app.test.yaml").write_text(spec)
    return run_test(tmp_path / "app.sql", seed=seed)


def test_windows_agree_with_duckdb_and_late_rows_are_the_delayed_ones() -> None:
    runner, report = run_app(APPS / "market_agg.sql")
    assert report.error is None and report.passed, [r.message for r in report.failed]
    rows = runner.inputs["market_data"]
    late = [r for r in rows if r["_timestamp"] - r["event_time"] == 120_000]
    assert report.outputs["market_aggregates"].late == len(late) > 0
    on_time = [
        (r["symbol"], r["volume"], float(r["price"]), r["event_time"])
        for r in rows
        if r not in late
    ]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (symbol VARCHAR, volume BIGINT, price DOUBLE, et BIGINT)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", on_time)
    want = con.execute(
        "SELECT symbol, (et // 60000) * 60000 AS ws, COUNT(*), SUM(volume), MIN(price), MAX(price)"
        " FROM t GROUP BY ALL ORDER BY ws, symbol"
    ).fetchall()
    got = sorted(
        (
            r["symbol"],
            r["window_start"],
            r["trade_count"],
            r["total_volume"],
            float(r["min_price"]),
            float(r["max_price"]),
        )
        for r in report.outputs["market_aggregates"].rows
    )
    assert sorted(got) == sorted(want)


def test_metric_values_count_the_output_rows() -> None:
    _, report = run_app(APPS / "market_agg.sql")
    out = report.outputs["market_aggregates"].rows
    per_symbol = Counter(r["symbol"] for r in out)
    metric = {r.label: r for r in report.results if r.type.startswith("metric")}
    counter = next(r for r in metric.values() if r.type == "metric_counter")
    assert counter.passed and counter.actual == per_symbol["AAPL"] == 5
    last_msft = [r["total_volume"] for r in out if r["symbol"] == "MSFT"][-1]
    gauge = next(r for r in metric.values() if r.type == "metric_gauge")
    assert gauge.actual == last_msft  # a gauge holds the last value per label set


def test_table_join_matches_the_customer_file() -> None:
    runner, report = run_app(APPS / "orders_enriched.sql")
    assert report.passed, [r.message for r in report.failed]
    names = {r["id"]: r["name"] for r in runner.inputs["customer_updates"]}
    out = report.outputs["orders_enriched"].rows
    assert len(out) == 400 and all(r["name"] == names[r["customer_id"]] for r in out)


def test_velo_test_feeds_the_same_records_as_the_synthetic_source() -> None:
    # velo run's synthetic source (bounded at 2000) and velo test's input for it: one generator
    sql = (ROOT / "example-notebooks" / "quickstart.sql").read_text()
    bounded = sql.replace(
        "'trades.rate' = '200',", "'trades.rate' = '200', 'trades.count' = '2000',"
    )
    assert bounded != sql
    direct = Engine().query(bounded)
    _, report = run_app(ROOT / "example-notebooks" / "quickstart.sql")
    assert report.outputs["trade_stats"].rows == direct and len(direct) == 50


def test_spec_inputs_replace_any_connector_and_sinks_write_nothing(tmp_path: Path) -> None:
    sql = (
        "CREATE STREAM big AS SELECT id, amount FROM pay WHERE amount > 10\n"
        "WITH ('pay.type' = 'kafka_source', 'pay.topic' = 'p',\n"
        f"      'big.type' = 'file_sink', 'big.path' = '{tmp_path / 'out.jsonl'}');"
    )
    spec = (
        "queries:\n  - name: big\n    inputs:\n      - source: pay\n"
        "        rows: [{id: 1, amount: 5}, {id: 2, amount: 50}, {id: 3, amount: 11}]\n"
        "    assertions:\n      - {type: record_count, equals: 2}\n"
    )
    report = run_text(tmp_path, sql, spec)
    assert report.passed and [r["id"] for r in report.outputs["big"].rows] == [2, 3]
    assert not (tmp_path / "out.jsonl").exists()


def test_a_source_without_data_says_what_to_do(tmp_path: Path) -> None:
    sql = "SELECT a FROM k WITH ('k.type' = 'kafka_source', 'k.topic' = 't');"
    report = run_text(tmp_path, sql, "assertions: [{type: record_count, equals: 0}]\n")
    assert not report.passed
    assert "source 'k'" in report.error and "give it an input in the spec" in report.error


def test_only_one_query_and_unknown_names(tmp_path: Path) -> None:
    sql = (
        "CREATE STREAM a AS SELECT x FROM s WITH ('s.type' = 'synthetic', 's.schema' = 'x BIGINT');\n"
        "CREATE STREAM b AS SELECT x FROM a WHERE x > 500;"
    )
    spec = (
        "default_records: 100\nqueries:\n"
        "  - {name: a, assertions: [{type: record_count, equals: 100}]}\n"
        "  - {name: b, assertions: [{type: record_count, equals: 0}]}\n"
        "  - {name: c, assertions: [{type: record_count, equals: 0}]}\n"
    )
    (tmp_path / "app.sql").write_text(sql)
    (tmp_path / "app.test.yaml").write_text(spec)
    full = run_test(tmp_path / "app.sql")
    verdicts = {r.query: r.passed for r in full.results}
    assert verdicts == {"a": True, "b": False, "c": False}
    assert "no output named 'c'" in next(r.message for r in full.results if r.query == "c")
    only = run_test(tmp_path / "app.sql", only="a")
    assert only.passed and [r.query for r in only.results] == ["a"]
    assert "no query of that name" in run_test(tmp_path / "app.sql", only="zz").error


def test_a_different_seed_changes_the_data_not_the_shape() -> None:
    r1, a = run_app(APPS / "market_agg.sql", seed=1)
    r2, b = run_app(APPS / "market_agg.sql", seed=2)
    assert a.passed and b.passed
    assert r1.inputs["market_data"] != r2.inputs["market_data"]
    assert len(r1.inputs["market_data"]) == len(r2.inputs["market_data"]) == 600


def test_progress_is_reported_for_big_inputs(tmp_path: Path) -> None:
    spec = parse_spec(
        yaml.safe_load(
            "inputs: [{source: s, records: 50000, schema: 'v BIGINT SEQUENCE'}]\n"
            "assertions: [{type: aggregate_check, function: MAX, field: v, expected: 50000}]"
        ),
        tmp_path,
    )
    seen: list[str] = []
    runner = Runner("SELECT v FROM s;", spec, tmp_path, progress=seen.append)
    report = asyncio.run(runner.run())
    assert report.passed, [r.message for r in report.results]
    assert any(re.match(r"generating 50,000 records for s", m) for m in seen)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("queries: [{name: q, inputs: [{source: s, schema: nope}]}]", "no schema 'nope'"),
        ("queries: [{name: q, inputz: []}]", "queries[0]: unknown key 'inputz'"),
        (
            "inputs: [{source: s, schema: 'x BIGINT', rows: []}]",
            "give one of schema, rows or data_file",
        ),
        ("inputs: [{source: s, data_file: missing.csv}]", "missing.csv: no such file"),
        (
            "inputs: [{source: s, schema: 'x BIGINT', time_simulation: {late: {fraction: 2}}}]",
            "late.fraction: must be between 0 and 1",
        ),
        ("clock: {now: yesterday}", "clock.now: expected now"),
    ],
)
def test_spec_errors_name_the_key(tmp_path: Path, spec: str, message: str) -> None:
    from velostream.testing.runner import HarnessError
    from velostream.testing.spec import SpecError

    (tmp_path / "app.sql").write_text("SELECT x FROM s;")
    (tmp_path / "app.test.yaml").write_text(spec)
    try:
        report = run_test(tmp_path / "app.sql")
        text = report.error or ""
    except (SpecError, HarnessError) as e:
        text = str(e)
    assert message in text


def test_sampled_metrics_give_the_same_value_on_every_run(tmp_path: Path) -> None:
    sql = (
        "-- @metric: velo_sampled_total\n"
        "-- @metric_type: counter\n"
        "-- @metric_sample_rate: 0.5\n"
        "CREATE STREAM s2 AS SELECT v FROM s WITH ('s.type' = 'synthetic', "
        "'s.schema' = 'v BIGINT SEQUENCE');"
    )
    spec = (
        "default_records: 1000\nqueries:\n  - name: s2\n    metric_assertions:\n"
        "      - {type: metric_counter, name: velo_sampled_total, between: [400, 600]}\n"
    )
    values = [run_text(tmp_path, sql, spec).results[0].actual for _ in range(2)]
    assert values[0] == values[1] and 400 <= values[0] <= 600  # about half of 1000, repeatably


def test_an_input_the_app_does_not_read_is_a_warning(tmp_path: Path) -> None:
    sql = "SELECT v FROM s WITH ('s.type' = 'synthetic', 's.schema' = 'v BIGINT SEQUENCE');"
    spec = (
        "inputs: [{source: s, records: 3}, {source: ss, rows: [{v: 1}]}]\n"
        "assertions: [{type: record_count, equals: 3}]\n"
    )
    report = run_text(tmp_path, sql, spec)
    assert report.passed
    (warning,) = report.warnings
    assert warning.endswith(
        "app.test.yaml: spec.inputs[1] (ss): the app reads no source 'ss' (it reads s)"
    )
