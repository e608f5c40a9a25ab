"""papermill runs of the example notebooks in bounded mode, with parameters, and the SQL
translator's escaping (from Python and from the command line through the entry point)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from kernel_helpers import table_rows

from velostream_kernel.pipelines.papermill_ext import VeloTranslator

NOTEBOOKS = Path(__file__).resolve().parents[2] / "example-notebooks"
PLOTLY = "application/vnd.plotly.v1+json"


def _outputs(cell) -> list[dict]:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "display_data"]


def _find(nb, text: str):
    return next(c for c in nb.cells if c.cell_type == "code" and text in c.source)


def _html(cell) -> str:
    tables = [o for o in _outputs(cell) if 'class="velo-result"' in o["data"].get("text/html", "")]
    return tables[-1]["data"]["text/html"]


def test_translator_keeps_strings_strings():
    code = VeloTranslator.codify({"symbol": "x'); STOP JOB y; --", "limit": 100, "on": True})
    assert code.splitlines() == [
        "-- Parameters",
        "SET symbol = 'x''); STOP JOB y; --';",
        "SET limit = 100;",
        "SET on = TRUE;",
    ]
    with pytest.raises(ValueError):
        VeloTranslator.codify({"a; DROP": 1})


def test_quickstart_runs_bounded_with_a_parameter(tmp_path):
    out = tmp_path / "01-out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS / "01-quickstart.ipynb"),
        str(out),
        parameters={"symbol": "MSFT", "velo_mode": "bounded"},
        kernel_name="velostream",
        cwd=str(tmp_path),
        progress_bar=False,
        execution_timeout=120,
    )
    nb = nbformat.read(out, as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "SET symbol = 'MSFT';" in injected.source
    windows = _find(nb, "WINDOW TUMBLING(INTERVAL '1' SECOND)")
    # bounded: 2000 trades at 200/s from an aligned start = 10 one-second windows x 5 symbols
    assert table_rows(_html(windows)) == 50
    chart = next(o["data"][PLOTLY] for o in _outputs(windows) if PLOTLY in o["data"])
    assert {t["name"] for t in chart["data"]} == {"AAPL", "MSFT", "GOOG", "AMZN", "NVDA"}
    assert all(len(t["x"]) == 10 for t in chart["data"])
    filtered = _html(_find(nb, "WHERE symbol = :symbol"))
    assert table_rows(filtered) == 10  # LIMIT 10
    assert filtered.count("<td>MSFT</td>") == 10  # the parameter reached the query
    count = _find(nb, "SELECT COUNT(*) AS trades")
    indicator = next(o["data"][PLOTLY] for o in _outputs(count) if PLOTLY in o["data"])
    assert indicator["data"][0]["value"] == 1000  # LIMIT 1000 of a count that goes 1, 2, ...


def test_cli_entry_point_and_a_hostile_parameter(tmp_path):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("SET name = 'plain';")
    params.metadata["tags"] = ["parameters"]
    query = nbformat.v4.new_code_cell(
        "SELECT :name AS v FROM t LIMIT 1\n"
        "WITH ('t.type' = 'synthetic', 't.count' = '3', 't.schema' = 'a BIGINT')"
    )
    nb.cells = [params, query]
    nb.metadata["kernelspec"] = {"name": "velostream", "display_name": "Velostream SQL"}
    nb.metadata["language_info"] = {"name": "velosql"}
    src, out = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, src)
    hostile = "x'); STOP JOB y; --"
    papermill = Path(sys.executable).parent / "papermill"
    done = subprocess.run(
        [str(papermill), str(src), str(out), "-p", "name", hostile, "--no-progress-bar"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = nbformat.read(out, as_version=4)
    table = next(
        o["data"]["text/plain"]
        for o in _outputs(result.cells[-1])
        if o["data"].get("text/plain", "").startswith("v")
    )
    assert table.splitlines()[2].strip() == hostile
