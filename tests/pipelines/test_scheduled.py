"""A scheduled pipeline with a cron due now runs once under `velo scheduler --once` (real
papermill, real kernel); a notebook that fails is retried, and its history rows name the failed
cell and its error."""

from __future__ import annotations

import time

import nbformat
from click.testing import CliRunner
from pipeline_helpers import make_notebook, read_jsonl, velo, write_jsonl

from velostream.cli import main
from velostream_kernel.pipelines.registry import Registry

ROWS = [{"k": f"k{i % 3}", "v": i} for i in range(40)]


def cli(project, *args):
    """`velo ARGS` in this process (quicker than a new one for commands that run nothing)."""
    result = CliRunner().invoke(main, [*args, "--project", str(project)])
    return result.exit_code, result.output


def test_scheduled_and_failing_pipelines_run_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "in.jsonl", ROWS)
    make_notebook(
        tmp_path / "big.ipynb",
        "SET min_v = 0;",
        "CREATE STREAM big AS SELECT k, v, v * 2 AS twice FROM src WHERE v >= :min_v\n"
        "WITH ('src.type' = 'file_source', 'src.path' = 'in.jsonl',\n"
        "      'big.type' = 'file_sink', 'big.path' = 'out/big.jsonl');",
    )
    make_notebook(
        tmp_path / "broken.ipynb",
        None,
        "SHOW FUNCTIONS;",
        "SELECT k, nope(v) AS x FROM src\nWITH ('src.type' = 'file_source', 'src.path' = 'in.jsonl');",
    )
    code, out = cli(tmp_path, "deploy", "big.ipynb", "--name", "big", "--schedule", "* * * * *",
                    "-p", "min_v=25")  # fmt: skip
    assert code == 0, out
    code, out = cli(tmp_path, "deploy", "broken.ipynb", "--name", "broken", "--schedule",
                    "* * * * *", "--retries", "0")  # fmt: skip
    assert code == 0, out
    reg = Registry(tmp_path)
    due_before = reg.get("big").next_due
    assert due_before <= time.time()  # "* * * * *": the minute we are in

    done = velo(tmp_path, "scheduler", "--once", "--max-parallel", "2", "--timeout", "120",
                timeout=170)  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # one pipeline failed
    assert "big: run" in done.stdout and "succeeded" in done.stdout

    # the scheduled run: one history row, its executed notebook, its output
    (run,) = reg.runs("big")
    assert (run.status, run.attempt, run.trigger, run.error) == ("succeeded", 1, "schedule", None)
    assert run.started_at < run.ended_at and run.scheduled_for == due_before
    assert reg.get("big").next_due > due_before  # the next minute's fire time
    expected = [{"k": r["k"], "v": r["v"], "twice": 2 * r["v"]} for r in ROWS if r["v"] >= 25]
    assert read_jsonl(tmp_path / "out" / "big.jsonl") == expected
    nb = nbformat.read(run.output_path, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags[:3] == [["parameters"], ["injected-parameters"], ["velo-deploy"]]
    assert "SET min_v = 25;" in nb.cells[1].source
    assert "SET velo.mode = 'bounded';" in nb.cells[2].source
    status = [
        o["metadata"]["velostream"]
        for o in nb.cells[3].outputs
        if "velostream" in o.get("metadata", {})
    ][-1]
    assert (status["job"], status["state"]) == ("big", "finished")
    assert (status["records_in"], status["rows_out"]) == (len(ROWS), len(expected))

    # the failing notebook (no retries: those are in test_supervision): its history row
    # names the cell and its error, and its executed notebook shows it
    (r,) = reg.runs("broken")
    assert (r.attempt, r.trigger, r.status) == (1, "schedule", "failed")
    # In [3]: after the velo-deploy cell and SHOW FUNCTIONS
    assert r.error == (
        "In [3] `SELECT k, nope(v) AS x FROM src` failed: SqlError: unknown function NOPE"
    )
    executed = nbformat.read(r.output_path, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", [])
              if o["output_type"] == "error"]  # fmt: skip
    assert errors and errors[0]["ename"] == "SqlError"
    code, out = cli(tmp_path, "pipelines", "history", "broken")
    assert code == 0 and "failed" in out and "unknown function NOPE" in out
    code, out = cli(tmp_path, "pipelines", "logs", "big")
    assert code == 0 and f"run {run.id} succeeded" in out
