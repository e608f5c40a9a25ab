"""A local stand-in for the Anthropic Messages API: the one allowed stand-in in the tests.

It speaks `POST /v1/messages` as the real `anthropic` SDK calls it, both plain JSON and
streaming (server-sent events: message_start, content_block_start/delta/stop with text_delta and
input_json_delta, message_delta, message_stop), including `tool_use` blocks, and API errors
(`{"type": "error", "error": {...}}` with the HTTP status). Point the SDK at it by base URL:

    with anthropic_stub() as stub:
        stub.queue(StubReply(tool=("answer_sql", {"sql": "SELECT 1"})))
        client = anthropic.Anthropic(api_key="k", base_url=stub.url)
        ...
        stub.requests[0].body["system"]    # what the client sent

Replies come from `stub.queue(...)` in order; when the queue is empty, `stub.responder(body)` is
called (default: a short text reply). `stub.api_key` set means a request without that
key (`x-api-key`, or `authorization: Bearer` as SDK 2.x sends it) gets a 401 authentication_error, as the real API answers.

Run alone: `python tests/services/anthropic_stub.py [--port N] [--replies replies.json]`, where
replies.json is a list of StubReply fields ({"text": ..., "tool": [name, input], "status": ...});
it prints the base URL and serves until interrupted.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

_ids = itertools.count(1)


@dataclass
class StubReply:
    """One answer: text and/or a tool call, or an API error when `status` is not 200."""

    text: str = ""
    tool: tuple[str, dict] | None = None  # (tool name, input): a tool_use block after the text
    status: int = 200
    error_type: str = "api_error"  # e.g. authentication_error, overloaded_error
    error_message: str = "stub error"
    chunk_delay_s: float = 0.0  # pause between streamed events (a visible stream, a Stop test)
    chunk_chars: int = 12  # characters per text / JSON delta
    stop_reason: str | None = None  # default: tool_use when there is a tool, else end_turn


@dataclass
class RecordedRequest:
    """A request the stub received: path, headers (lower-case names) and the JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def stream(self) -> bool:
        """Whether the client asked for server-sent events."""
        return bool(self.body.get("stream"))

    @property
    def api_key(self) -> str | None:
        """The key the client sent (`x-api-key`, or `authorization: Bearer` from SDK 2.x)."""
        auth = self.headers.get("authorization", "")
        return self.headers.get("x-api-key") or (auth[7:] if auth.startswith("Bearer ") else None)

    def text(self) -> str:
        """The system prompt and every message's text as one string (for `in` checks)."""
        parts: list[str] = []
        system = self.body.get("system")
        parts.append(system if isinstance(system, str) else json.dumps(system))
        for m in self.body.get("messages", []):
            content = m.get("content")
            parts.append(content if isinstance(content, str) else json.dumps(content))
        return "\n".join(parts)


def default_responder(body: dict[str, Any]) -> StubReply:
    """The reply when nothing is queued: a short text naming the model."""
    return StubReply(text=f"stub reply from {body.get('model', '?')}")


