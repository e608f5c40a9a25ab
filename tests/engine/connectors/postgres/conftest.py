"""Fixtures for the PostgreSQL connector tests: one real server per session, a fresh database
per test."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parents[3])  # tests/: the server starters
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from services.postgres import postgres_dsn  # noqa: E402,F401  (a session fixture)

_N = itertools.count(1)


@pytest.fixture
def pg(postgres_dsn: str) -> Iterator[str]:  # noqa: F811
    """The DSN of a new, empty database on the session's server (dropped afterwards)."""
    import psycopg

    name = f"t{next(_N)}"
    with psycopg.connect(postgres_dsn, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name} STRATEGY FILE_COPY")  # cheap with fsync off
    dsn = postgres_dsn.rsplit("/", 1)[0] + f"/{name}"
    yield dsn
    with psycopg.connect(postgres_dsn, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
