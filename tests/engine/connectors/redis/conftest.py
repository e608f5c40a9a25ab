"""Fixtures for the Redis connector tests: one real server per session, emptied per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parents[3])  # tests/: the server starters
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from services.redis import redis_server_url  # noqa: E402,F401  (a session fixture)


@pytest.fixture
def rurl(redis_server_url: str) -> Iterator[str]:  # noqa: F811
    """The URL of the session's redis-server, emptied before the test."""
    import redis

    r = redis.Redis.from_url(redis_server_url)
    r.flushall()
    r.close()
    yield redis_server_url
