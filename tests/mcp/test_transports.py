"""`velo mcp` as a process: over stdio, and over streamable HTTP with and without its token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_project import run

VELO = str(Path(sys.executable).parent / "velo")
TOKEN = "s3cret-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_stdio(project_dir: Path) -> None:
    params = StdioServerParameters(command=VELO, args=["mcp", "--project", str(project_dir)])

    async def main() -> Any:
        async with Client(params) as c:
            tools = {t.name for t in (await c.list_tools()).tools}
            r = await c.call_tool("query_stream", {"sql": "SELECT COUNT(*) AS n FROM trades"})
            return tools, r

    tools, r = run(main())
    assert {"list_streams", "query_stream", "validate_sql"} <= tools
    # no window: the running count is emitted per record (EMIT CHANGES), the last is the total
    assert [row["n"] for row in r.structured_content["rows"]] == [1, 2, 3, 4]


@pytest.fixture
def http_server(project_dir: Path, tmp_path: Path) -> Iterator[str]:
    """`velo mcp --http` on a free loopback port; yields its URL."""
    port = _free_port()
    env = {**os.environ, "VELO_MCP_TOKEN": TOKEN}
    log = open(tmp_path / "mcp-http.log", "wb")
    proc = subprocess.Popen(
        [VELO, "mcp", "--project", str(project_dir), "--http", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((tmp_path / "mcp-http.log").read_text()) from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_http_with_the_token(http_server: str) -> None:
    async def main() -> Any:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {TOKEN}"})
        async with Client(streamable_http_client(http_server, http_client=http)) as c:
            return await c.call_tool("list_streams", {})

    r = run(main())
    assert "trades" in {s["name"] for s in r.structured_content["streams"]}


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}"])
def test_http_without_the_token_is_refused(http_server: str, header: str | None) -> None:
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    if header:
        headers["Authorization"] = header
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    r = httpx.post(http_server, json=body, headers=headers, timeout=10)
    assert r.status_code == 401
    assert "token" in r.json()["error"]


def test_http_needs_a_token(project_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VELO_MCP_TOKEN"}
    r = subprocess.run(
        [VELO, "mcp", "--project", str(project_dir), "--http", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode != 0
    assert "bearer token" in r.stderr


def test_missing_project_folder(tmp_path: Path) -> None:
    r = subprocess.run(
        [VELO, "mcp", "--project", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode != 0 and "project folder not found" in r.stderr
