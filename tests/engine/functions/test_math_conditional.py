"""Math and conditional functions: hand-checked values and NULL behaviour."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal as D

import pytest

from velostream.errors import SqlError


def same(a: D, text: str) -> None:
    assert type(a) is D and format(a, "f") == text


def test_abs(call):
    assert call("ABS", -3) == 3
    assert call("ABS", -2.5) == 2.5
    same(call("ABS", D("-1.50")), "1.50")
    assert call("ABS", None) is None
    with pytest.raises(SqlError):
        call("ABS", "x")


def test_round_decimal_is_exact_half_away_from_zero(call):
    same(call("ROUND", D("2.345"), 2), "2.35")
    same(call("ROUND", D("-2.345"), 2), "-2.35")
    same(call("ROUND", D("2.5")), "3")
    same(call("ROUND", D("-2.5")), "-3")
    same(call("ROUND", D("1.2"), 3), "1.200")
    same(call("ROUND", D("1250.5"), -2), "1300")
    same(call("ROUND", D("-0.004"), 2), "0.00")  # no negative zero


def test_round_double_and_integer(call):
    assert call("ROUND", 2.5) == 3.0
    assert call("ROUND", -2.5) == -3.0
    assert call("ROUND", 0.125, 2) == 0.13  # 0.125 is exact in binary: a true tie
    assert call("ROUND", 1.005, 2) == 1.01  # rounds the number as written
    assert type(call("ROUND", 2.4)) is float
    assert call("ROUND", 7) == 7
    assert call("ROUND", 1250, -2) == 1300
    assert call("ROUND", -1250, -2) == -1300
    assert call("ROUND", None, 2) is None
    assert call("ROUND", 1.5, None) is None


def test_ceil_floor(call):
    assert call("CEIL", 1.2) == 2
    assert call("CEILING", -1.2) == -1
    assert call("FLOOR", -1.2) == -2
    assert call("FLOOR", 1.8) == 1
    assert call("CEIL", D("1.01")) == 2
    assert call("FLOOR", D("-1.01")) == -2
    assert call("CEIL", 5) == 5
    assert type(call("FLOOR", 2.5)) is int
    assert call("FLOOR", None) is None


def test_sqrt_power(call):
    assert call("SQRT", 16) == 4.0
    assert call("SQRT", D("2.25")) == 1.5
    assert call("SQRT", None) is None
    with pytest.raises(SqlError):
        call("SQRT", -1)
    assert call("POWER", 2, 10) == 1024.0
    assert call("POW", 9, 0.5) == 3.0
    same(call("POWER", D("1.1"), 2), "1.21")
    assert call("POWER", D("0"), 0) == 1
    assert call("POWER", None, 2) is None
    with pytest.raises(SqlError):
        call("POWER", -8, 0.5)


def test_mod(call):
    assert call("MOD", 10, 3) == 1
    assert call("MOD", -10, 3) == -1
    assert call("MOD", 10, 0) is None
    same(call("MOD", D("10.5"), 3), "1.5")
    assert call("MOD", None, 3) is None


def test_least_greatest_ignore_nulls(call):
    assert call("LEAST", 3, 1, 2) == 1
    assert call("GREATEST", 3, 1, 2) == 3
    assert call("LEAST", 3, None, 2) == 2
    assert call("GREATEST", None, 5) == 5
    assert call("LEAST", None, None) is None
    same(call("GREATEST", 1, D("1.50"), 1.25), "1.50")
    assert call("LEAST", "b", "a") == "a"
    assert call("GREATEST", datetime(2024, 1, 1), datetime(2024, 6, 1)) == datetime(2024, 6, 1)


def test_coalesce(call):
    assert call("COALESCE", None, None, 3, 4) == 3
    assert call("COALESCE", None) is None
    assert call("COALESCE", 0, 1) == 0  # 0 is not NULL
    assert call("COALESCE", "", "x") == ""


def test_nullif(call):
    assert call("NULLIF", 5, 5) is None
    assert call("NULLIF", 5, 6) == 5
    assert call("NULLIF", D("1.0"), 1) is None
    assert call("NULLIF", 1, None) == 1
    assert call("NULLIF", None, 1) is None


def test_cast_call(call):
    same(call("CAST", "12.345", "DECIMAL(10,2)"), "12.35")
    assert call("CAST", "42", "BIGINT") == 42
    assert call("CAST", None, "BIGINT") is None
    assert call("CAST", 1, "BOOLEAN") is True
