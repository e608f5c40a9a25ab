"""`velo test` as a user runs it: exit codes, text/json/junit reports, byte-identical runs,
`init`, `infer-schema`, and `--ai` against a local stand-in of the Anthropic API."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import orjson
import pytest
import yaml
from click.testing import CliRunner, Result
from services.anthropic_stub import StubReply, anthropic_stub

from velostream.cli import main
from velostream.testing.generator import generate_rows
from velostream.testing.spec import load_spec

ROOT = Path(__file__).resolve().parents[3]
VELO = str(Path(sys.executable).with_name("velo"))
APPS = ROOT / "example-notebooks" / "apps"

SQL = """CREATE STREAM enriched AS
SELECT o.id, o.cid, c.name, o.amount
FROM orders o LEFT JOIN customers c ON o.cid = c.id
WITH ('orders.type' = 'kafka_source', 'orders.topic' = 'o', 'orders.event.time.field' = 'ts');
"""
SPEC = """application: joins
seed: 3
inputs:
  - source: customers
    rows: [{id: CUST001, name: Ada}, {id: CUST002, name: Bob}]
    time_simulation: {start_time: "-1h"}
  - source: orders
    records: 50
    schema:
      fields:
        - {name: id, type: integer, constraints: {sequence: {start: 1}}}
        - {name: cid, type: string, constraints: {pattern: "C-1[0-9]{2}"}}
        - {name: amount, type: float, constraints: {range: {min: 1, max: 10}}}
        - {name: ts, type: timestamp}
queries:
  - name: enriched
    assertions:
      - {type: record_count, equals: 50}
      - {type: join_coverage, field: name, min_match_rate: 0.9}
"""


def velo(
    *args: str, cwd: Path | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    """`velo` in a process of its own (for what must differ between processes)."""
    full = {**os.environ, **(env or {})}
    return subprocess.run(
        [VELO, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=120
    )


def cli(*args: str, env: dict | None = None) -> Result:
    """`velo` run in this process (the same command code, without a Python start-up)."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def failing_app(tmp_path: Path) -> Path:
    (tmp_path / "joins.sql").write_text(SQL)
    (tmp_path / "joins.test.yaml").write_text(SPEC)
    return tmp_path / "joins.sql"


def test_pass_exits_0_and_fail_exits_1(failing_app: Path) -> None:
    ok = cli("test", str(APPS / "high_value.sql"))
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    assert "passed: 4 of 4 assertions held" in ok.stdout
    bad = cli("test", str(failing_app))
    assert bad.exit_code == 1
    assert "FAIL  join_coverage" in bad.stdout and "match rate 0.0%" in bad.stdout
    assert "row 1: no match: name is NULL" in bad.stdout  # which rows, and why


