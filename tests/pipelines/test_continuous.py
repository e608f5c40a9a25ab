"""A continuous pipeline under `velo scheduler`: its kernel is killed with SIGKILL mid-stream,
the scheduler restarts it, and it resumes from its checkpoint and source offset, so the final
state counts every input record exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import nbformat
from click.testing import CliRunner
from pipeline_helpers import VELO, make_notebook, read_jsonl, write_jsonl

from velostream.cli import main
from velostream_kernel.pipelines.registry import Registry

FIRST, TOTAL = 300, 1800


def rows(start: int, stop: int) -> list[dict]:
    return [{"k": f"k{i % 4}", "v": i} for i in range(start, stop)]


def final_state(path: Path) -> dict[str, dict]:
    """The table as the sink's changelog leaves it: the last row per key."""
    last = {}
    for r in read_jsonl(path):
        last[r["k"]] = r
    return last


def wait_for(what, timeout: float, message: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(message)


def test_killed_mid_stream_and_restarted_counts_every_record_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "in.jsonl"
    out = tmp_path / "out.jsonl"
    write_jsonl(source, rows(0, FIRST))
    make_notebook(
        tmp_path / "counts.ipynb",
        "SET source = 'none.jsonl';",
        "CREATE TABLE counts AS\n"
        "SELECT k, COUNT(*) AS n, SUM(v) AS total FROM src GROUP BY k EMIT CHANGES\n"
        "WITH ('src.type' = 'file_source', 'src.path' = :source, 'src.watch' = 'true',\n"
        "      'src.polling.interval' = '50ms', 'checkpoint.interval' = '100ms',\n"
        "      'counts.type' = 'file_sink', 'counts.path' = 'out.jsonl');",
    )
    result = CliRunner().invoke(
        main,
        ["deploy", "counts.ipynb", "--name", "counts", "--continuous", "-p", "source=in.jsonl",
         "--project", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    reg = Registry(tmp_path)
    log = (tmp_path / "scheduler.log").open("wb")
    sched = subprocess.Popen(
        [str(VELO), "scheduler", "--restart-delay", "0.5", "--project", str(tmp_path)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    writer = None
    try:
        counted = lambda: sum(r["n"] for r in final_state(out).values())  # noqa: E731
        wait_for(lambda: counted() >= FIRST, 90, "the pipeline never processed its input")

        def write_more() -> None:  # records keep arriving, before, during and after the kill
            for start in range(FIRST, TOTAL, 100):
                write_jsonl(source, rows(start, start + 100), mode="a")
                time.sleep(0.15)

        writer = threading.Thread(target=write_more)
        writer.start()
        first = reg.runs("counts")[-1]
        wait_for(lambda: counted() > FIRST, 30, "the new records were not processed")
        kernel_pid = int((Path(first.run_dir) / "kernel.pid").read_text())
        os.kill(kernel_pid, signal.SIGKILL)
        at_kill = counted()
        assert FIRST < at_kill < TOTAL  # mid-stream
        writer.join()

        wait_for(lambda: len(reg.runs("counts")) == 2, 30, "the pipeline was not restarted")
        wait_for(lambda: counted() >= TOTAL, 90, "the restarted pipeline did not catch up")
        stopped = CliRunner().invoke(
            main, ["pipelines", "stop", "counts", "--project", str(tmp_path)]
        )
        assert stopped.exit_code == 0, stopped.output
        wait_for(lambda: reg.runs("counts")[0].status != "running", 30, "the run did not stop")
    finally:
        if writer is not None:
            writer.join()
        sched.send_signal(signal.SIGTERM)
        try:
            sched.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(sched.pid, signal.SIGKILL)
        log.close()

    # every record exactly once in the state: per key, the count and the sum of the input
    expected: dict[str, dict] = defaultdict(lambda: {"n": 0, "total": 0})
    for r in read_jsonl(source):
        expected[r["k"]]["n"] += 1
        expected[r["k"]]["total"] += r["v"]
    assert len(read_jsonl(source)) == TOTAL
    assert final_state(out) == {k: {"k": k, **v} for k, v in expected.items()}
    # nothing lost on the way either: each key's changelog has every count from 1 to its last
    seen = defaultdict(set)
    for r in read_jsonl(out):
        seen[r["k"]].add(r["n"])
    assert {k: sorted(v) for k, v in seen.items()} == {
        k: list(range(1, v["n"] + 1)) for k, v in expected.items()
    }

    second, first = reg.runs("counts")
    assert (first.status, first.trigger, first.attempt) == ("crashed", "start", 1)
    assert "the kernel died" in first.error
    assert (second.status, second.trigger, second.attempt) == ("stopped", "restart", 2)
    assert (reg.state_dir("counts") / "counts.db").exists()
    for run in (first, second):
        nb = nbformat.read(run.output_path, as_version=4)
        create = next(c for c in nb.cells if c.source.startswith("CREATE TABLE counts"))
        assert f"'state.path' = '{reg.state_dir('counts') / 'counts.db'}'" in create.source
        assert any("velostream" in o.get("metadata", {}) for o in create.outputs)
    final = [
        o["metadata"]["velostream"]
        for o in nbformat.read(second.output_path, as_version=4).cells[-1].outputs
        if "velostream" in o.get("metadata", {})
    ][-1]
    assert final["state"] == "stopped"
    # the restarted run read only what its checkpoint did not cover
    assert 0 < final["records_in"] < TOTAL
    assert reg.get("counts").status == "stopped"


def test_a_failed_job_is_the_error_of_its_cell(tmp_path, monkeypatch):
    """A continuous run whose job fails (a malformed record with 'on.error' = 'fail'): the run
    fails, naming the cell that started the job and the job's error (`velo pipelines run`)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.jsonl").write_text('{"k": 1}\n{not json\n')
    make_notebook(
        tmp_path / "broken.ipynb",
        None,
        "CREATE STREAM strict AS SELECT k FROM src\n"
        "WITH ('src.type' = 'file_source', 'src.path' = 'bad.jsonl', 'src.watch' = 'true',\n"
        "      'src.on.error' = 'fail', 'strict.type' = 'file_sink', 'strict.path' = 's.jsonl');",
    )
    result = CliRunner().invoke(
        main, ["deploy", "broken.ipynb", "--name", "broken", "--continuous", "--project",
               str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    done = subprocess.run(
        [str(VELO), "pipelines", "run", "broken", "--project", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    (run,) = Registry(tmp_path).runs("broken")
    assert (run.status, run.trigger) == ("failed", "manual")
    assert run.error == (
        "In [2] `CREATE STREAM strict AS SELECT k FROM src` failed: JobFailed: job 'strict' "
        "failed: bad.jsonl:2: not JSON: unexpected character, expected a string key: line 1 "
        "column 2 (char 1)"
    )
    assert f"run {run.id} failed: {run.output_path}" in done.stdout
    executed = nbformat.read(run.output_path, as_version=4)
    (error,) = [o for c in executed.cells for o in c.get("outputs", [])
                if o["output_type"] == "error"]  # fmt: skip
    assert error["ename"] == "JobFailed"
