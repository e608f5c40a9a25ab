"""postgres_source / postgres_sink keys: validated before the job starts, errors that name the
key; connection and table errors at start that never print the password."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from services.postgres import PASSWORD

from velostream import Engine
from velostream.connectors.registry import create_source, validate
from velostream.errors import ConfigError, SqlError


def _config_error(role: str, props: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        validate("src", role, props)
    return e.value


@pytest.mark.parametrize(
    ("props", "token", "words"),
    [
        ({"dsn": "postgresql://h/db"}, "src.table", "exactly one of 'src.table' and 'src.query'"),
        (
            {"dsn": "postgresql://h/db", "table": "t", "query": "SELECT 1"},
            "src.table",
            "exactly one of",
        ),
        ({"table": "t"}, "src.dsn", "missing property 'src.dsn'"),
        (
            {"dsn": "postgresql://h/db", "host": "h", "table": "t"},
            "src.host",
            "either 'src.dsn' or",
        ),
        ({"host": "h", "port": "http", "table": "t"}, "src.port", "is not a port"),
        ({"dsn": "postgresql://h/db", "tabel": "t"}, "src.tabel", "did you mean 'src.table'"),
        ({"dsn": "postgresql://h/db", "table": "a.b.c"}, "src.table", "schema.name"),
        ({"dsn": "postgresql://h/db", "query": "DELETE FROM t"}, "src.query", "must be a SELECT"),
        (
            {"dsn": "postgresql://h/db", "table": "t", "poll.column": "id", "poll.interval": "x"},
            "src.poll.interval",
            "not a duration",
        ),
        (
            {"dsn": "postgresql://h/db", "table": "t", "poll.interval": "1s"},
            "src.poll.interval",
            "needs 'src.poll.column'",
        ),
        (
            {"dsn": "postgresql://h/db", "table": "t", "on.error": "drop"},
            "src.on.error",
            "bad value",
        ),
    ],
)
def test_source_keys_are_checked(props: dict[str, str], token: str, words: str) -> None:
    err = _config_error("source", {"type": "postgres_source", **props})
    assert err.token == token
    assert words in str(err)


@pytest.mark.parametrize(
    ("props", "token", "words"),
    [
        ({"dsn": "postgresql://h/db"}, "src.table", "missing required property 'src.table'"),
        ({"dsn": "postgresql://h/db", "table": "t", "mode": "merge"}, "src.mode", "bad value"),
        (
            {"dsn": "postgresql://h/db", "table": "t", "create.table": "maybe"},
            "src.create.table",
            "bad value",
        ),
        (
            {"dsn": "postgresql://h/db", "table": "t", "primary.key": " , "},
            "src.primary.key",
            "no column",
        ),
        (
            {"dsn": "postgresql://h/db", "table": "t", "poll.column": "id"},
            "src.poll.column",
            "unknown",
        ),
    ],
)
def test_sink_keys_are_checked(props: dict[str, str], token: str, words: str) -> None:
    err = _config_error("sink", {"type": "postgres_sink", **props})
    assert err.token == token
    assert words in str(err)


def test_wrong_password_is_reported_without_printing_it(postgres_dsn: str) -> None:
    wrong = "not-the-" + PASSWORD
    dsn = postgres_dsn.replace(PASSWORD, wrong)
    with pytest.raises(SqlError) as e:
        Engine().query(
            f"SELECT * FROM t WITH ('t.type' = 'postgres_source', 't.dsn' = '{dsn}', "
            "'t.table' = 't')"
        )
    # the message (the rendered error also quotes the user's own SQL line, as for any error)
    msg = e.value.message
    assert "cannot connect to PostgreSQL" in msg and "password authentication failed" in msg
    assert wrong not in msg and "***" in msg


def test_password_key_is_never_printed(postgres_dsn: str) -> None:
    port = postgres_dsn.rsplit(":", 1)[1].split("/")[0]
    props = {
        "type": "postgres_source",
        "host": "127.0.0.1",
        "port": port,
        "user": "nobody-here",
        "password": "s3cr3t-value",
        "dbname": "postgres",
        "table": "t",
    }
    with pytest.raises(ConfigError) as e:
        asyncio.run(create_source("t", props).open())
    assert "s3cr3t-value" not in str(e.value)
    assert "nobody-here" in str(e.value)


def test_missing_table_bad_query_and_missing_poll_column_fail_at_start(pg: str) -> None:
    with psycopg.connect(pg, autocommit=True) as c:
        c.execute("CREATE TABLE present (id int, v text)")
    base = {"type": "postgres_source", "dsn": pg}

    def open_error(props: dict[str, str]) -> ConfigError:
        with pytest.raises(ConfigError) as e:
            asyncio.run(create_source("src", {**base, **props}).open())
        return e.value

    err = open_error({"table": "absent"})
    assert err.token == "src.table" and 'table "absent" does not exist' in str(err)
    err = open_error({"query": "SELECT nope FROM present"})
    assert err.token == "src.query" and 'column "nope" does not exist' in str(err)
    err = open_error({"table": "present", "poll.column": "ts"})
    assert err.token == "src.poll.column"
    assert "'src.poll.column' = 'ts' is not a column of \"present\" (columns: id, v)" in str(err)


def test_resuming_on_a_text_poll_column_is_refused(pg: str) -> None:
    with psycopg.connect(pg, autocommit=True) as c:
        c.execute("CREATE TABLE tagged (tag text)")
    src = create_source(
        "src", {"type": "postgres_source", "dsn": pg, "table": "tagged", "poll.column": "tag"}
    )
    src.resume_after = 41  # as a checkpointer sets it on a restart
    with pytest.raises(ConfigError) as e:
        asyncio.run(src.open())
    assert e.value.token == "src.poll.column"
    assert "cannot resume" in str(e.value) and "is text" in str(e.value)


def test_password_from_pgpassword_keeps_it_out_of_the_sql(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    dsn = postgres_dsn.replace(f":{PASSWORD}@", "@")
    rows = Engine().query(
        f"SELECT n FROM q WITH ('q.type' = 'postgres_source', 'q.dsn' = '{dsn}', "
        "'q.query' = 'SELECT 41 + 1 AS n')"
    )
    assert rows == [{"n": 42}]
