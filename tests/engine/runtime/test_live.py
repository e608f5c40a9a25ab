"""Unbounded runs: a tailed file feeds a windowed query; results arrive as the watermark moves,
and stopping the consumer stops the query."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from velostream import Engine


def _append(path: Path, rows: list[dict]) -> None:
    with path.open("a") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def test_windows_of_a_tailed_file_close_as_records_arrive(tmp_path: Path) -> None:
    src = tmp_path / "ticks.jsonl"
    src.write_text("")
    sql = (
        "SELECT k, COUNT(*) AS n, _window_start AS ws FROM ticks GROUP BY k "
        "WINDOW TUMBLING(1s) EMIT FINAL "
        f"WITH ('ticks.type'='file_source', 'ticks.path'='{src}', 'ticks.watch'='true', "
        "'ticks.polling.interval'='20ms', 'ticks.event.time.field'='ts')"
    )

    async def run() -> list[list[dict]]:
        got: list[list[dict]] = []
        agen = Engine().stream(sql)

        async def next_batch() -> list[dict]:
            return await asyncio.wait_for(agen.__anext__(), timeout=10)

        _append(src, [{"k": "a", "ts": 100}, {"k": "b", "ts": 200}, {"k": "a", "ts": 900}])
        await asyncio.sleep(0.2)
        # the watermark (900) has not reached 1000: nothing is final yet; now it moves to 1500
        _append(src, [{"k": "a", "ts": 1500}])
        got.append(await next_batch())
        _append(src, [{"k": "b", "ts": 2100}])
        got.append(await next_batch())
        await agen.aclose()  # stops the query
        return got

    first, second = asyncio.run(run())
    assert first == [{"k": "a", "n": 2, "ws": 0}, {"k": "b", "n": 1, "ws": 0}]
    assert second == [{"k": "a", "n": 1, "ws": 1000}]
