"""The `velo deploy`, `velo pipelines ...` and `velo scheduler` commands (click + rich)."""

from __future__ import annotations

import signal
import sys
import time
from collections import deque
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from velostream_kernel.pipelines.deploy import DeployError, deploy, first_due
from velostream_kernel.pipelines.parameters import NotebookError, parse_assignments
from velostream_kernel.pipelines.registry import Pipeline, Registry, RegistryError, Run

_project = click.option(
    "--project",
    type=click.Path(file_okay=False),
    default=None,
    help="Project folder holding .velo/ (default: $VELO_PROJECT, else the current folder).",
)


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def _duration(run: Run) -> str:
    end = run.ended_at or time.time()
    return f"{end - run.started_at:.1f} s"


def _registry(project: str | None) -> Registry:
    return Registry(project)


def _console() -> Console:
    return Console(soft_wrap=False, width=max(Console().width, 120))


def _fail(msg: str) -> None:
    raise click.ClickException(msg)


# -- velo deploy ----------------------------------------------------------------------------


@click.command("deploy")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--name", required=True, help="The pipeline's name (a-z, 0-9, '-', '_').")
@click.option("--schedule", default=None, help='Cron expression, e.g. "*/15 * * * *" (UTC).')
@click.option("--continuous", is_flag=True, help="Run for ever; restarted when it dies.")
@click.option("-p", "--param", "params", multiple=True, help="key=value for the parameters cell.")
@click.option("--replace", is_flag=True, help="Redeploy an existing pipeline (a new version).")
@click.option("--retries", type=int, default=2, show_default=True, help="Retries of a failed run.")
@click.option("--retry-delay", type=float, default=30.0, show_default=True, help="Seconds.")
@click.option(
    "--emit",
    type=click.Choice(["k8s", "systemd", "airflow"]),
    default=None,
    help="Write artifacts to run the pipeline elsewhere instead of registering it here.",
)
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Folder for --emit.")
@click.option(
    "--metrics-port", type=int, default=None, help="The pipeline serves Prometheus /metrics here."
)
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
@_project
def deploy_cmd(
    notebook: str,
    name: str,
    schedule: str | None,
    continuous: bool,
    params: tuple[str, ...],
    replace: bool,
    retries: int,
    retry_delay: float,
    emit: str | None,
    out: str | None,
    metrics_port: int | None,
    quiet: bool,
    project: str | None,
) -> None:
    """Deploy NOTEBOOK as the pipeline NAME: scheduled, continuous, or run by hand."""
    reg = _registry(project)
    try:
        values = parse_assignments(params)
        nb_path = Path(notebook).resolve()
        p = deploy(
            reg,
            nb_path,
            name,
            schedule=schedule,
            continuous=continuous,
            parameters=values,
            replace=replace,
            retries=retries,
            retry_delay=retry_delay,
            register=emit is None,
            metrics_port=metrics_port,
        )
        if emit is not None:
            from velostream_kernel.pipelines.emit import emit as write_artifacts

            folder = Path(out or Path("velo-emit") / name / emit)
            paths = write_artifacts(reg, p, emit, folder)
    except (DeployError, NotebookError) as exc:
        _fail(str(exc))
        return
    if quiet:
        return
    con = _console()
    if emit is not None:
        con.print(f"wrote {emit} artifacts for pipeline [bold]{name}[/bold]:")
        for path in paths:
            con.print(f"  {path}")
        return
    how = {
        "scheduled": f"scheduled '{p.schedule}' (UTC), next run {_when(p.next_due)}",
        "continuous": "continuous: started and kept running by `velo scheduler`",
        "manual": "run it with `velo pipelines run " + name + "`",
    }[p.kind]
    con.print(
        f"deployed pipeline [bold]{name}[/bold] version {p.version} "
        f"(notebook {p.notebook_hash}): {how}"
    )
    if p.parameters:
        con.print("parameters: " + ", ".join(f"{k}={v!r}" for k, v in p.parameters.items()))


# -- velo pipelines -------------------------------------------------------------------------


@click.group("pipelines")
def pipelines_cmd() -> None:
    """List, inspect, stop and remove deployed pipelines."""


