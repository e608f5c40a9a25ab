"""The MCP server's tools and resources through an in-process `mcp.Client`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from mcp import Client
from mcp_project import TRADES, run

from velostream_kernel.agents.server import build_server, load_project


async def call(project_dir: Path, tool: str, args: dict[str, Any]) -> Any:
    """One tool call on a fresh server over `project_dir`."""
    async with Client(build_server(load_project(project_dir))) as c:
        return await c.call_tool(tool, args)


def test_lists_every_tool(project_dir: Path) -> None:
    async def main() -> list[str]:
        async with Client(build_server(load_project(project_dir))) as c:
            return sorted(t.name for t in (await c.list_tools()).tools)

    names = run(main())
    for expected in ("list_streams", "describe_stream", "query_stream", "validate_sql"):
        assert expected in names


def test_list_streams_reads_the_sql_files(project_dir: Path) -> None:
    r = run(call(project_dir, "list_streams", {}))
    streams = {s["name"]: s for s in r.structured_content["streams"]}
    assert streams["trades"]["kind"] == "source"
    assert streams["trades"]["type"] == "file_source"
    assert streams["trades"]["file"] == "apps/app.sql"
    assert streams["big"]["kind"] == "stream" and streams["big"]["type"] == "file_sink"
    assert streams["ticks"]["type"] == "synthetic"
    assert streams["orders"]["kind"] == "source" and streams["orders"]["file"] == "velo.yaml"


def test_query_stream_aggregates_a_source(project_dir: Path) -> None:
    sql = "SELECT symbol, SUM(qty) AS q, SUM(price * qty) AS notional FROM trades GROUP BY symbol"
    r = run(call(project_dir, "query_stream", {"sql": sql}))
    assert not r.is_error
    got = {row["symbol"]: row for row in r.structured_content["rows"]}
    # by hand: A 10 + 7 = 17, 1.50*10 + 1.25*7 = 23.75; B 5 + 1 = 6, 2.00*5 + 3.10*1 = 13.10
    assert got["A"]["q"] == 17 and Decimal(got["A"]["notional"]) == Decimal("23.75")
    assert got["B"]["q"] == 6 and Decimal(got["B"]["notional"]) == Decimal("13.10")
    assert r.structured_content["timed_out"] is False


def test_query_over_a_derived_stream_writes_no_sink(project_dir: Path) -> None:
    r = run(call(project_dir, "query_stream", {"sql": "SELECT symbol, qty FROM big"}))
    assert not r.is_error, r.content
    rows = r.structured_content["rows"]
    assert sorted(row["qty"] for row in rows) == sorted(t["qty"] for t in TRADES if t["qty"] > 5)
    assert not (project_dir / "out").exists()  # the agent's look did not write big's file sink


def test_row_limit_truncates(project_dir: Path) -> None:
    r = run(call(project_dir, "query_stream", {"sql": "SELECT * FROM trades", "max_rows": 2}))
    assert r.structured_content["row_count"] == 2
    assert r.structured_content["truncated"] is True


def test_an_unbounded_query_stops_at_its_time_limit(project_dir: Path) -> None:
    args = {"sql": "SELECT n FROM ticks", "max_rows": 10000, "timeout_seconds": 1.0}
    r = run(call(project_dir, "query_stream", args))
    assert not r.is_error, r.content
    out = r.structured_content
    assert out["timed_out"] is True
    assert 0 < out["row_count"] < 10000
    # a SEQUENCE column: the rows seen are 1, 2, 3, ... in order
    assert [row["n"] for row in out["rows"]] == list(range(1, out["row_count"] + 1))


def test_starting_a_job_is_refused(project_dir: Path) -> None:
    r = run(call(project_dir, "query_stream", {"sql": "CREATE STREAM x AS SELECT * FROM trades"}))
    assert r.is_error
    assert "read-only" in r.content[0].text and "deploy_query" in r.content[0].text


def test_limits_are_checked(project_dir: Path) -> None:
    r = run(call(project_dir, "query_stream", {"sql": "SELECT * FROM trades", "max_rows": 0}))
    assert r.is_error and "max_rows" in r.content[0].text
    args = {"sql": "SELECT * FROM trades", "timeout_seconds": 3600}
    r = run(call(project_dir, "query_stream", args))
    assert r.is_error and "timeout_seconds" in r.content[0].text


def test_validate_sql_reports_line_and_column(project_dir: Path) -> None:
    # the synthetic source declares its columns (n, ts), so a wrong one is caught
    r = run(call(project_dir, "validate_sql", {"sql": "SELECT n,\n  nn FROM ticks"}))
    out = r.structured_content
    assert out["valid"] is False
    err = out["errors"][0]
    assert (err["line"], err["column"]) == (2, 3)
    assert "nn" in err["message"] and err["expected"] == ["n", "ts"]
    ok = run(call(project_dir, "validate_sql", {"sql": "SELECT symbol FROM big"}))
    assert ok.structured_content == {"valid": True, "errors": [], "warnings": []}


def test_validate_sql_syntax_error(project_dir: Path) -> None:
    r = run(call(project_dir, "validate_sql", {"sql": "SELECT FROM WHERE"}))
    err = r.structured_content["errors"][0]
    assert r.structured_content["valid"] is False
    assert err["kind"] == "syntax" and err["line"] == 1 and err["column"] is not None


def test_describe_stream_columns_sample_and_masked_secrets(project_dir: Path) -> None:
    r = run(call(project_dir, "describe_stream", {"name": "trades", "sample_rows": 2}))
    out = r.structured_content
    assert [c["name"] for c in out["columns"]][:2] == ["symbol", "qty"]
    assert {c["name"]: c["type"] for c in out["columns"]}["qty"] == "BIGINT"
    assert out["sample"] == [
        {"symbol": "A", "qty": 10, "price": "1.50", "ts": 1000},
        {"symbol": "B", "qty": 5, "price": "2.00", "ts": 2000},
    ]
    orders = run(call(project_dir, "describe_stream", {"name": "orders"}))
    out = orders.structured_content
    assert out["file"] == "velo.yaml" and out["type"] == "kafka_source"
    assert out["properties"]["sasl.password"] == "***"
    assert "hunter2" not in json.dumps(out)
    assert out["sample"] == [] and out["sample_error"]  # says why it could not be read


def test_unknown_stream(project_dir: Path) -> None:
    r = run(call(project_dir, "describe_stream", {"name": "nope"}))
    assert r.is_error
    assert "unknown stream 'nope'" in r.content[0].text and "trades" in r.content[0].text


def test_paths_outside_the_project_are_refused(project_dir: Path) -> None:
    sql = "SELECT * FROM s WITH ('s.type' = 'file_source', 's.path' = '../secret.jsonl')"
    r = run(call(project_dir, "query_stream", {"sql": sql}))
    assert r.is_error and "outside the project folder" in r.content[0].text
    absolute = sql.replace("../secret.jsonl", str(project_dir.parent / "secret.jsonl"))
    r = run(call(project_dir, "query_stream", {"sql": absolute}))
    assert r.is_error and "outside the project folder" in r.content[0].text


def test_stream_resource(project_dir: Path) -> None:
    async def main() -> Any:
        async with Client(build_server(load_project(project_dir))) as c:
            return await c.read_resource("streams://trades")

    r = run(main())
    body = json.loads(r.contents[0].text)
    assert body["name"] == "trades" and body["kind"] == "source"
    assert len(body["sample"]) == 4


def test_every_call_is_logged_with_secrets_masked(project_dir: Path) -> None:
    sql = "SELECT * FROM s WITH ('s.type' = 'synthetic', 's.count' = '1', 's.token' = 'abc123')"
    run(call(project_dir, "query_stream", {"sql": sql}))
    log = (project_dir / ".velo" / "mcp.log").read_text()
    assert "tool query_stream" in log
    assert "'s.token' = '***'" in log.replace('\\"', '"') or "***" in log
    assert "abc123" not in log
