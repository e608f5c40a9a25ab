"""`velo deploy --emit k8s|systemd|airflow`: files that run the same pipeline elsewhere.

All of them run the image built from `deploy/Dockerfile` (the studio plus the project folder at
`/project`) or, for systemd, the `velo` of this installation; the pipeline's registry and state
live in a persistent folder (`VELO_PROJECT`, a volume or `/var/lib/velo`), and each start
re-registers the notebook there (`velo deploy ... --replace`), then runs it with
`velo pipelines run`, which resumes a continuous pipeline from its checkpoints.

- k8s: a CronJob (scheduled), a Deployment (continuous) or a Job (manual), plus a
  PersistentVolumeClaim for the state.
- systemd: `velo-NAME.service`, plus `velo-NAME.timer` with the cron schedule as OnCalendar.
- airflow: a DAG with `PapermillOperator` (kernel_name `velostream`, language `velosql`) and the
  notebook beside it; scheduled pipelines only (Airflow runs tasks that end).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import yaml

from velostream_kernel.pipelines.deploy import DeployError
from velostream_kernel.pipelines.registry import Pipeline, Registry

IMAGE = "velostream-studio:latest"
TARGETS = ("k8s", "systemd", "airflow")
STATE_DIR = "/var/lib/velo"


def _param_args(params: dict[str, Any]) -> list[str]:
    out = []
    for k, v in params.items():
        text = json.dumps(v) if not isinstance(v, str) else v
        if isinstance(v, bool):
            text = "true" if v else "false"
        out += ["-p", f"{k}={text}"]
    return out


def start_command(p: Pipeline, notebook: str, project: str) -> str:
    """The shell command a container or unit runs: register the notebook, then run it."""
    deploy = ["velo", "deploy", notebook, "--name", p.name, "--replace", "--quiet"]
    if p.kind == "continuous":
        deploy.append("--continuous")
    deploy += _param_args(p.parameters)
    if p.metrics_port:
        deploy += ["--metrics-port", str(p.metrics_port)]
    deploy += ["--retries", str(p.retries), "--project", project]
    run = ["velo", "pipelines", "run", p.name, "--project", project]
    return f"{shlex.join(deploy)} && exec {shlex.join(run)}"


def emit(reg: Registry, p: Pipeline, target: str, out: Path, timeout: float = 3600) -> list[Path]:
    """Write the artifacts for `target` into `out`; the paths written."""
    if target not in TARGETS:
        raise DeployError(f"--emit takes one of {', '.join(TARGETS)}, not {target!r}")
    out.mkdir(parents=True, exist_ok=True)
    if target == "k8s":
        return _k8s(p, out, timeout)
    if target == "systemd":
        return _systemd(reg, p, out, timeout)
    return _airflow(reg, p, out, timeout)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- Kubernetes -----------------------------------------------------------------------------


def _in_image(source: str) -> str:
    """The notebook's path in the image, whose /project is the project folder (a notebook
    deployed from outside the project is expected at the top of it)."""
    path = Path(source)
    return f"/project/{path.name if path.is_absolute() else path.as_posix()}"


def _k8s(p: Pipeline, out: Path, timeout: float) -> list[Path]:
    labels = {"app.kubernetes.io/name": "velostream", "velostream/pipeline": p.name}
    claim = f"velo-{p.name}-state"
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": claim, "labels": labels},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    container = {
        "name": "pipeline",
        "image": IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "workingDir": "/project",
        "command": ["sh", "-c", start_command(p, _in_image(p.source), "/data")],
        "env": [
            {"name": "VELO_PROJECT", "value": "/data"},
            {"name": "VELO_METRICS_ADDR", "value": "0.0.0.0"},
        ],
        "volumeMounts": [{"name": "state", "mountPath": "/data"}],
    }
    pod_meta: dict[str, Any] = {"labels": labels}
    if p.metrics_port:  # Prometheus' kubernetes_sd finds the pod by these annotations
        container["ports"] = [{"name": "metrics", "containerPort": p.metrics_port}]
        pod_meta["annotations"] = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(p.metrics_port),
            "prometheus.io/path": "/metrics",
        }
    volumes = [{"name": "state", "persistentVolumeClaim": {"claimName": claim}}]
    meta = {"name": f"velo-{p.name}", "labels": labels}
    pod = {"containers": [container], "volumes": volumes}
    if p.kind == "continuous":
        # one replica at a time: two runs must never share a state file
        kind, name = "deployment", "Deployment"
        doc = {
            "apiVersion": "apps/v1",
            "kind": name,
            "metadata": meta,
            "spec": {
                "replicas": 1,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": pod_meta,
                    "spec": {**pod, "terminationGracePeriodSeconds": 30},
                },
            },
        }
    else:
        job_spec = {
            "backoffLimit": p.retries,
            "activeDeadlineSeconds": int(timeout),
            "template": {"metadata": pod_meta, "spec": {**pod, "restartPolicy": "Never"}},
        }
        if p.kind == "scheduled":
            kind = "cronjob"
            doc = {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": meta,
                "spec": {
                    "schedule": p.schedule,
                    "timeZone": "Etc/UTC",
                    "concurrencyPolicy": "Forbid",  # as the scheduler: skip, never overlap
                    "jobTemplate": {"spec": job_spec},
                },
            }
        else:
            kind = "job"
            doc = {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": job_spec}
    return [
        _write(out / f"{p.name}-pvc.yaml", yaml.safe_dump(pvc, sort_keys=False)),
        _write(out / f"{p.name}-{kind}.yaml", yaml.safe_dump(doc, sort_keys=False)),
    ]


# -- systemd --------------------------------------------------------------------------------


def cron_to_oncalendar(expr: str) -> str:
    """A 5-field cron expression as a systemd OnCalendar value (lists, ranges and steps)."""
    aliases = {
        "@hourly": "0 * * * *",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@weekly": "0 0 * * 0",
        "@monthly": "0 0 1 * *",
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
    }
    fields = aliases.get(expr.strip(), expr).split()
    if len(fields) != 5:
        raise DeployError(
            f"schedule {expr!r}: systemd timers take 5-field cron expressions only here"
        )
    minute, hour, dom, month, dow = fields
    days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    def part(f: str, width: int = 0, first: int = 0) -> str:
        if f == "*":
            return "*"
        out = []
        for item in f.split(","):
            base, _, step = item.partition("/")
            if base == "*":
                base = str(first)  # */n counts from the field's first value
            base = "..".join(n.zfill(width) if n.isdigit() else n for n in base.split("-"))
            out.append(f"{base}/{step}" if step else base)
        return ",".join(out)

    def weekday(f: str) -> str:
        if f == "*":
            return ""
        names = []
        for item in f.split(","):
            if "/" in item:
                raise DeployError(f"schedule {expr!r}: a weekday step has no systemd form")
            a, _, b = item.partition("-")
            if not a.isdigit() or (b and not b.isdigit()):
                raise DeployError(f"schedule {expr!r}: weekdays as numbers 0-7 here")
            names.append(f"{days[int(a)]}..{days[int(b)]}" if b else days[int(a)])
        return ",".join(names) + " "

    return f"{weekday(dow)}*-{part(month, 2, 1)}-{part(dom, 2, 1)} {part(hour, 2)}:{part(minute, 2)}:00"


def _systemd(reg: Registry, p: Pipeline, out: Path, timeout: float) -> list[Path]:
    notebook = str((reg.project / p.source).resolve())
    project = f"{STATE_DIR}/{p.name}"
    cmd = start_command(p, notebook, project)
    continuous = p.kind == "continuous"
    service = [
        "[Unit]",
        f"Description=Velostream pipeline {p.name} ({p.kind})",
        "After=network-online.target",
        "Wants=network-online.target",
        "",
        "[Service]",
        f"Type={'simple' if continuous else 'oneshot'}",
        f"WorkingDirectory={(reg.project / p.workdir).resolve()}",
        f"Environment=VELO_PROJECT={project}",
        f"StateDirectory=velo/{p.name}",
        f"ExecStart=/bin/sh -c {shlex.quote(cmd)}",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=30",
    ]
    if continuous:
        service += ["Restart=on-failure", "RestartSec=5", "StartLimitIntervalSec=300"]
    else:
        service.append(f"TimeoutStartSec={int(timeout)}")
    if continuous:
        service += ["", "[Install]", "WantedBy=multi-user.target"]
    paths = [_write(out / f"velo-{p.name}.service", "\n".join(service) + "\n")]
    if p.kind == "scheduled":
        timer = [
            "[Unit]",
            f"Description=Schedule of Velostream pipeline {p.name} ({p.schedule})",
            "",
            "[Timer]",
            f"OnCalendar={cron_to_oncalendar(p.schedule or '')} UTC",
            f"Unit=velo-{p.name}.service",
            "Persistent=true",
            "",
            "[Install]",
            "WantedBy=timers.target",
        ]
        paths.append(_write(out / f"velo-{p.name}.timer", "\n".join(timer) + "\n"))
    return paths


# -- Airflow --------------------------------------------------------------------------------

_DAG = '''"""Velostream pipeline {name}: the notebook run by papermill on its schedule.

