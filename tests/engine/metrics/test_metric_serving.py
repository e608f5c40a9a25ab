"""Where /metrics is served: `velostream.metrics.serve` (one engine or every engine of the
process), the Velostream kernel (VELO_METRICS_PORT), and the dashboards API of the Jupyter
server extension."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families
from services.prometheus import free_port

from velostream import Engine
from velostream.cli import main
from velostream.metrics import serve

COUNTED = (
    "-- @metric: velo_srv_total\n-- @metric_labels: symbol\n"
    "CREATE STREAM {name} AS SELECT symbol FROM g WITH ('g.type' = 'synthetic', "
    "'g.schema' = 'symbol STRING ENUM(A)', 'g.count' = '{n}')"
)


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """Sample name and sorted labels -> value, parsed with prometheus_client's own parser."""
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def test_serve_one_engine_and_every_engine() -> None:
    a, b = Engine(), Engine()
    a.execute(COUNTED.format(name="ja", n=3))
    b.execute(
        "CREATE STREAM jb AS SELECT 1 AS x FROM g WITH ('g.type' = 'synthetic', "
        "'g.schema' = 'symbol STRING', 'g.count' = '5')"
    )
    one = serve(0, engine=a)
    every = serve(0)
    try:
        assert one.port > 0 and one.url == f"http://127.0.0.1:{one.port}/metrics"
        got = scrape(one.url)
        assert got[("velo_srv_total", (("symbol", "A"),))] == 3
        assert got[("velo_job_records_in_total", (("job_name", "ja"),))] == 3
        assert ("velo_job_records_in_total", (("job_name", "jb"),)) not in got
        both = scrape(every.url)
        assert both[("velo_job_records_in_total", (("job_name", "ja"),))] == 3
        assert both[("velo_job_records_in_total", (("job_name", "jb"),))] == 5
    finally:
        one.close()
        every.close()
    with pytest.raises(urllib.error.URLError):
        scrape(one.url)


def test_a_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    srv = serve(0, engine=Engine())
    try:
        with pytest.raises(OSError) as e:
            serve(srv.port, engine=Engine())
        assert f"cannot serve metrics on 127.0.0.1:{srv.port}" in str(e.value)
        f = tmp_path / "a.sql"
        f.write_text(
            "SELECT 1 AS x FROM g WITH ('g.type' = 'synthetic', 'g.count' = '1', "
            "'g.schema' = 'x BIGINT')"
        )
        res = CliRunner().invoke(main, ["run", "--metrics-port", str(srv.port), str(f)])
        assert res.exit_code == 1
        assert f"cannot serve metrics on 127.0.0.1:{srv.port}" in res.output
    finally:
        srv.close()


@pytest.fixture
def jupyter_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Hermetic Jupyter folders (the kernelspec comes from the venv's share/jupyter)."""
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        d = tmp_path / var.lower()
        d.mkdir()
        monkeypatch.setenv(var, str(d))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.delenv("VELO_MODE", raising=False)
    return dict(os.environ)


def test_the_kernel_serves_metrics_on_velo_metrics_port(jupyter_env: dict[str, str]) -> None:
    from jupyter_client.manager import start_new_kernel

    port = free_port()
    env = {**jupyter_env, "VELO_METRICS_PORT": str(port)}
    km, kc = start_new_kernel(kernel_name="velostream", startup_timeout=60, env=env)
    try:
        reply = kc.execute_interactive(COUNTED.format(name="kjob", n=40), timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
        deadline = time.monotonic() + 30
        key = ("velo_srv_total", (("symbol", "A"),))
        while True:
            got = scrape(f"http://127.0.0.1:{port}/metrics")
            if got.get(key) == 40 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert got.get(key) == 40  # 40 synthetic records, one output row each
        assert got[("velo_job_records_out_total", (("job_name", "kjob"),))] == 40
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def test_dashboards_api_of_the_server_extension(tmp_path: Path, jupyter_env: dict) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "app.sql").write_text(
        "-- @metric: velo_api_total\nCREATE STREAM api AS SELECT 1 AS x FROM t "
        "WITH ('t.type' = 'memory');"
    )
    (root / "bad.sql").write_text("-- @metric: velo_g\n-- @metric_type: gauge\nSELECT 1 AS x;")
    cfg = Path(jupyter_env["JUPYTER_CONFIG_DIR"]) / "jupyter_server_config.json"
    # only our extension: the others (lab, lsp, terminals) would just slow the start down
    enabled = {"velostream_kernel.server": True, "jupyterlab": False, "jupyter_lsp": False}
    enabled.update({"jupyter_server_terminals": False, "notebook_shim": False})
    cfg.write_text(json.dumps({"ServerApp": {"jpserver_extensions": enabled}}))
    port, token = free_port(), "t0ken"
    log = tmp_path / "server.log"
    cmd = [
        sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
        f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=jupyter_env)
    base = f"http://127.0.0.1:{port}/velostream/api/dashboards"

    def get(query: str) -> tuple[int, dict]:
        req = urllib.request.Request(f"{base}?{query}", headers={"Authorization": f"token {token}"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, model = get("path=sub/app.sql")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log.read_text()[-3000:]) from None
                time.sleep(0.2)
        assert status == 200, (model, log.read_text()[-3000:])
        exprs = [t["expr"] for p in model["panels"] if p["type"] != "row" for t in p["targets"]]
        assert "sum (rate(velo_api_total[$__rate_interval]))" in exprs
        assert model["uid"] == "velo-app"

        status, body = get("path=bad.sql")
        assert status == 400 and "needs @metric_field" in body["message"]
        assert body["error"]["line"] == 1
        assert get("path=nope.sql")[0] == 404
        assert get("path=../outside.sql")[0] == 403
        assert get("")[0] == 400
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
