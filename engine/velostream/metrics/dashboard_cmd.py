"""`velo dashboard FILE.sql|NOTEBOOK.ipynb > dashboard.json`: a Grafana dashboard for a file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from velostream.errors import SqlError


@click.command("dashboard")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--title", default=None, help="Dashboard title (default: Velostream: <file>).")
def dashboard(file: Path, title: str | None) -> None:
    """Print a Grafana dashboard for FILE's @metric annotations and its jobs (JSON)."""
    from velostream.metrics.dashboard import dashboard_for

    try:
        model = dashboard_for(file, title)
    except FileNotFoundError as e:
        click.echo(f"velo: {e}", err=True)
        sys.exit(1)
    except SqlError as e:
        click.echo(f"velo: {e}", err=True)
        sys.exit(1)
    click.echo(json.dumps(model, indent=2))
