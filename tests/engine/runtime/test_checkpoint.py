"""Checkpoints and restarts: a job with a SQLite state store resumes after a crash or a stop with
the state and source offsets of its last checkpoint.

Delivery contract checked here: a graceful end (stop, LIMIT, end of input) checkpoints last, so a
restart continues exactly where the job left off; after a crash, the rows emitted after the last
checkpoint are emitted again (the same rows in the same order) and no row before it is.
"""

from __future__ import annotations

import asyncio
import pickle
import types
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

from velostream import Engine
from velostream.connectors.file_source import FileSource
from velostream.connectors.synthetic import SyntheticSource
from velostream.errors import SqlError
from velostream.runtime import checkpoint as ck
from velostream.runtime.checkpoint import Checkpointer, skip_through
from velostream.runtime.pipeline import Pipeline
from velostream.runtime.state import MemoryStateStore, SqliteStateStore
from velostream.sql.parse import parse_script

# -- helpers -------------------------------------------------------------------------------


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def events(n: int) -> list[dict]:
    """Event i at i seconds, key a (even i) or b (odd i), value i."""
    return [{"k": "a" if i % 2 == 0 else "b", "v": i, "ts": i * 1000} for i in range(n)]


def statement(query: str, d: Path, state: bool = True, extra: str = "", batch: int = 4) -> str:
    """CREATE STREAM out AS <query> reading d/in.jsonl in batches, writing d/out.jsonl."""
    props = [
        "'src.type' = 'file_source'",
        f"'src.path' = '{d / 'in.jsonl'}'",
        "'src.format' = 'jsonl'",
        "'src.event.time.field' = 'ts'",
        f"'src.batch.size' = '{batch}'",
        "'out.type' = 'file_sink'",
        f"'out.path' = '{d / 'out.jsonl'}'",
        "'out.format' = 'jsonl'",
    ]
    if state:
        props += ["'state.store' = 'sqlite'", f"'state.path' = '{d / 'state.db'}'"]
    if extra:
        props.append(extra)
    return f"CREATE STREAM out AS {query}\nWITH ({', '.join(props)});"


def committed(d: Path) -> tuple[dict[str, int], Any]:
    """The offsets and the checkpoint record in d/state.db."""
    s = SqliteStateStore(d / "state.db")
    try:
        return s.offsets(), s.get(ck.META, "last")
    finally:
        s.close()


def hook_file_batches(monkeypatch: pytest.MonkeyPatch, after_yield: Callable[[int], None]) -> None:
    """Call `after_yield(n)` when FileSource has handed over its n-th batch (1-based), before
    it is asked for the next one."""
    for name in ("_bounded", "_bounded_frames"):
        real = getattr(FileSource, name)

        def method(self: FileSource, real: Any = real) -> AsyncIterator[Any]:
            async def gen() -> AsyncIterator[Any]:
                n = 0
                async for batch in real(self):
                    n += 1
                    after_yield(n)
                    yield batch

            return gen()

        monkeypatch.setattr(FileSource, name, method)


async def _start_and_wait(sql: str, on_job: Callable[[Any], None] | None = None) -> Any:
    eng = Engine()
    job = await eng.start(sql)
    if on_job is not None:
        on_job(job)
    await eng.tasks[-1]
    return job


