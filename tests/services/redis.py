"""A throwaway redis-server for tests on a free loopback port, no persistence.

`redis_server()` is a context manager that yields a URL; `redis_server_url` is the session
fixture over it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"redis-server on port {port} did not answer PING in {timeout}s")


@contextmanager
def redis_server() -> Iterator[str]:
    """Start redis-server in a temp folder; yield its URL; stop it and remove the folder."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip("redis-server is not installed")
    base = tempfile.mkdtemp(prefix="velo-redis-")
    port = free_port()
    cmd = [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", base, "--save", ""]
    cmd += ["--appendonly", "no", "--daemonize", "no", "--logfile", f"{base}/redis.log"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _ready(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """The URL of one redis-server shared by the test session."""
    with redis_server() as url:
        yield url
