"""`velo deploy --emit k8s|systemd|airflow`: the artifacts parse (YAML, unit files, Python) and
say what the pipeline is; the cron -> systemd OnCalendar translation; deploy/ files parse."""

from __future__ import annotations

import ast
import configparser
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from pipeline_helpers import make_notebook

from velostream.cli import main
from velostream_kernel.pipelines.deploy import DeployError
from velostream_kernel.pipelines.emit import cron_to_oncalendar
from velostream_kernel.pipelines.registry import Registry

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notebooks").mkdir()
    make_notebook(tmp_path / "notebooks" / "nb.ipynb", "SET symbol = 'AAPL';", "SHOW JOBS;")
    return tmp_path


def emit(project, target, *args):
    out = project / "artifacts" / f"{target}-{uuid.uuid4().hex[:8]}"  # a new folder each time
    result = CliRunner().invoke(
        main,
        ["deploy", "notebooks/nb.ipynb", "--name", "trades", "--emit", target, "--out", str(out),
         "--project", str(project), "-p", "symbol=MSFT", *args],
    )  # fmt: skip
    return result, out


def test_k8s_cronjob_and_deployment(project):
    result, out = emit(project, "k8s", "--schedule", "*/5 * * * *", "--retries", "3")
    assert result.exit_code == 0, result.output
    cron = yaml.safe_load((out / "trades-cronjob.yaml").read_text())
    pvc = yaml.safe_load((out / "trades-pvc.yaml").read_text())
    assert (cron["kind"], cron["spec"]["schedule"]) == ("CronJob", "*/5 * * * *")
    job = cron["spec"]["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 3
    container = job["template"]["spec"]["containers"][0]
    command = container["command"][2]
    assert "velo deploy /project/notebooks/nb.ipynb --name trades --replace" in command
    assert "-p symbol=MSFT" in command and "velo pipelines run trades" in command
    claim = job["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert claim == pvc["metadata"]["name"] and pvc["kind"] == "PersistentVolumeClaim"
    assert Registry(project).list() == []  # --emit writes files, it registers nothing here

    result, out = emit(project, "k8s", "--continuous")
    assert result.exit_code == 0, result.output
    dep = yaml.safe_load((out / "trades-deployment.yaml").read_text())
    assert (dep["kind"], dep["spec"]["replicas"], dep["spec"]["strategy"]["type"]) == (
        "Deployment", 1, "Recreate"
    )  # fmt: skip
    command = dep["spec"]["template"]["spec"]["containers"][0]["command"][2]
    assert "--continuous" in command


def test_systemd_service_and_timer(project):
    result, out = emit(project, "systemd", "--schedule", "30 3 * * 1-5")
    assert result.exit_code == 0, result.output
    service = configparser.ConfigParser(interpolation=None, strict=False)
    service.read(out / "velo-trades.service")
    assert service["Service"]["Type"] == "oneshot"
    assert "velo pipelines run trades" in service["Service"]["ExecStart"]
    timer = configparser.ConfigParser(interpolation=None)
    timer.read(out / "velo-trades.timer")
    assert timer["Timer"]["OnCalendar"] == "Mon..Fri *-*-* 03:30:00 UTC"
    assert timer["Timer"]["Unit"] == "velo-trades.service"

    result, out = emit(project, "systemd", "--continuous")
    assert result.exit_code == 0, result.output
    service.read(out / "velo-trades.service")
    assert service["Service"]["Restart"] == "on-failure"
    assert not (out / "velo-trades.timer").exists()


def test_airflow_dag(project):
    result, out = emit(project, "airflow", "--schedule", "0 * * * *")
    assert result.exit_code == 0, result.output
    dag = out / "velo_trades_dag.py"
    tree = ast.parse(dag.read_text())
    compile(tree, str(dag), "exec")
    call = next(
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == (
            "PapermillOperator"
        )
    )  # fmt: skip
    kwargs = {k.arg: k.value for k in call.keywords}
    assert ast.literal_eval(kwargs["kernel_name"]) == "velostream"
    assert ast.literal_eval(kwargs["language_name"]) == "velosql"
    params = next(
        n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "PARAMETERS"
    )
    assert ast.literal_eval(params) == {"symbol": "MSFT", "velo_mode": "bounded"}
    assert (out / "trades.ipynb").read_bytes() == (project / "notebooks/nb.ipynb").read_bytes()

    result, _ = emit(project, "airflow", "--continuous")
    assert result.exit_code == 1 and "--emit airflow needs a --schedule" in result.output


@pytest.mark.parametrize(
    "cron, calendar",
    [
        ("* * * * *", "*-*-* *:*:00"),
        ("*/15 * * * *", "*-*-* *:00/15:00"),
        ("0 3 * * *", "*-*-* 03:00:00"),
        ("5,35 8-18 1 */3 *", "*-01/3-01 08..18:05,35:00"),
        ("0 0 * * 0,6", "Sun,Sat *-*-* 00:00:00"),
        ("@daily", "*-*-* 00:00:00"),
    ],
)
def test_cron_to_oncalendar(cron, calendar):
    assert cron_to_oncalendar(cron) == calendar


def test_cron_without_a_systemd_form():
    with pytest.raises(DeployError, match="5-field cron expressions only"):
        cron_to_oncalendar("0 0 * * * 5")


def test_the_deploy_folder_parses():
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    assert {"pipeline", "kafka", "prometheus", "grafana"} <= set(compose["services"])
    assert compose["services"]["pipeline"]["build"]["dockerfile"] == "deploy/Dockerfile"
    dockerfile = (REPO / "deploy" / "Dockerfile").read_text()
    assert "pip install" in dockerfile and "velo" in dockerfile
