"""A deployed continuous pipeline under `velo scheduler`, scraped by a real Prometheus: its
@metric counter and its engine metrics count exactly the records written to its input."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from pipeline_helpers import VELO, make_notebook, velo, write_jsonl
from services.prometheus import free_port, prometheus_server

ROWS = [{"k": f"k{i % 4}", "v": i} for i in range(200)]


def test_prometheus_scrapes_a_deployed_pipeline(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    make_notebook(
        tmp_path / "big.ipynb",
        None,
        "-- @metric: pipe_big_rows\n-- @metric_type: counter\n-- @metric_labels: k\n"
        "CREATE STREAM big AS SELECT k, v FROM src WHERE v >= 100\n"
        "WITH ('src.type' = 'file_source', 'src.path' = 'in.jsonl', 'src.watch' = 'true',\n"
        "      'src.polling.interval' = '50ms',\n"
        "      'big.type' = 'file_sink', 'big.path' = 'out.jsonl');",
    )
    port = free_port()
    deployed = velo(
        tmp_path, "deploy", "big.ipynb", "--name", "big", "--continuous",
        "--metrics-port", str(port),
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    env = {k: v for k, v in os.environ.items() if k != "VELO_METRICS_PORT"}
    with (tmp_path / "scheduler.log").open("wb") as log:
        sched = subprocess.Popen(
            [str(VELO), "scheduler", "--project", str(tmp_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
            start_new_session=True,
        )
    try:
        with prometheus_server([f"127.0.0.1:{port}"]) as prom:
            # v >= 100 keeps 100 rows, 25 per key (k = v mod 4)
            expected = {f"k{i}": 25.0 for i in range(4)}
            query = "pipe_big_rows_total == 25"
            got = prom.wait_for(f"count({query})", timeout=120)
            assert float(got[0]["value"][1]) == 4, got
            series = prom.query("pipe_big_rows_total")
            assert {s["metric"]["k"]: float(s["value"][1]) for s in series} == expected
            read = prom.wait_for('velo_job_records_in_total{job_name="big"} == 200', timeout=60)
            assert float(read[0]["value"][1]) == 200
            out = prom.wait_for('velo_job_records_out_total{job_name="big"} == 100', timeout=60)
            assert float(out[0]["value"][1]) == 100
            assert prom.query('velo_job_running{job_name="big"}')[0]["value"][1] == "1"
    finally:
        stopped = velo(tmp_path, "pipelines", "stop", "big")
        sched.send_signal(signal.SIGTERM)
        try:
            sched.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(sched.pid, signal.SIGKILL)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
