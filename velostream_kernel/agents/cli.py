"""`velo mcp`: serve the project's streams to AI agents over stdio or streamable HTTP."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import click


@click.command("mcp")
@click.option(
    "--project",
    "folder",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False),
    help="The project folder (velo.yaml and .sql files).",
)
@click.option("--http", "port", type=int, default=None, help="Serve streamable HTTP on PORT.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for --http.")
@click.option("--token", default=None, help="Bearer token for --http (default $VELO_MCP_TOKEN).")
@click.option("--allow-deploy", is_flag=True, help="Let deploy_query register pipelines.")
def mcp_cmd(
    folder: str, port: int | None, host: str, token: str | None, allow_deploy: bool
) -> None:
    """Start the MCP server (stdio by default) for Claude Desktop, VS Code, Cursor, ..."""
    from velostream_kernel.agents.project import ProjectError
    from velostream_kernel.agents.server import build_server, load_project, run_http, run_stdio

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="velo mcp: %(message)s")
    try:
        project = load_project(folder)
    except ProjectError as e:
        raise click.ClickException(str(e)) from None
    server = build_server(project, allow_deploy=allow_deploy)
    if port is None:
        asyncio.run(run_stdio(server))
        return
    token = token or os.environ.get("VELO_MCP_TOKEN", "")
    if not token:
        raise click.ClickException(
            "--http needs a bearer token: pass --token or set VELO_MCP_TOKEN "
            "(clients send it as 'Authorization: Bearer <token>')"
        )
    click.echo(f"velo mcp: serving {project.root} at http://{host}:{port}/mcp", err=True)
    asyncio.run(run_http(server, port, token, host))
