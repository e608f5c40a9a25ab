"""Malformed records: counted, reported with their position, then skipped, dead-lettered or fatal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from connector_helpers import drain

from velostream.connectors.registry import create_source
from velostream.errors import RecordError

JSONL = (
    '{"id":1,"ts":1000}\n'
    "this is not json\n"
    "\n"
    "[1,2]\n"
    '{"id":4,"ts":"soon"}\n'
    '{"id":5}\n'
    '{"id":6,"ts":6000}\n'
)


def make(tmp_path: Path, warnings: list[str], **extra: str):
    f = tmp_path / "in.jsonl"
    f.write_text(JSONL)
    props = {"type": "file_source", "path": str(f), "event.time.field": "ts", **extra}
    return create_source("src", props, on_warning=warnings.append), str(f)


def test_skip_counts_and_reports_positions(tmp_path: Path, warnings_list: list[str]) -> None:
    s, path = make(tmp_path, warnings_list)
    rows = drain(s)
    assert [r["id"] for r in rows] == [1, 6]
    assert [r["_offset"] for r in rows] == [0, 1]
    assert s.errors.malformed == 4
    assert s.errors.dead_lettered == 0
    # Line 3 is blank (not malformed); the others are lines 2, 4, 5 and 6.
    assert [r.split(": ")[0] for r in s.errors.reports] == [
        f"{path}:2",
        f"{path}:4",
        f"{path}:5",
        f"{path}:6",
    ]
    assert "not JSON" in s.errors.reports[0]
    assert "expected a JSON object" in s.errors.reports[1]
    assert "'ts'" in s.errors.reports[2] and "missing" in s.errors.reports[3]
    assert len(warnings_list) == 4 and f"{path}:2" in warnings_list[0]


def test_dead_letter_file_holds_each_bad_record(tmp_path: Path, warnings_list: list[str]) -> None:
    dl = tmp_path / "dl" / "bad.jsonl"
    s, path = make(
        tmp_path, warnings_list, **{"on.error": "dead_letter", "dead.letter.path": str(dl)}
    )
    rows = drain(s)
    assert [r["id"] for r in rows] == [1, 6]
    assert s.errors.malformed == 4 and s.errors.dead_lettered == 4
    entries = [json.loads(line) for line in dl.read_text().splitlines()]
    assert [(e["source"], e["position"], e["raw"]) for e in entries] == [
        ("src", f"{path}:2", "this is not json"),
        ("src", f"{path}:4", "[1,2]"),
        ("src", f"{path}:5", '{"id":4,"ts":"soon"}'),
        ("src", f"{path}:6", '{"id":5}'),
    ]
    assert all(e["error"] for e in entries)


def test_fail_raises_record_error_with_position(tmp_path: Path, warnings_list: list[str]) -> None:
    s, path = make(tmp_path, warnings_list, **{"on.error": "fail"})
    with pytest.raises(RecordError) as info:
        drain(s)
    assert info.value.position == f"{path}:2"
    assert s.errors.malformed == 1


def test_csv_row_with_wrong_field_count(tmp_path: Path, warnings_list: list[str]) -> None:
    f = tmp_path / "in.csv"
    f.write_text("a,b\n1,2\n3\n4,5,6\n7,8\n")
    dl = tmp_path / "dl.jsonl"
    s = create_source(
        "c",
        {
            "type": "file_source",
            "path": str(f),
            "on.error": "dead_letter",
            "dead.letter.path": str(dl),
        },
        on_warning=warnings_list.append,
    )
    rows = drain(s)
    assert [(r["a"], r["b"]) for r in rows] == [(1, 2), (7, 8)]
    assert s.errors.malformed == 2
    assert [r.split(": ")[0] for r in s.errors.reports] == [f"{f}:3", f"{f}:4"]
    entries = [json.loads(line) for line in dl.read_text().splitlines()]
    assert [e["raw"] for e in entries] == ["3", "4,5,6"]
    assert "expected 2 fields, got 1" in entries[0]["error"]


def test_json_array_element_that_is_not_an_object(tmp_path: Path, warnings_list: list[str]) -> None:
    f = tmp_path / "a.json"
    f.write_text('[{"x":1}, 2, {"x":3}]')
    s = create_source("j", {"type": "file_source", "path": str(f)}, on_warning=warnings_list.append)
    assert [r["x"] for r in drain(s)] == [1, 3]
    assert s.errors.malformed == 1 and s.errors.reports[0].startswith(f"{f}[1]: ")


def test_broken_json_array_file_is_one_malformed_record(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text('[{"x":1}, {"x":')
    s = create_source("j", {"type": "file_source", "path": str(f)})
    assert drain(s) == []
    assert s.errors.malformed == 1


def test_bad_event_time_position_without_blank_lines(tmp_path: Path) -> None:
    # No blank line and every line an object: the bulk-decoding path must still report line 3.
    f = tmp_path / "a.jsonl"
    f.write_text('{"ts":1}\n{"ts":2}\n{"ts":"x"}\n{"ts":4}\n')
    s = create_source("a", {"type": "file_source", "path": str(f), "event.time.field": "ts"})
    assert [r["_event_time"] for r in drain(s)] == [1, 2, 4]
    assert s.errors.reports[0].startswith(f"{f}:3: ")