def _last_run_text(reg: Registry, name: str) -> str:
    run = reg.last_run(name)
    if run is None:
        return "-"
    return f"#{run.id} {run.status} {_when(run.started_at)}"


@pipelines_cmd.command("list")
@_project
def list_cmd(project: str | None) -> None:
    """Every pipeline with its last run."""
    reg = _registry(project)
    table = Table(title=f"pipelines in {reg.project}")
    for col in ("name", "kind", "schedule", "status", "version", "last run", "next run"):
        table.add_column(col)
    for p in reg.list():
        table.add_row(
            p.name,
            p.kind,
            p.schedule or "-",
            p.status,
            str(p.version),
            _last_run_text(reg, p.name),
            _when(p.next_due) if p.kind == "scheduled" and p.status == "active" else "-",
        )
    _console().print(table)


def _get(reg: Registry, name: str) -> Pipeline:
    try:
        return reg.get(name)
    except RegistryError as exc:
        _fail(str(exc))
        raise


@pipelines_cmd.command("show")
@click.argument("name")
@_project
def show_cmd(name: str, project: str | None) -> None:
    """A pipeline's settings and its last runs."""
    reg = _registry(project)
    p = _get(reg, name)
    table = Table(title=f"pipeline {name}", show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    rows = [
        ("kind", p.kind),
        ("status", p.status + (f" ({p.status_reason})" if p.status_reason else "")),
        ("schedule", p.schedule or "-"),
        ("next run", _when(p.next_due) if p.kind == "scheduled" else "-"),
        ("notebook", p.source),
        ("version", f"{p.version} (notebook {p.notebook_hash})"),
        ("stored copy", str(reg.notebook_path(p.notebook_hash))),
        ("runs in", p.workdir),
        ("parameters", ", ".join(f"{k}={v!r}" for k, v in p.parameters.items()) or "-"),
        ("retries", f"{p.retries} (first after {p.retry_delay:g} s, doubling)"),
        ("metrics", f"http://<host>:{p.metrics_port}/metrics" if p.metrics_port else "-"),
        ("state", str(reg.state_dir(name))),
        ("deployed", _when(p.created_at)),
        ("last run", _last_run_text(reg, name)),
    ]
    for k, v in rows:
        table.add_row(k, v)
    _console().print(table)


@pipelines_cmd.command("history")
@click.argument("name")
@click.option("-n", "--limit", type=int, default=20, show_default=True)
@_project
def history_cmd(name: str, limit: int, project: str | None) -> None:
    """A pipeline's runs, newest first: times, status, executed notebook, error."""
    reg = _registry(project)
    _get(reg, name)
    table = Table(title=f"runs of {name}")
    for col in ("run", "attempt", "trigger", "started", "took", "status", "notebook", "error"):
        table.add_column(col, overflow="fold")
    for r in reg.runs(name, limit=limit):
        table.add_row(
            str(r.id),
            str(r.attempt),
            r.trigger,
            _when(r.started_at),
            _duration(r),
            r.status,
            r.output_path,
            r.error or "",
        )
    _console().print(table)


@pipelines_cmd.command("logs")
@click.argument("name")
@click.option("--run", "run_id", type=int, default=None, help="A run id (default: the last).")
@click.option("-n", "--lines", type=int, default=200, show_default=True)
@_project
def logs_cmd(name: str, run_id: int | None, lines: int, project: str | None) -> None:
    """The log of a pipeline's last run (papermill and the cells' output)."""
    reg = _registry(project)
    _get(reg, name)
    run = reg.run(run_id) if run_id is not None else reg.last_run(name)
    if run is None or run.pipeline != name:
        _fail(f"pipeline '{name}' has no run" + (f" {run_id}" if run_id else " yet"))
        return
    path = Path(run.run_dir) / "run.log"
    if not path.exists():
        _fail(f"run {run.id} has no log ({path})")
    with path.open(errors="replace") as f:
        tail = deque(f, maxlen=lines)
    click.echo(f"==> run {run.id} ({run.status}): {path}")
    click.echo("".join(tail), nl=False)


@pipelines_cmd.command("stop")
@click.argument("name")
@_project
def stop_cmd(name: str, project: str | None) -> None:
    """Stop a pipeline: no more runs; a running one stops its jobs (they checkpoint)."""
    from velostream_kernel.pipelines.scheduler import signal_run

    reg = _registry(project)
    _get(reg, name)
    reg.update(name, status="stopped", status_reason="stopped by velo pipelines stop")
    run = reg.last_run(name)
    sent = run is not None and run.status == "running" and signal_run(run)
    click.echo(f"stopped pipeline {name}" + (f" (run {run.id} is stopping)" if sent else ""))


@pipelines_cmd.command("start")
@click.argument("name")
@_project
def start_cmd(name: str, project: str | None) -> None:
    """Start a stopped (or crash-looping) pipeline again."""
    reg = _registry(project)
    p = _get(reg, name)
    changes: dict = {"status": "active", "status_reason": None}
    if p.kind == "scheduled" and p.schedule:
        changes["next_due"] = first_due(p.schedule, time.time())
    reg.update(name, **changes)
    click.echo(f"started pipeline {name}")


@pipelines_cmd.command("remove")
@click.argument("name")
@_project
def remove_cmd(name: str, project: str | None) -> None:
    """Remove a pipeline with its runs and state (a running run is stopped first)."""
    from velostream_kernel.pipelines.scheduler import signal_run

    reg = _registry(project)
    _get(reg, name)
    reg.update(name, status="stopped", status_reason="being removed")
    run = reg.last_run(name)
    if run is not None and run.status == "running" and signal_run(run):
        deadline = time.time() + 30
        while time.time() < deadline and reg.run(run.id).status == "running":
            time.sleep(0.2)
        if reg.run(run.id).status == "running":
            signal_run(run, signal.SIGKILL)
    reg.remove(name)
    click.echo(f"removed pipeline {name}")


@pipelines_cmd.command("run")
@click.argument("name")
@click.option("--timeout", type=float, default=3600.0, show_default=True, help="Seconds.")
@_project
def run_cmd(name: str, timeout: float, project: str | None) -> None:
    """Run a pipeline once, here and now (what the k8s/systemd artifacts call)."""
    import os

    from velostream_kernel.pipelines.runner import run_pipeline

    reg = _registry(project)
    p = _get(reg, name)
    run = reg.start_run(p, 1, "manual")
    reg.set_run_pid(run.id, os.getpid())
    r = run_pipeline(reg, name, run_id=run.id, timeout=timeout, echo=True)
    click.echo(f"run {r.id} {r.status}: {r.output_path}" + (f"\n{r.error}" if r.error else ""))
    sys.exit(0 if r.status in ("succeeded", "stopped") else 1)


# -- velo scheduler -------------------------------------------------------------------------


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run the scheduled pipelines due now, then exit.")
@click.option("--max-parallel", type=int, default=4, show_default=True, help="Runs at a time.")
@click.option("--timeout", type=float, default=3600.0, show_default=True, help="Seconds a run.")
@click.option(
    "--restart-delay",
    type=float,
    default=2.0,
    show_default=True,
    help="Seconds before a continuous pipeline's first restart (doubling, at most 300).",
)
@_project
def scheduler_cmd(
    once: bool, max_parallel: int, timeout: float, restart_delay: float, project: str | None
) -> None:
    """Run scheduled pipelines when due and keep continuous ones running."""
    import logging

    from velostream_kernel.pipelines.scheduler import Scheduler, SchedulerError

    if max_parallel < 1:
        _fail("--max-parallel must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    reg = _registry(project)
    sched = Scheduler(reg, max_parallel=max_parallel, timeout=timeout, restart_delay=restart_delay)
    try:
        sched.acquire()
    except SchedulerError as exc:
        _fail(str(exc))
    if once:
        try:
            runs = sched.run_once()
        finally:
            sched.shutdown()
        for r in runs:
            click.echo(f"{r.pipeline}: run {r.id} {r.status}" + (f": {r.error}" if r.error else ""))
        sys.exit(0 if all(r.status == "succeeded" for r in runs) else 1)
    stop = [False]

    def on_signal(signum: int, frame: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"velo scheduler: project {reg.project} (Ctrl-C stops it and its runs)")
    sched.run_forever(stop)
