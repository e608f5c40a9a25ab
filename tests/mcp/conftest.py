"""A small project folder for the MCP server: two trades files' worth of SQL and data."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

# Hermetic Jupyter for the kernels a deployed pipeline's run starts (inherited by `velo`).
_JUPYTER = tempfile.mkdtemp(prefix="velo-mcp-jupyter-")
for _var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
    os.environ[_var] = os.path.join(_JUPYTER, _var.lower())
    os.makedirs(os.environ[_var], exist_ok=True)
os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
os.environ.pop("VELO_PROJECT", None)
atexit.register(shutil.rmtree, _JUPYTER, True)

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


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    """A project: apps/app.sql (a file source and a derived stream), live.sql (an unbounded
    synthetic source), data/trades.jsonl."""
    import orjson

    root = tmp_path / "proj"
    (root / "apps").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "apps" / "app.sql").write_text(APP_SQL)
    (root / "live.sql").write_text(LIVE_SQL)
    (root / "velo.yaml").write_text(VELO_YAML)
    (root / "data" / "trades.jsonl").write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in TRADES))
    (tmp_path / "secret.jsonl").write_text('{"x": 1}\n')
    return root


def run(coro: Any) -> Any:
    """Run a coroutine to the end (the tests are plain functions)."""
    return asyncio.run(coro)
