"""`velo dashboard`: the Grafana model built from @metric annotations of .sql files and
notebooks (a panel per metric, the engine panels, a Prometheus datasource variable)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from velostream.cli import main
from velostream.metrics.dashboard import dashboard_for, expressions

SQL = """\
-- @metric: velo_d_windows_total
-- @metric_help: "Windows per symbol"
-- @metric_labels: symbol, meta.region
--
-- @metric: velo_d_volume
-- @metric_type: gauge
-- @metric_field: volume
--
-- @metric: velo_d_price
-- @metric_type: histogram
-- @metric_field: avg_price
-- @metric_labels: symbol
CREATE STREAM d_stats AS SELECT symbol, meta, SUM(q) AS volume, AVG(p) AS avg_price FROM t
GROUP BY symbol, meta WINDOW TUMBLING(1s) WITH ('t.type' = 'memory');

-- @metric: velo_d_rows
CREATE STREAM d_rows AS SELECT symbol FROM t WITH ('t.type' = 'memory');
"""


def panels(model: dict) -> dict[str, dict]:
    return {p["title"]: p for p in model["panels"] if p["type"] != "row"}


def exprs(panel: dict) -> list[str]:
    return [t["expr"] for t in panel["targets"]]


@pytest.fixture
def sql_file(tmp_path: Path) -> Path:
    f = tmp_path / "trading app.sql"
    f.write_text(SQL)
    return f


def test_a_panel_per_metric_with_rate_value_and_quantiles(sql_file: Path) -> None:
    model = dashboard_for(sql_file)
    ps = panels(model)
    assert exprs(ps["Windows per symbol"]) == [
        "sum by (symbol, meta_region) (rate(velo_d_windows_total[$__rate_interval]))"
    ]
    assert ps["Windows per symbol"]["targets"][0]["legendFormat"] == "{{symbol}} {{meta_region}}"
    assert exprs(ps["velo_d_volume metric"]) == ["velo_d_volume"]
    assert exprs(ps["velo_d_price metric"]) == [
        f"histogram_quantile({q}, sum by (le, symbol) (rate(velo_d_price_bucket[$__rate_interval])))"
        for q in ("0.5", "0.95", "0.99")
    ]
    # a counter named without _total is queried by the name Prometheus stores
    assert exprs(ps["velo_d_rows metric"]) == ["sum (rate(velo_d_rows_total[$__rate_interval]))"]


def test_engine_panels_and_variables(sql_file: Path) -> None:
    model = dashboard_for(sql_file)
    all_exprs = " ".join(expressions(model))
    for metric in (
        "velo_job_records_in_total",
        "velo_job_records_out_total",
        "velo_job_late_records_total",
        "velo_job_malformed_records_total",
        "velo_job_batch_latency_seconds_bucket",
        "velo_job_watermark_lag_seconds",
        "velo_job_state_size",
        "velo_job_running",
    ):
        assert metric in all_exprs, metric
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    job = variables["job"]
    assert job["query"] == "d_stats,d_rows" and job["includeAll"] and job["multi"]
    assert job["allValue"] == "d_stats|d_rows"
    for p in model["panels"]:
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}"
    assert model["uid"] == "velo-trading-app"
    assert model["title"] == "Velostream: trading app"
    rows = [p["title"] for p in model["panels"] if p["type"] == "row"]
    assert rows == ["SQL metrics (@metric)", "Engine"]


def _notebook(cells: list[str], kernel: str) -> str:
    lang = "velosql" if kernel == "velostream" else "python"
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": kernel}, "language_info": {"name": lang}},
            "cells": [{"cell_type": "markdown", "source": "# title", "metadata": {}}]
            + [{"cell_type": "code", "source": c, "metadata": {}, "outputs": []} for c in cells],
        }
    )


def test_a_velostream_notebook_with_kernel_commands(tmp_path: Path) -> None:
    nb = tmp_path / "pipe.ipynb"
    nb.write_text(
        _notebook(
            [
                "SET symbol = 'AAPL';\nSET velo.mode = bounded;",
                "-- @metric: velo_nb_total\n-- @metric_labels: symbol\n"
                "CREATE STREAM nb AS SELECT symbol FROM t WHERE symbol = :symbol "
                "WITH ('t.type' = 'memory');\nSTOP JOB nb;",
            ],
            "velostream",
        )
    )
    model = dashboard_for(nb)
    assert exprs(panels(model)["velo_nb_total metric"]) == [
        "sum by (symbol) (rate(velo_nb_total[$__rate_interval]))"
    ]
    assert {v["name"]: v for v in model["templating"]["list"]}["job"]["query"] == "nb"


def test_a_python_notebook_with_velo_magic_cells(tmp_path: Path) -> None:
    nb = tmp_path / "magic.ipynb"
    nb.write_text(
        _notebook(
            [
                "%load_ext velostream_kernel",
                "%%velo -o df\n-- @metric: velo_mg\n-- @metric_type: gauge\n"
                "-- @metric_field: n\nSELECT COUNT(*) AS n FROM t",
                "print(df)",
            ],
            "python3",
        )
    )
    model = dashboard_for(nb)
    assert exprs(panels(model)["velo_mg metric"]) == ["velo_mg"]
    # an unnamed query runs as query_N: the job variable matches those
    assert {v["name"]: v for v in model["templating"]["list"]}["job"]["allValue"] == r"query_\d+"


def test_velo_dashboard_prints_the_json(sql_file: Path) -> None:
    res = CliRunner().invoke(main, ["dashboard", str(sql_file), "--title", "Trading"])
    assert res.exit_code == 0, res.output
    model = json.loads(res.output)
    assert model["title"] == "Trading"
    assert len([p for p in model["panels"] if p["type"] != "row"]) == 4 + 8


def test_velo_dashboard_errors_name_the_file_and_line(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["dashboard", str(tmp_path / "nope.sql")])
    assert res.exit_code == 1 and "nope.sql: no such file" in res.output

    bad = tmp_path / "bad.sql"
    bad.write_text("-- @metric: velo_b\n-- @metric_type: gauge\nCREATE STREAM b AS SELECT 1 AS x;")
    res = CliRunner().invoke(main, ["dashboard", str(bad)])
    assert res.exit_code == 1
    assert f"{bad}:1:" in res.output and "needs @metric_field" in res.output

    nb = tmp_path / "bad.ipynb"
    nb.write_text(
        _notebook(["-- @metric: velo_c\n-- @metric_sample_rate: 2\nSELECT 1"], "velostream")
    )
    res = CliRunner().invoke(main, ["dashboard", str(nb)])
    assert res.exit_code == 1
    assert f"{nb}[cell 2]:2:" in res.output and "sample rate '2'" in res.output

    junk = tmp_path / "junk.ipynb"
    junk.write_text("{not json")
    res = CliRunner().invoke(main, ["dashboard", str(junk)])
    assert res.exit_code == 1 and "not a notebook" in res.output
