"""The notebook a run executes: the deployed notebook plus a `velo-deploy` cell of settings, and,
for a continuous pipeline, checkpointed state for every job.

The `velo-deploy` cell goes right after the parameters cell, so papermill's injected parameters
come before it and it has the last word on the run mode:

    -- velo deploy: pipeline 'clicks', run 7 (continuous)
    SET velo.mode = 'live';
    SET velo_pipeline = 'clicks';
    SET velo_run_dir = '/proj/.velo/pipelines/clicks/runs/000007';
    SET velo_state_dir = '/proj/.velo/pipelines/clicks/state';

A scheduled run is bounded (`velo.mode = 'bounded'`: every cell waits for its jobs, which run
to the end of their input); a continuous run is live. `:velo_run_dir`, `:velo_state_dir` and
`:velo_pipeline` can be used in the notebook's SQL.

Continuous runs resume: every `CREATE STREAM|TABLE` whose WITH clause has no `'state.store'` of
its own gets `'state.store' = 'sqlite', 'state.path' = '<state dir>/<job>.db'` (one state file
per job, in the pipeline's state folder that outlives its runs), so a restarted run restores its
operators and skips the source records its last checkpoint covers. The executed notebook shows
the statements as they ran.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from sqlglot.tokens import TokenType

from velostream.errors import SqlError
from velostream_kernel.pipelines.parameters import parameters_cell
from velostream_kernel.statements import split_cell, sql_literal, tokenize

DEPLOY_TAG = "velo-deploy"


def prepare_notebook(
    nb: nbformat.NotebookNode,
    *,
    pipeline: str,
    run_id: int,
    kind: str,
    run_dir: str,
    state_dir: str,
    timeout: float | None = None,
) -> nbformat.NotebookNode:
    """A copy of `nb` ready to run: the settings cell added, state added to continuous jobs."""
    nb = nbformat.from_dict(nb)  # a deep copy
    continuous = kind == "continuous"
    lines = [
        f"-- velo deploy: pipeline '{pipeline}', run {run_id} ({kind})",
        f"SET velo.mode = '{'live' if continuous else 'bounded'}';",
    ]
    if not continuous and timeout:
        # a bounded query stops after velo.bounded.timeout (60 s by default): use the run's own
        lines.append(f"SET velo.bounded.timeout = {float(timeout)};")
    lines += [
        f"SET velo_pipeline = {sql_literal(pipeline)};",
        f"SET velo_run_dir = {sql_literal(run_dir)};",
        f"SET velo_state_dir = {sql_literal(state_dir)};",
    ]
    cell = nbformat.v4.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = [DEPLOY_TAG]
    found = parameters_cell(nb)
    at = found[0] + 1 if found else 0
    nb.cells.insert(at, cell)
    if continuous:
        for c in nb.cells:
            if c.cell_type == "code" and DEPLOY_TAG not in c.metadata.get("tags", []):
                c.source = add_state(c.source, state_dir)
    nb.metadata.setdefault("kernelspec", {"name": "velostream", "display_name": "Velostream SQL"})
    nb.metadata.setdefault("language_info", {"name": "velosql"})
    return nb


def add_state(source: str, state_dir: str) -> str:
    """`source` with sqlite state added to each CREATE STREAM|TABLE that has none.

    Works on the dialect's tokens: strings, comments and other statements are left as they are.
    A cell that does not tokenize is returned unchanged (the kernel will report its error)."""
    try:
        chunks = split_cell(source)
    except SqlError:
        return source
    edits: list[tuple[int, str]] = []
    for chunk in chunks:
        if chunk.kind != "sql":
            continue
        edit = _state_edit(chunk.text, state_dir)
        if edit is not None:
            edits.append(edit)
    for pos, text in sorted(edits, reverse=True):
        source = source[:pos] + text + source[pos:]
    return source


def _state_edit(text: str, state_dir: str) -> tuple[int, str] | None:
    """Where to insert the state keys into one statement (positions are the cell's)."""
    try:
        toks = tokenize(text)
    except SqlError:
        return None
    words = [t.text.upper() for t in toks[:6]]
    if not words or words[0] != "CREATE":
        return None
    i = 1
    if words[1:3] == ["OR", "REPLACE"]:
        i = 3
    if len(words) <= i + 1 or words[i] not in ("STREAM", "TABLE"):
        return None
    job = toks[i + 1].text.strip('"`').lower()
    path = str(Path(state_dir) / f"{job}.db")
    pairs = f"'state.store' = 'sqlite', 'state.path' = {sql_literal(path)}"
    depth = 0
    with_paren = None
    for k, t in enumerate(toks):
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            depth -= 1
        elif (
            depth == 0
            and t.token_type == TokenType.WITH
            and k + 1 < len(toks)
            and toks[k + 1].token_type == TokenType.L_PAREN
        ):
            with_paren = k + 1
    if with_paren is None:
        return toks[-1].end + 1, f"\nWITH ({pairs})"
    close = _matching_paren(toks, with_paren)
    inside = toks[with_paren + 1 : close]
    for t in inside:
        if t.token_type == TokenType.STRING and t.text.strip().lower() == "state.store":
            return None  # the notebook chose its own state store
    sep = ", " if inside else ""
    return toks[with_paren].end + 1, pairs + sep


def _matching_paren(toks: list, open_at: int) -> int:
    depth = 0
    for k in range(open_at, len(toks)):
        if toks[k].token_type == TokenType.L_PAREN:
            depth += 1
        elif toks[k].token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return k
    return len(toks)
