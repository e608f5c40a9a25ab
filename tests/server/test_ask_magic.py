"""`%ask` in a real Velostream SQL kernel: the answer becomes the next cell (set_next_input)."""

from __future__ import annotations

import pytest
from jupyter_client.manager import start_new_async_kernel
from services.anthropic_stub import AnthropicStub, StubReply

from velostream_kernel.assistant.ask_magic import is_ask, next_cell, question_of

KEY = "sk-ant-ask-magic-key"
SOURCE = "WITH ('t.type' = 'synthetic', 't.schema' = 'sym STRING ENUM(A,B), n BIGINT RANGE(1,5)')"
GOOD = "SELECT sym, SUM(n) AS total FROM t GROUP BY sym " + SOURCE
BROKEN = "SELECT sym, SUM(qty) AS total FROM t GROUP BY sym " + SOURCE


def test_ask_is_recognised_only_as_a_line_magic() -> None:
    assert is_ask("%ask total per symbol") and is_ask("  %ask\n")
    assert not is_ask("%asking") and not is_ask("SELECT 1 -- %ask")
    assert question_of("%ask  total\n  per symbol ") == "total per symbol"
    assert next_cell("SELECT 1", []) == "SELECT 1"
    assert next_cell("SELECT x", ["<sql>:1:8: name error: no x\n  SELECT x"]) == (
        "-- the engine rejected this SQL; fix it before running:\n"
        "-- <sql>:1:8: name error: no x\n--   SELECT x\nSELECT x"
    )


async def _run(client, code: str) -> tuple[dict, dict[str, str]]:
    out: dict[str, str] = {"stdout": "", "stderr": ""}

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            out[msg["content"]["name"]] += msg["content"]["text"]

    reply = await client.execute_interactive(code, timeout=60, output_hook=hook)
    return reply["content"], out


@pytest.fixture
def stub():
    with AnthropicStub(api_key=KEY) as s:
        yield s


async def test_ask_puts_valid_sql_in_the_next_cell_and_flags_broken_sql(
    jp_environ, velo_kernelspec, stub, monkeypatch
):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.url)
    km, client = await start_new_async_kernel(kernel_name=velo_kernelspec)
    try:
        first, _ = await _run(client, "SHOW JOBS;")
        assert first["status"] == "ok"

        stub.queue(StubReply(text="Totals per symbol.",
                             tool=("answer_sql", {"sql": GOOD, "explanation": "Totals"})))  # fmt: skip
        reply, out = await _run(client, "%ask total quantity per symbol")
        assert reply["status"] == "ok"
        assert reply["payload"] == [{"source": "set_next_input", "text": GOOD, "replace": False}]
        assert "Totals per symbol." in out["stdout"]
        system = stub.requests[-1].body["system"]
        assert "SHOW JOBS;" in system  # the recent cell went along
        assert stub.requests[-1].body["messages"][0]["content"] == "total quantity per symbol"

        stub.queue(*[StubReply(tool=("answer_sql", {"sql": BROKEN, "explanation": "x"}))] * 2)
        reply, out = await _run(client, "%ask total per symbol")
        (payload,) = reply["payload"]
        assert payload["text"].startswith("-- the engine rejected this SQL")
        assert payload["text"].endswith(BROKEN)
        assert "unknown column 'qty'" in payload["text"] and "unknown column 'qty'" in out["stderr"]
        assert len(stub.requests) == 3  # one request, then one repair round

        reply, _ = await _run(client, "%ask")
        assert reply["status"] == "error" and "usage: %ask" in reply["evalue"]
    finally:
        client.stop_channels()
        await km.shutdown_kernel(now=True)


async def test_ask_in_the_python_kernel_gives_a_velo_cell(jp_environ, stub, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.url)
    km, client = await start_new_async_kernel(kernel_name="python3")
    try:
        loaded, _ = await _run(client, "%load_ext velostream_kernel")
        assert loaded["status"] == "ok", loaded
        stub.queue(
            StubReply(text="Totals.", tool=("answer_sql", {"sql": GOOD, "explanation": "T"}))
        )
        reply, out = await _run(client, "%ask total quantity per symbol")
        assert reply["status"] == "ok", reply
        texts = [p["text"] for p in reply["payload"] if p.get("source") == "set_next_input"]
        assert texts == ["%%velo\n" + GOOD]
        assert "Totals." in out["stdout"]
        assert "%load_ext velostream_kernel" in stub.requests[-1].body["system"]
    finally:
        client.stop_channels()
        await km.shutdown_kernel(now=True)
