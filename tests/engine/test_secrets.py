"""Secrets in WITH clauses and DSNs never reach an error message or a log in clear."""

from __future__ import annotations

import pytest

from velostream.engine import Engine
from velostream.errors import SqlError
from velostream.secrets import is_secret_key, mask_props, mask_text, mask_text_keep_width


@pytest.mark.parametrize(
    "key", ["password", "sasl.password", "api.key", "api_key", "ssl.key.password", "token"]
)
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["topic", "bootstrap.servers", "key.field", "primary.key"])
def test_ordinary_keys(key: str) -> None:
    assert not is_secret_key(key)


def test_mask_text() -> None:
    sql = "WITH ('s.password' = 'it''s', 's.topic' = 't', 's.dsn' = 'postgresql://u:pw@h/db')"
    assert mask_text(sql) == (
        "WITH ('s.password' = '***', 's.topic' = 't', 's.dsn' = 'postgresql://u:***@h/db')"
    )
    kept = mask_text_keep_width(sql)
    assert len(kept) == len(sql) and "it''s" not in kept and "pw@" not in kept
    assert mask_props({"sasl.password": "x", "topic": "t"}) == {
        "sasl.password": "***",
        "topic": "t",
    }


def test_an_error_quoting_the_sql_hides_the_password() -> None:
    sql = (
        "SELECT * FROM t WITH ('t.type' = 'postgres_source', 't.password' = 'hunter2', "
        "'t.table' = 'x', 't.bogus' = '1')"
    )
    with pytest.raises(SqlError) as info:
        Engine().execute(sql)
    text = str(info.value)
    assert "t.bogus" in text and "hunter2" not in text
    line, caret = text.splitlines()[1:3]
    # the masked line keeps its width: the caret still points where it did in the SQL
    assert line[caret.index("^") :] == sql[info.value.col - 1 :]
    assert "bogus" in sql[info.value.col - 1 :][:10]
