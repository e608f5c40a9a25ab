"""`velo deploy`: check a notebook and its settings, store the notebook, register the pipeline.

Shared by the CLI and the server's `POST velostream/api/deploy`; every bad input raises
`DeployError` with a message that names the thing that is wrong.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from croniter import croniter

from velostream_kernel.pipelines.parameters import (
    NotebookError,
    check_parameters,
    notebook_parameters,
    read_notebook,
)
from velostream_kernel.pipelines.registry import Pipeline, Registry, RegistryError

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


class DeployError(Exception):
    """Bad deploy input: the message says what and why."""


def check_name(name: str) -> str:
    """A pipeline name: lower-case letters, digits, `-` and `_`, starting with a letter (it
    names a folder, a Kubernetes object and a systemd unit)."""
    if not NAME_RE.match(name or ""):
        raise DeployError(
            f"pipeline name {name!r} is not allowed: use lower-case letters, digits, '-' and "
            "'_', starting with a letter (at most 63 characters)"
        )
    return name


def check_schedule(schedule: str) -> str:
    """A cron expression croniter accepts, else an error that shows the expected form."""
    expr = " ".join((schedule or "").split())
    try:
        croniter(expr)
    except Exception as exc:  # croniter raises several error types for a bad expression
        raise DeployError(
            f"schedule {schedule!r} does not parse as a cron expression ({exc}); expected "
            "'minute hour day-of-month month day-of-week', e.g. '*/15 * * * *' or '0 3 * * *'"
        ) from None
    return expr


def first_due(schedule: str, since: float) -> float:
    """The first fire time of `schedule` at or after the start of the minute of `since`
    (cron counts in whole minutes: a pipeline deployed at 12:30:40 with `30 12 * * *` is due
    at once)."""
    start = datetime.fromtimestamp(since, UTC).replace(second=0, microsecond=0)
    return croniter(schedule, start.timestamp() - 1).get_next(float)


def next_due(schedule: str, after: float) -> float:
    """The first fire time of `schedule` strictly after `after`."""
    return croniter(schedule, after).get_next(float)


def deploy(
    reg: Registry,
    notebook: str | Path,
    name: str,
    schedule: str | None = None,
    continuous: bool = False,
    parameters: dict[str, Any] | None = None,
    replace: bool = False,
    retries: int = 2,
    retry_delay: float = 30.0,
    register: bool = True,
    metrics_port: int | None = None,
) -> Pipeline:
    """Register `notebook` as the pipeline `name` (a new version when `replace`); with
    `register=False`, check everything and return the pipeline without registering it."""
    check_name(name)
    if schedule and continuous:
        raise DeployError("give either a schedule or --continuous, not both")
    if schedule is not None and not str(schedule).strip():
        raise DeployError("the schedule is empty: give a cron expression such as '0 * * * *'")
    expr = check_schedule(schedule) if schedule else None
    if metrics_port is not None and not 0 < metrics_port < 65536:
        raise DeployError(f"metrics port must be 1-65535, not {metrics_port}")
    if retries < 0:
        raise DeployError(f"retries must be 0 or more, not {retries}")
    path = Path(notebook)
    if not path.is_absolute():
        path = reg.project / path
    try:
        nb = read_notebook(path)
        declared = notebook_parameters(nb, str(notebook))
        values = check_parameters(parameters or {}, declared)
    except NotebookError as exc:
        raise DeployError(str(exc)) from None
    digest = reg.store_notebook(path.read_bytes())
    workdir = path.parent.resolve()
    try:
        workdir_s = str(workdir.relative_to(reg.project))
    except ValueError:
        workdir_s = str(workdir)
    try:
        source = str(path.resolve().relative_to(reg.project))
    except ValueError:
        source = str(path.resolve())
    now = time.time()
    kind = "continuous" if continuous else "scheduled" if expr else "manual"
    p = Pipeline(
        name=name,
        source=source,
        notebook_hash=digest,
        workdir=workdir_s,
        kind=kind,
        schedule=expr,
        parameters=values,
        status="active",
        retries=retries,
        retry_delay=retry_delay,
        next_due=first_due(expr, now) if expr else None,
        created_at=now,
        updated_at=now,
        metrics_port=metrics_port,
    )
    if not register:
        return p
    try:
        return reg.add(p, replace=replace)
    except RegistryError as exc:
        raise DeployError(str(exc)) from None