def test_junit_report(failing_app: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    res = cli("test", str(failing_app), "--output", "junit", "--report", str(out))
    assert res.exit_code == 1
    suite = ET.fromstring(out.read_text()).find("testsuite")
    assert suite is not None and suite.get("name") == "joins"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = suite.findall("testcase")
    assert [c.find("failure") is not None for c in cases] == [False, True]
    assert "no match: name is NULL" in (cases[1].find("failure").text or "")
    assert ET.fromstring(res.stdout.split("\n", 1)[1]).tag == "testsuites"


def test_json_report_is_byte_identical_across_processes(failing_app: Path) -> None:
    runs = [
        velo(
            "test",
            str(APPS / "market_agg.sql"),
            "--output",
            "json",
            "--no-timing",
            env={"PYTHONHASHSEED": seed},
        )
        for seed in ("1", "2")
    ]
    assert runs[0].returncode == 0 and runs[0].stdout == runs[1].stdout
    report = orjson.loads(runs[0].stdout)
    assert report["passed"] and report["seed"] == 42 and report["inputs"] == {"market_data": 600}
    other = cli("test", str(failing_app), "--output", "json", "--no-timing", "--seed", "4")
    again = cli("test", str(failing_app), "--output", "json", "--no-timing", "--seed", "4")
    assert other.stdout == again.stdout and orjson.loads(other.stdout)["seed"] == 4


GEN = """
import sys, orjson
from velostream.testing.generator import TimeSimulation, generate_rows
from velostream.testing.spec import load_spec
spec = load_spec(sys.argv[1])
inp = spec.queries[0].inputs[0]
rows = generate_rows(inp.schema, 2000, int(sys.argv[2]), inp.time, spec.now_ms)
sys.stdout.buffer.write(b"".join(orjson.dumps(r, default=str) + b"\\n" for r in rows))
"""


def test_generated_data_is_byte_identical_for_a_seed() -> None:
    def gen(seed: str, hashseed: str) -> bytes:
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        return subprocess.run(
            [sys.executable, "-c", GEN, str(APPS / "market_agg.test.yaml"), seed],
            env=env, capture_output=True, check=True, timeout=60,
        ).stdout  # fmt: skip

    a, b = gen("5", "0"), gen("5", "123")  # another process, another hash seed: same bytes
    assert a == b and len(a.splitlines()) == 2000
    spec = load_spec(APPS / "market_agg.test.yaml")
    inp = spec.queries[0].inputs[0]
    same = generate_rows(inp.schema, 2000, 5, inp.time, spec.now_ms)
    other = generate_rows(inp.schema, 2000, 6, inp.time, spec.now_ms)
    assert b"".join(orjson.dumps(r, default=str) + b"\n" for r in same) == a
    assert b"".join(orjson.dumps(r, default=str) + b"\n" for r in other) != a


def test_init_writes_a_spec_that_runs(tmp_path: Path) -> None:
    sql = tmp_path / "stats.sql"
    sql.write_text(
        "CREATE STREAM stats AS\n"
        "SELECT symbol, COUNT(*) AS n, SUM(qty) AS volume, _window_start AS ws\n"
        "FROM trades WHERE side IN ('BUY', 'SELL') AND qty > 0\n"
        "GROUP BY symbol WINDOW TUMBLING(10s)\n"
        "WITH ('trades.type' = 'kafka_source', 'trades.topic' = 't',\n"
        "      'trades.event.time.field' = 'ts', 'stats.type' = 'kafka_sink', 'stats.topic' = 's');"
    )
    res = cli("test", "init", str(sql))
    assert res.exit_code == 0, res.stderr
    spec = yaml.safe_load((tmp_path / "stats.test.yaml").read_text())
    fields = {f["name"]: f for f in spec["inputs"][0]["schema"]["fields"]}
    assert set(fields) == {"symbol", "side", "qty", "ts"}
    assert fields["side"]["constraints"]["enum_values"]["values"] == ["BUY", "SELL"]
    assert fields["ts"]["type"] == "timestamp" and fields["qty"]["type"] == "float"
    kinds = [a["type"] for a in spec["queries"][0]["outputs"][0]["assertions"]]
    assert kinds == ["record_count", "schema_contains", "no_nulls", "window_boundary"]
    run = cli("test", str(sql))
    assert run.exit_code == 0, run.stdout + run.stderr
    again = cli("test", "init", str(sql))
    assert again.exit_code == 1 and "exists (--force overwrites it)" in again.stderr


def test_infer_schema_from_jsonl_and_csv(tmp_path: Path) -> None:
    rows = [
        {
            "id": i,
            "sym": "AB"[i % 2],
            "px": f"{10 + i}.25",
            "ts": 1_700_000_000_000 + i * 1000,
            "ok": i % 3 == 0,
            "note": None if i % 4 == 0 else f"n{i}",
        }
        for i in range(1, 41)
    ]
    (tmp_path / "t.jsonl").write_text("".join(orjson.dumps(r).decode() + "\n" for r in rows))
    res = cli(
        "test",
        "infer-schema",
        str(tmp_path / "t.jsonl"),
        "--output",
        str(tmp_path / "t.schema.yaml"),
    )
    assert res.exit_code == 0, res.stderr
    from velostream.testing.generator import generate_rows
    from velostream.testing.schema import load_schema

    schema = load_schema(tmp_path / "t.schema.yaml")
    by = {f.name: f for f in schema.fields}
    assert (by["id"].type, by["id"].sequence) == ("integer", (1, 1))
    assert by["sym"].enum == ["A", "B"] and by["sym"].weights == [0.5, 0.5]
    assert (by["px"].type, by["px"].scale, by["px"].lo, by["px"].hi) == ("decimal", 2, 11.25, 50.25)
    assert by["ts"].type == "timestamp" and by["ok"].type == "boolean"
    assert by["note"].null_rate == 0.25
    made = generate_rows(schema, 100, 1)
    assert all(r["sym"] in ("A", "B") and 11.25 <= float(r["px"]) <= 50.25 for r in made)
    (tmp_path / "c.csv").write_text("city,temp\nOslo,-3.5\nRome,14.0\nOslo,-1.0\nRome,12.5\n")
    out = cli("test", "infer-schema", str(tmp_path / "c.csv"))
    schema = yaml.safe_load(out.stdout)
    assert schema["name"] == "c"
    temp = next(f for f in schema["fields"] if f["name"] == "temp")
    assert temp["constraints"]["range"] == {"min": -3.5, "max": 14.0}
    assert cli("test", "infer-schema", str(tmp_path / "none.csv")).exit_code == 1


def test_ai_explains_a_failure_only_when_asked(failing_app: Path) -> None:
    answer = (
        "## Summary\nNo order found its customer.\n## Root cause\nThe keys differ: C-1xx vs "
        "CUST00x.\n## Suggestions\nUse references: {source: customers, field: id}.\n"
        "## Confidence\nhigh"
    )
    with anthropic_stub(api_key="test-key") as stub:
        env = {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": stub.url,
               "VELO_AI_MODEL": "stub-model"}  # fmt: skip
        plain = cli("test", str(failing_app), env=env)
        assert plain.exit_code == 1 and stub.requests == []  # nothing leaves without --ai
        stub.queue(StubReply(text=answer))
        res = cli("test", str(failing_app), "--ai", env=env)
        assert res.exit_code == 1
        assert "The keys differ: C-1xx vs CUST00x." in res.stdout
        assert "AI analysis (stub-model at http://127.0.0.1" in res.stderr
        (req,) = stub.requests
        assert req.body["model"] == "stub-model"
        sent = req.text()
        assert "LEFT JOIN customers c ON o.cid = c.id" in sent  # the SQL
        assert "min_match_rate: 0.9" in sent  # the spec
        assert "no match: name is NULL" in sent and '"row": 1' in sent  # the failing rows
        ok = cli("test", str(APPS / "high_value.sql"), "--ai", env=env)
        assert ok.exit_code == 0 and len(stub.requests) == 1  # a pass asks nothing
    nokey = cli("test", str(failing_app), "--ai", env={"ANTHROPIC_API_KEY": ""})
    assert "--ai needs ANTHROPIC_API_KEY" in nokey.stderr and nokey.exit_code == 1


def test_usage_errors(tmp_path: Path) -> None:
    res = cli("test", str(tmp_path / "missing.sql"))
    assert res.exit_code == 1 and "no such file" in res.stderr
    (tmp_path / "lonely.sql").write_text("SELECT 1 AS x FROM t;")
    res = cli("test", str(tmp_path / "lonely.sql"))
    assert res.exit_code == 1 and "no spec found" in res.stderr and "velo test init" in res.stderr
    (tmp_path / "lonely.test.yaml").write_text("queries: [{name: q, assertions: [{type: nope}]}]")
    res = cli("test", str(tmp_path / "lonely.sql"))
    assert "unknown assertion 'nope'" in res.stderr and res.exit_code == 1
