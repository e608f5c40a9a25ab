"""The Anthropic stand-in answers the real `anthropic` SDK: plain, streamed, tool use, errors."""

from __future__ import annotations

import anthropic
import pytest
from services.anthropic_stub import StubReply, anthropic_stub

TOOL = {
    "name": "answer_sql",
    "description": "give the SQL",
    "input_schema": {"type": "object", "properties": {"sql": {"type": "string"}}},
}


def test_plain_message_with_tool_use() -> None:
    with anthropic_stub(api_key="k1") as stub:
        stub.queue(StubReply(text="thinking aloud", tool=("answer_sql", {"sql": "SELECT 1"})))
        client = anthropic.Anthropic(api_key="k1", base_url=stub.url, max_retries=0)
        msg = client.messages.create(
            model="m-test", max_tokens=50, tools=[TOOL],
            messages=[{"role": "user", "content": "hello there"}],
        )  # fmt: skip
        assert [b.type for b in msg.content] == ["text", "tool_use"]
        assert msg.content[0].text == "thinking aloud"
        assert msg.content[1].name == "answer_sql"
        assert msg.content[1].input == {"sql": "SELECT 1"}
        assert msg.stop_reason == "tool_use"
        req = stub.requests[0]
        assert req.path == "/v1/messages" and not req.stream
        assert req.api_key == "k1"
        assert "hello there" in req.text()


def test_streamed_text_and_tool_input_arrive_in_pieces() -> None:
    sql = "SELECT symbol, COUNT(*) AS n FROM trades GROUP BY symbol"
    with anthropic_stub() as stub:
        stub.queue(StubReply(text="Counting trades per symbol.", tool=("answer_sql", {"sql": sql}),
                             chunk_chars=5))  # fmt: skip
        client = anthropic.Anthropic(api_key="x", base_url=stub.url, max_retries=0)
        with client.messages.stream(
            model="m", max_tokens=10, tools=[TOOL], system="rules here",
            messages=[{"role": "user", "content": "q"}],
        ) as stream:  # fmt: skip
            pieces = list(stream.text_stream)
            final = stream.get_final_message()
        assert "".join(pieces) == "Counting trades per symbol."
        assert len(pieces) == 6  # 27 characters in pieces of 5
        tool = next(b for b in final.content if b.type == "tool_use")
        assert tool.input == {"sql": sql}
        assert stub.requests[0].stream and stub.requests[0].body["system"] == "rules here"


def test_wrong_key_and_queued_error_raise_the_sdk_errors() -> None:
    with anthropic_stub(api_key="right") as stub:
        client = anthropic.Anthropic(api_key="wrong", base_url=stub.url, max_retries=0)
        with pytest.raises(anthropic.AuthenticationError):
            client.messages.create(
                model="m", max_tokens=5, messages=[{"role": "user", "content": "q"}]
            )
        stub.queue(StubReply(status=529, error_type="overloaded_error", error_message="busy"))
        ok = anthropic.Anthropic(api_key="right", base_url=stub.url, max_retries=0)
        with pytest.raises(anthropic.APIStatusError) as info:
            ok.messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "q"}])
        assert info.value.status_code == 529 and "busy" in str(info.value)
