"""A Confluent-compatible schema registry client (REST over HTTP) and the registry wire format.

Only the endpoints the codecs need: a schema by id (`GET /schemas/ids/{id}`), the latest
version of a subject (`GET /subjects/{subject}/versions/latest`) and registering a schema
under a subject (`POST /subjects/{subject}/versions`, which returns the existing id when the
same schema is already registered). The standard library's urllib does the HTTP: one request
per schema id or subject, answers are cached for the life of the client.

Wire format: byte 0 is the magic byte 0, bytes 1-4 the schema id (big-endian, unsigned), then
the body (for Avro: the schemaless binary encoding of the record).
"""

from __future__ import annotations

import base64
import json
import struct
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

MAGIC_BYTE = 0
HEADER_SIZE = 5
_HEADER = struct.Struct(">bI")
_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryError(Exception):
    """The registry could not be reached or answered with an error (not a malformed value)."""

    def __init__(self, message: str, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status  # HTTP status, None when the registry was not reached
        self.code = code  # the registry's error_code, e.g. 40403 (schema not found)


class SchemaNotFound(RegistryError):
    """The registry has no schema with that id, or no subject or version of that name."""


def frame(schema_id: int, body: bytes) -> bytes:
    """`body` in the registry wire format: magic byte 0, 4-byte big-endian id, body."""
    return _HEADER.pack(MAGIC_BYTE, schema_id) + body


def unframe(value: bytes) -> tuple[int, memoryview]:
    """The schema id and body of a wire-format value; ValueError says what is wrong."""
    if value is None:
        raise ValueError("null value (expected the schema registry wire format)")
    if len(value) < HEADER_SIZE:
        raise ValueError(
            f"value too short for the schema registry wire format: {len(value)} bytes "
            f"(expected a {HEADER_SIZE}-byte header: magic byte 0 and a 4-byte schema id)"
        )
    if value[0] != MAGIC_BYTE:
        raise ValueError(
            f"bad magic byte 0x{value[0]:02x} (expected 0x00: the value is not in the schema "
            "registry wire format)"
        )
    schema_id = int.from_bytes(value[1:5], "big")
    return schema_id, memoryview(value)[HEADER_SIZE:]


class SchemaRegistryClient:
    """Reads and registers schemas in a Confluent-compatible registry at `url`."""

    def __init__(self, url: str, timeout: float = 10.0, user_info: str | None = None) -> None:
        parsed = urllib.parse.urlsplit(url.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"not an http(s) URL: {url!r}")
        # A URL may carry credentials (http://user:pass@host); they go into the auth header.
        if parsed.username is not None and user_info is None:
            user_info = f"{urllib.parse.unquote(parsed.username)}:" + urllib.parse.unquote(
                parsed.password or ""
            )
        netloc = parsed.hostname or ""
        if parsed.port is not None:
            netloc = f"{netloc}:{parsed.port}"
        self.url = urllib.parse.urlunsplit((parsed.scheme, netloc, parsed.path.rstrip("/"), "", ""))
        self.timeout = timeout
        self._auth = "Basic " + base64.b64encode(user_info.encode()).decode() if user_info else None
        self._by_id: dict[int, str] = {}
        self._registered: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def schema_by_id(self, schema_id: int) -> str:
        """The schema text registered under `schema_id` (cached)."""
        cached = self._by_id.get(schema_id)
        if cached is not None:
            return cached
        body = self._request("GET", f"/schemas/ids/{schema_id}", what=f"schema id {schema_id}")
        text = body.get("schema")
        if not isinstance(text, str):
            raise RegistryError(f"registry answer for schema id {schema_id} has no 'schema'")
        with self._lock:
            self._by_id[schema_id] = text
        return text

    def latest(self, subject: str) -> tuple[int, str]:
        """The id and schema text of the latest version of `subject` (not cached: it moves)."""
        quoted = urllib.parse.quote(subject, safe="")
        body = self._request(
            "GET", f"/subjects/{quoted}/versions/latest", what=f"subject '{subject}'"
        )
        schema_id, text = body.get("id"), body.get("schema")
        if not isinstance(schema_id, int) or not isinstance(text, str):
            raise RegistryError(f"registry answer for subject '{subject}' lacks 'id'/'schema'")
        with self._lock:
            self._by_id[schema_id] = text
        return schema_id, text

    def register(self, subject: str, schema: str, schema_type: str = "AVRO") -> int:
        """Register `schema` under `subject` (idempotent) and return its id (cached)."""
        key = (subject, schema)
        cached = self._registered.get(key)
        if cached is not None:
            return cached
        payload: dict[str, Any] = {"schema": schema}
        if schema_type != "AVRO":  # AVRO is the default and older registries reject the key
            payload["schemaType"] = schema_type
        quoted = urllib.parse.quote(subject, safe="")
        body = self._request(
            "POST", f"/subjects/{quoted}/versions", payload, what=f"subject '{subject}'"
        )
        schema_id = body.get("id")
        if not isinstance(schema_id, int):
            raise RegistryError(f"registry answer to registering under '{subject}' has no 'id'")
        with self._lock:
            self._registered[key] = schema_id
            self._by_id[schema_id] = schema
        return schema_id

    def _request(
        self, method: str, path: str, payload: Any = None, what: str = ""
    ) -> dict[str, Any]:
        """One HTTP request; the JSON answer, or RegistryError/SchemaNotFound."""
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Accept", f"{_CONTENT_TYPE}, application/json")
        if data is not None:
            req.add_header("Content-Type", _CONTENT_TYPE)
        if self._auth:
            req.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            code, message = _error_body(raw)
            text = f"schema registry {self.url}: {what}: HTTP {exc.code}" + (
                f" ({code}: {message})" if message else ""
            )
            if exc.code == 404:
                raise SchemaNotFound(text, exc.code, code) from None
            raise RegistryError(text, exc.code, code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryError(f"schema registry {self.url} not reachable: {reason}") from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise RegistryError(f"schema registry {self.url}: {what}: answer is not JSON") from None
        if not isinstance(body, dict):
            raise RegistryError(f"schema registry {self.url}: {what}: answer is not an object")
        return body


def _error_body(raw: bytes) -> tuple[int | None, str]:
    """The registry's `error_code` and `message` of an error answer, when it has them."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None, raw.decode("utf-8", "replace")[:200]
    if isinstance(body, dict):
        code = body.get("error_code")
        return (code if isinstance(code, int) else None), str(body.get("message", ""))
    return None, ""
