"""The optional columnar path (`Source.frames()`): a DataFrame batch must hold exactly what the
record batches hold, and the JSON decoder must decline whatever it cannot read exactly."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from velostream.connectors.registry import create_source
from velostream.formats.json_frame import jsonl_frame


def collect(src, frames: bool) -> list:
    async def run() -> list:
        await src.open()
        out = []
        async for b in src.frames() if frames else src.batches():
            out.append(b)
        await src.close()
        return out

    return asyncio.run(run())


def as_rows(batches: list) -> list[dict]:
    rows: list[dict] = []
    for b in batches:
        rows.extend(b.to_arrow().to_pylist() if isinstance(b, pl.DataFrame) else b)
    return rows


def same(a: list[dict], b: list[dict]) -> None:
    """Equal rows, a missing key read as NULL, the read time `_timestamp` ignored."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        keys = (set(x) | set(y)) - {"_timestamp"}
        for k in keys:
            vx, vy = x.get(k), y.get(k)
            assert vx == vy and type(vx) is type(vy), (k, vx, vy)
            if isinstance(vx, Decimal):
                assert str(vx) == str(vy)  # same scale


def test_clean_jsonl_comes_as_frames_with_the_same_values(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text(
        "".join(
            f'{{"k":"s{i % 3}","p":"{i}.{i % 10}5","q":{i},"r":{i}.25,"ok":{str(i % 2 == 0).lower()},'
            f'"n":null,"ts":{1000 + i}}}\n'
            for i in range(25)
        )
    )
    props = {"type": "file_source", "path": str(f), "event.time.field": "ts", "batch.size": "10"}
    frames = collect(create_source("a", props), frames=True)
    assert all(isinstance(b, pl.DataFrame) for b in frames)
    assert [b.height for b in frames] == [10, 10, 5]
    rows = as_rows(frames)
    same(rows, as_rows(collect(create_source("a", props), frames=False)))
    assert rows[3]["p"] == Decimal("3.35") and rows[3]["_event_time"] == 1003
    assert [r["_offset"] for r in rows] == list(range(25))


def test_integral_floats_written_with_a_point_stay_floats() -> None:
    frame = jsonl_frame(b'{"a":1.0,"b":2}\n{"a":2.5,"b":3}\n')
    assert frame is not None
    assert frame["a"].to_list() == [1.0, 2.5] and frame["a"].dtype == pl.Float64
    assert frame["b"].dtype == pl.Int64


def test_epoch_seconds_in_bulk(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text('{"t":1700000000}\n{"t":1700000001}\n')
    props = {
        "type": "file_source",
        "path": str(f),
        "event.time.field": "t",
        "event.time.format": "epoch_seconds",
    }
    frames = collect(create_source("a", props), frames=True)
    assert isinstance(frames[0], pl.DataFrame)
    assert [r["_event_time"] for r in as_rows(frames)] == [1_700_000_000_000, 1_700_000_001_000]


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1}\n{"a":2.5}\n',  # int and float mixed
        '{"a":1}\n{"a":2.0}\n',  # an integer among floats
        '{"a":2.5}\n{"a":3}\n',  # an integer after floats
        '{"a":1}\n{"a":"x"}\n',  # number and string mixed
        '{"a":"1.5"}\n{"a":"1.50"}\n',  # decimals of two scales
        '{"a":"1.5"}\n{"a":"x"}\n',  # decimal among strings
        '{"a":1}\nnot json\n',  # malformed line
        '{"a":1}\n[1]\n',  # not an object
        '{"a":{"b":1}}\n',  # nested
        '{"a":1,"a":2}\n',  # duplicate key
        '{"a" : 1}\n',  # space before the colon
        '{"a":99999999999999999999}\n',  # beyond 64 bits
        "".join('{"a":1}\n' for _ in range(200)) + '{"a":1,"late":"x"}\n',  # key seen only late
        "".join('{"a":"x"}\n' for _ in range(200)) + '{"a":5}\n',  # number after the window
    ],
)
def test_decoder_declines_what_it_cannot_read_exactly(text: str) -> None:
    assert jsonl_frame(text.encode()) is None


