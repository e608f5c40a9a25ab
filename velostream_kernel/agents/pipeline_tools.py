"""Deployed pipelines as MCP tools: register SQL as a pipeline (when the server allows it), a
pipeline's current metrics, and a run's record. The registry is the project's `.velo/`."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

import nbformat
from prometheus_client.parser import text_string_to_metric_families

from velostream.engine import Engine
from velostream.sql.parse import parse_script
from velostream_kernel.agents.project import Project
from velostream_kernel.agents.tools import ToolError, paths_inside, referenced
from velostream_kernel.pipelines.deploy import DeployError, check_name, deploy
from velostream_kernel.pipelines.parameters import KERNEL_NAME
from velostream_kernel.pipelines.registry import Registry, RegistryError


def _registry(project: Project) -> Registry:
    return Registry(project.root)


def _notebook(name: str, sql: str) -> nbformat.NotebookNode:
    """A Velostream SQL notebook that runs `sql` (what `velo deploy` takes)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": "Velostream SQL",
        "language": "velosql",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {name}\n\nDeployed by an agent through `velo mcp`."),
        nbformat.v4.new_code_cell(sql.strip()),
    ]
    return nb


def deploy_query(
    project: Project,
    allowed: bool,
    name: str,
    sql: str,
    schedule: str | None = None,
    continuous: bool = False,
    metrics_port: int | None = None,
) -> dict[str, Any]:
    """Write `sql` as the notebook `<name>.ipynb` in the project and register it as a pipeline
    (run by `velo scheduler`); refused unless the server was started with `--allow-deploy`."""
    if not allowed:
        raise ToolError(
            "deploys are not allowed on this server: start it with `velo mcp --allow-deploy`"
        )
    try:
        check_name(name)
    except DeployError as e:
        raise ToolError(str(e)) from None
    script = parse_script(sql)
    kinds = {s.kind for s in script.statements}
    if not kinds & {"create_stream", "create_table", "insert"}:
        raise ToolError("a pipeline needs a CREATE STREAM|TABLE .. AS SELECT or INSERT statement")
    for stmt in script.statements:
        paths_inside(project, stmt.properties)
    errors = Engine().validate_statements(script.statements)
    if errors:
        missing = _declared_elsewhere(project, script.statements)
        hint = f"; {missing}" if missing else ""
        raise ToolError(f"the SQL does not validate: {errors[0]}{hint}")
    path = project.root / f"{name}.ipynb"
    if path.exists():
        raise ToolError(f"{path.name} already exists in the project: choose another name")
    nbformat.write(_notebook(name, sql), path)
    try:
        p = deploy(
            _registry(project),
            path,
            name,
            schedule=schedule,
            continuous=continuous,
            metrics_port=metrics_port,
        )
    except DeployError as e:
        path.unlink(missing_ok=True)
        raise ToolError(str(e)) from None
    return {"pipeline": p.to_json(), "notebook": path.name}


def _declared_elsewhere(project: Project, statements: list[Any]) -> str:
    """Which of the statements' inputs the project declares in another file (a deployed
    pipeline must declare its own sources)."""
    names = {
        name
        for stmt in statements
        for name in referenced(stmt)
        if f"{name}.type" not in stmt.properties and name in project.streams
    }
    if not names:
        return ""
    where = ", ".join(f"{n} ({project.streams[n].file})" for n in sorted(names))
    return f"a pipeline declares its own sources in WITH; these are declared elsewhere: {where}"


def _pipeline(project: Project, name: str) -> Any:
    try:
        return _registry(project).get(name)
    except RegistryError as e:
        raise ToolError(str(e)) from None


def get_metrics(project: Project, name: str) -> dict[str, Any]:
    """The current values of a running pipeline's metrics (@metric and engine metrics)."""
    p = _pipeline(project, name)
    if not p.metrics_port:
        raise ToolError(
            f"pipeline '{name}' serves no metrics: deploy it with a metrics port "
            "(velo deploy --metrics-port P, or metrics_port in deploy_query)"
        )
    reg = _registry(project)
    running = [r for r in reg.running() if r.pipeline == p.name]
    if not running:
        last = reg.last_run(p.name)
        state = f"its last run {last.status}" if last else "it has never run"
        raise ToolError(f"pipeline '{name}' is not running ({state}): no metrics to read")
    url = f"http://127.0.0.1:{p.metrics_port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            text = resp.read().decode("utf-8")
    except (urllib.error.URLError, OSError) as e:
        raise ToolError(f"pipeline '{name}': cannot read {url}: {e}") from None
    return {"pipeline": p.name, "url": url, "metrics": parse_metrics(text)}


def parse_metrics(text: str) -> dict[str, Any]:
    """Prometheus exposition text as {family: {type, help, samples: [{name, labels, value}]}}
    (the `_created` timestamps left out)."""
    out: dict[str, Any] = {}
    for fam in text_string_to_metric_families(text):
        samples = [
            {"name": s.name, "labels": dict(s.labels), "value": s.value}
            for s in fam.samples
            if not s.name.endswith("_created")
        ]
        if samples:
            out[fam.name] = {"type": fam.type, "help": fam.documentation, "samples": samples}
    return out


def job_record(project: Project, run_id: int) -> dict[str, Any]:
    """One pipeline run (a job of the scheduler): status, times, error, executed notebook."""
    try:
        run = _registry(project).run(run_id)
    except RegistryError as e:
        raise ToolError(str(e)) from None
    return run.to_json()


__all__ = ["deploy_query", "get_metrics", "job_record", "parse_metrics"]
