"""JSON and array/map/struct functions: hand-checked values and NULL behaviour."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from velostream.errors import SqlError

DOC = '{"a": {"b": [10, {"c": "x"}], "n": null, "f": 1.5}, "k": "v", "arr": [5, 6]}'


@pytest.mark.parametrize(
    "path, expected",
    [
        ("$.a.b[1].c", "x"),
        ("$.a.b.0", 10),
        ("$.arr.1", 6),
        ("$.arr[0]", 5),
        ("$.a.b", [10, {"c": "x"}]),
        ("$.a.f", 1.5),
        ("$['k']", "v"),
        ('$["k"]', "v"),
        ("$.missing", None),
        ("$.arr[7]", None),
        ("$.k.deeper", None),
    ],
)
def test_json_extract(call, path, expected):
    assert call("JSON_EXTRACT", DOC, path) == expected


def test_json_extract_root_and_decoded_input(call):
    assert call("JSON_EXTRACT", '{"x": 1}', "$") == {"x": 1}
    assert call("JSON_EXTRACT", {"x": {"y": 2}}, "$.x.y") == 2
    assert call("JSON_EXTRACT", None, "$.x") is None


def test_json_value_and_query(call):
    assert call("JSON_VALUE", DOC, "$.a.b") == '[10,{"c":"x"}]'
    assert call("JSON_VALUE", DOC, "$.a.f") == 1.5
    assert call("JSON_VALUE", DOC, "$.k") == "v"
    assert call("JSON_VALUE", DOC, "$.a.n") is None
    assert call("JSON_QUERY", DOC, "$.a.b") == '[10,{"c":"x"}]'
    assert call("JSON_QUERY", DOC, "$.a.b[1]") == '{"c":"x"}'
    assert call("JSON_QUERY", DOC, "$.k") is None  # a scalar


def test_json_exists(call):
    assert call("JSON_EXISTS", DOC, "$.a.n") is True  # present, holding null
    assert call("JSON_EXISTS", DOC, "$.a.z") is False
    assert call("JSON_EXISTS", DOC, "$.a.b[5]") is False
    assert call("JSON_EXISTS", DOC, "$") is True


def test_malformed_json_and_paths(call):
    assert call("JSON_EXTRACT", "{not json", "$.a") is None
    assert call("JSON_EXISTS", "{not json", "$.a") is False
    with pytest.raises(SqlError):
        call("JSON_VALUE", DOC, "a.b")
    with pytest.raises(SqlError):
        call("JSON_VALUE", DOC, "$..a")


def test_array_struct_map_constructors(call):
    assert call("ARRAY", 1, None, "a") == [1, None, "a"]
    assert call("ARRAY") == []
    assert call("STRUCT", "a", 1, "b", None) == {"a": 1, "b": None}
    assert call("STRUCT", 1, 2, 3) == {"field0": 1, "field1": 2, "field2": 3}
    assert call("MAP", "a", 1, 2, "x") == {"a": 1, "2": "x"}
    with pytest.raises(SqlError):
        call("MAP", "a")
    with pytest.raises(SqlError):
        call("MAP", None, 1)


def test_array_length(call):
    assert call("ARRAY_LENGTH", [1, 2, 3]) == 3
    assert call("ARRAY_LENGTH", "[1, 2]") == 2  # a JSON array held as text
    assert call("ARRAY_LENGTH", None) is None
    with pytest.raises(SqlError):
        call("ARRAY_LENGTH", 5)


def test_array_contains(call):
    assert call("ARRAY_CONTAINS", [1, 2], 2) is True
    assert call("ARRAY_CONTAINS", [1, 2], 3) is False
    assert call("ARRAY_CONTAINS", [1, None], 3) is None  # unknown: the NULL might be 3
    assert call("ARRAY_CONTAINS", [1, None], 1) is True
    assert call("ARRAY_CONTAINS", [1, D("2.0")], 2) is True
    assert call("ARRAY_CONTAINS", '["a", "b"]', "b") is True
    assert call("ARRAY_CONTAINS", [1, "a"], "a") is True
    assert call("ARRAY_CONTAINS", [1], None) is None


def test_map_keys_values(call):
    assert call("MAP_KEYS", {"a": 1, "b": 2}) == ["a", "b"]
    assert call("MAP_VALUES", {"a": 1, "b": 2}) == [1, 2]
    assert call("MAP_KEYS", '{"x": 1}') == ["x"]
    assert call("MAP_VALUES", None) is None
    with pytest.raises(SqlError):
        call("MAP_KEYS", [1])