def run_stopped_after(sql: str, batches: int, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `sql` and ask its job to stop once the source has handed over `batches` batches."""
    holder: dict[str, Any] = {}

    def after_yield(n: int) -> None:
        if n == batches:
            holder["job"].stop()

    with monkeypatch.context() as m:
        hook_file_batches(m, after_yield)
        return asyncio.run(_start_and_wait(sql, lambda job: holder.__setitem__("job", job)))


TUMBLING = (
    "SELECT k, COUNT(*) AS n, SUM(v) AS s, _window_start AS ws FROM src "
    "GROUP BY k WINDOW TUMBLING(5s) EMIT FINAL"
)


def tumbling_expected(n_events: int) -> list[dict]:
    """Rows of TUMBLING over events(n), worked out independently: window w holds events
    5w..5w+4; a holds the even ones, b the odd ones; the key seen first in a window comes
    first."""
    rows = []
    for w in range(n_events // 5):
        members = range(5 * w, 5 * w + 5)
        first = "a" if (5 * w) % 2 == 0 else "b"
        for k in (first, "b" if first == "a" else "a"):
            vs = [i for i in members if (i % 2 == 0) == (k == "a")]
            rows.append({"k": k, "n": len(vs), "s": sum(vs), "ws": 5000 * w})
    return rows


# -- uninterrupted runs --------------------------------------------------------------------


def test_expected_rows_by_hand() -> None:
    rows = tumbling_expected(40)
    # window [0s, 5s): a = 0, 2, 4 (sum 6); b = 1, 3 (sum 4)
    assert rows[:2] == [
        {"k": "a", "n": 3, "s": 6, "ws": 0},
        {"k": "b", "n": 2, "s": 4, "ws": 0},
    ]
    # window [5s, 10s): b = 5, 7, 9 (sum 21) comes first; a = 6, 8 (sum 14)
    assert rows[2:4] == [
        {"k": "b", "n": 3, "s": 21, "ws": 5000},
        {"k": "a", "n": 2, "s": 14, "ws": 5000},
    ]
    assert len(rows) == 16


def test_a_whole_run_with_sqlite_state_matches_the_expected_rows(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", events(40))
    Engine().execute(statement(TUMBLING, tmp_path))
    assert read_jsonl(tmp_path / "out.jsonl") == tumbling_expected(40)
    offsets, meta = committed(tmp_path)
    assert offsets == {"src": 39}  # every record, offsets 0..39
    assert meta["watermark"] == 39000


def test_rerunning_a_finished_bounded_job_emits_nothing_more(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", events(40))
    Engine().execute(statement(TUMBLING, tmp_path))
    Engine().execute(statement(TUMBLING, tmp_path))
    assert read_jsonl(tmp_path / "out.jsonl") == tumbling_expected(40)


def test_the_default_job_has_no_checkpointer(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", events(10))
    eng = Engine()
    job = eng.build_job(parse_script(statement(TUMBLING, tmp_path, state=False)).statements[0])
    assert job.checkpointer is None
    job2 = eng.build_job(
        parse_script(
            statement(TUMBLING, tmp_path, state=False, extra="'state.store' = 'memory'")
        ).statements[0]
    )
    assert job2.checkpointer is None
    assert not (tmp_path / "state.db").exists()


def test_building_a_job_creates_no_state_file(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", events(10))
    errors, _ = Engine().validate(statement(TUMBLING, tmp_path))
    assert errors == []
    assert not (tmp_path / "state.db").exists()


# -- crash and restart ---------------------------------------------------------------------


def test_crash_then_restart_emits_the_rows_after_the_last_checkpoint_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_jsonl(tmp_path / "in.jsonl", events(40))
    sql = statement(TUMBLING, tmp_path, extra="'checkpoint.interval' = '1s'")
    full = tumbling_expected(40)
    seen = {"batches": 0}

    def after_yield(n: int) -> None:
        seen["batches"] = n
        if n == 9:
            raise RuntimeError("crash")  # asked for batch 9 after processing 8 (records 0..31)

    # A clock that moves one second every 3 batches: checkpoints after batches 3 and 6.
    monkeypatch.setattr(ck, "_now", lambda: float(seen["batches"] // 3))
    with monkeypatch.context() as m:
        hook_file_batches(m, after_yield)
        with pytest.raises(RuntimeError, match="crash"):
            Engine().execute(sql)
    # Before the crash: records 0..31 read, watermark 31s: windows ending by 30s are out.
    first = read_jsonl(tmp_path / "out.jsonl")
    assert first == full[:12]
    # The last checkpoint covers batches 1..6: records 0..23, watermark 23s, windows ending
    # by 20s emitted (8 rows).
    offsets, meta = committed(tmp_path)
    assert offsets == {"src": 23}
    assert meta["watermark"] == 23000

    Engine().execute(sql)  # restart: same SQL, same state file
    combined = read_jsonl(tmp_path / "out.jsonl")
    # the 4 rows emitted between the checkpoint and the crash come again; nothing else does
    assert combined == full[:12] + full[8:]
    assert len(combined) == 20
    assert committed(tmp_path)[0] == {"src": 39}


def test_failure_inside_a_checkpoint_commit_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_jsonl(tmp_path / "in.jsonl", events(40))
    sql = statement(TUMBLING, tmp_path, extra="'checkpoint.interval' = '1s'")
    seen = {"batches": 0, "commits": 0}

    def after_yield(n: int) -> None:
        seen["batches"] = n

    real_offsets = SqliteStateStore._write_offsets

    def write_offsets(self: SqliteStateStore, db: Any, offsets: dict) -> None:
        seen["commits"] += 1
        if seen["commits"] == 2:  # state rows of checkpoint 2 are written, its offsets fail
            raise OSError("disk full")
        real_offsets(self, db, offsets)

    monkeypatch.setattr(ck, "_now", lambda: float(seen["batches"] // 3))
    with monkeypatch.context() as m:
        hook_file_batches(m, after_yield)
        m.setattr(SqliteStateStore, "_write_offsets", write_offsets)
        with pytest.raises(OSError, match="disk full"):
            Engine().execute(sql)
    # Checkpoint 1 (after batch 3: records 0..11, watermark 11s) is what the file holds: its
    # state (watermark) and its offsets, not checkpoint 2's state.
    offsets, meta = committed(tmp_path)
    assert offsets == {"src": 11}
    assert meta["watermark"] == 11000
    s = SqliteStateStore(tmp_path / "state.db")
    core = s.get(ck.OPERATORS, "core")
    s.close()
    assert core["wm"] == 11000
    # open window [10s, 15s) holds records 10 and 11: a = 10, b = 11
    assert [(w, [(k, t[1][0].n) for k, t in gs]) for w, gs in core["windows"]] == [
        ((10000, 15000), [(("a",), 1), (("b",), 1)])
    ]
    # windows [0, 5) and [5, 10) were out (4 rows) before checkpoint 1; the crash came while
    # taking checkpoint 2 (after batch 6: windows up to 20s, 8 rows out)
    assert read_jsonl(tmp_path / "out.jsonl") == tumbling_expected(40)[:8]
    Engine().execute(sql)
    full = tumbling_expected(40)
    assert read_jsonl(tmp_path / "out.jsonl") == full[:8] + full[4:]


# -- graceful stop and restart: exactly the uninterrupted output ----------------------------


def mixed_events(n: int) -> list[dict]:
    """Keys a/b/c, one record a second, every 7th one 1.5 s late (out of order)."""
    rows = []
    for i in range(n):
        ts = i * 1000 - (1500 if i % 7 == 3 else 0)
        rows.append({"k": "abc"[(i * 7 + i // 4) % 3], "v": i, "ts": ts})
    return rows


LATE = "'watermark.max_out_of_orderness' = '1s'"
QUERIES = {
    "tumbling_final": TUMBLING,
    "tumbling_changes": (
        "SELECT k, COUNT(*) AS n, MAX(v) AS hi FROM src GROUP BY k WINDOW TUMBLING(5s) EMIT CHANGES"
    ),
    "sliding": (
        "SELECT k, COUNT(*) AS n, SUM(v) AS s, _window_start AS ws FROM src GROUP BY k "
        "WINDOW SLIDING(6s, 2s) EMIT FINAL"
    ),
    "session": (
        "SELECT k, COUNT(*) AS n, MIN(v) AS lo, _window_start AS ws, _window_end AS we "
        "FROM src GROUP BY k WINDOW SESSION(2500ms) EMIT FINAL"
    ),
    "running_totals": "SELECT k, COUNT(*) AS n, SUM(v) AS s FROM src GROUP BY k",
    "lag_lead": (
        "SELECT k, v, LAG(v) OVER (PARTITION BY k ORDER BY ts) AS prev, "
        "LEAD(v, 2) OVER (PARTITION BY k ORDER BY ts) AS next2 FROM src"
    ),
    "two_leads": (
        "SELECT k, v, LEAD(v) OVER (PARTITION BY k ORDER BY ts) AS n1, "
        "LEAD(v, 2) OVER (ORDER BY ts) AS n2 FROM src"
    ),
    "distinct_limit": "SELECT DISTINCT k, v % 4 AS r FROM src LIMIT 7",
    "having": (
        "SELECT k, COUNT(*) AS n FROM src GROUP BY k WINDOW TUMBLING(4s) "
        "HAVING COUNT(*) > 1 EMIT FINAL"
    ),
}


@pytest.mark.parametrize("stop_after", [1, 3, 6])
@pytest.mark.parametrize("name", sorted(QUERIES))
def test_stop_and_restart_equals_one_uninterrupted_run(
    name: str, stop_after: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = mixed_events(41)
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    for d in (whole, parts):
        d.mkdir()
        write_jsonl(d / "in.jsonl", data)
    Engine().execute(statement(QUERIES[name], whole, state=False, extra=LATE))
    want = read_jsonl(whole / "out.jsonl")
    assert want  # every query emits something over this input

    sql = statement(QUERIES[name], parts, extra=LATE)
    job = run_stopped_after(sql, stop_after, monkeypatch)
    if "LIMIT" not in QUERIES[name]:  # (a LIMIT may end the job before the stop)
        assert job.state == "stopped"
        offsets, _ = committed(parts)
        assert offsets == {"src": 4 * stop_after - 1}  # batches of 4 records: offsets 0..4n-1
    Engine().execute(sql)
    assert read_jsonl(parts / "out.jsonl") == want


def test_a_restored_watermark_keeps_late_records_late(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 0s..7s, then a record at 1s (its window [0s, 5s) closed at 5s), then 8s and 9s
    ts = [0, 1, 2, 3, 4, 5, 6, 7, 1, 8, 9]
    write_jsonl(tmp_path / "in.jsonl", [{"v": i, "ts": t * 1000} for i, t in enumerate(ts)])
    query = "SELECT COUNT(*) AS n, _window_start AS ws FROM src WINDOW TUMBLING(5s) EMIT FINAL"
    sql = statement(query, tmp_path)
    run_stopped_after(sql, 2, monkeypatch)  # records 0..7 in; window [0s, 5s) out
    assert read_jsonl(tmp_path / "out.jsonl") == [{"n": 5, "ws": 0}]
    Engine().execute(sql)
    # the record at 1s is late after the restart too: [5s, 10s) holds 5, 6, 7, 8, 9
    assert read_jsonl(tmp_path / "out.jsonl") == [{"n": 5, "ws": 0}, {"n": 5, "ws": 5000}]


def test_vectorized_batches_restore_into_the_same_dicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of 512 take the vectorized (Polars) path, whose generated merge loop holds the
    # operator's dicts: a restore must fill those, not replace them.
    data = events(3000)
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    for d in (whole, parts):
        d.mkdir()
        write_jsonl(d / "in.jsonl", data)
    Engine().execute(statement(TUMBLING, whole, state=False, batch=512))
    want = read_jsonl(whole / "out.jsonl")
    assert want == tumbling_expected(3000)
    sql = statement(TUMBLING, parts, batch=512)
    job = run_stopped_after(sql, 2, monkeypatch)
    assert job.pipeline.core.batches_vectorized == 2
    assert committed(parts)[0] == {"src": 1023}
    Engine().execute(sql)
    assert read_jsonl(parts / "out.jsonl") == want


def test_synthetic_source_replays_to_the_committed_offset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def sql(d: Path, state: bool) -> str:
        props = [
            "'syn.type' = 'synthetic'",
            "'syn.count' = '40'",
            "'syn.seed' = '7'",
            "'syn.batch.size' = '8'",
            "'out.type' = 'file_sink'",
            f"'out.path' = '{d / 'out.jsonl'}'",
            "'out.format' = 'jsonl'",
        ]
        if state:
            props += ["'state.store' = 'sqlite'", f"'state.path' = '{d / 'state.db'}'"]
        return f"CREATE STREAM out AS SELECT * FROM syn WITH ({', '.join(props)});"

    whole, parts = tmp_path / "whole", tmp_path / "parts"
    whole.mkdir()
    parts.mkdir()
    Engine().execute(sql(whole, False))
    want = read_jsonl(whole / "out.jsonl")
    assert len(want) == 40

    async def stop_after_first_rows() -> None:
        eng = Engine()
        job = await eng.start(sql(parts, True), on_rows=lambda rows: job.stop())
        await eng.tasks[-1]

    asyncio.run(stop_after_first_rows())
    first = read_jsonl(parts / "out.jsonl")
    assert len(first) == 8  # one batch, then the stop
    assert committed(parts)[0] == {"syn": 7}
    Engine().execute(sql(parts, True))
    assert read_jsonl(parts / "out.jsonl") == want


def test_synthetic_replay_continues_the_seeded_sequence() -> None:
    base = {"count": "30", "seed": "3", "batch.size": "7", "rate": "10"}

    async def records(pace: str, resume: int | None) -> list[dict]:
        src = SyntheticSource("syn", {**base, "pace": pace})
        src.resume_after = resume
        out: list[dict] = []
        async for batch in src.batches():
            out.extend(batch)
        return out

    whole = asyncio.run(records("false", None))
    assert [r["_offset"] for r in whole] == list(range(30))
    # paced at 10 records/s: the 28 replayed records count as already due, none is waited for
    resumed = asyncio.run(records("true", 27))
    assert resumed == whole[28:]


def test_stream_table_join_resumes_with_its_table(tmp_path: Path) -> None:
    write_jsonl(
        tmp_path / "rates.jsonl",
        [
            {"cur": "USD", "rate": 2, "ts": 1000},
            {"cur": "EUR", "rate": 3, "ts": 1000},
            {"cur": "USD", "rate": 5, "ts": 4000},
        ],
    )
    orders = [
        {"id": "o1", "cur": "USD", "amt": 10, "ts": 2000},
        {"id": "o2", "cur": "EUR", "amt": 1, "ts": 3000},
    ]
    write_jsonl(tmp_path / "orders.jsonl", orders)
    sql = f"""
CREATE TABLE rates_t AS SELECT cur PRIMARY KEY, rate FROM rates
WITH ('rates.type' = 'file_source', 'rates.path' = '{tmp_path / "rates.jsonl"}',
      'rates.format' = 'jsonl', 'rates.event.time.field' = 'ts');
CREATE STREAM conv AS SELECT o.id, r.rate, o.amt * r.rate AS total
FROM orders o JOIN rates_t r ON o.cur = r.cur
WITH ('orders.type' = 'file_source', 'orders.path' = '{tmp_path / "orders.jsonl"}',
      'orders.format' = 'jsonl', 'orders.event.time.field' = 'ts',
      'conv.type' = 'file_sink', 'conv.path' = '{tmp_path / "out.jsonl"}',
      'conv.format' = 'jsonl',
      'state.store' = 'sqlite', 'state.path' = '{tmp_path / "state.db"}');
"""
    Engine().execute(sql)
    # o1 at 2s sees USD 2; o2 at 3s sees EUR 3
    assert read_jsonl(tmp_path / "out.jsonl") == [
        {"id": "o1", "rate": 2, "total": 20},
        {"id": "o2", "rate": 3, "total": 3},
    ]
    offsets, _ = committed(tmp_path)
    assert offsets == {"orders": 1, "rates": 2}
    # More orders arrive; the rates file is already consumed: the restored table answers.
    more = [
        {"id": "o3", "cur": "USD", "amt": 1, "ts": 6000},
        {"id": "o4", "cur": "EUR", "amt": 2, "ts": 7000},
    ]
    write_jsonl(tmp_path / "orders.jsonl", orders + more)
    Engine().execute(sql)
    assert read_jsonl(tmp_path / "out.jsonl") == [
        {"id": "o1", "rate": 2, "total": 20},
        {"id": "o2", "rate": 3, "total": 3},
        {"id": "o3", "rate": 5, "total": 5},  # USD was updated to 5 at 4s
        {"id": "o4", "rate": 3, "total": 6},
    ]


# -- the Python API: any StateStore --------------------------------------------------------


def test_a_memory_store_passed_by_the_caller_carries_state_between_jobs() -> None:
    rows = [{"k": "a" if i % 2 == 0 else "b", "v": i, "_event_time": i * 1000} for i in range(20)]
    query = (
        "SELECT k, COUNT(*) AS n, SUM(v) AS s FROM m GROUP BY k "
        "WINDOW TUMBLING(5s) EMIT FINAL WITH ('m.batch.size' = '6')"
    )
    store = MemoryStateStore()
    out: list[dict] = []

    async def run(data: list[dict], stop_after_first: bool) -> Any:
        eng = Engine()
        eng.register("m", data)
        job = eng.build_job(parse_script(query).statements[0], [out.extend])
        job.checkpointer = Checkpointer(store, interval_ms=10**9)
        if stop_after_first:
            job.outputs.append(lambda rows: job.stop())
        await job.run()
        return job

    first = asyncio.run(run(rows, True))
    # batch 1 = records 0..5: window [0, 5) closes at record 5 (a: 0+2+4, b: 1+3)
    assert out == [{"k": "a", "n": 3, "s": 6}, {"k": "b", "n": 2, "s": 4}]
    assert first.checkpointer.restored is False
    assert store.offsets() == {"m": 5}
    second = asyncio.run(run(rows, False))
    assert second.checkpointer.restored is True
    # the rest: windows [5, 10), [10, 15), [15, 20), each key once per window
    assert out[2:] == [
        {"k": "b", "n": 3, "s": 21},
        {"k": "a", "n": 2, "s": 14},
        {"k": "a", "n": 3, "s": 36},
        {"k": "b", "n": 2, "s": 24},
        {"k": "b", "n": 3, "s": 51},
        {"k": "a", "n": 2, "s": 34},
    ]


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "word"),
    [
        ("'state.store' = 'sqlite'", "state.path"),
        ("'state.store' = 'redis'", "state.store"),
        ("'checkpoint.interval' = 'soon'", "checkpoint.interval"),
    ],
)
def test_bad_state_keys_are_errors_naming_the_key(tmp_path: Path, extra: str, word: str) -> None:
    write_jsonl(tmp_path / "in.jsonl", events(4))
    errors, _ = Engine().validate(statement(TUMBLING, tmp_path, state=False, extra=extra))
    assert len(errors) == 1
    assert word in str(errors[0])


def test_a_checkpoint_of_another_query_is_refused(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in.jsonl", events(10))
    Engine().execute(statement(TUMBLING, tmp_path))
    other = TUMBLING.replace("SUM(v)", "MAX(v)")
    with pytest.raises(SqlError, match="different query"):
        Engine().execute(statement(other, tmp_path))


# -- pieces --------------------------------------------------------------------------------


def test_skip_through_drops_records_up_to_the_offset() -> None:
    async def batches() -> AsyncIterator[list[dict]]:
        for start in range(0, 10, 3):
            yield [{"_offset": i} for i in range(start, min(start + 3, 10))]

    async def frames() -> AsyncIterator[pl.DataFrame]:
        for start in range(0, 10, 3):
            yield pl.DataFrame({"_offset": list(range(start, min(start + 3, 10)))})

    async def collect(it: AsyncIterator[Any]) -> list[list[int]]:
        out = []
        async for b in it:
            out.append([r["_offset"] for r in b] if isinstance(b, list) else b["_offset"].to_list())
        return out

    # batches [0 1 2] [3 4 5] [6 7 8] [9]; resume after 4
    assert asyncio.run(collect(skip_through(batches(), 4))) == [[5], [6, 7, 8], [9]]
    assert asyncio.run(collect(skip_through(frames(), 4))) == [[5], [6, 7, 8], [9]]
    assert asyncio.run(collect(skip_through(batches(), 8))) == [[9]]
    assert asyncio.run(collect(skip_through(batches(), -1))) == [
        [0, 1, 2],
        [3, 4, 5],
        [6, 7, 8],
        [9],
    ]
    assert asyncio.run(collect(skip_through(batches(), 9))) == []


def test_merged_runs_commit_the_offset_before_the_first_buffered_record() -> None:
    c = Checkpointer(MemoryStateStore(), interval_ms=10**9)
    c.keys = {0: "left", 1: "right"}
    c.note_read(0, [{"_offset": 4}, {"_offset": 5}, {"_offset": 7}])
    bufs: dict[int, deque] = {0: deque([{"_offset": 7}]), 1: deque()}
    asyncio.run(c.at_merge_point(None, bufs))  # type: ignore[arg-type]
    # left: 4 and 5 processed, 7 still buffered (offsets may have gaps); right: nothing read
    assert c.offsets == {"left": 6}
    c.note_read(1, [{"_offset": 0}])
    bufs = {0: deque(), 1: deque()}
    asyncio.run(c.at_merge_point(None, bufs))  # type: ignore[arg-type]
    assert c.offsets == {"left": 7, "right": 0}


def _functions_inside(value: Any, seen: set[int] | None = None) -> list[Any]:
    """Every function or method object reachable from a snapshot."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return []
    seen.add(id(value))
    if isinstance(value, types.FunctionType | types.MethodType | types.BuiltinFunctionType):
        return [value]
    if isinstance(value, dict):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset | deque):
        items = list(value)
    elif hasattr(value, "__slots__"):
        items = [getattr(value, s) for s in value.__slots__ if hasattr(value, s)]
    elif hasattr(value, "__dict__"):
        items = list(vars(value).values())
    else:
        items = []
    out = []
    for x in items:
        out.extend(_functions_inside(x, seen))
    return out


