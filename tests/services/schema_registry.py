"""A minimal Confluent-compatible schema registry for tests, on 127.0.0.1 at a free port.

STAND-IN, NOT THE REAL THING: no Confluent-compatible registry can run here (Confluent's and
Apicurio's are Java services shipped as container images or Maven artifacts, and neither docker
nor Maven Central is reachable from the test machines; Karapace is not on PyPI; checked
2026-11), so the Avro codec's registry client is tested against this server,
which implements only the endpoints the client uses, with the documented request and answer
shapes (docs.confluent.io "Schema Registry API Reference"):

- `GET /schemas/ids/{id}` -> `{"schema": "..."}`; unknown id -> 404 `{"error_code": 40403}`
- `GET /subjects/{subject}/versions/latest` -> `{"subject", "version", "id", "schema"}`;
  unknown subject -> 404 `{"error_code": 40401}`
- `POST /subjects/{subject}/versions` with `{"schema": "..."}` -> `{"id": N}`; the same schema
  text (compared as parsed JSON) gets the same id, under any subject, as the real registry does
- `GET /subjects` -> the subject names

    with schema_registry_server() as reg:   # reg.url, reg.requests (method, path) in order
        ...

Optional basic auth (`user_info="user:pass"`): requests without it get 401.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class RegistryState:
    """What the stand-in holds: schemas by id, versions per subject, and a request log."""

    url: str = ""
    schemas: dict[int, str] = field(default_factory=dict)
    subjects: dict[str, list[int]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    user_info: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, subject: str, schema: str) -> int:
        """Register directly (as another producer would); the schema's id."""
        canon = json.dumps(json.loads(schema), sort_keys=True)
        with self.lock:
            schema_id = next(
                (
                    i
                    for i, s in self.schemas.items()
                    if json.dumps(json.loads(s), sort_keys=True) == canon
                ),
                None,
            )
            if schema_id is None:
                schema_id = len(self.schemas) + 1
                self.schemas[schema_id] = schema
            versions = self.subjects.setdefault(subject, [])
            if schema_id not in versions:
                versions.append(schema_id)
            return schema_id

    def count(self, method: str, path: str) -> int:
        """How many requests of this method and path were served."""
        return sum(1 for r in self.requests if r == (method, path))


def _handler(state: RegistryState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            if state.user_info is None:
                return True
            want = "Basic " + base64.b64encode(state.user_info.encode()).decode()
            if self.headers.get("Authorization") == want:
                return True
            self._send(401, {"error_code": 401, "message": "Unauthorized"})
            return False

        def do_GET(self) -> None:
            path = urllib.parse.unquote(self.path)
            state.requests.append(("GET", path))
            if not self._authorized():
                return
            parts = path.strip("/").split("/")
            if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and parts[2].isdigit():
                schema = state.schemas.get(int(parts[2]))
                if schema is None:
                    self._send(404, {"error_code": 40403, "message": "Schema not found"})
                else:
                    self._send(200, {"schema": schema})
                return
            if parts == ["subjects"]:
                self._send(200, sorted(state.subjects))
                return
            if len(parts) == 4 and parts[0] == "subjects" and parts[2] == "versions":
                versions = state.subjects.get(parts[1])
                if not versions:
                    self._send(404, {"error_code": 40401, "message": "Subject not found."})
                    return
                if parts[3] == "latest":
                    n = len(versions)
                elif parts[3].isdigit() and 1 <= int(parts[3]) <= len(versions):
                    n = int(parts[3])
                else:
                    self._send(404, {"error_code": 40402, "message": "Version not found."})
                    return
                sid = versions[n - 1]
                self._send(
                    200,
                    {"subject": parts[1], "version": n, "id": sid, "schema": state.schemas[sid]},
                )
                return
            self._send(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

        def do_POST(self) -> None:
            path = urllib.parse.unquote(self.path)
            state.requests.append(("POST", path))
            if not self._authorized():
                return
            parts = path.strip("/").split("/")
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length))
                schema = body["schema"]
                json.loads(schema)
            except (ValueError, KeyError, TypeError):
                self._send(422, {"error_code": 42201, "message": "Invalid schema"})
                return
            if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
                self._send(200, {"id": state.register(parts[1], schema)})
                return
            self._send(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

    return Handler


@contextlib.contextmanager
def schema_registry_server(user_info: str | None = None) -> Iterator[RegistryState]:
    """Serve a stand-in registry on a free loopback port in a thread; stop it on exit."""
    state = RegistryState(user_info=user_info)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def schema_registry() -> Iterator[RegistryState]:
    """A fresh stand-in registry per test (it starts in well under a millisecond)."""
    with schema_registry_server() as state:
        yield state
