"""The MCP server: a project's streams, the engine and the pipelines as tools for AI agents.

`build_server(project)` gives an `MCPServer` (mcp 2.x) with the tools and resources;
`run_stdio` / `run_http` serve it. Every tool call is logged (arguments with secrets masked)
to the `velostream.mcp` logger, which writes to standard error (standard output is the wire
with stdio) and to `<project>/.velo/mcp.log`.
"""

from __future__ import annotations

import functools
import hmac
import inspect
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from velostream.errors import SqlError
from velostream.secrets import mask_value
from velostream_kernel.agents import harness_tools, pipeline_tools, tools
from velostream_kernel.agents.project import Project, ProjectError

log = logging.getLogger("velostream.mcp")

INSTRUCTIONS = """Velostream Studio: streaming SQL over the user's project. list_streams shows
the sources and derived streams; describe_stream gives columns and sample rows; query_stream
runs one bounded, read-only query (Velostream SQL: WINDOW TUMBLING(1m), EMIT CHANGES|FINAL,
GROUP BY, joins); validate_sql checks SQL and reports line and column of each error;
generate_test_data and run_test use the test harness; get_metrics reads a running pipeline's
metrics; deploy_query registers a pipeline when the server allows deploys."""


def _audit_file(project: Project) -> logging.Handler | None:
    folder = project.root / ".velo"
    try:
        folder.mkdir(exist_ok=True)
        handler = logging.FileHandler(folder / "mcp.log", encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    return handler


def audited(fn: Callable[..., Any], error: type[Exception] = ToolError) -> Callable[..., Any]:
    """Log a tool call (masked arguments, outcome, time); turn bad input into an `error` the
    client sees with its message."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind_partial(*args, **kwargs)
        shown = orjson.dumps(mask_value(dict(bound.arguments)), default=str).decode()
        start = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        except (ProjectError, tools.ToolError) as e:
            log.warning("tool %s %s -> error: %s", fn.__name__, shown, e)
            raise error(str(e)) from None
        except SqlError as e:
            log.warning("tool %s %s -> SQL error: %s", fn.__name__, shown, e.message)
            raise error(str(e)) from None
        except Exception as e:
            log.exception("tool %s %s -> failed", fn.__name__, shown)
            raise error(f"{type(e).__name__}: {e}") from None
        ms = (time.perf_counter() - start) * 1000
        log.info("tool %s %s -> ok (%.0f ms)", fn.__name__, shown, ms)
        return result

    return wrapper


def build_server(project: Project, allow_deploy: bool = False) -> MCPServer:
    """An MCP server over `project`; `deploy_query` refuses unless `allow_deploy`."""
    if (handler := _audit_file(project)) is not None and not any(
        getattr(h, "baseFilename", None) == handler.baseFilename for h in log.handlers
    ):
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    server = MCPServer("velostream-studio", instructions=INSTRUCTIONS)

    @server.tool()
    @audited
    def list_streams() -> dict[str, Any]:
        """List the project's streams: sources, sinks, derived streams and tables."""
        project.reload()
        return tools.list_streams(project)

    @server.tool()
    @audited
    async def describe_stream(name: str, sample_rows: int = 5) -> dict[str, Any]:
        """Describe one stream: its connector, properties (secrets masked), columns and a few
        sample rows (read with a short time limit)."""
        return await tools.describe_stream(project, name, min(max(sample_rows, 1), 100))

    @server.tool()
    @audited
    async def query_stream(
        sql: str, max_rows: int = 100, timeout_seconds: float = 10.0
    ) -> dict[str, Any]:
        """Run one read-only query (SELECT, SHOW, DESCRIBE, EXPLAIN) over the project's
        streams; it stops after max_rows rows (at most 10000) or timeout_seconds (at most 60)."""
        return await tools.query_stream(project, sql, max_rows, timeout_seconds)

    @server.tool()
    @audited
    def validate_sql(sql: str) -> dict[str, Any]:
        """Check Velostream SQL against the project's streams without running it; each error
        has a line, a column, what was found and what was expected."""
        return tools.validate_sql(project, sql)

    @server.tool()
    @audited
    def generate_test_data(
        schema: dict[str, Any] | str | None = None,
        schema_file: str | None = None,
        count: int = 10,
        seed: int = 42,
    ) -> dict[str, Any]:
        """Generate records from a schema (the test harness's struct syntax: name, fields with
        type and constraints) given inline or as a file in the project; the same seed gives the
        same records."""
        return harness_tools.generate_test_data(project, schema, schema_file, count, seed)

    @server.tool()
    @audited
    async def run_test(
        sql: str | None = None,
        sql_file: str | None = None,
        spec: dict[str, Any] | str | None = None,
        spec_file: str | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        """Run SQL (text or a project file) under a test spec (YAML text, a mapping, or a
        project file; by default APP.test.yaml beside sql_file): bounded generated inputs,
        then every assertion with its verdict and the failing rows."""
        return await harness_tools.run_test(project, sql, sql_file, spec, spec_file, seed)

    @server.tool()
    @audited
    def get_metrics(name: str) -> dict[str, Any]:
        """The current metric values (@metric and engine metrics) of a running pipeline."""
        return pipeline_tools.get_metrics(project, name)

    @server.tool()
    @audited
    def deploy_query(
        name: str,
        sql: str,
        schedule: str | None = None,
        continuous: bool = False,
        metrics_port: int | None = None,
    ) -> dict[str, Any]:
        """Register SQL (CREATE STREAM .. AS SELECT with its own sources and sinks in WITH) as
        a pipeline run by `velo scheduler`: on a cron schedule, continuously, or on demand.
        Refused unless the server was started with --allow-deploy."""
        return pipeline_tools.deploy_query(
            project, allow_deploy, name, sql, schedule, continuous, metrics_port
        )

    @server.resource("metrics://{name}", mime_type="application/json")
    @functools.partial(audited, error=ResourceError)
    def metrics_resource(name: str) -> dict[str, Any]:
        """A running pipeline's current metric values."""
        return pipeline_tools.get_metrics(project, name)

    @server.resource("jobs://{run_id}", mime_type="application/json")
    @functools.partial(audited, error=ResourceError)
    def job_resource(run_id: str) -> dict[str, Any]:
        """One pipeline run: status, start and end, error, executed notebook."""
        if not run_id.isdigit():
            raise tools.ToolError(f"a job id is a run number, not '{run_id}'")
        return pipeline_tools.job_record(project, int(run_id))

    @server.resource("streams://{name}", mime_type="application/json")
    @functools.partial(audited, error=ResourceError)
    async def stream_resource(name: str) -> dict[str, Any]:
        """One stream: connector, properties, columns and sample rows."""
        return await tools.describe_stream(project, name, 5)

    return server


async def run_stdio(server: MCPServer) -> None:
    """Serve over standard input and output (Claude Desktop, VS Code, Cursor)."""
    await server.run_stdio_async()


class BearerAuth:
    """ASGI middleware: every HTTP request needs `Authorization: Bearer <token>`."""

    def __init__(self, app: Any, token: str):
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Pass lifespan events; answer 401 to a request without the right token."""
        if scope["type"] == "http":
            header = dict(scope.get("headers") or []).get(b"authorization", b"")
            scheme, _, given = header.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), self.token):
                log.warning(
                    "http %s %s -> 401 (missing or wrong token)",
                    scope.get("method"),
                    scope.get("path"),
                )
                body = b'{"error": "missing or wrong bearer token"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def http_app(server: MCPServer, token: str) -> Any:
    """The streamable-HTTP app at /mcp behind the bearer token."""
    if not token:
        raise ValueError("an HTTP MCP server needs a bearer token (--token or VELO_MCP_TOKEN)")
    return BearerAuth(server.streamable_http_app(streamable_http_path="/mcp"), token)


async def run_http(server: MCPServer, port: int, token: str, host: str = "127.0.0.1") -> None:
    """Serve streamable HTTP at http://host:port/mcp."""
    import uvicorn

    config = uvicorn.Config(http_app(server, token), host=host, port=port, log_level="warning")
    await uvicorn.Server(config).serve()


def load_project(folder: str | Path) -> Project:
    """The project at `folder` (a clear error when it is not a folder)."""
    return Project.load(folder)
