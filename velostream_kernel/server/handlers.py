"""The studio's REST API under {base_url}velostream/api/, behind Jupyter's auth:

- POST nl-to-sql  {"question", "kernel_id"?, "cells"?: [str]} -> NDJSON stream of events:
  {"type": "text", "text"} while the model writes, {"type": "status"|"repair", ...}, then
  {"type": "answer", "sql", "explanation", "chart", "valid", "errors", ...} or
  {"type": "error", "kind", "message"}. Closing the request cancels the model call.
- POST validate   {"sql", "kernel_id"?} -> {"valid", "errors"}
- GET  catalog?kernel_id=  -> the kernel's streams, tables and data with columns and samples
- GET  jobs[?kernel_id=]   -> {"jobs": [...]} (every Velostream kernel's when no id)
- POST jobs/stop  {"kernel_id", "name"} -> {"message"}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler

from velostream_kernel.assistant import Assistant, AssistantConfig, AssistantError
from velostream_kernel.assistant.validation import validate_sql
from velostream_kernel.server.kernel_client import (
    KernelRequestError,
    kernel_request,
    velo_kernel_ids,
)

AUTH_RESOURCE = "kernels"  # every endpoint reads or acts on a kernel


class VeloHandler(APIHandler):
    """Shared helpers: JSON errors as {"error": message}, the kernel request."""

    auth_resource = AUTH_RESOURCE

    def fail(self, status: int, message: str) -> None:
        """Answer with a status and {"error": message}."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message}))

    def body(self) -> dict[str, Any]:
        """The JSON body as a dict ({} when empty); 400 when it is not a JSON object."""
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as e:
            raise tornado.web.HTTPError(400, f"the body is not JSON: {e}") from None
        if not isinstance(data, dict):
            raise tornado.web.HTTPError(400, "the body must be a JSON object")
        return data

    async def ask_kernel(self, kernel_id: str, content: dict[str, Any]) -> Any:
        """A kernel's answer (velostream_kernel.control)."""
        return await kernel_request(self.kernel_manager, kernel_id, content)


class NlToSqlHandler(VeloHandler):
    """A question in, the assistant's events out as they come (NDJSON)."""

    _task: asyncio.Future | None = None

    @tornado.web.authenticated
    @authorized(action="execute")
    async def post(self) -> None:
        """Stream the assistant's events for the question, then its answer."""
        data = self.body()
        question = str(data.get("question") or "").strip()
        if not question:
            return self.fail(400, "'question' is empty: type a question first")
        cells = [str(c) for c in data.get("cells") or [] if isinstance(c, str)]
        self.set_header("Content-Type", "application/x-ndjson; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        catalog: dict[str, Any] = {}
        kernel_id = data.get("kernel_id")
        if kernel_id:
            try:
                catalog = await self.ask_kernel(str(kernel_id), {"op": "catalog"})
            except KernelRequestError as e:
                self.send_event({"type": "status", "message": f"no catalog: {e.message}"})
        assistant: Assistant = self.settings["velostream_assistant"]
        self._task = asyncio.ensure_future(
            assistant.ask(question, catalog, cells, on_event=self.send_event)
        )
        try:
            answer = await self._task
            self.send_event({"type": "answer", **answer.to_json()})
        except AssistantError as e:
            self.send_event({"type": "error", "kind": e.kind, "message": e.message})
        except asyncio.CancelledError:
            self.log.info("velostream nl-to-sql: the request was closed; model call cancelled")
            return
        self.finish()

    def send_event(self, event: dict[str, Any]) -> None:
        """One NDJSON line, flushed at once."""
        if self.request.connection.stream is None or self._finished:
            return
        self.write(json.dumps(event, default=str) + "\n")
        fut = self.flush()
        fut.add_done_callback(lambda f: f.exception())  # a closed stream is not an error here

    def on_connection_close(self) -> None:
        """Stop: the browser aborted the request, so the model call is cancelled."""
        if self._task is not None and not self._task.done():
            self._task.cancel()


class ValidateHandler(VeloHandler):
    """The engine's verdict on SQL, against the kernel's catalog when a kernel is named."""

    @tornado.web.authenticated
    @authorized(action="read")
    async def post(self) -> None:
        """{"valid", "errors"} for the SQL."""
        data = self.body()
        sql = str(data.get("sql") or "")
        kernel_id = data.get("kernel_id")
        try:
            if kernel_id:
                res = await self.ask_kernel(str(kernel_id), {"op": "validate", "sql": sql})
                errors = res["errors"]
            else:
                errors = validate_sql(sql, None)
        except KernelRequestError as e:
            return self.fail(e.status, e.message)
        self.finish(json.dumps({"valid": not errors, "errors": errors}))


class CatalogHandler(VeloHandler):
    """A kernel's catalog."""

    @tornado.web.authenticated
    @authorized(action="read")
    async def get(self) -> None:
        """The kernel's catalog as JSON."""
        kernel_id = self.get_query_argument("kernel_id", "")
        if not kernel_id:
            return self.fail(400, "'kernel_id' is missing: which kernel's catalog?")
        try:
            self.finish(json.dumps(await self.ask_kernel(kernel_id, {"op": "catalog"})))
        except KernelRequestError as e:
            self.fail(e.status, e.message)


class JobsHandler(VeloHandler):
    """Running queries and background jobs of one kernel, or of every Velostream kernel."""

    @tornado.web.authenticated
    @authorized(action="read")
    async def get(self) -> None:
        """{"jobs": [...]} of one kernel or of all."""
        kernel_id = self.get_query_argument("kernel_id", "")
        ids = [kernel_id] if kernel_id else velo_kernel_ids(self.kernel_manager)
        jobs: list[dict[str, Any]] = []
        try:
            for kid in ids:
                for job in await self.ask_kernel(kid, {"op": "jobs"}):
                    jobs.append({**job, "kernel_id": kid})
        except KernelRequestError as e:
            if kernel_id:
                return self.fail(e.status, e.message)
        self.finish(json.dumps({"jobs": jobs}))


class JobStopHandler(VeloHandler):
    """Stop a job or the running query of a kernel by name."""

    @tornado.web.authenticated
    @authorized(action="write")
    async def post(self) -> None:
        """Stop the named job or query."""
        data = self.body()
        kernel_id, name = str(data.get("kernel_id") or ""), str(data.get("name") or "")
        if not kernel_id or not name:
            return self.fail(400, "'kernel_id' and 'name' are both needed to stop a job")
        try:
            message = await self.ask_kernel(kernel_id, {"op": "stop", "name": name})
        except KernelRequestError as e:
            return self.fail(e.status, e.message)
        self.finish(json.dumps({"message": message}))


def handlers() -> list[tuple[str, type]]:
    """URL patterns relative to {base_url}velostream/api/."""
    return [
        ("nl-to-sql", NlToSqlHandler),
        ("validate", ValidateHandler),
        ("catalog", CatalogHandler),
        ("jobs", JobsHandler),
        ("jobs/stop", JobStopHandler),
    ]


def make_assistant(config: Any) -> Assistant:
    """The server's assistant, configured from the server's traitlets config."""
    with contextlib.suppress(Exception):
        return Assistant(AssistantConfig(config=config))
    return Assistant(AssistantConfig())
