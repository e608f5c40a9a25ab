"""A small project folder for the MCP server: SQL files, a velo.yaml and trades data."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp_project import APP_SQL, LIVE_SQL, TRADES, VELO_YAML


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
