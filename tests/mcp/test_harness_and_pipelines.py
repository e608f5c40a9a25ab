"""The MCP tools over the test harness and the deployed pipelines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_project import run

from velostream.engine import Engine
from velostream.metrics import serve
from velostream_kernel.agents.server import build_server, load_project
from velostream_kernel.pipelines.registry import Registry

VELO = str(Path(sys.executable).parent / "velo")

SCHEMA = {
    "name": "orders",
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"sequence": {"start": 100, "step": 2}}},
        {
            "name": "side",
            "type": "string",
            "constraints": {"enum_values": {"values": ["BUY", "SELL"], "weights": [0.5, 0.5]}},
        },
        {"name": "qty", "type": "integer", "constraints": {"range": {"min": 1, "max": 9}}},
    ],
}

BIG_SQL = """CREATE STREAM big AS SELECT symbol, qty FROM trades WHERE qty > 5
WITH ('trades.type' = 'file_source', 'trades.path' = 'data/trades.jsonl',
      'trades.event.time.field' = 'ts', 'big.type' = 'file_sink', 'big.path' = 'out/big.jsonl')"""

SPEC = """application: big
queries:
  - name: big
    inputs:
      - source: trades
        data_file: data/trades.jsonl
    outputs:
      - sink: big
        assertions:
          - {type: record_count, equals: %d}