INTERVAL_SQL = """
CREATE STREAM j AS SELECT o.id, s.wh FROM orders o LEFT JOIN ships s ON o.id = s.id
WITHIN INTERVAL '5' SECOND
WITH ('orders.event.time.field' = 'ts', 'ships.event.time.field' = 'ts');
"""


def _feed(pipe: Pipeline, items: list[tuple[int, dict]], wm: int) -> int:
    """Push records into a pipeline as the job does record by record; returns the watermark."""
    for leaf, rec in items:
        pipe.leaves[leaf].handle(dict(rec))
        if rec["_event_time"] > wm:
            wm = rec["_event_time"]
            pipe.set_watermark(wm)
        pipe.close_due()
    return wm


def test_interval_join_state_survives_a_pickled_snapshot() -> None:
    orders = [{"id": f"o{i}", "_event_time": 1000 * i, "_offset": i} for i in range(8)]
    ships = [
        {"id": "o1", "wh": "x", "_event_time": 2500, "_offset": 0},
        {"id": "o0", "wh": "y", "_event_time": 3000, "_offset": 1},
        {"id": "o5", "wh": "z", "_event_time": 9000, "_offset": 2},
        {"id": "o2", "wh": "w", "_event_time": 20000, "_offset": 3},  # too late for o2
    ]
    merged = sorted(
        [(0, r) for r in orders] + [(1, r) for r in ships], key=lambda x: x[1]["_event_time"]
    )
    eng = Engine()
    eng.register("orders", [])
    eng.register("ships", [])
    plan = eng.plan(parse_script(INTERVAL_SQL).statements[0])

    def run(split: int | None) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []

        def emit(row: dict, ts: int) -> None:
            out.append((row["id"], row["wh"]))

        pipe = Pipeline(plan, emit, lambda r, why: None)
        wm = -(2**63)
        if split is None:
            wm = _feed(pipe, merged, wm)
        else:
            wm = _feed(pipe, merged[:split], wm)
            snap = pipe.snapshot()
            assert _functions_inside(snap) == []
            restored = Pipeline(plan, emit, lambda r, why: None)
            restored.restore(pickle.loads(pickle.dumps(snap)))
            pipe = restored
            wm = _feed(pipe, merged[split:], wm)
        pipe.finish()
        return out

    whole = run(None)
    # o1 x (|2500-1000| <= 5s), o0 y, o5 z; every other order LEFT-padded once
    assert sorted(whole) == sorted(
        [
            ("o0", "y"),
            ("o1", "x"),
            ("o5", "z"),
            ("o2", None),
            ("o3", None),
            ("o4", None),
            ("o6", None),
            ("o7", None),
        ]
    )
    for split in range(1, len(merged)):
        assert run(split) == whole, split


def test_snapshots_hold_no_functions(tmp_path: Path) -> None:
    eng = Engine()
    eng.register("src", [{"k": "a", "v": 1, "_event_time": 1000}])
    for query in QUERIES.values():
        plan = eng.plan(parse_script(query).statements[0])
        pipe = Pipeline(plan, lambda row, ts: None, lambda r, why: None)
        pipe.push_main({"k": "a", "v": 1, "ts": 1000, "_event_time": 1000, "_offset": 0})
        snap = pipe.snapshot()
        assert _functions_inside(snap) == [], query
        pickle.dumps(snap)
