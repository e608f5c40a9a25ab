"""Helpers for the connector tests: run a source to the end, write rows to a sink."""

from __future__ import annotations

import asyncio
from typing import Any

from velostream.connectors.base import Sink, Source


async def _drain(src: Source) -> list[list[dict[str, Any]]]:
    await src.open()
    out = []
    try:
        async for batch in src.batches():
            out.append(batch)
    finally:
        await src.close()
    return out


def drain_batches(src: Source) -> list[list[dict[str, Any]]]:
    """Every batch of a bounded source."""
    return asyncio.run(_drain(src))


def drain(src: Source) -> list[dict[str, Any]]:
    """Every record of a bounded source, in order."""
    return [r for b in drain_batches(src) for r in b]


def user_columns(rec: dict[str, Any]) -> dict[str, Any]:
    """A record without its system columns."""
    return {k: v for k, v in rec.items() if not k.startswith("_")}


def write_rows(sink: Sink, columns: list[str], *batches: list[dict[str, Any]]) -> None:
    """Open a sink, write the batches, close it."""

    async def run() -> None:
        await sink.open(columns)
        for b in batches:
            await sink.write(b)
        await sink.close()

    asyncio.run(run())
