"""The MCP tests' project: its SQL, data and a runner for coroutines."""

from __future__ import annotations

import asyncio
from typing import Any

TRADES = [
    {"symbol": "A", "qty": 10, "price": "1.50", "ts": 1000},
    {"symbol": "B", "qty": 5, "price": "2.00", "ts": 2000},
    {"symbol": "A", "qty": 7, "price": "1.25", "ts": 3000},
    {"symbol": "B", "qty": 1, "price": "3.10", "ts": 4000},
]

APP_SQL = """-- big trades, kept in a file
CREATE STREAM big AS
SELECT symbol, qty, price FROM trades WHERE qty > 5
WITH ('trades.type' = 'file_source', 'trades.path' = 'data/trades.jsonl',
      'trades.event.time.field' = 'ts',
      'big.type' = 'file_sink', 'big.path' = 'out/big.jsonl');
"""

LIVE_SQL = """SELECT * FROM ticks
WITH ('ticks.type' = 'synthetic', 'ticks.schema' = 'n BIGINT SEQUENCE, ts TIMESTAMP',
      'ticks.rate' = '20', 'ticks.event.time.field' = 'ts');
"""

# a source declared without SQL; nothing listens at its address, so it cannot be sampled
VELO_YAML = """streams:
  orders:
    type: kafka_source
    topic: orders
    bootstrap.servers: 127.0.0.1:9
    sasl.password: hunter2
"""


def run(coro: Any) -> Any:
    """Run a coroutine to the end (the tests are plain functions)."""
    return asyncio.run(coro)
