"""One run of a deployed pipeline: prepare its notebook, execute it with papermill, record how
it ended.

The scheduler starts each run as its own process (`python -m velostream_kernel.pipelines.runner
--project DIR --run-id N`, in a new session so a timeout can stop all of it);
`velo pipelines run NAME` runs one in the foreground (what the Kubernetes, systemd and Airflow
artifacts call). The run folder gets `input.ipynb` (what ran), `output.ipynb` (the executed
notebook, saved as cells finish and every few seconds while a continuous run's jobs run),
`run.log` (papermill's log and the cells' output) and `kernel.pid`.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click
import nbformat

from velostream_kernel.pipelines.registry import Pipeline, Registry, Run

log = logging.getLogger("velostream.pipelines")

DEFAULT_TIMEOUT = 3600.0


def describe_failure(exc: BaseException) -> tuple[str, str]:
    """(status, message) for an exception that ended a run; a failed cell is named with its
    execution count, its first line and its error."""
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        first = next((ln for ln in exc.source.splitlines() if ln.strip()), "").strip()
        if len(first) > 100:
            first = first[:97] + "..."
        where = f"In [{exc.exec_count}]" if exc.exec_count else f"cell {exc.cell_index + 1}"
        evalue = " ".join(str(exc.evalue).split()) if exc.ename != "SqlError" else exc.evalue
        return "failed", f"{where} `{first}` failed: {exc.ename}: {evalue}"
    if isinstance(exc, DeadKernelError):
        return "crashed", f"the kernel died (killed, or out of memory): {exc}"
    if isinstance(exc, KeyboardInterrupt):
        return "stopped", "stopped while its cells ran"
    return "failed", f"{type(exc).__name__}: {exc}"


def execute_run(
    reg: Registry, p: Pipeline, run: Run, timeout: float | None = DEFAULT_TIMEOUT
) -> tuple[str, str | None]:
    """Execute one run; returns (status, error) and records them in the registry."""
    import papermill as pm

    from velostream_kernel.pipelines import papermill_ext
    from velostream_kernel.pipelines.prepare import prepare_notebook

    run_dir = Path(run.run_dir)
    state_dir = reg.state_dir(p.name)
    state_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(reg.notebook_path(run.notebook_hash), as_version=4)
    prepared = prepare_notebook(
        nb,
        pipeline=p.name,
        run_id=run.id,
        kind=p.kind,
        run_dir=str(run_dir),
        state_dir=str(state_dir),
        timeout=timeout,
    )
    input_path = run_dir / "input.ipynb"
    nbformat.write(prepared, input_path)
    workdir = Path(p.workdir)
    if not workdir.is_absolute():
        workdir = reg.project / workdir
    continuous = p.kind == "continuous"

    def on_term(signum: int, frame: Any) -> None:
        # a continuous run's follow loop stops its jobs (final checkpoints); cells still
        # executing are interrupted
        if not papermill_ext.request_stop():
            raise KeyboardInterrupt

    if p.metrics_port:  # the kernel inherits it and serves /metrics there
        os.environ["VELO_METRICS_PORT"] = str(p.metrics_port)
    previous = signal.signal(signal.SIGTERM, on_term)
    log.info("run %s of pipeline %s (%s) in %s", run.id, p.name, p.kind, workdir)
    status, error = "succeeded", None
    try:
        out = pm.execute_notebook(
            str(input_path),
            run.output_path,
            parameters=dict(p.parameters),
            engine_name="velostream",
            kernel_name="velostream",
            cwd=str(workdir),
            progress_bar=False,
            log_output=True,
            start_timeout=120,
            follow_jobs=continuous,
            kernel_pid_file=str(run_dir / "kernel.pid"),
        )
        if out.metadata.get("papermill", {}).get("velo_stopped"):
            status = "stopped"
    except BaseException as exc:  # every way a run ends goes to its history row
        status, error = describe_failure(exc)
        log.error("run %s %s: %s", run.id, status, error)
    finally:
        signal.signal(signal.SIGTERM, previous)
    reg.end_run(run.id, status, error)
    log.info("run %s %s", run.id, status)
    return status, error


def _log_to(run_dir: Path, echo: bool) -> None:
    handlers: list[logging.Handler] = [logging.FileHandler(run_dir / "run.log")]
    if echo:
        handlers.append(logging.StreamHandler(sys.stderr))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for h in handlers:
        h.setFormatter(fmt)
    for name in ("papermill", "velostream.pipelines"):
        lg = logging.getLogger(name)
        lg.setLevel(logging.INFO)
        for h in handlers:
            lg.addHandler(h)


def run_pipeline(
    reg: Registry,
    name: str,
    run_id: int | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    echo: bool = False,
    trigger: str = "manual",
) -> Run:
    """Run a pipeline once in this process (a new history row unless `run_id` names one)."""
    p = reg.get(name)
    run = reg.run(run_id) if run_id is not None else reg.start_run(p, 1, trigger)
    _log_to(Path(run.run_dir), echo)
    execute_run(reg, p, run, timeout)
    return reg.run(run.id)


@click.command()
@click.option("--project", required=True, type=click.Path(file_okay=False))
@click.option("--run-id", required=True, type=int)
@click.option("--timeout", type=float, default=DEFAULT_TIMEOUT)
def main(project: str, run_id: int, timeout: float) -> None:
    """Execute a run the scheduler recorded (its process; not a user command)."""
    reg = Registry(project)
    run = reg.run(run_id)
    r = run_pipeline(reg, run.pipeline, run_id=run_id, timeout=timeout)
    sys.exit(0 if r.status in ("succeeded", "stopped") else 1)


if __name__ == "__main__":
    main()
