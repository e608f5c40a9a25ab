"""End to end: a real Prometheus (Debian's) scrapes `velo run --metrics-port` over unbounded
synthetic sources; every @metric and engine metric is queryable, and every PromQL expression of
the dashboard `velo dashboard` generates returns data."""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from services.prometheus import Prometheus, free_port

HERE = Path(__file__).parent
VELO = str(Path(sys.executable).parent / "velo")
RATE_INTERVAL = "4s"  # Grafana's $__rate_interval: 4 x the 1s scrape interval

SQL_METRICS = [
    "velo_e2e_windows_total",
    "velo_e2e_volume",
    "velo_e2e_avg_price_bucket",
    "velo_e2e_avg_price_sum",
    "velo_e2e_avg_price_count",
    "velo_e2e_big_trades_total",
]
ENGINE_METRICS = [
    "velo_job_records_in_total",
    "velo_job_records_out_total",
    "velo_job_late_records_total",
    "velo_job_malformed_records_total",
    "velo_job_batch_latency_seconds_bucket",
    "velo_job_watermark_lag_seconds",
    "velo_job_state_size",
    "velo_job_running",
]
JOBS = ("e2e_stats", "e2e_big")


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"velo run did not serve {url}: {log.read_text()[-2000:]}")
        time.sleep(0.1)


def _grafana_substitute(expr: str, variables: dict[str, dict]) -> str:
    """What Grafana sends for an expression with every variable at its default (All)."""
    out = expr.replace("$__rate_interval", RATE_INTERVAL)
    job = variables["job"]
    assert job["current"]["value"] == "$__all"
    return out.replace("$job", job["allValue"])


def test_prometheus_scrapes_velo_run_and_every_dashboard_query_has_data(
    tmp_path: Path, prometheus
) -> None:
    app = tmp_path / "app.sql"
    app.write_text((HERE / "e2e_app.sql").read_text())
    port = free_port()
    log = tmp_path / "velo.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [VELO, "run", "--quiet", "--metrics-port", str(port), str(app)],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_http(f"http://127.0.0.1:{port}/metrics", proc, log)
        prom: Prometheus = prometheus([f"127.0.0.1:{port}"])
        prom.wait_for('up{job="velostream"} == 1')

        for name in SQL_METRICS:
            assert prom.wait_for(name), name
        for name in ENGINE_METRICS:
            found = {r["metric"].get("job_name") for r in prom.wait_for(name)}
            # a projection keeps no watermark: only the windowed job has a lag
            want = {"e2e_stats"} if name == "velo_job_watermark_lag_seconds" else set(JOBS)
            assert want <= found, (name, found)

        # labels come from output fields; HOLD orders never pass the condition
        sides = {r["metric"]["side"] for r in prom.query("velo_e2e_big_trades_total")}
        assert sides <= {"BUY", "SELL"} and sides
        symbols = {r["metric"]["symbol"] for r in prom.query("velo_e2e_volume")}
        assert symbols <= {"AAPL", "MSFT", "GOOG"} and symbols
        running = prom.query('velo_job_running{job_name="e2e_stats"}')
        assert float(running[0]["value"][1]) == 1.0
        rate_in = prom.wait_for(
            f'rate(velo_job_records_in_total{{job_name="e2e_stats"}}[{RATE_INTERVAL}]) > 0'
        )
        assert float(rate_in[0]["value"][1]) > 0

        gen = subprocess.run(
            [VELO, "dashboard", str(app)], capture_output=True, text=True, check=True
        )
        model = json.loads(gen.stdout)
        variables = {v["name"]: v for v in model["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        panels = [p for p in model["panels"] if p["type"] != "row"]
        assert len(panels) == 4 + 8  # one per @metric, and the engine's
        checked = 0
        for panel in panels:
            assert panel["datasource"]["uid"] == "${datasource}"
            for target in panel["targets"]:
                expr = _grafana_substitute(target["expr"], variables)
                assert "$" not in expr, expr
                result = prom.wait_for(expr, timeout=20)
                assert result, (panel["title"], expr)
                checked += 1
        assert checked == 1 + 1 + 3 + 1 + 1 + 1 + 1 + 1 + 1 + 3 + 1 + 1

        last = {
            r["metric"]["symbol"]: float(r["value"][1])
            for r in prom.query("velo_e2e_windows_total")
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text()[-2000:]
    # the counter never exceeds the rows the job wrote (it counts them as they are emitted)
    rows = [json.loads(x) for x in (tmp_path / "stats.jsonl").read_text().splitlines()]
    written = collections.Counter(r["symbol"] for r in rows)
    for sym, n in last.items():
        assert 0 < n <= written[sym], (sym, n, written)
