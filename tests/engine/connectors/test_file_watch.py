"""file_source with watch = true: an unbounded source that picks up appended lines and new files."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from velostream.connectors.registry import create_source


def test_watch_picks_up_appended_lines_and_new_files(tmp_path: Path) -> None:
    first = tmp_path / "a.jsonl"
    first.write_text('{"v":1}\n{"v":2}\n')
    src = create_source(
        "w",
        {
            "type": "file_source",
            "path": str(tmp_path / "*.jsonl"),
            "watch": "true",
            "polling.interval": "10ms",
        },
    )
    assert src.bounded is False

    async def run() -> list[int]:
        await src.open()
        seen: list[int] = []
        batches = src.batches()

        async def consume() -> None:
            async for batch in batches:
                seen.extend(r["v"] for r in batch)
                if len(seen) == 2:
                    with first.open("a") as f:
                        f.write('{"v":3}\n{"v":')  # the second line is not complete yet
                elif len(seen) == 3:
                    with first.open("a") as f:
                        f.write("4}\n")
                    (tmp_path / "b.jsonl").write_text('{"v":5}\n')
                if len(seen) >= 5:
                    return

        try:
            await asyncio.wait_for(consume(), timeout=10)
        finally:
            await batches.aclose()  # type: ignore[attr-defined]
            await src.close()
        return seen

    seen = asyncio.run(run())
    assert seen == [1, 2, 3, 4, 5]


def test_watch_on_an_empty_glob_is_not_an_error(tmp_path: Path) -> None:
    src = create_source(
        "w",
        {
            "type": "file_source",
            "path": str(tmp_path / "*.csv"),
            "watch": "true",
            "polling.interval": "10ms",
        },
    )

    async def run() -> list[dict]:
        await src.open()
        out: list[dict] = []
        batches = src.batches()

        async def consume() -> None:
            async for batch in batches:
                out.extend(batch)
                return

        (tmp_path / "late.csv").write_text("x,y\n1,a\n")
        try:
            await asyncio.wait_for(consume(), timeout=10)
        finally:
            await batches.aclose()  # type: ignore[attr-defined]
        return out

    rows = asyncio.run(run())
    assert [(r["x"], r["y"]) for r in rows] == [(1, "a")]


def test_watch_csv_appends_use_the_file_header(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_text("k,v\na,1\n")
    src = create_source(
        "w",
        {"type": "file_source", "path": str(f), "watch": "true", "polling.interval": "10ms"},
    )

    async def run() -> list[tuple]:
        await src.open()
        seen: list[tuple] = []
        batches = src.batches()

        async def consume() -> None:
            async for batch in batches:
                seen.extend((r["k"], r["v"], r["_offset"]) for r in batch)
                if len(seen) == 1:
                    with f.open("a") as out:
                        out.write("b,2.50\nc\n")  # the second row is malformed
                if len(seen) >= 2:
                    return

        try:
            await asyncio.wait_for(consume(), timeout=10)
        finally:
            await batches.aclose()  # type: ignore[attr-defined]
        return seen

    assert asyncio.run(run()) == [("a", 1, 0), ("b", Decimal("2.50"), 1)]
    assert src.errors.reports == [f"{f}:4: expected 2 fields, got 1"]
