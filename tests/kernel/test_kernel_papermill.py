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


def _execute(name: str, kernel: str, params: dict, tmp_path: Path):
    out = tmp_path / name
    pm.execute_notebook(
        str(NOTEBOOKS / name),
        str(out),
        parameters=params,
        kernel_name=kernel,
        cwd=str(tmp_path),
        progress_bar=False,
        execution_timeout=120,
    )
    return nbformat.read(out, as_version=4)


def _status(cell, job: str) -> str:
    for o in _outputs(cell):
        text = o["data"].get("text/plain", "")
        if text.split(" ", 2)[1:2] == [job]:
            status = text
    return status


def _column(html: str, index: int) -> list[str]:
    body = html.split("<tbody>", 1)[1]
    rows = body.split("<tr>")[1:]
    return [r.split("<td>")[index + 1].split("</td>")[0] for r in rows]


def test_quickstart_runs_bounded_with_a_parameter(tmp_path):
    nb = _execute(
        "01-quickstart.ipynb", "velostream", {"symbol": "MSFT", "velo_mode": "bounded"}, tmp_path
    )
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
    assert all(int(q) >= 100 for q in _column(filtered, 2))  # :min_quantity
    count = _find(nb, "SELECT COUNT(*) AS trades")
    indicator = next(o["data"][PLOTLY] for o in _outputs(count) if PLOTLY in o["data"])
    assert indicator["data"][0]["value"] == 1000  # LIMIT 1000 of a count that goes 1, 2, ...


def test_windows_notebook_bounded(tmp_path):
    nb = _execute(
        "02-windows-and-time.ipynb",
        "velostream",
        {"velo_mode": "bounded", "lateness": "5s"},
        tmp_path,
    )
    assert table_rows(_html(_find(nb, "WINDOW TUMBLING(2s)\nEMIT FINAL"))) == 15
    # 4 s windows every 2 s at 20 clicks/s: 80 clicks each; the first one starts 2 s before
    # the data, so it holds 40
    sliding = _column(_html(_find(nb, "WINDOW SLIDING(4s, 2s)")), 0)
    assert sliding == ["80"] * 7 + ["40"]  # newest first
    assert table_rows(_html(_find(nb, "WINDOW SESSION(2s)"))) == 6
    late = _find(nb, "CREATE STREAM jittered")
    strict = _status(late, "strict_counts")
    assert "0 late" not in strict and "late" in strict  # jittered clicks missed their window
    assert _status(late, "tolerant_counts").endswith(" 0 late")  # 5 s lateness waits for them


def test_joins_notebook_bounded(tmp_path):
    nb = _execute(
        "03-joins.ipynb", "velostream", {"velo_mode": "bounded", "symbol": "MSFT"}, tmp_path
    )
    quotes = _html(_find(nb, "CREATE TABLE quotes"))
    assert sorted(_column(quotes, 0)) == ["AAPL", "GOOG", "MSFT"]  # one row per key
    lookup = _html(_find(nb, "LEFT JOIN quotes q ON o.symbol = q.symbol\nWHERE"))
    assert _column(lookup, 1) == ["MSFT"] * 10
    assert all(p != "NULL" for p in _column(lookup, 3))
    interval = _html(_find(nb, "WITHIN INTERVAL '2' SECOND"))
    # both streams number their records from 1 at the same rate and start: delay 0
    assert sorted(int(i) for i in _column(interval, 0)) == list(range(1, 11))
    assert set(_column(interval, 3)) == {"0"}


def test_magic_notebook_bounded(tmp_path):
    nb = _execute("04-magic.ipynb", "python3", {"velo_mode": "bounded", "symbol": "MSFT"}, tmp_path)
    sorted_cell = _find(nb, 'per_symbol.sort_values("symbol")')
    text = sorted_cell.outputs[0]["data"]["text/plain"].splitlines()
    # qty >= 2: AAPL 10 + 7 (2 orders), GOOG 3 (1), MSFT 5 + 8 (2)
    assert [line.split()[1:] for line in text[1:]] == [
        ["AAPL", "17", "2"],
        ["GOOG", "3", "1"],
        ["MSFT", "13", "2"],
    ]
    live = _html(_find(nb, "%%velo -o trades"))
    assert _column(live, 0) == ["MSFT"] * 20


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
