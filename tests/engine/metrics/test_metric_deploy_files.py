"""The Prometheus and Grafana provisioning under deploy/ is valid and points where the
generated dashboards expect."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from velostream.metrics.dashboard import dashboard_for

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"


def test_prometheus_config_passes_promtool() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    cfg = DEPLOY / "prometheus" / "prometheus.yml"
    res = subprocess.run([promtool, "check", "config", str(cfg)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    jobs = {j["job_name"]: j for j in yaml.safe_load(cfg.read_text())["scrape_configs"]}
    assert jobs["velostream"]["static_configs"][0]["targets"] == ["pipeline:9100"]


def test_grafana_provisioning_has_a_prometheus_datasource_and_a_dashboard_folder() -> None:
    prov = DEPLOY / "grafana" / "provisioning"
    ds = yaml.safe_load((prov / "datasources" / "prometheus.yml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    dash = yaml.safe_load((prov / "dashboards" / "velostream.yml").read_text())
    (provider,) = dash["providers"]
    assert (
        provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards"
    )


def test_the_shipped_quickstart_dashboard_has_the_engine_panels() -> None:
    shipped = json.loads((DEPLOY / "grafana" / "dashboards" / "quickstart.json").read_text())
    fresh = dashboard_for(ROOT / "example-notebooks" / "quickstart.sql")
    titles = [p["title"] for p in shipped["panels"] if p["type"] != "row"]
    for title in ("Records in", "Rows out", "Batch latency", "Watermark lag", "State size"):
        assert title in titles
    assert {v["name"] for v in shipped["templating"]["list"]} == {"datasource", "job"}
    assert shipped["uid"] == fresh["uid"] == "velo-quickstart"
