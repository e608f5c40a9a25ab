"""The studio's sidebar, jobs panel and Deploy dialog in JupyterLab, driven by Debian's Chromium.

JupyterLab is started by the test with the Anthropic stand-in's URL and a test key in its
environment. The test asks the chat sidebar for a query, inserts the SQL below, runs it and sees
the live table update, then stops the running query from the jobs panel; it also checks Stop of
a streaming answer and the Deploy dialog. Screenshots go to $VELO_TEST_ARTIFACTS (or the test's
tmp dir)."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from lab_session import UI_TIMEOUT_MS, hermetic_env, lab_page, sync_api, table_rows

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from services.anthropic_stub import AnthropicStub, StubReply

pytestmark = pytest.mark.slow

KEY = "sk-ant-browser-test-key"
SOURCE = (
    "WITH ('trades.type' = 'synthetic',\n"
    "      'trades.schema' = 'symbol STRING ENUM(AAPL,MSFT), venue STRING ENUM(NASDAQ,NYSE), "
    "quantity BIGINT RANGE(1,1000), ts TIMESTAMP',\n"
    "      'trades.rate' = '400', 'trades.event.time.field' = 'ts')"
)
# What the stand-in answers: a live, never-ending query (stopped from the jobs panel).
SQL = (
    "SELECT symbol, COUNT(*) AS trades, AVG(quantity) AS avg_size, _window_start AS ws\n"
    "FROM trades\nWHERE venue = 'NASDAQ'\nGROUP BY symbol\n"
    "WINDOW TUMBLING(INTERVAL '1' SECOND)\nEMIT FINAL\n" + SOURCE
)
EXPLANATION = "Average trade size per symbol in one-second windows, NASDAQ only."
CHART = {"type": "line", "x": "ws", "y": "avg_size"}


def _artifacts(tmp_path: Path) -> Path:
    out = Path(os.environ.get("VELO_TEST_ARTIFACTS") or tmp_path / "artifacts")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _notebook(root: Path) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "velostream", "display_name": "Velostream SQL",
                                 "language": "velosql"}  # fmt: skip
    params = nbformat.v4.new_code_cell("SET symbol = 'AAPL';")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("SHOW STREAMS;")]
    nbformat.write(nb, root / "studio.ipynb")
    return "studio.ipynb"


def test_ask_insert_run_stop_from_jobs_panel(tmp_path: Path) -> None:
    """Ask -> streamed answer -> Insert below -> run live -> Stop in the jobs panel."""
    root = tmp_path / "notebooks"
    root.mkdir()
    name = _notebook(root)
    env = hermetic_env(tmp_path / "env")
    artifacts = _artifacts(tmp_path)
    log = tmp_path / "jupyter-lab.log"
    with AnthropicStub(api_key=KEY) as stub:
        env["ANTHROPIC_API_KEY"] = KEY
        env["ANTHROPIC_BASE_URL"] = stub.url
        env.pop("VELO_ASSISTANT_MODEL", None)
        with lab_page(
            root,
            env,
            log,
            artifacts / "studio-failure.png",
            {"width": 1500, "height": 1100},
            tmp_path / "chromium-profile",
        ) as (page, url_of):
            _drive(page, url_of(name), stub, artifacts)
        server_log = log.read_text()
        assert KEY not in server_log, "the API key showed up in the server log"
        # Stop in the sidebar closed the request, and the server cancelled the model call
        assert "nl-to-sql: the request was closed; model call cancelled" in server_log
    print(f"\nscreenshots in {artifacts}")


def _open_tab(page, tab_id: str) -> None:
    tab = page.locator(f".jp-SideBar li[data-id='{tab_id}']")
    sync_api.expect(tab).to_be_visible()
    if "lm-mod-current" not in (tab.get_attribute("class") or ""):
        tab.click()
    sync_api.expect(page.locator(f"#{tab_id}")).to_be_visible()


def _drive(page, url: str, stub: AnthropicStub, artifacts: Path) -> None:
    expect = sync_api.expect
    expect.set_options(timeout=UI_TIMEOUT_MS)
    page.goto(url)
    panel = page.locator(".jp-NotebookPanel", has=page.locator(".jp-Notebook")).first
    expect(panel.locator(".jp-Toolbar-kernelName")).to_have_text("Velostream SQL")
    indicator = panel.locator(".jp-Notebook-ExecutionIndicator")
    expect(indicator).to_have_attribute("data-status", "idle")
    # The Deploy button is on the notebook's toolbar.
    expect(panel.locator(".velo-deploy-button")).to_be_visible()

    # -- the chat sidebar: a streamed answer, highlighted SQL
    stub.queue(StubReply(text=EXPLANATION,
                         tool=("answer_sql", {"sql": SQL, "explanation": EXPLANATION, "chart": CHART}),
                         chunk_chars=6, chunk_delay_s=0.03))  # fmt: skip
    _open_tab(page, "velostream-chat")
    chat = page.locator("#velostream-chat")
    panel.locator(".jp-Cell").nth(1).locator(".jp-InputPrompt").click()  # the active cell
    chat.locator(".velo-chat-input").fill("average trade size per symbol every second, NASDAQ")
    chat.locator(".velo-chat-ask").click()
    answer = chat.locator(".velo-chat-answer").last
    expect(answer.locator("pre.velo-sql")).to_contain_text("WINDOW TUMBLING")
    expect(answer.locator(".velo-chat-explanation")).to_have_text(EXPLANATION)
    expect(answer.locator(".velo-tok-keyword", has_text="TUMBLING")).to_have_count(1)
    expect(answer.locator(".velo-chat-invalid")).to_have_count(0)  # the engine accepted it
    request = stub.requests[-1]
    assert "SHOW STREAMS;" in request.body["system"]  # the notebook's recent cells went along
    assert request.api_key == KEY
    page.screenshot(path=str(artifacts / "studio-chat-answer.png"))

    # -- Insert below, run it, see the live table update
    cells_before = panel.locator(".jp-CodeCell").count()
    answer.locator(".velo-chat-insert").click()
    expect(panel.locator(".jp-CodeCell")).to_have_count(cells_before + 1)
    cell = panel.locator(".jp-CodeCell").nth(2)
    expect(cell.locator(".cm-content")).to_contain_text("WINDOW TUMBLING(INTERVAL '1' SECOND)")
    # the suggested chart came along as the kernel's @viz annotations
    expect(cell.locator(".cm-content")).to_contain_text(
        "-- @viz: line-- @viz_x: ws-- @viz_y: avg_size"
    )
    # Velostream SQL mode: TUMBLING is a keyword in the editor (plain SQL does not know it).
    colors = cell.evaluate(_TOKEN_COLORS_JS)
    assert colors["TUMBLING"] and colors["TUMBLING"] == colors["SELECT"], colors
    assert colors["TUMBLING"] != colors["symbol"], colors
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+Enter")
    expect(indicator).to_have_attribute("data-status", "busy")
    table = cell.locator("table.velo-result")
    expect(table).to_be_visible()
    seen = [table.inner_text()]
    started = time.monotonic()
    while len(seen) < 3 and time.monotonic() - started < 60:
        page.wait_for_timeout(150)
        if table.inner_text() != seen[-1]:
            seen.append(table.inner_text())
    assert len(seen) >= 3, f"the live table changed {len(seen) - 1} times"
    assert "NYSE" not in "".join(seen)
    expect(cell.locator(".js-plotly-plot").first).to_be_visible()
    page.screenshot(path=str(artifacts / "studio-live-result.png"))

    # -- the jobs panel lists the running query with its rate; Stop ends it
    _open_tab(page, "velostream-jobs")
    jobs = page.locator("#velostream-jobs")
    row = jobs.locator(".velo-job-running").first
    expect(row.locator(".velo-job-name")).to_contain_text("(query)")
    expect(row.locator(".velo-job-rate")).to_have_text(_RATE)
    in_before = int(row.locator(".velo-job-in").inner_text().replace(",", ""))
    page.wait_for_timeout(1500)  # refreshed live: the record count grows
    in_after = int(row.locator(".velo-job-in").inner_text().replace(",", ""))
    assert in_after > in_before, (in_before, in_after)
    assert indicator.get_attribute("data-status") == "busy", "polling made the kernel look idle"
    # the status bar shows the kernel's own status: busy, not the panel's control requests' idle
    # (sampled over the panel's refreshes: a passing idle would show in one of them)
    status = page.locator(".jp-StatusBar-Widget", has_text="Velostream SQL").first
    samples = []
    for _ in range(12):
        samples.append(status.inner_text())
        page.wait_for_timeout(200)
    assert all("Busy" in t for t in samples), samples
    page.screenshot(path=str(artifacts / "studio-jobs-panel.png"))
    row.locator(".velo-job-stop").click()
    expect(indicator).to_have_attribute("data-status", "idle")
    expect(cell.locator(".jp-OutputArea-output", has_text="query stopped")).to_be_visible()
    expect(jobs.locator(".velo-job-running")).to_have_count(0)
    stopped = jobs.locator(".velo-job-stopped")
    expect(stopped).to_have_count(1)
    # the panel names the query as the cell's status line does, and offers no Stop any more
    expect(stopped.locator(".velo-job-name")).to_have_text("select_1 (query)")
    expect(cell.locator(".velo-status").first).to_contain_text("select_1 stopped")
    expect(stopped.locator(".velo-job-stop")).to_be_hidden()
    assert table_rows(table) > 0
    page.screenshot(path=str(artifacts / "studio-after-stop.png"))

    # -- Stop cancels a streaming answer
    stub.queue(StubReply(text="x" * 400, chunk_chars=2, chunk_delay_s=0.05))
    _open_tab(page, "velostream-chat")
    chat.locator(".velo-chat-input").fill("a slow answer")
    chat.locator(".velo-chat-ask").click()
    expect(chat.locator(".velo-chat-turn").last.locator(".velo-chat-text")).to_contain_text("xx")
    chat.locator(".velo-chat-stop").click()
    expect(chat.locator(".velo-chat-turn").last.locator(".velo-chat-stopped-note")).to_be_visible()
    expect(chat.locator(".velo-chat-ask")).to_be_enabled()

    # -- Deploy: parameters prefilled from the notebook; the server's error shown in the dialog
    panel.locator(".velo-deploy-button").click()
    dialog = page.locator(".velo-deploy-dialog")
    expect(dialog.locator("input[name='name']")).to_have_value("studio")
    expect(dialog.locator(".velo-param-name")).to_have_value("symbol")
    expect(dialog.locator(".velo-param-value")).to_have_value("AAPL")
    dialog.locator("input[name='schedule']").fill("every minute")
    dialog.locator(".velo-deploy-submit").click()
    expect(dialog.locator(".velo-deploy-error")).to_contain_text("is not a cron expression")
    dialog.locator("input[name='schedule']").fill("99 * * * *")  # five fields, no such minute
    dialog.locator(".velo-deploy-submit").click()
    expect(dialog.locator(".velo-deploy-error")).not_to_be_empty()
    page.screenshot(path=str(artifacts / "studio-deploy-dialog.png"))
    print(f"deploy error shown: {dialog.locator('.velo-deploy-error').inner_text()!r}")
    dialog.locator(".velo-deploy-cancel").click()
    expect(dialog).to_have_count(0)


_RATE = re.compile(r"^[\d,.]+/s$")

# The color CodeMirror gives the first occurrence of a few words in a cell's editor.
_TOKEN_COLORS_JS = """cell => {
  const out = {TUMBLING: null, SELECT: null, symbol: null};
  const walker = document.createTreeWalker(cell.querySelector('.cm-content'), NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    for (const word of Object.keys(out)) {
      if (out[word] === null && n.textContent.trim() === word)
        out[word] = getComputedStyle(n.parentElement).color;
    }
  }
  return out;
}"""
