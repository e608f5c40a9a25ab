"""The deploy API under `<base_url>velostream/api/` (what the lab extension's Deploy dialog and
jobs panel call):

- `POST deploy` `{"path", "name", "schedule": str|null, "continuous": bool, "parameters": {}}`
  -> 201 with the pipeline, or 4xx `{"error": message}` (409 for a name that exists);
- `GET deploy/parameters?path=NB` -> `{"parameters": {name: default}}` from the notebook's
  `parameters` cell;
- `GET pipelines` -> a list of pipelines, each with its `last_run` (or null);
- `POST pipelines/NAME/stop` -> the pipeline, stopped (a running run checkpoints and ends).

Paths are relative to the server's root folder. The project (where `.velo/` lives) is
`$VELO_PROJECT`, else the server's root folder: the folder `velo scheduler` runs in.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web

from velostream_kernel.pipelines.deploy import DeployError, deploy
from velostream_kernel.pipelines.parameters import (
    NotebookError,
    notebook_parameters,
    read_notebook,
)
from velostream_kernel.pipelines.registry import Registry, RegistryError


class PipelinesHandler(APIHandler):
    """Shared parts: the project's registry, paths under the root, JSON errors."""

    def root(self) -> Path:
        """The server's root folder."""
        root = self.settings.get("server_root_dir") or self.contents_manager.root_dir
        return Path(root).expanduser().resolve()

    def registry(self) -> Registry:
        """The registry of the project the server serves."""
        return Registry(os.environ.get("VELO_PROJECT") or self.root())

    def notebook(self, rel: Any) -> Path:
        """A notebook path under the root folder (400/403/404 otherwise)."""
        if not isinstance(rel, str) or not rel.strip():
            raise _Fail(400, "'path' is required: the notebook, relative to the server's root")
        root = self.root()
        target = (root / rel.lstrip("/")).resolve()
        if target != root and root not in target.parents:
            raise _Fail(403, f"{rel}: outside the server's root folder")
        if not target.is_file():
            raise _Fail(404, f"notebook {rel}: no such file")
        return target

    def reply(self, status: int, payload: Any) -> None:
        """Send JSON (lists too) with a status."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))

    def error(self, status: int, message: str) -> None:
        """`{"error": message}` with a 4xx status."""
        self.reply(status, {"error": message})


class _Fail(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _status_of(exc: Exception) -> int:
    return 409 if "already exists" in str(exc) else 400


class DeployHandler(PipelinesHandler):
    """POST deploy: register a notebook as a pipeline."""

    @web.authenticated
    async def post(self) -> None:
        """Deploy; 201 with the pipeline, else 4xx with the reason."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            self.error(400, f"the body is not JSON: {exc}")
            return
        if not isinstance(body, dict):
            self.error(400, "the body must be a JSON object")
            return
        params = body.get("parameters") or {}
        schedule = body.get("schedule")
        if not isinstance(params, dict):
            self.error(400, "'parameters' must be an object of name: value")
            return
        if schedule is not None and not isinstance(schedule, str):
            self.error(400, "'schedule' must be a cron expression string or null")
            return
        try:
            path = self.notebook(body.get("path"))
            name = body.get("name")
            if not isinstance(name, str):
                raise _Fail(400, "'name' is required: the pipeline's name")
            p = await asyncio.to_thread(
                deploy,
                self.registry(),
                path,
                name,
                schedule=schedule or None,
                continuous=bool(body.get("continuous")),
                parameters=params,
                replace=bool(body.get("replace")),
            )
        except _Fail as exc:
            self.error(exc.status, exc.message)
            return
        except (DeployError, NotebookError) as exc:
            self.error(_status_of(exc), str(exc))
            return
        self.reply(201, p.to_json())


class ParametersHandler(PipelinesHandler):
    """GET deploy/parameters?path=NB: the notebook's parameters and their defaults."""

    @web.authenticated
    async def get(self) -> None:
        """`{"parameters": {name: default}}`."""
        try:
            path = self.notebook(self.get_query_argument("path", ""))
            nb = read_notebook(path)
            params = notebook_parameters(nb, str(path.name))
        except _Fail as exc:
            self.error(exc.status, exc.message)
            return
        except NotebookError as exc:
            self.error(400, str(exc))
            return
        self.reply(200, {"parameters": params})


class PipelineListHandler(PipelinesHandler):
    """GET pipelines: every pipeline with its last run."""

    @web.authenticated
    async def get(self) -> None:
        """A JSON list of pipelines, each with `last_run` (a run object or null)."""

        def collect() -> list[dict]:
            reg = self.registry()
            out = []
            for p in reg.list():
                d = p.to_json()
                last = reg.last_run(p.name)
                d["last_run"] = last.to_json() if last else None
                out.append(d)
            return out

        self.reply(200, await asyncio.to_thread(collect))


class PipelineStopHandler(PipelinesHandler):
    """POST pipelines/NAME/stop."""

    @web.authenticated
    async def post(self, name: str) -> None:
        """Stop the pipeline; its running run (if any) stops its jobs and ends."""
        from velostream_kernel.pipelines.scheduler import signal_run

        reg = self.registry()
        try:
            reg.get(name)
        except RegistryError as exc:
            self.error(404, str(exc))
            return
        reg.update(name, status="stopped", status_reason="stopped from the jobs panel")
        run = reg.last_run(name)
        if run is not None and run.status == "running":
            signal_run(run)
        self.reply(200, reg.get(name).to_json())


def handlers() -> list[tuple[str, type]]:
    """(route, handler class) pairs, relative to `<base_url>velostream/api/`."""
    return [
        ("deploy", DeployHandler),
        ("deploy/parameters", ParametersHandler),
        ("pipelines", PipelineListHandler),
        (r"pipelines/([a-z][a-z0-9_-]*)/stop", PipelineStopHandler),
    ]
