"""The deploy API on a real Jupyter server (the studio's server extension, hermetic dirs, bound
to 127.0.0.1 with a token): deploy, parameters, the pipeline list, stop, and the bad inputs."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from pipeline_helpers import make_notebook

from velostream_kernel.pipelines.registry import Registry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A jupyter server process and a small JSON client for it."""

    def __init__(self, root, port: int, token: str, proc: subprocess.Popen) -> None:
        self.root, self.port, self.token, self.proc = root, port, token, proc

    def call(self, method: str, route: str, body=None, token: bool = True):
        url = f"http://127.0.0.1:{self.port}/velostream/api/{route}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        if token:
            req.add_header("Authorization", f"token {self.token}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text.decode(errors="replace")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("server-root")
    port, token = free_port(), secrets.token_hex(8)
    env = {k: v for k, v in os.environ.items() if k != "VELO_PROJECT"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=root,
    )  # fmt: skip
    srv = Server(root, port, token, proc)
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail("jupyter server exited: " + proc.stderr.read().decode()[-2000:])
        try:
            status, _ = srv.call("GET", "pipelines")
            if status == 200:
                break
        except OSError:
            pass
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("jupyter server did not answer")
    yield srv
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_deploy_api(server):
    root = server.root
    (root / "sub").mkdir()
    make_notebook(
        root / "sub" / "nb.ipynb",
        "SET min_v = 5;\nSET label = 'all';",
        "SELECT 1 AS one FROM t WITH ('t.type' = 'synthetic', 't.schema' = 'a BIGINT');",
    )
    assert server.call("GET", "deploy/parameters?path=sub/nb.ipynb") == (
        200,
        {"parameters": {"min_v": 5, "label": "all"}},
    )
    status, body = server.call("GET", "deploy/parameters?path=sub/none.ipynb")
    assert (status, body) == (404, {"error": "notebook sub/none.ipynb: no such file"})

    request = {"path": "sub/nb.ipynb", "name": "hourly", "schedule": "0 * * * *",
               "continuous": False, "parameters": {"min_v": 9}}  # fmt: skip
    status, p = server.call("POST", "deploy", request)
    assert status == 201, p
    assert (p["name"], p["kind"], p["schedule"], p["parameters"], p["version"]) == (
        "hourly", "scheduled", "0 * * * *", {"min_v": 9}, 1
    )  # fmt: skip
    assert Registry(root).get("hourly").source == "sub/nb.ipynb"

    status, body = server.call("POST", "deploy", request)
    assert status == 409 and "a pipeline named 'hourly' already exists" in body["error"]
    status, body = server.call("POST", "deploy", {**request, "name": "x", "schedule": "daily"})
    assert status == 400 and "schedule 'daily' does not parse" in body["error"]
    status, body = server.call("POST", "deploy", {**request, "name": "x", "parameters": {"m": 1}})
    assert status == 400
    assert body["error"].startswith("parameter 'm' is not in the notebook's parameters cell")
    status, body = server.call("POST", "deploy", {**request, "name": "x", "path": "../x.ipynb"})
    assert status == 403 and "outside the server's root folder" in body["error"]
    status, body = server.call("POST", "deploy", {**request, "name": None})
    assert status == 400 and "'name' is required" in body["error"]
    request = {"path": "sub/nb.ipynb", "name": "live", "schedule": None, "continuous": True,
               "parameters": {}}  # fmt: skip
    assert server.call("POST", "deploy", request)[0] == 201

    status, listed = server.call("GET", "pipelines")
    assert status == 200
    assert [(p["name"], p["kind"], p["last_run"]) for p in listed] == [
        ("hourly", "scheduled", None),
        ("live", "continuous", None),
    ]
    status, p = server.call("POST", "pipelines/live/stop")
    assert (status, p["status"]) == (200, "stopped")
    assert server.call("POST", "pipelines/nobody/stop")[0] == 404


def test_the_api_needs_the_token(server):
    status, _ = server.call("GET", "pipelines", token=False)
    assert status == 403
    status, _ = server.call("POST", "deploy", {"path": "x"}, token=False)
    assert status == 403


def test_the_studio_extension_loads_these_handlers():
    from velostream_kernel.server import all_routes

    routes = {route for route, _ in all_routes("/")}
    assert {"/velostream/api/deploy", "/velostream/api/deploy/parameters"} <= routes
    assert "/velostream/api/pipelines" in routes
