"""The studio's REST API in a real Jupyter server (pytest-jupyter), with a real Velostream SQL
kernel and the Anthropic stand-in."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from services.anthropic_stub import AnthropicStub, StubReply
from tornado.httpclient import HTTPClientError

from velostream_kernel.server import all_routes

KEY = "sk-ant-handler-secret-0815"
SCHEMA = "sym STRING ENUM(A,B), px DECIMAL(10,2) RANGE(1,9), n BIGINT RANGE(1,5), ts TIMESTAMP"
SOURCE = (
    f"WITH ('src.type' = 'synthetic', 'src.schema' = '{SCHEMA}', 'src.rate' = '500', "
    "'src.event.time.field' = 'ts')"
)
GOOD = "SELECT sym, COUNT(*) AS c FROM per_sym GROUP BY sym"


@pytest.fixture
def stub():
    with AnthropicStub(api_key=KEY) as s:
        yield s


@pytest.fixture
def jp_server_config(stub, velo_kernelspec):
    return {
        "ServerApp": {"jpserver_extensions": {"velostream_kernel.server": True}},
        "AssistantConfig": {"base_url": stub.url, "model": "stub-model"},
    }


@pytest.fixture
def with_key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)


def lines(body: bytes) -> list[dict]:
    return [json.loads(x) for x in body.decode().splitlines() if x.strip()]


async def post(jp_fetch, path: str, body: dict, **kw):
    return await jp_fetch("velostream", "api", *path.split("/"), method="POST",
                          body=json.dumps(body), **kw)  # fmt: skip


async def test_every_endpoint_needs_jupyter_auth(jp_serverapp, http_server_client, jp_base_url):
    for method, path in [
        ("POST", "nl-to-sql"),
        ("POST", "validate"),
        ("GET", "catalog?kernel_id=x"),
        ("GET", "jobs"),
        ("POST", "jobs/stop"),
    ]:
        url = f"{jp_base_url}velostream/api/{path}"
        body = "{}" if method == "POST" else None
        r = await http_server_client.fetch(url, method=method, body=body, raise_error=False)
        assert r.code == 403, (path, r.code)


async def test_validate_without_kernel_names_the_error(jp_fetch):
    r = await post(jp_fetch, "validate", {"sql": "SELECT a FROM t " + SOURCE.replace("src", "t")})
    # the source t has no column a: its schema lists sym, px, n, ts
    body = json.loads(r.body)
    assert body["valid"] is False and "unknown column 'a'" in body["errors"][0]
    r = await post(jp_fetch, "validate", {"sql": "SELECT sym FROM src " + SOURCE})
    assert json.loads(r.body) == {"valid": True, "errors": []}


async def test_bad_requests_answer_json_errors(jp_fetch):
    with pytest.raises(HTTPClientError) as info:
        await post(jp_fetch, "jobs/stop", {"kernel_id": "k"})
    assert info.value.code == 400
    assert "'name'" in json.loads(info.value.response.body)["error"]
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("velostream", "api", "catalog", params={"kernel_id": "nope"})
    assert info.value.code == 404
    assert "no running kernel with id 'nope'" in json.loads(info.value.response.body)["error"]
    with pytest.raises(HTTPClientError) as info:
        await post(jp_fetch, "nl-to-sql", {"question": "  "})
    assert info.value.code == 400


async def test_nl_to_sql_streams_and_keeps_the_key_secret(jp_fetch, stub, with_key, caplog):
    text = "Counts rows of src per symbol."
    sql = "SELECT sym, COUNT(*) AS c FROM src GROUP BY sym " + SOURCE
    stub.queue(StubReply(text=text, tool=("answer_sql", {"sql": sql, "explanation": text}),
                         chunk_chars=4))  # fmt: skip
    with caplog.at_level(logging.DEBUG):
        r = await post(
            jp_fetch, "nl-to-sql", {"question": "rows per symbol", "cells": ["SHOW JOBS"]}
        )
    assert r.headers["Content-Type"].startswith("application/x-ndjson")
    events = lines(r.body)
    texts = [e["text"] for e in events if e["type"] == "text"]
    assert len(texts) == 8 and "".join(texts) == text  # 30 characters in pieces of 4
    answer = events[-1]
    assert answer["type"] == "answer" and answer["sql"] == sql and answer["valid"] is True
    req = stub.requests[0]
    assert req.body["model"] == "stub-model" and "SHOW JOBS" in req.body["system"]
    assert req.api_key == KEY
    assert KEY not in r.body.decode()
    assert caplog.records and KEY not in caplog.text


async def test_nl_to_sql_without_key_says_how_to_set_it(jp_fetch, stub, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    r = await post(jp_fetch, "nl-to-sql", {"question": "anything"})
    (event,) = lines(r.body)
    assert event["type"] == "error" and event["kind"] == "no_key"
    assert "ANTHROPIC_API_KEY is not set" in event["message"]
    assert stub.requests == []


async def test_routes_include_other_features_modules():
    routes = dict(all_routes("/base/"))
    for path in ("nl-to-sql", "validate", "catalog", "jobs", "jobs/stop"):
        assert f"/base/velostream/api/{path}" in routes
    import importlib.util

    if importlib.util.find_spec("velostream_kernel.server.pipelines_handlers"):
        assert any(r.startswith("/base/velostream/api/") and "deploy" in r for r in routes)


async def _execute(client, code: str, timeout: float = 60) -> dict:
    reply = await client.execute_interactive(code, timeout=timeout, output_hook=lambda m: None)
    return reply["content"]


async def _wait_for(fetch_jobs, pred, what: str, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    jobs: list[dict] = []
    while time.monotonic() < deadline:
        jobs = await fetch_jobs()
        if pred(jobs):
            return jobs
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: jobs were {jobs}")


async def test_catalog_jobs_stop_and_validate_against_a_live_kernel(
    jp_fetch, jp_serverapp, stub, with_key
):
    r = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "velostream"}))
    kid = json.loads(r.body)["id"]
    km = jp_serverapp.kernel_manager.get_kernel(kid)
    client = km.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        created = await _execute(
            client,
            "CREATE STREAM per_sym AS SELECT sym, n, ts FROM src WHERE n > 0 " + SOURCE,
        )
        assert created["status"] == "ok", created

        async def fetch_jobs() -> list[dict]:
            r = await jp_fetch("velostream", "api", "jobs", params={"kernel_id": kid})
            return json.loads(r.body)["jobs"]

        # the catalog: the stream with its columns and definition
        r = await jp_fetch("velostream", "api", "catalog", params={"kernel_id": kid})
        (obj,) = json.loads(r.body)["objects"]
        assert obj["name"] == "per_sym" and obj["kind"] == "stream"
        assert [c["name"] for c in obj["columns"]] == ["sym", "n", "ts"]
        assert obj["sql"].startswith("CREATE STREAM per_sym")

        # the background job runs and counts records
        jobs = await _wait_for(
            fetch_jobs, lambda js: js and js[0]["records_in"] > 0, "the job never read a record"
        )
        job = jobs[0]
        assert job["name"] == "per_sym" and job["kind"] == "job" and job["state"] == "running"
        assert job["kernel_id"] == kid and job["records_per_s"] is not None

        # a foreground query, seen (and stopped) while its cell runs
        running = asyncio.ensure_future(_execute(client, "SELECT sym, n FROM per_sym"))
        jobs = await _wait_for(
            fetch_jobs,
            lambda js: any(j["kind"] == "query" and j["state"] == "running" for j in js),
            "the running query was not listed",
        )
        query = next(j for j in jobs if j["kind"] == "query")
        r = await post(jp_fetch, "jobs/stop", {"kernel_id": kid, "name": query["name"]})
        assert json.loads(r.body)["message"] == f"stopped query {query['name']}"
        reply = await asyncio.wait_for(running, 30)
        assert reply["status"] == "ok"  # stopped like the Stop button, not an error

        # validation uses the kernel's catalog: per_sym is known there, not in a fresh engine
        r = await post(jp_fetch, "validate", {"sql": GOOD, "kernel_id": kid})
        assert json.loads(r.body) == {"valid": True, "errors": []}
        r = await post(jp_fetch, "validate", {"sql": GOOD.replace("c FROM", "c, px FROM"),
                                              "kernel_id": kid})  # fmt: skip
        assert "unknown column 'px'" in json.loads(r.body)["errors"][0]
        r = await post(jp_fetch, "validate", {"sql": GOOD})
        assert json.loads(r.body)["valid"] is False

        # the assistant's prompt carries that catalog; its answer is validated against it
        stub.queue(StubReply(tool=("answer_sql", {"sql": GOOD, "explanation": "per symbol"})))
        r = await post(jp_fetch, "nl-to-sql", {"question": "count per symbol", "kernel_id": kid})
        assert lines(r.body)[-1]["valid"] is True
        assert "stream per_sym(sym" in stub.requests[-1].body["system"]

        # stop the background job from the panel's endpoint
        r = await post(jp_fetch, "jobs/stop", {"kernel_id": kid, "name": "per_sym"})
        assert json.loads(r.body)["message"] == "stopped job per_sym"
        jobs = await fetch_jobs()
        assert next(j for j in jobs if j["name"] == "per_sym")["state"] == "stopped"
        with pytest.raises(HTTPClientError) as info:
            await post(jp_fetch, "jobs/stop", {"kernel_id": kid, "name": "nothing"})
        assert "no running job or query named 'nothing'" in info.value.response.body.decode()
    finally:
        client.stop_channels()
        await jp_serverapp.kernel_manager.shutdown_kernel(kid, now=True)
