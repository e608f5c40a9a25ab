"""file_source: JSON lines, JSON arrays and CSV decode to the values SEMANTICS.md names."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from connector_helpers import drain, drain_batches, user_columns

from velostream.connectors.registry import create_source
from velostream.errors import ConfigError


def src(name: str, **props: str):
    return create_source(name, {"type": "file_source", **props})


def test_jsonl_values_keep_their_types(tmp_path: Path) -> None:
    f = tmp_path / "t.jsonl"
    f.write_text(
        '{"sym":"A","price":"45482.50","qty":3,"ratio":2.5,"code":"100","neg":"-0.5","ts":1000}\n'
        '{"sym":"B","price":"1.0","qty":-4,"ratio":1e3,"code":"1e5","neg":null,"ts":2000}\n'
    )
    rows = drain(src("t", path=str(f), **{"event.time.field": "ts"}))
    assert [user_columns(r) for r in rows] == [
        {
            "sym": "A",
            "price": Decimal("45482.50"),
            "qty": 3,
            "ratio": 2.5,
            "code": "100",
            "neg": Decimal("-0.5"),
            "ts": 1000,
        },
        {
            "sym": "B",
            "price": Decimal("1.0"),
            "qty": -4,
            "ratio": 1000.0,
            "code": "1e5",
            "neg": None,
            "ts": 2000,
        },
    ]
    # Decimal keeps its own scale: "45482.50" has two places, "1.0" one.
    assert rows[0]["price"].as_tuple().exponent == -2
    assert rows[1]["price"].as_tuple().exponent == -1
    assert type(rows[0]["qty"]) is int and type(rows[1]["ratio"]) is float
    assert [r["_event_time"] for r in rows] == [1000, 2000]
    assert [r["_offset"] for r in rows] == [0, 1]
    assert all(r["_partition"] == 0 and r["_key"] is None for r in rows)


def test_decimal_string_appearing_only_late_is_still_converted(tmp_path: Path) -> None:
    # The fast path samples early records; a key that becomes decimal later must not be missed.
    lines = [f'{{"i":{i},"v":"x"}}' for i in range(100)] + ['{"i":100,"v":"2.25"}']
    f = tmp_path / "late.jsonl"
    f.write_text("\n".join(lines) + "\n")
    rows = drain(src("s", path=str(f)))
    assert rows[100]["v"] == Decimal("2.25") and rows[0]["v"] == "x"


def test_without_event_time_field_event_time_is_read_time(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text('{"a":1}\n{"a":2}')  # no newline after the last line: still read
    rows = drain(src("a", path=str(f)))
    assert [r["a"] for r in rows] == [1, 2]
    assert all(
        r["_event_time"] == r["_timestamp"] and r["_event_time"] > 1_600_000_000_000 for r in rows
    )


def test_json_array_file(tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text(
        '[{"k":"x","p":"9.90","t":"2023-11-14T22:13:20Z"},\n {"k":"y","p":7,"t":"2023-11-14T22:13:21Z"}]'
    )
    rows = drain(src("a", path=str(f), format="json", **{"event.time.field": "t"}))
    assert [user_columns(r) for r in rows] == [
        {"k": "x", "p": Decimal("9.90"), "t": "2023-11-14T22:13:20Z"},
        {"k": "y", "p": 7, "t": "2023-11-14T22:13:21Z"},
    ]
    assert [r["_event_time"] for r in rows] == [1_700_000_000_000, 1_700_000_001_000]


def test_csv_inference_and_quoting(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text(
        "name,qty,price,big,flag,note,empty\n"
        'widget,3,12.50,1.5e3,true,"a, ""quoted"" note",\n'
        '"multi\nline",-7,-0.25,2E-2,FALSE,100,x\n'
    )
    rows = drain(src("c", path=str(f), format="csv"))
    assert [user_columns(r) for r in rows] == [
        {
            "name": "widget",
            "qty": 3,
            "price": Decimal("12.50"),
            "big": 1500.0,
            "flag": True,
            "note": 'a, "quoted" note',
            "empty": None,
        },
        {
            "name": "multi\nline",
            "qty": -7,
            "price": Decimal("-0.25"),
            "big": 0.02,
            "flag": False,
            "note": 100,
            "empty": "x",
        },
    ]
    assert rows[0]["price"].as_tuple().exponent == -2


def test_format_follows_the_suffix_when_not_given(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    assert [r["x"] for r in drain(src("c", path=str(tmp_path / "a.csv")))] == [1]


def test_glob_reads_files_in_sorted_order(tmp_path: Path) -> None:
    for name, v in [("b.jsonl", 2), ("a.jsonl", 1), ("c.jsonl", 3)]:
        (tmp_path / name).write_text(f'{{"v":{v}}}\n{{"v":{v * 10}}}\n')
    (tmp_path / "skip.txt").write_text('{"v":99}\n')
    rows = drain(src("g", path=str(tmp_path / "*.jsonl")))
    assert [r["v"] for r in rows] == [1, 10, 2, 20, 3, 30]
    assert [r["_offset"] for r in rows] == [0, 1, 2, 3, 4, 5]


def test_batch_size_splits_batches(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text("".join(f'{{"i":{i}}}\n' for i in range(10)))
    batches = drain_batches(src("a", path=str(f), **{"batch.size": "4"}))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert [r["i"] for b in batches for r in b] == list(range(10))


def test_empty_file_is_an_empty_bounded_source(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_text("")
    (tmp_path / "e.csv").write_text("a,b\n")
    assert drain(src("e", path=str(tmp_path / "e.jsonl"))) == []
    assert drain(src("e", path=str(tmp_path / "e.csv"))) == []


def test_glob_matching_nothing_names_the_path(tmp_path: Path) -> None:
    s = src("orders", path=str(tmp_path / "none*.jsonl"))
    with pytest.raises(ConfigError, match=r"'orders.path'.*matches no file"):
        drain(s)


def test_strftime_event_time_from_csv(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("id,when\n1,14/11/2023 22:13:20\n2,14/11/2023 22:13:21\n")
    rows = drain(
        src(
            "a",
            path=str(f),
            **{"event.time.field": "when", "event.time.format": "%d/%m/%Y %H:%M:%S"},
        )
    )
    assert [r["_event_time"] for r in rows] == [1_700_000_000_000, 1_700_000_001_000]


def test_epoch_seconds_event_time(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text('{"t":1700000000}\n{"t":1700000000.5}\n')
    rows = drain(
        src("a", path=str(f), **{"event.time.field": "t", "event.time.format": "epoch_seconds"})
    )
    assert [r["_event_time"] for r in rows] == [1_700_000_000_000, 1_700_000_000_500]
    assert rows[0]["t"] == 1_700_000_000  # the field stays an ordinary column


def test_byte_order_mark_is_skipped_in_every_format(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    (tmp_path / "a.jsonl").write_bytes(bom + b'{"x":1}\n{"x":2}\n')
    (tmp_path / "a.json").write_bytes(bom + b'[{"x":1},{"x":2}]')
    (tmp_path / "a.csv").write_bytes(bom + b"x\n1\n2\n")
    for name in ("a.jsonl", "a.json", "a.csv"):
        s = src("b", path=str(tmp_path / name))
        assert [r["x"] for r in drain(s)] == [1, 2], name
        assert s.errors.malformed == 0
