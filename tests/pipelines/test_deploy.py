"""`velo deploy` and `velo pipelines`: the registry, notebook versions, parameters, and every bad
input with its message (through the real `velo` command group, in process)."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from pipeline_helpers import make_notebook

from velostream.cli import main
from velostream_kernel.pipelines.deploy import DeployError, deploy, first_due
from velostream_kernel.pipelines.registry import Registry

PARAMS = "-- Parameters\nSET min_v = 5;\nSET label = 'all';\nSET ratio = 0.5;\nSET on = TRUE;"
QUERY = (
    "CREATE STREAM big AS SELECT k, v FROM src WHERE v >= :min_v\n"
    "WITH ('src.type' = 'file_source', 'src.path' = 'in.jsonl',\n"
    "      'big.type' = 'file_sink', 'big.path' = 'out.jsonl');"
)


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a notebook path is relative to where velo runs
    make_notebook(tmp_path / "nb.ipynb", PARAMS, QUERY)
    return tmp_path


def velo(project, *args):
    result = CliRunner().invoke(main, [*args, "--project", str(project)])
    return result.exit_code, result.output


def test_deploy_registers_a_versioned_copy(project):
    code, out = velo(project, "deploy", "nb.ipynb", "--name", "big", "--schedule", "0 3 * * *",
                     "-p", "min_v=7", "-p", "on=false")  # fmt: skip
    assert code == 0, out
    data = (project / "nb.ipynb").read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:16]
    reg = Registry(project)
    p = reg.get("big")
    assert (p.kind, p.schedule, p.version, p.notebook_hash) == ("scheduled", "0 3 * * *", 1, digest)
    # -p values take their defaults' types: min_v is an integer, on a boolean
    assert p.parameters == {"min_v": 7, "on": False}
    assert reg.notebook_path(digest).read_bytes() == data
    # next run: 03:00 UTC today if it is still to come (or the minute we are in), else tomorrow
    now = datetime.now(UTC)
    due = datetime.fromtimestamp(p.next_due, UTC)
    assert (due.hour, due.minute, due.second) == (3, 0, 0)
    assert -60 < (due - now).total_seconds() <= 86400
    assert f"deployed pipeline big version 1 (notebook {digest})" in out

    # a changed notebook redeployed with --replace: version 2, a second stored copy
    make_notebook(project / "nb.ipynb", PARAMS, QUERY.replace(">=", ">"))
    code, out = velo(project, "deploy", "nb.ipynb", "--name", "big", "--continuous", "--replace")
    assert code == 0, out
    p2 = reg.get("big")
    assert p2.version == 2 and p2.kind == "continuous" and p2.notebook_hash != digest
    assert reg.notebook_path(digest).exists() and reg.notebook_path(p2.notebook_hash).exists()

    code, out = velo(project, "pipelines", "list")
    assert code == 0 and "big" in out and "continuous" in out
    code, out = velo(project, "pipelines", "show", "big")
    assert code == 0 and p2.notebook_hash in out
    code, out = velo(project, "pipelines", "remove", "big")
    assert code == 0 and reg.list() == []


def test_a_name_that_exists(project):
    assert velo(project, "deploy", "nb.ipynb", "--name", "twice")[0] == 0
    code, out = velo(project, "deploy", "nb.ipynb", "--name", "twice")
    assert code == 1
    assert "a pipeline named 'twice' already exists" in out and "--replace" in out


@pytest.mark.parametrize(
    "schedule, detail",
    [
        ("every day", "Exactly 5, 6 or 7 columns"),
        ("61 * * * *", "out of range"),
    ],
)
def test_a_schedule_that_does_not_parse(project, schedule, detail):
    code, out = velo(project, "deploy", "nb.ipynb", "--name", "s", "--schedule", schedule)
    assert code == 1
    assert f"schedule '{schedule}' does not parse as a cron expression" in out
    assert detail in out and "'*/15 * * * *'" in out
    assert Registry(project).list() == []


def test_a_parameter_not_in_the_parameters_cell(project):
    code, out = velo(project, "deploy", "nb.ipynb", "--name", "p", "-p", "min_value=3")
    assert code == 1
    assert "parameter 'min_value' is not in the notebook's parameters cell" in out
    assert "(its parameters: label, min_v, on, ratio)" in out
    code, out = velo(project, "deploy", "nb.ipynb", "--name", "p", "-p", "min_v=three")
    assert code == 1
    assert "parameter 'min_v' takes an integer (its default is 5), not 'three'" in out


def test_other_bad_input(project):
    code, out = velo(project, "deploy", "missing.ipynb", "--name", "m")
    assert code == 1 and "missing.ipynb: no such file" in out
    code, out = velo(project, "deploy", "nb.ipynb", "--name", "Bad Name")
    assert code == 1 and "pipeline name 'Bad Name' is not allowed" in out
    code, out = velo(project, "deploy", "nb.ipynb", "--name", "b", "--schedule", "* * * * *",
                     "--continuous")  # fmt: skip
    assert code == 1 and "either a schedule or --continuous" in out
    code, out = velo(project, "deploy", "nb.ipynb", "--name", "b", "-p", "novalue")
    assert code == 1 and "expected key=value" in out
    py = make_notebook(project / "py.ipynb", None, "print(1)")
    import nbformat

    nb = nbformat.read(py, as_version=4)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, py)
    code, out = velo(project, "deploy", "py.ipynb", "--name", "py")
    assert code == 1 and "uses the kernel 'python3'" in out
    code, out = velo(project, "pipelines", "show", "nobody")
    assert code == 1 and "no pipeline named 'nobody'" in out


def test_a_cron_due_this_minute_is_due_at_once():
    # 12:30:40 with "30 12 * * *": cron fires at 12:30:00, the minute we are in
    t = datetime(2026, 5, 4, 12, 30, 40, tzinfo=UTC).timestamp()
    assert first_due("30 12 * * *", t) == datetime(2026, 5, 4, 12, 30, tzinfo=UTC).timestamp()
    assert first_due("29 12 * * *", t) == datetime(2026, 5, 5, 12, 29, tzinfo=UTC).timestamp()


def test_the_python_api_checks_too(project):
    reg = Registry(project)
    with pytest.raises(DeployError, match="retries must be 0 or more"):
        deploy(reg, project / "nb.ipynb", "r", retries=-1)
    p = deploy(reg, project / "nb.ipynb", "manual-one", parameters={"LABEL": "x"})
    assert p.kind == "manual" and p.parameters == {"label": "x"} and p.next_due is None
    assert p.created_at <= time.time()
