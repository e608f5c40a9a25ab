"""The harness itself: strict JSON comparison, ordered and unordered row matching, batching."""

from __future__ import annotations

from harness import Case, Unordered, _batches, match_rows, same_value


def test_same_value_keeps_json_types_apart() -> None:
    """BIGINT, DOUBLE, DECIMAL string and boolean never compare equal to one another."""
    assert same_value(3, 3)
    assert not same_value(3, 3.0)
    assert not same_value(3, "3")
    assert not same_value(True, 1)
    assert not same_value("45482.5", "45482.50")
    assert same_value(0.1 + 0.2, 0.3)
    assert same_value({"a": [1, None]}, {"a": [1, None]})
    assert not same_value({"a": 1}, {"a": 1, "b": None})


def test_match_rows_ordered() -> None:
    """Plain expected rows must come in order and in number."""
    assert match_rows([{"a": 1}, {"a": 2}], [{"a": 1}, {"a": 2}], False) is None
    assert match_rows([{"a": 1}, {"a": 2}], [{"a": 2}, {"a": 1}], False) is not None
    assert match_rows([{"a": 1}], [{"a": 1}, {"a": 1}], False) is not None


def test_match_rows_unordered_blocks() -> None:
    """An Unordered block matches its rows in any order, but only at its position."""
    want = [{"a": 0}, Unordered({"a": 1}, {"a": 2})]
    assert match_rows(want, [{"a": 0}, {"a": 2}, {"a": 1}], False) is None
    assert match_rows(want, [{"a": 2}, {"a": 0}, {"a": 1}], False) is not None
    assert match_rows(want, [{"a": 2}, {"a": 0}, {"a": 1}], True) is None
    assert match_rows([Unordered({"a": 1}, {"a": 1})], [{"a": 1}, {"a": 2}], False) is not None


def test_batches_keep_created_names_apart() -> None:
    """Two cases never share a run when one creates a name the other mentions."""
    a = Case(id="a", sql="CREATE STREAM x AS SELECT 1 FROM s")
    b = Case(id="b", sql="CREATE STREAM y AS SELECT 1 FROM x")
    c = Case(id="c", sql="CREATE STREAM z AS SELECT 1 FROM s")
    groups = _batches([a, b, c])
    assert [[k.id for k in g] for g in groups] == [["a", "c"], ["b"]]
