"""A throwaway PostgreSQL server for tests: initdb + pg_ctl on a free loopback port.

`postgres_server()` is a context manager that yields a DSN; `postgres_dsn` is the session
fixture over it. As root, initdb and postgres run as the `postgres` user (they refuse root).
Password authentication is on for TCP (user `postgres`, password `PASSWORD`), so tests can check
that a wrong password is reported without being printed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PASSWORD = "velo-pg-secret"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """`cmd` run as the postgres user when we are root (initdb and postgres refuse root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str]) -> None:
    res = subprocess.run(_as_postgres(cmd), capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout}{res.stderr}")


def _reachable_tmp() -> str:
    """A temp folder every user can reach (the postgres user needs its data folder): the
    usual one unless a folder on its path is closed to others (a TMPDIR under /root)."""
    tmp = Path(tempfile.gettempdir()).resolve()
    if os.geteuid() != 0 or all(p.stat().st_mode & 0o001 for p in (tmp, *tmp.parents)):
        return str(tmp)
    return "/tmp"


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a PostgreSQL server in a temp folder; yield its DSN; stop it and remove the folder."""
    if shutil.which("initdb") is None or shutil.which("pg_ctl") is None:
        pytest.skip("PostgreSQL (initdb, pg_ctl) is not installed")
    base = Path(tempfile.mkdtemp(prefix="velo-pg-", dir=_reachable_tmp()))
    os.chmod(base, 0o755)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data = base / "data"
    pwfile = base / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(pwfile, "postgres", "postgres")
    port = free_port()
    started = False
    try:
        _run(
            [
                "initdb",
                "-D",
                str(data),
                "-U",
                "postgres",
                "--pwfile",
                str(pwfile),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
                "--no-instructions",
            ]
        )
        opts = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        _run(["pg_ctl", "-D", str(data), "-l", str(base / "pg.log"), "-w", "-o", opts, "start"])
        started = True
        yield f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        if started:
            try:
                _run(["pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"])
            except RuntimeError:
                time.sleep(0.2)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """The DSN of one PostgreSQL server shared by the test session."""
    with postgres_server() as dsn:
        yield dsn
