"""file_sink: JSON lines, CSV and JSON arrays, with decimals that keep their scale."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from connector_helpers import drain, write_rows

from velostream.connectors.registry import create_sink, create_source

ROWS = [
    {"sym": "AAPL", "notional": Decimal("45482.50"), "qty": 350, "avg": 2.5, "_event_time": 1},
    {"sym": None, "notional": Decimal("1E+2"), "qty": None, "avg": float("nan")},
]


def sink(tmp_path: Path, fname: str, **props: str):
    return create_sink("out", {"type": "file_sink", "path": str(tmp_path / fname), **props})


def test_jsonl_rows_in_select_order_with_exact_decimals(tmp_path: Path) -> None:
    s = sink(tmp_path, "deep/dir/out.jsonl")  # parent folders are created
    write_rows(s, ["qty", "sym", "notional", "avg", "missing"], ROWS[:1], ROWS[1:])
    text = (tmp_path / "deep/dir/out.jsonl").read_text()
    assert text == (
        '{"qty":350,"sym":"AAPL","notional":"45482.50","avg":2.5,"missing":null}\n'
        '{"qty":null,"sym":null,"notional":"100","avg":null,"missing":null}\n'
    )


def test_datetime_is_written_as_iso8601(tmp_path: Path) -> None:
    s = sink(tmp_path, "t.jsonl")
    write_rows(s, ["t"], [{"t": dt.datetime(2023, 11, 14, 22, 13, 20)}])
    value = json.loads((tmp_path / "t.jsonl").read_text())["t"]
    assert value.startswith("2023-11-14T22:13:20")


def test_truncates_unless_append(tmp_path: Path) -> None:
    write_rows(sink(tmp_path, "a.jsonl"), ["x"], [{"x": 1}])
    write_rows(sink(tmp_path, "a.jsonl"), ["x"], [{"x": 2}])
    assert (tmp_path / "a.jsonl").read_text() == '{"x":2}\n'
    write_rows(sink(tmp_path, "a.jsonl", append="true"), ["x"], [{"x": 3}])
    assert (tmp_path / "a.jsonl").read_text() == '{"x":2}\n{"x":3}\n'


def test_csv_sink_header_quoting_and_values(tmp_path: Path) -> None:
    s = sink(tmp_path, "o.csv", format="csv")
    write_rows(
        s,
        ["sym", "notional", "qty", "flag", "note"],
        [{"sym": "A", "notional": Decimal("0.10"), "qty": 3, "flag": True, "note": 'say "hi", ok'}],
        [{"sym": "B", "notional": None, "qty": -1, "flag": False, "note": None}],
    )
    assert (tmp_path / "o.csv").read_text() == (
        'sym,notional,qty,flag,note\nA,0.10,3,true,"say ""hi"", ok"\nB,,-1,false,\n'
    )


def test_json_array_sink_written_on_close(tmp_path: Path) -> None:
    s = sink(tmp_path, "o.json", format="json")
    rows = [{"sym": r["sym"], "notional": r["notional"], "_offset": 7} for r in ROWS]
    write_rows(s, ["sym", "notional"], rows[:1], rows[1:])  # system columns are not written
    assert json.loads((tmp_path / "o.json").read_text()) == [
        {"sym": "AAPL", "notional": "45482.50"},
        {"sym": None, "notional": "100"},
    ]


def test_empty_json_sink_is_an_empty_array(tmp_path: Path) -> None:
    write_rows(sink(tmp_path, "e.json", format="json"), ["x"])
    assert json.loads((tmp_path / "e.json").read_text()) == []


def test_round_trip_jsonl_and_csv(tmp_path: Path) -> None:
    rows = [
        {"k": "a", "p": Decimal("12.50"), "n": 7, "f": 0.5, "s": "100"},
        {"k": "b", "p": Decimal("-0.125"), "n": -2, "f": 3.25, "s": "x"},
    ]
    for fmt in ("jsonl", "csv"):
        path = tmp_path / f"rt.{fmt}"
        write_rows(
            create_sink("o", {"type": "file_sink", "path": str(path), "format": fmt}),
            list(rows[0]),
            rows,
        )
        back = drain(create_source("i", {"type": "file_source", "path": str(path), "format": fmt}))
        got = [{k: r[k] for k in rows[0]} for r in back]
        if fmt == "jsonl":
            assert got == rows  # "100" was written as a JSON string and stays a string
        else:
            # CSV has no types: "100" comes back as the integer 100.
            assert got == [{**rows[0], "s": 100}, rows[1]]
        assert str(got[0]["p"]) == "12.50" and str(got[1]["p"]) == "-0.125"


def test_fields_beyond_the_select_list_follow_it(tmp_path: Path) -> None:
    # SELECT * over schemaless input: rows differ; each keeps its own fields after the columns.
    s = sink(tmp_path, "x.jsonl")
    write_rows(s, ["a"], [{"a": 1, "b": 2, "_offset": 0}, {"a": 3, "c": Decimal("0.5")}])
    assert (tmp_path / "x.jsonl").read_text() == '{"a":1,"b":2}\n{"a":3,"c":"0.5"}\n'