"""


async def call(root: Path, tool: str, args: dict[str, Any], allow_deploy: bool = False) -> Any:
    """One tool call on a fresh server over the project at `root`."""
    async with Client(build_server(load_project(root), allow_deploy=allow_deploy)) as c:
        return await c.call_tool(tool, args)


async def read(root: Path, uri: str) -> Any:
    """Read one resource."""
    async with Client(build_server(load_project(root))) as c:
        return await c.read_resource(uri)


def test_generate_test_data_is_seeded(project_dir: Path) -> None:
    a = run(call(project_dir, "generate_test_data", {"schema": SCHEMA, "count": 20, "seed": 7}))
    b = run(call(project_dir, "generate_test_data", {"schema": SCHEMA, "count": 20, "seed": 7}))
    c = run(call(project_dir, "generate_test_data", {"schema": SCHEMA, "count": 20, "seed": 8}))
    rows = a.structured_content["rows"]
    assert [r["id"] for r in rows] == list(range(100, 140, 2))
    assert {r["side"] for r in rows} <= {"BUY", "SELL"}
    assert all(1 <= r["qty"] <= 9 for r in rows)
    assert rows == b.structured_content["rows"]
    assert rows != c.structured_content["rows"]


def test_generate_test_data_bad_input(project_dir: Path) -> None:
    r = run(call(project_dir, "generate_test_data", {"schema": SCHEMA, "count": 0}))
    assert r.is_error and "count" in r.content[0].text
    r = run(call(project_dir, "generate_test_data", {"schema_file": "../x.schema.yaml"}))
    assert r.is_error and "outside the project folder" in r.content[0].text
    r = run(call(project_dir, "generate_test_data", {"schema": {"name": "x", "fields": []}}))
    assert r.is_error and "fields" in r.content[0].text


@pytest.mark.parametrize(("expected", "passed"), [(2, True), (3, False)])
def test_run_test_inline(project_dir: Path, expected: int, passed: bool) -> None:
    # qty > 5 keeps 10 and 7 of the four trades: 2 rows
    args = {"sql": BIG_SQL, "spec": SPEC % expected}
    r = run(call(project_dir, "run_test", args))
    assert not r.is_error, r.content
    out = r.structured_content
    assert out["passed"] is passed
    assert out["summary"] == {"assertions": 1, "passed": int(passed), "failed": int(not passed)}
    if not passed:
        assert "2" in json.dumps(out["results"][0])  # the failure says what it found
    assert not (project_dir / "out").exists()  # the harness captured the sink


def test_run_test_from_files(project_dir: Path) -> None:
    # a spec file's paths are relative to its own folder
    spec = (SPEC % 2).replace("data/trades.jsonl", "../data/trades.jsonl")
    (project_dir / "apps" / "app.test.yaml").write_text(spec)
    r = run(call(project_dir, "run_test", {"sql_file": "apps/app.sql"}))
    assert r.structured_content["passed"] is True, r.structured_content
    r = run(call(project_dir, "run_test", {"sql_file": "../outside.sql"}))
    assert r.is_error and "outside the project folder" in r.content[0].text


def test_deploy_is_refused_unless_allowed(project_dir: Path) -> None:
    r = run(call(project_dir, "deploy_query", {"name": "big", "sql": BIG_SQL}))
    assert r.is_error and "--allow-deploy" in r.content[0].text
    assert not (project_dir / ".velo" / "registry.db").exists()


def test_deploy_bad_input(project_dir: Path) -> None:
    def deploy(args: dict[str, Any]) -> str:
        r = run(call(project_dir, "deploy_query", args, allow_deploy=True))
        assert r.is_error
        return r.content[0].text

    assert "not allowed" in deploy({"name": "Bad Name", "sql": BIG_SQL})
    assert "CREATE STREAM" in deploy({"name": "q", "sql": "SELECT * FROM trades"})
    assert "declared elsewhere: trades (apps/app.sql)" in deploy(
        {"name": "q", "sql": "CREATE STREAM c AS SELECT COUNT(*) AS n FROM trades"}
    )
    assert "cron" in deploy({"name": "q", "sql": BIG_SQL, "schedule": "every minute"})


def test_deployed_query_runs_and_its_run_is_a_job(project_dir: Path) -> None:
    args = {"name": "bigjob", "sql": BIG_SQL, "schedule": "* * * * *"}
    r = run(call(project_dir, "deploy_query", args, allow_deploy=True))
    assert not r.is_error, r.content
    assert r.structured_content["pipeline"]["kind"] == "scheduled"
    assert (project_dir / "bigjob.ipynb").exists()
    again = run(call(project_dir, "deploy_query", args, allow_deploy=True))
    assert again.is_error and "already exists" in again.content[0].text

    done = subprocess.run(
        [VELO, "scheduler", "--once", "--project", str(project_dir)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=project_dir,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [json.loads(x) for x in (project_dir / "out" / "big.jsonl").read_text().splitlines()]
    assert sorted(r["qty"] for r in rows) == [7, 10]

    run_id = Registry(project_dir).last_run("bigjob").id
    job = json.loads(run(read(project_dir, f"jobs://{run_id}")).contents[0].text)
    assert job["pipeline"] == "bigjob" and job["status"] == "succeeded"
    assert Path(job["output_path"]).exists()


def test_get_metrics_of_a_running_pipeline(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql = "-- @metric: big_trades\n-- @metric_type: counter\n-- @metric_labels: symbol\n" + BIG_SQL
    nb = project_dir / "m.ipynb"
    reg = Registry(project_dir)
    r = run(call(project_dir, "get_metrics", {"name": "nope"}))
    assert r.is_error and "nope" in r.content[0].text

    engine = Engine()
    server = serve(0, engine=engine)
    try:
        r = run(
            call(
                project_dir,
                "deploy_query",
                {"name": "m", "sql": sql, "metrics_port": server.port},
                allow_deploy=True,
            )
        )
        assert not r.is_error, r.content
        assert nb.exists()
        r = run(call(project_dir, "get_metrics", {"name": "m"}))
        assert r.is_error and "not running" in r.content[0].text

        # the pipeline's kernel, in this process: its engine runs the query and serves /metrics
        monkeypatch.chdir(project_dir)  # a pipeline runs in its notebook's folder
        engine.execute(sql)
        reg.start_run(reg.get("m"), 1, "manual")
        r = run(call(project_dir, "get_metrics", {"name": "m"}))
        assert not r.is_error, r.content
        metrics = r.structured_content["metrics"]
        by_symbol = {s["labels"]["symbol"]: s["value"] for s in metrics["big_trades"]["samples"]}
        assert by_symbol == {"A": 2.0}  # both trades with qty > 5 are A's
        records_in = metrics["velo_job_records_in"]["samples"]
        assert [s["value"] for s in records_in if s["labels"]["job_name"] == "big"] == [4.0]
        res = json.loads(run(read(project_dir, "metrics://m")).contents[0].text)
        assert res["metrics"]["big_trades"] == metrics["big_trades"]
    finally:
        server.close()
