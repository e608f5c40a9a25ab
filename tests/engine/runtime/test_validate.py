"""`Engine.validate`: names, columns where a schema is known, properties, without running."""

from __future__ import annotations

from velostream import Engine

SYNTH = "WITH ('trades.type'='synthetic', 'trades.preset'='trades', 'trades.count'='10')"


def errors_of(sql: str) -> list:
    errs, _ = Engine().validate(sql, "app.sql")
    return errs


def test_a_valid_script_has_no_errors() -> None:
    assert errors_of(f"SELECT symbol, price * quantity AS n FROM trades {SYNTH};") == []


def test_unknown_column_of_a_synthetic_schema_is_located_with_a_suggestion() -> None:
    [err] = errors_of(f"SELECT symbol\nFROM trades WHERE quantiy > 3 {SYNTH};")
    assert (err.line, err.col, err.token) == (2, 19, "quantiy")
    assert "did you mean quantity?" in err.message
    assert err.path == "app.sql"


def test_columns_of_an_earlier_stream_are_known() -> None:
    sql = (
        f"CREATE STREAM s1 AS SELECT symbol, price * quantity AS notional FROM trades {SYNTH};\n"
        "SELECT notional, qty FROM s1;"
    )
    [err] = errors_of(sql)
    assert (err.line, err.token) == (2, "qty")


def test_select_aliases_and_system_columns_are_not_unknown() -> None:
    sql = (
        "SELECT symbol, price * quantity AS n, n * 2 AS n2, _event_time AS et FROM trades "
        f"GROUP BY symbol, n HAVING n2 > 1 {SYNTH};"
    )
    assert errors_of(sql) == []


def test_each_failing_statement_is_reported() -> None:
    sql = f"SELECT nope FROM trades {SYNTH};\nSELECT FROBNICATE(price) FROM trades {SYNTH};"
    errs = errors_of(sql)
    assert [e.line for e in errs] == [1, 2]
    assert "FROBNICATE" in errs[1].message


def test_unknown_property_is_named() -> None:
    [err] = errors_of(
        "SELECT symbol FROM trades WITH ('trades.type'='synthetic', 'trades.presett'='trades')"
    )
    assert err.token == "trades.presett"
    assert err.kind == "property"
