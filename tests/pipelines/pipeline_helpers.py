"""Notebooks and `velo` processes for the pipeline tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

VELO = Path(sys.executable).parent / "velo"


def make_notebook(path: Path, params: str | None, *cells: str) -> Path:
    """A Velostream SQL notebook: an optional `parameters` cell, then the code cells."""
    nb = nbformat.v4.new_notebook()
    if params is not None:
        cell = nbformat.v4.new_code_cell(params)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "velostream",
        "display_name": "Velostream SQL",
        "language": "velosql",
    }
    nb.metadata["language_info"] = {"name": "velosql"}
    nbformat.write(nb, path)
    return path


def velo(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `velo ARGS --project PROJECT` to completion."""
    return subprocess.run(
        [str(VELO), *args, "--project", str(project)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=project,
    )


def write_jsonl(path: Path, rows: list[dict], mode: str = "w") -> None:
    """Rows as JSON lines (appended with mode="a")."""
    with path.open(mode) as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        f.flush()


def read_jsonl(path: Path) -> list[dict]:
    """The JSON lines of a file (none when it does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
