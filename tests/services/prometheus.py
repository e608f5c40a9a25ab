"""A throwaway Prometheus server (Debian's /usr/bin/prometheus) for tests: a free loopback
port, storage in a temp folder, scrape_interval 1s over the targets it is given.

    with prometheus_server(["127.0.0.1:9100"]) as prom:
        prom.wait_for("up == 1")
        prom.query('rate(x_total[4s])')        # the `result` list of /api/v1/query

`prometheus_server` is also usable as a factory fixture (`prometheus`), which stops every
server it started at the end of the test.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROMETHEUS = "/usr/bin/prometheus"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


@dataclass
class Prometheus:
    """A running server: its URL and log, and helpers over its HTTP API."""

    url: str
    log: Path

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path>; the `data` of a success, else an AssertionError with the error."""
        query = urllib.parse.urlencode(params)
        try:
            body = json.loads(_get(f"{self.url}/api/v1/{path}?{query}"))
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"{}")
        if body.get("status") != "success":
            raise AssertionError(f"prometheus /api/v1/{path} {params}: {body.get('error', body)}")
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        """An instant query's result list (each {"metric": {...}, "value": [t, "v"]})."""
        return self.api("query", query=expr)["result"]

    def targets(self) -> list[dict]:
        """The active scrape targets with their health."""
        return self.api("targets")["activeTargets"]

    def wait_for(self, expr: str, timeout: float = 30.0) -> list[dict]:
        """Poll an instant query until it returns data; its result."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no data for {expr!r} after {timeout}s; targets: {self.targets()}"
                )
            time.sleep(0.25)


def _config(targets: list[str]) -> str:
    # JSON is YAML: no hand-formatting of the scrape config.
    return json.dumps(
        {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "velostream",
                    "scrape_interval": "1s",
                    "scrape_timeout": "900ms",
                    "static_configs": [{"targets": targets}],
                }
            ],
        }
    )


@contextmanager
def prometheus_server(targets: list[str], timeout: float = 15.0) -> Iterator[Prometheus]:
    """Start Prometheus scraping `targets` (host:port, path /metrics); stop it afterwards."""
    exe = shutil.which("prometheus") or (PROMETHEUS if Path(PROMETHEUS).exists() else None)
    if exe is None:
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    base = Path(tempfile.mkdtemp(prefix="velo-prometheus-"))
    (base / "prometheus.yml").write_text(_config(targets))
    port = free_port()
    log = base / "prometheus.log"
    cmd = [
        exe,
        f"--config.file={base / 'prometheus.yml'}",
        f"--storage.tsdb.path={base / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-lifecycle",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if _get(f"{url}/-/ready", timeout=1).strip():
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prometheus did not start: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        yield Prometheus(url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def prometheus() -> Iterator[Callable[[list[str]], Prometheus]]:
    """A factory: `prometheus(["127.0.0.1:PORT"])` starts a server; all stop after the test."""
    stack: list[Any] = []

    def start(targets: list[str]) -> Prometheus:
        cm = prometheus_server(targets)
        prom = cm.__enter__()
        stack.append(cm)
        return prom

    try:
        yield start
    finally:
        for cm in reversed(stack):
            cm.__exit__(None, None, None)
