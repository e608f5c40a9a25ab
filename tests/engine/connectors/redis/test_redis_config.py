"""redis_source / redis_sink keys: validated before the job starts, errors that name the key;
connection errors at start that never print the password."""

from __future__ import annotations

import asyncio

import pytest

from velostream.connectors.registry import create_sink, create_source, validate
from velostream.errors import ConfigError


@pytest.mark.parametrize(
    ("role", "props", "token", "words"),
    [
        (
            "source",
            {"mode": "table", "stream": "s"},
            "x.stream",
            "does not apply to 'x.mode' = 'table'",
        ),
        ("source", {"key.prefix": "k:"}, "x.key.prefix", "does not apply to 'x.mode' = 'stream'"),
        ("source", {"mode": "list"}, "x.mode", "bad value"),
        ("source", {"poll.interval": "1s"}, "x.poll.interval", "does not apply"),
        (
            "source",
            {"mode": "table", "poll.interval": "often"},
            "x.poll.interval",
            "not a duration",
        ),
        ("source", {"start": "yesterday"}, "x.start", "earliest, latest or an entry id"),
        ("source", {"consumer": "c1"}, "x.consumer", "needs 'x.group'"),
        ("source", {"end": "forever"}, "x.end", "bad value"),
        ("source", {"block": "soon"}, "x.block", "not a duration"),
        ("source", {"encoding": "csv"}, "x.encoding", "bad value"),
        ("source", {"url": "http://localhost"}, "x.url", "expected redis://"),
        ("source", {"strem": "s"}, "x.strem", "did you mean 'x.stream'"),
        ("sink", {"ttl": "1h"}, "x.ttl", "does not apply to 'x.mode' = 'stream'"),
        ("sink", {"mode": "hash", "maxlen": "10"}, "x.maxlen", "does not apply"),
        ("sink", {"mode": "string", "encoding": "fields"}, "x.encoding", "does not apply"),
        ("sink", {"maxlen": "0"}, "x.maxlen", "at least 1"),
        ("sink", {"maxlen": "lots"}, "x.maxlen", "bad value"),
        ("sink", {"mode": "hash", "ttl": "often"}, "x.ttl", "not a duration"),
        ("sink", {"mode": "set"}, "x.mode", "bad value"),
    ],
)
def test_keys_are_checked(role: str, props: dict[str, str], token: str, words: str) -> None:
    with pytest.raises(ConfigError) as e:
        validate("x", role, {"type": f"redis_{role}", **props})
    assert e.value.token == token
    assert words in str(e.value)


def test_wrong_password_is_reported_without_printing_it(redis_server_url: str) -> None:
    import redis

    r = redis.Redis.from_url(redis_server_url)
    r.acl_setuser("velo", enabled=True, passwords=["+right-one"], keys=["*"], commands=["+@all"])
    r.close()
    url = redis_server_url.replace("redis://", "redis://velo:hunter2-secret@")
    with pytest.raises(ConfigError) as e:
        asyncio.run(create_source("x", {"type": "redis_source", "url": url}).open())
    assert "cannot connect to Redis" in str(e.value) and "invalid username-password" in str(e.value)
    assert "hunter2-secret" not in str(e.value) and "***" in str(e.value)


def test_unreachable_server_names_the_address() -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = create_sink(
        "out", {"type": "redis_sink", "url": f"redis://127.0.0.1:{port}/0", "password": "pw-123"}
    )
    with pytest.raises(ConfigError) as e:
        asyncio.run(sink.open(["a"]))
    assert f"redis_sink 'out': cannot connect to Redis at redis://127.0.0.1:{port}/0" in str(
        e.value
    )
    assert "pw-123" not in str(e.value)
