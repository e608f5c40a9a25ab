"""The NL -> SQL assistant against the Anthropic stand-in, with the real `anthropic` client."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from services.anthropic_stub import StubReply, anthropic_stub

from velostream_kernel.assistant import Assistant, AssistantConfig, AssistantError

KEY = "sk-ant-test-secret-4711"
SOURCE = (
    "WITH ('trades.type' = 'synthetic', 'trades.schema' = 'symbol STRING ENUM(A,B), "
    "price DECIMAL(10,2) RANGE(1,9), qty BIGINT RANGE(1,9), ts TIMESTAMP', "
    "'trades.event.time.field' = 'ts')"
)
GOOD = (
    "SELECT symbol, AVG(qty) AS avg_qty, _window_start AS ws FROM trades GROUP BY symbol "
    "WINDOW TUMBLING(INTERVAL '1' MINUTE) EMIT FINAL " + SOURCE
)
BROKEN = "SELECT symbl, AVG(qty) AS avg_qty FROM trades GROUP BY symbl " + SOURCE
CATALOG = {
    "objects": [
        {
            "name": "orders",
            "kind": "data",
            "columns": [
                {"name": "order_id", "type": "BIGINT"},
                {"name": "venue", "type": "STRING"},
            ],
            "sql": None,
            "sample": [{"order_id": 1, "venue": "NASDAQ"}],
        }
    ],
    "parameters": {"symbol": "AAPL"},
}
CELLS = ["SELECT * FROM trades LIMIT 5 " + SOURCE]


def tool(sql: str, text: str = "Average size per symbol.") -> StubReply:
    return StubReply(
        text=text,
        tool=("answer_sql", {"sql": sql, "explanation": text, "chart": {"type": "line"}}),
    )


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch):
    with anthropic_stub(api_key=KEY) as s:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
        yield s


def make(stub, **kw) -> Assistant:
    return Assistant(AssistantConfig(base_url=stub.url, **kw))


def ask(a: Assistant, question: str = "average trade size per symbol every minute", **kw):
    events: list[dict] = []
    answer = asyncio.run(a.ask(question, kw.get("catalog", CATALOG), CELLS, events.append))
    return answer, events


def test_request_carries_rules_catalog_cells_and_config(stub) -> None:
    stub.queue(tool(GOOD))
    answer, _ = ask(make(stub, model="claude-test-model", max_tokens=321))
    assert answer.valid and answer.sql == GOOD and answer.errors == [] and answer.rounds == 1
    assert answer.chart == {"type": "line"}
    assert len(stub.requests) == 1
    body = stub.requests[0].body
    assert body["model"] == "claude-test-model" and body["max_tokens"] == 321
    assert body["stream"] is True
    assert [t["name"] for t in body["tools"]] == ["answer_sql"]
    system = body["system"]
    for rule in ("WINDOW TUMBLING", "EMIT FINAL", "EMIT CHANGES", "WITH (", "@metric"):
        assert rule in system, rule
    assert "orders(order_id BIGINT, venue STRING)" in system  # the catalog
    assert '"venue": "NASDAQ"' in system  # its sample row
    assert "symbol='AAPL'" in system  # the parameters
    assert CELLS[0] in system  # the recent cell
    assert body["messages"] == [
        {"role": "user", "content": "average trade size per symbol every minute"}
    ]


def test_text_streams_in_pieces(stub) -> None:
    text = "Averages the quantity of each symbol's trades per one-minute window."
    stub.queue(StubReply(text=text, tool=("answer_sql", {"sql": GOOD, "explanation": text}),
                         chunk_chars=7))  # fmt: skip
    answer, events = ask(make(stub))
    pieces = [e["text"] for e in events if e["type"] == "text"]
    assert len(pieces) == -(-len(text) // 7) and "".join(pieces) == text
    assert answer.explanation == text


def test_broken_sql_gets_exactly_one_repair_round(stub) -> None:
    stub.queue(tool(BROKEN), tool(GOOD))
    answer, events = ask(make(stub))
    assert len(stub.requests) == 2
    assert answer.valid and answer.sql == GOOD and answer.repaired and answer.rounds == 2
    second = stub.requests[1].body["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    result = second[2]["content"][0]
    assert result["type"] == "tool_result" and result["is_error"] is True
    # the engine's own error, located, goes back to the model
    assert "unknown column 'symbl'" in result["content"]
    assert result["tool_use_id"] == second[1]["content"][1]["id"]
    repair = [e for e in events if e["type"] == "repair"]
    assert len(repair) == 1 and repair[0]["sql"] == BROKEN


def test_still_broken_after_repair_shows_sql_and_error(stub) -> None:
    stub.queue(tool(BROKEN), tool(BROKEN))
    stub.responder = lambda body: pytest.fail("a third request was made")
    answer, _ = ask(make(stub))
    assert len(stub.requests) == 2
    assert not answer.valid and answer.sql == BROKEN
    assert len(answer.errors) == 1 and "unknown column 'symbl'" in answer.errors[0]
    assert "1:8" in answer.errors[0]  # located: line 1, column 8


def test_answer_without_tool_call_takes_the_sql_block(stub) -> None:
    stub.queue(StubReply(text=f"Here it is:\n```sql\n{GOOD}\n```\n"))
    answer, _ = ask(make(stub))
    assert answer.sql == GOOD and answer.valid


def test_missing_key_is_a_clear_message_and_no_request(stub, monkeypatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(AssistantError) as info:
        ask(make(stub))
    assert info.value.kind == "no_key"
    assert "ANTHROPIC_API_KEY is not set" in info.value.message
    assert stub.requests == []


def test_wrong_key_and_model_errors_are_named(stub, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-wrong")
    with pytest.raises(AssistantError) as info:
        ask(make(stub))
    assert info.value.kind == "auth" and "401" in info.value.message
    assert "sk-wrong" not in info.value.message
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    stub.queue(StubReply(status=400, error_type="invalid_request_error", error_message="bad model"))
    with pytest.raises(AssistantError) as info:
        ask(make(stub))
    assert info.value.kind == "model" and "bad model" in info.value.message


def test_unreachable_api_is_a_network_error(monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with anthropic_stub() as s:
        url = s.url  # a port that was free a moment ago and is closed now
    with pytest.raises(AssistantError) as info:
        ask(Assistant(AssistantConfig(base_url=url)))
    assert info.value.kind == "network" and url in info.value.message


def test_key_never_in_answers_events_or_logs(stub, caplog) -> None:
    stub.queue(tool(BROKEN), tool(GOOD))
    with caplog.at_level(logging.DEBUG):  # every logger, the SDK's and httpx's included
        answer, events = ask(make(stub))
    assert stub.requests[0].api_key == KEY  # it did reach the API
    assert KEY not in json.dumps(answer.to_json())
    assert KEY not in json.dumps(events)
    assert caplog.records, "nothing was logged: the check below would be empty"
    assert KEY not in caplog.text


def test_config_from_environment_and_traitlets(monkeypatch) -> None:
    from traitlets.config import Config

    monkeypatch.setenv("VELO_ASSISTANT_MODEL", "env-model")
    monkeypatch.setenv("VELO_ASSISTANT_MAX_TOKENS", "777")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/")
    c = AssistantConfig()
    assert (c.model, c.max_tokens, c.base_url) == ("env-model", 777, "http://127.0.0.1:9/")
    cfg = Config()
    cfg.AssistantConfig.model = "config-model"  # traitlets config wins over the environment
    assert AssistantConfig(config=cfg).model == "config-model"
    monkeypatch.delenv("VELO_ASSISTANT_MODEL")
    monkeypatch.setenv("VELO_ASSISTANT_MAX_TOKENS", "lots")
    c = AssistantConfig()
    assert c.model == "claude-sonnet-5-5" and c.max_tokens == 2048
