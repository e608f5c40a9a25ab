"""memory: rows from Python (list of dicts, Arrow, Polars) in, rows collected in a list out."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pyarrow as pa
from connector_helpers import drain, drain_batches, user_columns, write_rows

from velostream.connectors.registry import create_sink, create_source

ROWS = [
    {"k": "a", "p": Decimal("1.50"), "n": 1, "ts": 1000},
    {"k": "b", "p": Decimal("-2.25"), "n": 2, "ts": 2000},
]


def test_list_of_dicts_with_event_time() -> None:
    rows = drain(create_source("m", {"event.time.field": "ts"}, memory={"m": ROWS}))
    assert [user_columns(r) for r in rows] == ROWS
    assert [r["_event_time"] for r in rows] == [1000, 2000]
    assert ROWS[0].get("_event_time") is None  # the caller's dicts are not modified


def test_rows_carrying_their_event_time_keep_it() -> None:
    data = [{"x": 1, "_event_time": 50}, {"x": 2, "_event_time": 70}]
    rows = drain(create_source("m", {"type": "memory"}, memory={"m": data}))
    assert [r["_event_time"] for r in rows] == [50, 70]


def test_arrow_table_keeps_decimals() -> None:
    table = pa.table(
        {
            "k": ["a", "b"],
            "p": pa.array([Decimal("1.50"), Decimal("-2.25")], pa.decimal128(10, 2)),
            "n": [1, 2],
            "ts": [1000, 2000],
        }
    )
    rows = drain(create_source("m", {"event.time.field": "ts"}, memory={"m": table}))
    assert [user_columns(r) for r in rows] == ROWS
    assert str(rows[0]["p"]) == "1.50"


def test_polars_frame_keeps_decimals() -> None:
    df = pl.DataFrame(
        {
            "k": ["a", "b"],
            "p": [Decimal("1.50"), Decimal("-2.25")],
            "n": [1, 2],
            "ts": [1000, 2000],
        },
        schema={"k": pl.String, "p": pl.Decimal(10, 2), "n": pl.Int64, "ts": pl.Int64},
    )
    rows = drain(create_source("m", {"event.time.field": "ts"}, memory={"m": df}))
    assert [user_columns(r) for r in rows] == ROWS
    assert str(rows[1]["p"]) == "-2.25"


def test_batches_and_bad_event_time() -> None:
    data = [{"ts": 1}, {"ts": "later"}, {"ts": 3}, {"ts": 4}]
    src = create_source("m", {"event.time.field": "ts", "batch.size": "2"}, memory={"m": data})
    batches = drain_batches(src)
    assert [[r["ts"] for r in b] for b in batches] == [[1], [3, 4]]
    assert src.errors.malformed == 1 and src.errors.reports[0].startswith("m:row 2: ")


def test_memory_sink_collects_rows_in_select_order() -> None:
    mem: dict = {}
    sink = create_sink("out", {"type": "memory"}, memory=mem)
    write_rows(sink, ["b", "a"], [{"a": 1, "b": 2, "_offset": 0}], [{"a": 3}])
    assert mem["out"] == [{"b": 2, "a": 1}, {"b": None, "a": 3}]
    assert list(mem["out"][0]) == ["b", "a"]


def test_memory_sink_keeps_extra_fields_after_the_columns() -> None:
    mem: dict = {}
    sink = create_sink("out", {"type": "memory"}, memory=mem)
    write_rows(sink, ["a"], [{"b": 2, "a": 1, "_offset": 9}])
    assert mem["out"] == [{"a": 1, "b": 2}] and list(mem["out"][0]) == ["a", "b"]
