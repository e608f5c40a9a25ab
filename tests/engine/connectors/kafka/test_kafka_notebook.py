"""example-notebooks/05-kafka.ipynb under papermill against the test broker: the broker address
is a parameter; its tables and the topic it writes agree with DuckDB over the topic it read."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import duckdb
import nbformat
import orjson
import papermill as pm
from services.kafka import consume_all

NOTEBOOK = Path(__file__).resolve().parents[4] / "example-notebooks" / "05-kafka.ipynb"


def _plain_tables(cell) -> list[list[dict]]:
    """Every text/plain result table a cell displayed, as rows of strings."""
    tables = []
    for o in cell.get("outputs", []):
        text = (
            o.get("data", {}).get("text/plain", "")
            if o.get("output_type") == "display_data"
            else ""
        )
        lines = [ln for ln in text.splitlines() if "|" in ln]
        if len(lines) < 1 or not lines[0].strip():
            continue
        head = [h.strip() for h in lines[0].split("|")]
        rows = [
            dict(zip(head, (v.strip() for v in ln.split("|")), strict=True)) for ln in lines[1:]
        ]
        tables.append(rows)
    return tables


def test_kafka_notebook_runs_under_papermill(kafka_broker, tmp_path, monkeypatch):
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    os.environ.pop("VELOSTREAM_KAFKA_BROKERS", None)
    out = tmp_path / "05-kafka.out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"brokers": kafka_broker, "topic": "nb-trades", "out_topic": "nb-stats"},
        kernel_name="velostream",
        cwd=str(tmp_path),
        progress_bar=False,
        execution_timeout=120,
    )
    nb = nbformat.read(out, as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f"SET brokers = '{kafka_broker}';" in injected.source

    written = [orjson.loads(m.value) for m in consume_all(kafka_broker, "nb-trades")]
    assert len(written) == 2000
    con = duckdb.connect()
    con.execute("CREATE TABLE t (symbol VARCHAR, price DECIMAL(18, 2), quantity BIGINT, ts BIGINT)")
    con.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?)",
        [(r["symbol"], Decimal(r["price"]), r["quantity"], r["ts"]) for r in written],
    )

    windows = next(
        c
        for c in nb.cells
        if c.cell_type == "code" and "TUMBLING(5s)" in c.source and "CREATE" not in c.source
    )
    shown = _plain_tables(windows)[-1]
    want = con.execute(
        "SELECT symbol, COUNT(*), SUM(quantity), ts // 5000 * 5000 FROM t GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    from datetime import UTC, datetime

    def ms(text: str) -> int:
        return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)

    got = sorted(
        (r["symbol"], int(r["trades"]), int(r["volume"]), ms(r["window_start"])) for r in shown
    )
    assert got == want

    stats = consume_all(kafka_broker, "nb-stats")
    notional = con.execute(
        "SELECT symbol, ts // 5000 * 5000, COUNT(*), SUM(price * quantity) FROM t GROUP BY ALL"
    ).fetchall()
    got_stats = sorted(
        (m.key.decode(), v["window_start"], v["trades"], Decimal(v["notional"]))
        for m in stats
        for v in [orjson.loads(m.value)]
    )
    assert got_stats == sorted(notional)
    assert all(m.key.decode() == orjson.loads(m.value)["symbol"] for m in stats)
