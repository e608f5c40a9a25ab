"""A notebook's parameters: the `SET name = value;` statements of its `parameters` cell, and
the checks `velo deploy` makes on the values it is given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

from velostream.errors import SqlError
from velostream_kernel.statements import ParamRef, split_cell

KERNEL_NAME = "velostream"


class NotebookError(Exception):
    """A notebook that cannot be deployed: missing, unreadable, or not Velostream SQL."""


def read_notebook(path: str | Path) -> nbformat.NotebookNode:
    """A notebook file, checked: it exists, parses, and uses the Velostream SQL kernel."""
    p = Path(path)
    if not p.is_file():
        raise NotebookError(f"notebook {path}: no such file")
    try:
        nb = nbformat.read(p, as_version=4)
    except Exception as exc:  # nbformat raises several kinds for a file that is not a notebook
        raise NotebookError(f"notebook {path}: not a readable .ipynb file ({exc})") from None
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel not in (KERNEL_NAME, None):
        raise NotebookError(
            f"notebook {path} uses the kernel '{kernel}'; velo deploy runs notebooks of the "
            f"Velostream SQL kernel ('{KERNEL_NAME}')"
        )
    return nb


def parameters_cell(nb: nbformat.NotebookNode) -> tuple[int, Any] | None:
    """The index and cell tagged `parameters`, if the notebook has one."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return i, cell
    return None


def notebook_parameters(nb: nbformat.NotebookNode, path: str = "") -> dict[str, Any]:
    """{name: default} from the `SET name = value;` statements of the parameters cell.

    Names are lower case (the kernel's SET names are case-insensitive); `SET velo.x` settings
    are not parameters (papermill cannot pass a dotted name)."""
    found = parameters_cell(nb)
    if found is None:
        return {}
    index, cell = found
    try:
        chunks = split_cell(cell.source)
    except SqlError as exc:
        raise NotebookError(
            f"notebook {path}: the parameters cell (cell {index + 1}) does not parse: {exc}"
        ) from None
    out: dict[str, Any] = {}
    for c in chunks:
        if c.kind != "set" or "." in c.key:
            continue
        value = c.value
        if isinstance(value, ParamRef):
            value = f":{value.name}"
        out[c.key] = value
    return out


def check_parameters(given: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    """The given values with names lower-cased and each converted to its default's type.

    A name the parameters cell does not declare, or a value that does not fit its default's
    type, is an error that names it."""
    out: dict[str, Any] = {}
    for raw_name, value in given.items():
        name = str(raw_name).strip().lower()
        if name not in declared:
            known = ", ".join(sorted(declared)) or "none: the notebook has no parameters cell"
            raise NotebookError(
                f"parameter '{raw_name}' is not in the notebook's parameters cell "
                f"(its parameters: {known})"
            )
        out[name] = _convert(name, value, declared[name])
    return out


def parse_assignments(pairs: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """`key=value` strings (the CLI's `-p`) to a dict of strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise NotebookError(f"-p {pair!r}: expected key=value")
        out[key.strip()] = value
    return out


def _convert(name: str, value: Any, default: Any) -> Any:
    """`value` in the type of `default` (a string from the CLI becomes an int, a bool ...)."""
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    try:
        if isinstance(default, bool):
            low = value.strip().lower()
            if low not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError(value)
            return low in ("true", "1", "yes", "on")
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError:
        kind = {bool: "a boolean", int: "an integer", float: "a number"}[type(default)]
        raise NotebookError(
            f"parameter '{name}' takes {kind} (its default is {default!r}), not {value!r}"
        ) from None
    return value