Written by `velo deploy --emit airflow`. The worker needs velostream-studio installed (it ships
the `velostream` kernel and papermill's SQL parameter translator).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow import DAG
from airflow.providers.papermill.operators.papermill import PapermillOperator

HERE = Path(__file__).resolve().parent
PARAMETERS = {parameters}

with DAG(
    dag_id={dag_id!r},
    schedule={schedule!r},
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={{"retries": {retries}, "retry_delay": timedelta(seconds={retry_delay})}},
    tags=["velostream"],
) as dag:
    PapermillOperator(
        task_id="run_notebook",
        input_nb=str(HERE / {notebook!r}),
        output_nb=str(HERE / "runs" / ({name!r} + "-{{{{ ts_nodash }}}}.ipynb")),
        parameters=PARAMETERS,
        kernel_name="velostream",
        language_name="velosql",
        execution_timeout=timedelta(seconds={timeout}),
    )
'''


def _airflow(reg: Registry, p: Pipeline, out: Path, timeout: float) -> list[Path]:
    if p.kind != "scheduled":
        raise DeployError(
            "--emit airflow needs a --schedule: Airflow runs tasks that end; run a continuous "
            "pipeline with --emit k8s or --emit systemd"
        )
    nb_name = f"{p.name}.ipynb"
    nb_path = out / nb_name
    nb_path.write_bytes(reg.notebook_path(p.notebook_hash).read_bytes())
    # bounded: every cell waits for its jobs, which end with their input
    params = {**p.parameters, "velo_mode": "bounded"}
    dag = _DAG.format(
        name=p.name,
        dag_id=f"velo_{p.name.replace('-', '_')}",
        schedule=p.schedule,
        parameters=repr(params),
        retries=p.retries,
        retry_delay=int(p.retry_delay),
        notebook=nb_name,
        timeout=int(timeout),
    )
    return [nb_path, _write(out / f"velo_{p.name.replace('-', '_')}_dag.py", dag)]
