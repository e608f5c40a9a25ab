"""The notebook side through real kernels: 06-testing.ipynb under papermill with the
Velostream SQL kernel (`-- @test` blocks and `%%velo_test` cells), and `%%velo_test` in the
IPython kernel through jupyter_client."""

from __future__ import annotations

import queue
import shutil
import time
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[3]
GREEN, RED = "#e6f4ea", "#fce8e6"


def _html(cell) -> list[str]:
    return [
        o["data"]["text/html"]
        for o in cell.get("outputs", [])
        if o.get("output_type") == "display_data" and "text/html" in o.get("data", {})
    ]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("nb")
    shutil.copytree(ROOT / "example-notebooks", work / "nb")
    out = work / "out.ipynb"
    pm.execute_notebook(
        str(work / "nb" / "06-testing.ipynb"),
        str(out),
        parameters={"velo_mode": "bounded"},
        kernel_name="velostream",
        cwd=str(work / "nb"),
        progress_bar=False,
        execution_timeout=120,
    )
    return nbformat.read(out, as_version=4)


def _cell(nb, text: str):
    return next(c for c in nb.cells if c.cell_type == "code" and text in c.source)


def test_a_test_block_passes_green_then_the_query_runs(executed) -> None:
    cell = _cell(executed, "-- @name: trade_stats")
    html = _html(cell)
    tests = [h for h in html if "velo-test-result" in h]
    assert len(tests) == 1
    assert "passed, 5 of 5 assertions held (seed 42)" in tests[0]
    assert tests[0].count(f"background:{GREEN}") == 5 and RED not in tests[0]
    # then the query itself ran (bounded under papermill): its result table follows
    assert any('class="velo-result"' in h for h in html[html.index(tests[0]) + 1 :])
    assert not [o for o in cell.outputs if o.get("output_type") == "error"]


def test_a_velo_test_cell_with_late_events(executed) -> None:
    cell = _cell(executed, "%%velo_test --seed 7")
    (html,) = _html(cell)
    assert "passed, 4 of 4 assertions held (seed 7)" in html
    assert "late records dropped" in html
    assert not any('class="velo-result"' in h for h in _html(cell))  # only the test ran


def test_a_failing_test_is_red_and_names_the_rows(executed) -> None:
    cell = _cell(executed, "%%velo_test --spec apps/high_value.test.yaml")
    (html,) = _html(cell)
    assert "FAILED, 1 of 4 assertions held" in html
    assert html.count(f"background:{RED}") == 3 and html.count(f"background:{GREEN}") == 1
    assert "2 rows, expected = 3" in html
    assert "row 3: missing: expected id=5, account=B" in html
    # --xfail: the failure is expected, so the cell (and the notebook run) goes on
    assert not [o for o in cell.outputs if o.get("output_type") == "error"]


def _run(kc, code: str, timeout: float = 60) -> tuple[dict, list[dict]]:
    msg_id = kc.execute(code, store_history=False)
    msgs: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        assert time.monotonic() < deadline, f"cell did not finish: {msgs[-3:]}"
        try:
            msg = kc.get_iopub_msg(timeout=1.0)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
        msgs.append(msg)
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"], msgs


def test_velo_test_magic_in_the_ipython_kernel(tmp_path: Path) -> None:
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60, cwd=str(tmp_path))
    try:
        reply, _ = _run(kc, "%load_ext velostream_kernel")
        assert reply["status"] == "ok"
        cell = (
            "%%velo_test\n"
            "-- @test\n"
            "--   inputs:\n"
            "--     - source: t\n"
            "--       rows: [{k: a, v: 1}, {k: b, v: 2}, {k: a, v: 3}]\n"
            "--   assertions:\n"
            "--     - {type: record_count, equals: 2}\n"
            "--     - {type: aggregate_check, function: SUM, field: total, expected: EXPECTED}\n"
            "SELECT k, SUM(v) AS total FROM t GROUP BY k EMIT FINAL\n"
        )
        reply, msgs = _run(kc, cell.replace("EXPECTED", "6"))
        assert reply["status"] == "ok"
        (html,) = [
            m["content"]["data"]["text/html"] for m in msgs if m["msg_type"] == "display_data"
        ]
        assert "passed, 2 of 2 assertions held" in html and html.count(GREEN) == 2
        reply, msgs = _run(kc, cell.replace("EXPECTED", "7"))
        assert reply["status"] == "error" and "1 of 2 assertions failed" in reply["evalue"]
        (html,) = [
            m["content"]["data"]["text/html"] for m in msgs if m["msg_type"] == "display_data"
        ]
        assert "SUM(total) = 6, expected 7" in html and html.count(RED) == 1
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_a_failing_test_block_fails_the_cell_after_the_query_ran(tmp_path: Path) -> None:
    km, kc = start_new_kernel(kernel_name="velostream", startup_timeout=60, cwd=str(tmp_path))
    try:
        cell = (
            "-- @test\n"
            "--   inputs: [{source: s, records: 40}]\n"
            "--   assertions:\n"
            "--     - {type: field_values, field: v, operator: less_than, value: 30}\n"
            "SELECT v FROM s WITH ('s.type' = 'synthetic', 's.schema' = 'v BIGINT SEQUENCE',\n"
            "                      's.count' = '5');\n"
        )
        reply, msgs = _run(kc, cell)
        assert reply["status"] == "error" and reply["ename"] == "TestFailed"
        assert "1 of 1 assertions failed" in reply["evalue"]
        html = [
            m["content"]["data"].get("text/html", "")
            for m in msgs
            if m["msg_type"] in ("display_data", "update_display_data")
        ]
        (test,) = [h for h in html if "velo-test-result" in h]
        assert "11 of 40 rows fail: v less than 30" in test and RED in test
        assert "row 30: v = 30 is not less than 30" in test
        # the query still ran on its own source (5 records), its table shown after the test
        assert any('class="velo-result"' in h for h in html[html.index(test) + 1 :])
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
