"""The `velo` command."""

import click


@click.group()
def main() -> None:
    """Velostream streaming SQL."""