def test_declined_chunk_falls_back_to_records_with_reports(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text('{"a":1,"ts":5}\nbroken\n{"a":2,"ts":6}\n')
    src = create_source("a", {"type": "file_source", "path": str(f), "event.time.field": "ts"})
    batches = collect(src, frames=True)
    assert all(isinstance(b, list) for b in batches)
    assert [r["a"] for r in as_rows(batches)] == [1, 2]
    assert src.errors.malformed == 1 and src.errors.reports[0].startswith(f"{f}:2: ")


def test_string_event_time_uses_the_record_path(tmp_path: Path) -> None:
    f = tmp_path / "a.jsonl"
    f.write_text('{"t":"2023-11-14T22:13:20Z"}\n')
    src = create_source("a", {"type": "file_source", "path": str(f), "event.time.field": "t"})
    batches = collect(src, frames=True)
    assert isinstance(batches[0], list) and batches[0][0]["_event_time"] == 1_700_000_000_000


def test_random_mixed_files_agree_with_the_record_path(tmp_path: Path) -> None:
    rng = random.Random(3)
    choices = ["1", "-7", "2.5", "3.0", '"x"', '"12.50"', '"-0.5"', "true", "null", '"100"']
    as_frames = 0
    for n in range(30):
        cols = rng.sample(["a", "b", "c", "d"], rng.randint(1, 4))
        pools = {c: rng.sample(choices, rng.randint(1, 2)) for c in cols}
        lines = []
        for i in range(rng.randint(1, 300)):
            kv = [f'"{c}":{rng.choice(pools[c])}' for c in cols if rng.random() < 0.9]
            kv.append(f'"ts":{i}')
            lines.append("{" + ",".join(kv) + "}")
        f = tmp_path / f"r{n}.jsonl"
        f.write_text("\n".join(lines) + "\n")
        props = {"type": "file_source", "path": str(f), "event.time.field": "ts"}
        framed = collect(create_source("r", props), frames=True)
        as_frames += any(isinstance(b, pl.DataFrame) for b in framed)
        same(as_rows(framed), as_rows(collect(create_source("r", props), frames=False)))
    assert 5 <= as_frames <= 25  # both the columnar and the declined path were exercised


def test_memory_polars_and_arrow_frames() -> None:
    df = pl.DataFrame(
        {"k": ["a", "b", "c"], "p": [Decimal("1.50"), None, Decimal("2.25")], "ts": [3, 4, 5]},
        schema={"k": pl.String, "p": pl.Decimal(10, 2), "ts": pl.Int64},
    )
    for data in (df, df.to_arrow()):
        props = {"event.time.field": "ts", "batch.size": "2"}
        frames = collect(create_source("m", props, memory={"m": data}), frames=True)
        assert all(isinstance(b, pl.DataFrame) for b in frames)
        rows = as_rows(frames)
        same(rows, as_rows(collect(create_source("m", props, memory={"m": data}), frames=False)))
        assert [r["_event_time"] for r in rows] == [3, 4, 5]
        assert [r["_offset"] for r in rows] == [0, 1, 2]


def _list_source(rows: list, props: dict | None = None, columns: list[str] | None = None):
    props = {"event.time.field": "ts"} if props is None else props
    src = create_source("m", props, memory={"m": rows})
    if columns is not None:
        src.decode_only(columns)
    return src


def test_uniform_dicts_come_as_frames_with_the_record_path_values() -> None:
    rows = [
        {"k": f"k{i % 7}", "v": i * 3, "f": i / 4, "b": i % 2 == 0, "n": None, "ts": 10 * i}
        for i in range(50)
    ]
    rows[3]["v"] = None  # a NULL among ints stays an int column
    props = {"event.time.field": "ts", "batch.size": "16"}
    frames = collect(_list_source(rows, props), frames=True)
    assert len(frames) == 4 and all(isinstance(b, pl.DataFrame) for b in frames)
    assert frames[0].schema["v"] == pl.Int64 and frames[0].schema["b"] == pl.Boolean
    got = as_rows(frames)
    same(got, as_rows(collect(_list_source(rows, props), frames=False)))
    assert [r["_offset"] for r in got] == list(range(50))
    assert [r["_event_time"] for r in got] == [10 * i for i in range(50)]
    assert got[3]["v"] is None and got[4]["v"] == 12
    assert "_offset" not in rows[0]  # the caller's dicts are left as they were


def test_decode_only_builds_just_the_fields_read_matched_by_case() -> None:
    rows = [
        {"Key": "a", "v": 1, "other": [1, 2], "ts": 5},
        {"Key": "b", "v": 2, "other": {}, "ts": 6},
    ]
    frames = collect(_list_source(rows, columns=["_event_time", "key", "v"]), frames=True)
    assert isinstance(frames[0], pl.DataFrame)
    assert {"Key", "v", "ts"} <= set(frames[0].columns) and "other" not in frames[0].columns
    assert frames[0]["Key"].to_list() == ["a", "b"]


# Each chunk below cannot be one typed column per field: it must come as records, with exactly
# the values the record path gives (a lenient conversion would turn True into 1, 1.5 into 1,
# drop a field a later row adds, or lose a Decimal's scale).
MIXED_CHUNKS = {
    "bool among ints": [{"v": 1, "ts": 1}, {"v": True, "ts": 2}],
    "float among ints": [{"v": 1, "ts": 1}, {"v": 1.5, "ts": 2}],
    "int among floats": [{"v": 1.5, "ts": 1}, {"v": 2, "ts": 2}],
    "text among ints": [{"v": 1, "ts": 1}, {"v": "2", "ts": 2}],
    "decimals": [{"v": Decimal("1.50"), "ts": 1}, {"v": Decimal("2.250"), "ts": 2}],
    "int beyond 64 bits": [{"v": 1, "ts": 1}, {"v": 2**70, "ts": 2}],
    "a row without the field": [{"v": 1, "ts": 1}, {"ts": 2}],
    "a row with one more field": [{"v": 1, "ts": 1}, {"v": 2, "ts": 2, "w": "extra"}],
    "a nested value": [{"v": [1], "ts": 1}, {"v": [2], "ts": 2}],
}


@pytest.mark.parametrize("case", sorted(MIXED_CHUNKS))
def test_mixed_chunks_come_as_records_with_the_record_path_values(case: str) -> None:
    clean = [{"v": 7, "ts": 0}, {"v": 8, "ts": 0}]
    rows = clean + MIXED_CHUNKS[case] + clean
    props = {"event.time.field": "ts", "batch.size": "2"}
    batches = collect(_list_source(rows, props), frames=True)
    assert [isinstance(b, pl.DataFrame) for b in batches] == [True, False, True]
    got = as_rows(batches)
    same(got, as_rows(collect(_list_source(rows, props), frames=False)))
    assert [r["_offset"] for r in got] == list(range(6))
    assert [(k, type(v)) for k, v in got[3].items() if not k.startswith("_")] == [
        (k, type(v)) for k, v in rows[3].items()
    ]


def test_a_bad_event_time_in_a_list_is_reported_and_the_rest_kept() -> None:
    rows = [{"v": 1, "ts": 1}, {"v": 2, "ts": "soon"}, {"v": 3, "ts": 3}]
    src = _list_source(rows, {"event.time.field": "ts", "batch.size": "8"})
    got = as_rows(collect(src, frames=True))
    assert [r["v"] for r in got] == [1, 3] and [r["_offset"] for r in got] == [0, 1]
    assert src.errors.malformed == 1 and "m:row 2" in src.errors.reports[0]


def test_a_row_that_is_not_a_dict_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="memory rows must be dicts, got int"):
        collect(_list_source([{"v": 1, "ts": 1}, 5]), frames=True)


def test_rows_carrying_their_own_event_times_stay_records() -> None:
    rows = [{"v": 1, "_event_time": 40}, {"v": 2, "_event_time": 41}]
    batches = collect(_list_source(rows, {}), frames=True)
    assert isinstance(batches[0], list) and [r["_event_time"] for r in batches[0]] == [40, 41]
    assert pa is not None
