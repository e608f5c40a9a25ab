"""How a notebook cell asks for a test, and the synthetic source reading a schema file."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from velostream.engine import Engine
from velostream_kernel import testing_cell as tc
from velostream_kernel.testing_cell import find_test

SQL = "SELECT v FROM s WITH ('s.type' = 'synthetic', 's.schema' = 'v BIGINT SEQUENCE');"


def test_an_ordinary_cell_has_no_test() -> None:
    assert find_test("-- @name: x\nSELECT 1 AS a FROM t;") is None
    assert find_test("-- @testing: x\nSELECT 1 AS a FROM t;") is None


def test_a_test_cell_without_a_spec_says_so() -> None:
    rest, failure, shown = _run("%%velo_test\n" + SQL)
    assert rest == "" and shown == []
    assert failure == "velo test: %%velo_test needs --spec FILE or a -- @test block in the cell"


def test_a_test_block_is_the_comment_lines_under_it() -> None:
    cell = find_test(
        "-- @name: q\n-- @test\n--   seed: 3\n--   assertions:\n"
        "--     - {type: record_count, equals: 1}\n-- @viz: none\nSELECT 1;"
    )
    assert cell is not None and cell.run_query and cell.spec_path is None
    assert cell.spec_text == "  seed: 3\n  assertions:\n    - {type: record_count, equals: 1}"


def test_a_test_line_can_name_a_spec_file() -> None:
    cell = find_test("-- @test: specs/q.test.yaml\nSELECT 1;")
    assert cell is not None and cell.spec_path == "specs/q.test.yaml" and cell.spec_text is None


def test_the_magic_line() -> None:
    cell = find_test("\n%%velo_test --spec a.yaml --seed 9 --only q --xfail\nSELECT 1;")
    assert cell is not None and not cell.run_query
    assert (cell.spec_path, cell.seed, cell.only, cell.xfail) == ("a.yaml", 9, "q", True)
    assert cell.sql == "SELECT 1;"
    with pytest.raises(tc.TestCellError, match="unknown argument '--sed'"):
        find_test("%%velo_test --sed 9\nSELECT 1;")
    with pytest.raises(tc.TestCellError, match="--seed takes an integer"):
        find_test("%%velo_test --seed x\nSELECT 1;")


def _run(code: str) -> tuple[str, str | None, list[dict]]:
    shown: list[dict] = []
    rest, failure = asyncio.run(tc.test_before_cell(code, lambda k, d, i, m: shown.append(d)))
    return rest, failure, shown


def test_bad_yaml_in_a_block_is_an_error_with_its_line() -> None:
    rest, failure, shown = _run("-- @test\n--   assertions: [\n--   - x: 1\n" + SQL)
    assert rest == "" and shown == []
    assert failure is not None and "-- @test: not valid YAML (block line" in failure


def test_xfail_turns_the_verdict_around() -> None:
    bad = "%%velo_test --xfail\n-- @test\n--   assertions: [{type: record_count, equals: 5}]\n"
    rest, failure, shown = _run(bad + SQL)
    assert failure is None and rest == "" and "FAILED" in shown[0]["text/plain"]
    good = bad.replace("equals: 5", "equals: 1000")
    _, failure, _ = _run(good + SQL)
    assert failure == "velo test passed, but --xfail expects it to fail"


def test_synthetic_source_reads_a_schema_file(tmp_path: Path) -> None:
    (tmp_path / "s.schema.yaml").write_text(
        "name: s\nfields:\n"
        "  - {name: side, constraints: {enum_values: {values: [BUY, SELL], weights: [9, 1]}}}\n"
        "  - {name: qty, type: integer, constraints: {range: {min: 1, max: 3}}}\n"
        "  - {name: notional, type: integer, constraints: {derived: 'qty * 100'}}\n"
        "  - {name: ts, type: timestamp}\n"
    )
    rows = Engine().query(
        f"SELECT side, qty, notional, ts FROM s WITH ('s.type' = 'synthetic', "
        f"'s.schema' = '{tmp_path / 's.schema.yaml'}', 's.count' = '2000', 's.rate' = '10', "
        "'s.event.time.field' = 'ts')"
    )
    assert len(rows) == 2000
    sides = Counter(r["side"] for r in rows)
    assert set(sides) == {"BUY", "SELL"} and 0.85 < sides["BUY"] / 2000 < 0.95
    assert all(r["notional"] == r["qty"] * 100 and 1 <= r["qty"] <= 3 for r in rows)
    assert [r["ts"] for r in rows[:3]] == [1_700_000_000_000, 1_700_000_000_100, 1_700_000_000_200]


def test_synthetic_schema_file_errors_name_the_key(tmp_path: Path) -> None:
    from velostream.errors import SqlError

    (tmp_path / "bad.schema.yaml").write_text("fields: [{name: x, type: integr}]\n")
    with pytest.raises(SqlError, match=r"fields\[0\] \(x\)\.type: unknown type 'integr'"):
        Engine().query(
            f"SELECT x FROM s WITH ('s.type' = 'synthetic', "
            f"'s.schema' = '{tmp_path / 'bad.schema.yaml'}', 's.count' = '1')"
        )
