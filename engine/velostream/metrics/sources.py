"""The statements of a `.sql` file or a notebook (`.ipynb`, read as JSON: the Velostream
kernel's cells, or `%%velo` cells of a Python notebook), for tools that read annotations."""

from __future__ import annotations

import json
from pathlib import Path

from sqlglot.tokens import TokenType

from velostream.errors import SqlError
from velostream.sql.ast import Statement
from velostream.sql.parse import parse_script

_KERNEL_COMMANDS = ("SET", "STOP")  # cell-level commands of the kernel, not statements


def statements_of(path: str | Path) -> list[Statement]:
    """Every statement of a .sql file or a notebook, with its annotations."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    if p.suffix == ".ipynb":
        return notebook_statements(p.read_text(), str(p))
    return parse_script(p.read_text(), str(p)).statements


def notebook_cells(text: str, path: str) -> list[tuple[int, str]]:
    """(cell number from 1, SQL text) of each SQL cell, the `%%velo` line blanked."""
    try:
        nb = json.loads(text)
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError) as e:
        raise SqlError(f"not a notebook: {e}", path=path, kind="notebook") from None
    meta = nb.get("metadata") or {}
    lang = (meta.get("language_info") or {}).get("name", "")
    velo_kernel = (meta.get("kernelspec") or {}).get("name") == "velostream" or lang == "velosql"
    out: list[tuple[int, str]] = []
    for i, cell in enumerate(cells, 1):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else src
        if src.lstrip().startswith("%%velo"):
            _, _, rest = src.partition("\n")
            out.append((i, "\n" + rest))
        elif velo_kernel:
            out.append((i, src))
    return out


def notebook_statements(text: str, path: str) -> list[Statement]:
    """The statements of every SQL cell (SET and STOP JOB commands are skipped)."""
    out: list[Statement] = []
    for n, cell in notebook_cells(text, path):
        where = f"{path}[cell {n}]"
        try:
            out.extend(parse_script(cell, where).statements)
        except SqlError:
            out.extend(_chunks(cell, where))
    return out


def _chunks(cell: str, where: str) -> list[Statement]:
    """Parse a cell statement by statement, skipping the kernel's own commands."""
    from velostream.sql.dialect import Velostream

    tokens = Velostream().tokenizer().tokenize(cell)
    out: list[Statement] = []
    start = 0
    pieces: list[tuple[int, int, str]] = []
    first: str | None = None
    for tok in [*tokens, None]:
        if tok is None or tok.token_type == TokenType.SEMICOLON:
            end = len(cell) if tok is None else tok.end + 1
            if first is not None:
                pieces.append((start, end, first))
            start, first = end, None
        elif first is None:
            first = tok.text.upper()
    for s, e, head in pieces:
        if head in _KERNEL_COMMANDS:
            continue
        # blank what precedes the chunk but keep its lines, so positions match the cell
        text = "".join(c if c == "\n" else " " for c in cell[:s]) + cell[s:e]
        out.extend(parse_script(text, where).statements)
    return out