@dataclass
class AnthropicStub:
    """The server; start() binds 127.0.0.1 on a free port (or `port`)."""

    api_key: str | None = None
    port: int = 0
    responder: Callable[[dict[str, Any]], StubReply] = default_responder
    requests: list[RecordedRequest] = field(default_factory=list)
    _replies: list[StubReply] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """The base URL to give the SDK (`base_url=`, or ANTHROPIC_BASE_URL)."""
        assert self._server is not None, "the stub is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def queue(self, *replies: StubReply) -> None:
        """Answer the next requests with these replies, in order."""
        with self._lock:
            self._replies.extend(replies)

    def clear(self) -> None:
        """Forget recorded requests and queued replies."""
        with self._lock:
            self.requests.clear()
            self._replies.clear()

    def _next_reply(self, body: dict[str, Any]) -> StubReply:
        with self._lock:
            if self._replies:
                return self._replies.pop(0)
        return self.responder(body)

    def start(self) -> AnthropicStub:
        """Serve in a daemon thread."""
        stub = self

        class Handler(_Handler):
            owner = stub

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> AnthropicStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    owner: AnthropicStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._error(400, "invalid_request_error", "body is not JSON")
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path.split("?", 1)[0]
        self.owner.requests.append(RecordedRequest(path, headers, body))
        if path.rstrip("/") != "/v1/messages":
            self._error(404, "not_found_error", f"no endpoint {path}")
            return
        want = self.owner.api_key
        if want is not None and self.owner.requests[-1].api_key != want:
            self._error(401, "authentication_error", "invalid x-api-key")
            return
        for key in ("model", "max_tokens", "messages"):
            if key not in body:
                self._error(400, "invalid_request_error", f"{key}: Field required")
                return
        reply = self.owner._next_reply(body)
        if reply.status != 200:
            self._error(reply.status, reply.error_type, reply.error_message)
            return
        if body.get("stream"):
            self._stream(body, reply)
        else:
            self._json(200, _message(body, reply))

    def _json(self, status: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_stub_{next(_ids)}")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, kind: str, message: str) -> None:
        self._json(status, {"type": "error", "error": {"type": kind, "message": message}})

    def _stream(self, body: dict, reply: StubReply) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", f"req_stub_{next(_ids)}")
        self.end_headers()
        try:
            for event in _events(body, reply):
                name = event["type"]
                self._chunk(f"event: {name}\ndata: {json.dumps(event)}\n\n".encode())
                if reply.chunk_delay_s and name == "content_block_delta":
                    time.sleep(reply.chunk_delay_s)
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client closed the stream (a Stop): nothing more to send

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


def _blocks(reply: StubReply) -> list[dict]:
    blocks: list[dict] = []
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    if reply.tool is not None:
        name, args = reply.tool
        blocks.append({"type": "tool_use", "id": f"toolu_stub_{next(_ids)}", "name": name,
                       "input": args})  # fmt: skip
    return blocks


def _stop_reason(reply: StubReply) -> str:
    return reply.stop_reason or ("tool_use" if reply.tool is not None else "end_turn")


def _usage(body: dict, out_tokens: int) -> dict:
    in_tokens = max(1, len(json.dumps(body.get("messages", []))) // 4)
    return {"input_tokens": in_tokens, "output_tokens": out_tokens}


def _message(body: dict, reply: StubReply) -> dict:
    """A complete Message object (the non-streaming answer)."""
    blocks = _blocks(reply)
    return {
        "id": f"msg_stub_{next(_ids)}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model"),
        "content": blocks,
        "stop_reason": _stop_reason(reply),
        "stop_sequence": None,
        "usage": _usage(body, max(1, len(json.dumps(blocks)) // 4)),
    }


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _events(body: dict, reply: StubReply) -> Iterator[dict]:
    """The server-sent events of a streamed Message, in the API's order."""
    msg = _message(body, reply)
    start = {**msg, "content": [], "stop_reason": None, "usage": _usage(body, 1)}
    yield {"type": "message_start", "message": start}
    for index, block in enumerate(msg["content"]):
        if block["type"] == "text":
            yield {"type": "content_block_start", "index": index,
                   "content_block": {"type": "text", "text": ""}}  # fmt: skip
            for piece in _pieces(block["text"], reply.chunk_chars):
                yield {"type": "content_block_delta", "index": index,
                       "delta": {"type": "text_delta", "text": piece}}  # fmt: skip
        else:
            empty = {**block, "input": {}}
            yield {"type": "content_block_start", "index": index, "content_block": empty}
            for piece in _pieces(json.dumps(block["input"]), reply.chunk_chars):
                yield {"type": "content_block_delta", "index": index,
                       "delta": {"type": "input_json_delta", "partial_json": piece}}  # fmt: skip
        yield {"type": "content_block_stop", "index": index}
    yield {
        "type": "message_delta",
        "delta": {"stop_reason": msg["stop_reason"], "stop_sequence": None},
        "usage": {"output_tokens": msg["usage"]["output_tokens"]},
    }
    yield {"type": "message_stop"}


@contextlib.contextmanager
def anthropic_stub(
    api_key: str | None = None,
    responder: Callable[[dict[str, Any]], StubReply] = default_responder,
) -> Iterator[AnthropicStub]:
    """A started stub, stopped at the end of the block."""
    stub = AnthropicStub(api_key=api_key, responder=responder)
    with stub:
        yield stub


@pytest.fixture
def anthropic_stub_server() -> Iterator[AnthropicStub]:
    """A stub per test that requires the key `test-key`; queue replies on it."""
    with anthropic_stub(api_key="test-key") as stub:
        yield stub


def _main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="A local Anthropic Messages API stand-in")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", default=None, help="require this x-api-key")
    ap.add_argument("--replies", help="JSON file: a list of StubReply fields, answered in order")
    args = ap.parse_args()
    stub = AnthropicStub(api_key=args.api_key, port=args.port)
    if args.replies:
        with open(args.replies) as f:
            for r in json.load(f):
                if r.get("tool") is not None:
                    r["tool"] = tuple(r["tool"])
                stub.queue(StubReply(**r))
    stub.start()
    print(stub.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stub.stop()


if __name__ == "__main__":
    _main()
