"""The `velo` command: run, validate, explain, exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

VELO = str(Path(sys.executable).with_name("velo"))
ROOT = Path(__file__).resolve().parents[2]


def velo(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `velo` in `cwd` and capture its output."""
    return subprocess.run(
        [VELO, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def trades(tmp_path: Path) -> Path:
    rows = [
        {"symbol": "A", "price": "10.50", "qty": 2, "ts": 1000},
        {"symbol": "B", "price": "20.00", "qty": 1, "ts": 1500},
        {"symbol": "A", "price": "11.25", "qty": 3, "ts": 2100},
    ]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path


SOURCE = "'t.type'='file_source', 't.path'='in.jsonl', 't.event.time.field'='ts'"


def test_run_writes_the_sink_and_exits_0(trades: Path) -> None:
    (trades / "app.sql").write_text(
        "CREATE STREAM stats AS SELECT symbol, SUM(price * qty) AS notional FROM t "
        f"GROUP BY symbol WINDOW TUMBLING(1s) WITH ({SOURCE}, "
        "'stats.type'='file_sink', 'stats.path'='out/stats.jsonl');"
    )
    res = velo("run", "app.sql", cwd=trades)
    assert res.returncode == 0, res.stderr
    lines = (trades / "out/stats.jsonl").read_text().splitlines()
    # [1000,2000): A 10.50*2, B 20.00*1; [2000,3000): A 11.25*3 -- closed at end of input
    assert [json.loads(x) for x in lines] == [
        {"symbol": "A", "notional": "21.00"},
        {"symbol": "B", "notional": "20.00"},
        {"symbol": "A", "notional": "33.75"},
    ]
    assert "job stats: finished, 3 records in, 3 rows out" in res.stderr


def test_run_prints_select_rows_as_json_lines(trades: Path) -> None:
    (trades / "q.sql").write_text(f"SELECT symbol, qty FROM t WHERE qty > 1 WITH ({SOURCE});")
    res = velo("run", "--format", "jsonl", "q.sql", cwd=trades)
    assert res.returncode == 0, res.stderr
    assert [json.loads(x) for x in res.stdout.splitlines()] == [
        {"symbol": "A", "qty": 2},
        {"symbol": "A", "qty": 3},
    ]


def test_run_exits_1_with_a_located_error(trades: Path) -> None:
    (trades / "bad.sql").write_text(f"SELECT symbol FROM t\nWHERE qty >\nWITH ({SOURCE});")
    res = velo("run", "bad.sql", cwd=trades)
    assert res.returncode == 1
    assert "bad.sql:3:1" in res.stderr
    assert "^^^^" in res.stderr


def test_run_fails_when_a_job_fails_on_a_malformed_record(trades: Path) -> None:
    with (trades / "in.jsonl").open("a") as f:
        f.write("{not json\n")
    (trades / "f.sql").write_text(f"SELECT symbol FROM t WITH ({SOURCE}, 't.on.error'='fail');")
    res = velo("run", "f.sql", cwd=trades)
    assert res.returncode == 1
    assert "in.jsonl:4" in res.stderr


def test_run_limit_stops_the_live_demo() -> None:
    res = velo(
        "run", "--limit", "3", "--format", "jsonl", "example-notebooks/quickstart.sql", cwd=ROOT
    )
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(rows) == 3
    for r in rows:
        assert r["window_end"] - r["window_start"] == 1000
        assert r["trades"] >= 1


def test_validate_reports_errors_as_json(trades: Path) -> None:
    (trades / "v.sql").write_text(
        f"SELECT symbol FROM t WITH ({SOURCE});\nSELECT FROBNICATE(qty) FROM t WITH ({SOURCE});"
    )
    res = velo("validate", "--format", "json", "v.sql", cwd=trades)
    assert res.returncode == 1
    out = json.loads(res.stdout)
    assert out["valid"] is False
    [err] = out["errors"]
    assert (err["line"], err["column"], err["token"]) == (2, 8, "FROBNICATE")


def test_validate_ok_exits_0(trades: Path) -> None:
    (trades / "ok.sql").write_text(f"SELECT symbol FROM t WITH ({SOURCE});")
    res = velo("validate", "ok.sql", cwd=trades)
    assert res.returncode == 0
    assert "ok" in res.stdout


def test_explain_prints_the_plan(trades: Path) -> None:
    (trades / "e.sql").write_text(
        f"SELECT symbol, COUNT(*) AS n FROM t GROUP BY symbol WINDOW SESSION(5s) WITH ({SOURCE});"
    )
    res = velo("explain", "e.sql", cwd=trades)
    assert res.returncode == 0, res.stderr
    assert "SESSION(gap=5000ms) per key" in res.stdout
    assert "Emit: FINAL" in res.stdout
