"""String functions: hand-checked values and NULL behaviour."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from velostream.errors import SqlError


def test_case(call):
    assert call("UPPER", "abC") == "ABC"
    assert call("LOWER", "AbC") == "abc"
    assert call("UPPER", None) is None


def test_substring(call):
    assert call("SUBSTRING", "hello", 2, 3) == "ell"
    assert call("SUBSTRING", "hello", 3) == "llo"
    assert call("SUBSTRING", "hello", 1, 100) == "hello"
    assert call("SUBSTRING", "hello", 0, 3) == "he"  # positions 0,1,2 -> only 1 and 2 exist
    assert call("SUBSTRING", "hello", 9) == ""
    assert call("SUBSTRING", "héllo", 2, 1) == "é"  # characters, not bytes
    assert call("SUBSTRING", None, 1) is None
    assert call("SUBSTRING", "x", None) is None
    with pytest.raises(SqlError):
        call("SUBSTRING", "hello", 1, -1)


def test_replace_and_trims(call):
    assert call("REPLACE", "a-b-c", "-", "+") == "a+b+c"
    assert call("REPLACE", "abc", "", "x") == "abc"
    assert call("REPLACE", "abc", None, "x") is None
    assert call("TRIM", "  a b  ") == "a b"
    assert call("LTRIM", "  a  ") == "a  "
    assert call("RTRIM", "  a  ") == "  a"
    assert call("TRIM", "xxaxx", "x") == "a"
    assert call("TRIM", None) is None


def test_length(call):
    assert call("LENGTH", "héllo") == 5
    assert call("LEN", "") == 0
    assert call("LENGTH", None) is None


def test_concat_skips_nulls(call):
    assert call("CONCAT", "a", None, "b", 1, D("2.50"), True) == "ab12.50true"
    assert call("CONCAT", None, None) == ""


def test_split_and_join(call):
    assert call("SPLIT", "a,b,,c", ",") == ["a", "b", "", "c"]
    assert call("SPLIT", "abc", "") == ["a", "b", "c"]
    assert call("SPLIT", None, ",") is None
    # Velostream's order: delimiter first
    assert call("JOIN", "-", "a", "b", 3) == "a-b-3"
    assert call("JOIN", "-", "a", None, "b") == "a-b"
    assert call("JOIN", ",", ["x", "y"]) == "x,y"
    assert call("JOIN", ["x", None, "z"], "|") == "x|z"  # JOIN(array, delim) too
    assert call("JOIN", None, "a") is None


def test_left_right(call):
    assert call("LEFT", "hello", 2) == "he"
    assert call("RIGHT", "hello", 2) == "lo"
    assert call("LEFT", "hello", 10) == "hello"
    assert call("RIGHT", "hello", 10) == "hello"
    assert call("RIGHT", "hello", 0) == ""
    assert call("LEFT", "hello", -2) == "hel"  # all but the last 2
    assert call("RIGHT", "hello", -2) == "llo"  # all but the first 2
    assert call("LEFT", None, 1) is None


def test_position(call):
    assert call("POSITION", "l", "hello") == 3
    assert call("POSITION", "z", "hello") == 0
    assert call("POSITION", "l", "hello", 4) == 4
    assert call("POSITION", "", "hello") == 1
    assert call("POSITION", None, "x") is None


def test_regexp(call):
    assert call("REGEXP", "order-123", r"\d+") is True
    assert call("REGEXP", "order", r"^\d+$") is False
    assert call("REGEXP", None, "a") is None
    with pytest.raises(SqlError):
        call("REGEXP", "a", "(")


def test_regexp_replace(call):
    assert call("REGEXP_REPLACE", "a1b22c", r"\d+", "#") == "a#b#c"  # every match
    assert call("REGEXP_REPLACE", "a1b22", r"(\d+)", "<$1>") == "a<1>b<22>"
    assert call("REGEXP_REPLACE", "a1b22", r"(\d+)", r"<\1>") == "a<1>b<22>"
    assert call("REGEXP_REPLACE", "John Smith", r"(?P<f>\w+) (?P<l>\w+)", "${l}, ${f}") == (
        "Smith, John"
    )
    assert call("REGEXP_REPLACE", "Abc abc", "a", "x", "i") == "xbc xbc"
    assert call("REGEXP_REPLACE", "Abc abc", "a", "x", "g") == "Abc xbc"
    assert call("REGEXP_REPLACE", "a.b", r"\.", "\\") == "a\\b"  # a lone backslash is literal
    assert call("REGEXP_REPLACE", None, "a", "b") is None
    with pytest.raises(SqlError):
        call("REGEXP_REPLACE", "a", "a", "b", "q")


def test_split_part(call):
    assert call("SPLIT_PART", "a,b,c", ",", 2) == "b"
    assert call("SPLIT_PART", "a,b,c", ",", -1) == "c"
    assert call("SPLIT_PART", "a,b,c", ",", 4) == ""
    assert call("SPLIT_PART", "a,b,c", ",", -4) == ""
    assert call("SPLIT_PART", "abc", "", 1) == "abc"
    assert call("SPLIT_PART", None, ",", 1) is None
    with pytest.raises(SqlError):
        call("SPLIT_PART", "a,b", ",", 0)
