"""The studio end to end: JupyterLab started by the test, driven by Debian's Chromium through
Playwright. Open the quickstart, run its live cell, watch the table and chart update, press Stop."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from lab_session import UI_TIMEOUT_MS, hermetic_env, lab_page, sync_api, table_rows

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "01-quickstart.ipynb"
OBSERVE_S = 4.0  # watch the live table at least this long (and until it changed twice)

pytestmark = pytest.mark.slow


def test_quickstart_live_cell_updates_and_stops(tmp_path: Path) -> None:
    """The live cell's table changes at least twice, a chart renders, Stop idles the kernel."""
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "example-notebooks", notebooks)
    env = hermetic_env(tmp_path / "env")
    screenshot = tmp_path / "quickstart-after-stop.png"
    with lab_page(
        notebooks,
        env,
        tmp_path / "jupyter-lab.log",
        tmp_path / "failure.png",
        {"width": 1400, "height": 1700},
        tmp_path / "chromium-profile",
    ) as (page, url_of):
        _drive_quickstart(page, url_of(NOTEBOOK), screenshot)
    print(f"\nscreenshot: {screenshot}")


def _drive_quickstart(page, url: str, screenshot: Path) -> None:
    expect = sync_api.expect
    page.goto(url)
    panel = page.locator(".jp-NotebookPanel", has=page.locator(".jp-Notebook")).first
    expect(panel).to_be_visible(timeout=UI_TIMEOUT_MS)

    # The notebook's metadata picks the kernel; no "select kernel" dialog may be needed.
    kernel_name = panel.locator(".jp-Toolbar-kernelName")
    expect(kernel_name).to_have_text("Velostream SQL", timeout=UI_TIMEOUT_MS)
    indicator = panel.locator(".jp-Notebook-ExecutionIndicator")
    expect(indicator).to_have_attribute("data-status", "idle", timeout=UI_TIMEOUT_MS)

    cell = panel.locator(".jp-CodeCell", has_text="WINDOW TUMBLING").first
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Control+Enter")
    expect(indicator).to_have_attribute("data-status", "busy", timeout=UI_TIMEOUT_MS)

    # The table is one display updated in place: its text must change at least twice.
    table = cell.locator("table.velo-result")
    expect(table).to_be_visible(timeout=UI_TIMEOUT_MS)
    seen = [table.inner_text()]
    started = time.monotonic()
    while time.monotonic() - started < 60 and (
        len(seen) < 3 or time.monotonic() - started < OBSERVE_S
    ):
        page.wait_for_timeout(100)
        text = table.inner_text()
        if text != seen[-1]:
            seen.append(text)
    observed_s = time.monotonic() - started
    assert len(seen) >= 3, f"the table changed {len(seen) - 1} times in {observed_s:.1f} s"
    print(f"\ntable changed {len(seen) - 1} times in {observed_s:.1f} s")

    chart = cell.locator(".js-plotly-plot").first
    expect(chart).to_be_visible(timeout=UI_TIMEOUT_MS)
    assert indicator.get_attribute("data-status") == "busy", "the query ended before Stop"
    # The chart is redrawn as windows close: after several seconds a trace has several points
    # (one per closed one-second window), not just the first.
    points = chart.evaluate("e => (e.data || []).map(t => (t.x || []).length)")
    print(f"chart points per trace before Stop: {points} (table rows: {table_rows(table)})")
    assert points and max(points) >= 2, f"the chart did not update: points per trace {points}"

    stop = panel.locator(".jp-Toolbar [data-command='notebook:interrupt-kernel']").first
    expect(stop).to_be_visible()
    # Time Stop -> idle inside the page: the click and the indicator's change, both in page time.
    panel.evaluate(_STOP_TIMER_JS)
    pressed = time.monotonic()
    stop.click()
    expect(indicator).to_have_attribute("data-status", "idle", timeout=UI_TIMEOUT_MS)
    seen_by_test_ms = (time.monotonic() - pressed) * 1000
    in_page_ms = page.evaluate("() => window.__veloStop.idleAt - window.__veloStop.clickAt")
    print(
        f"Stop -> idle: {in_page_ms:.0f} ms in the page ({seen_by_test_ms:.0f} ms seen by the test)"
    )

    # Stopped by the button (not by its LIMIT), and the partial result stays on screen.
    expect(cell.locator(".jp-OutputArea-output", has_text="query stopped")).to_be_visible()
    expect(table).to_be_visible()
    rows = table_rows(table)
    assert 0 < rows < 100, f"a partial result has between 1 and 99 rows, got {rows}"
    # The artifact shows the stopped cell's outputs: status line, partial table, chart.
    cell.locator(".jp-OutputArea").first.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 0


# Records, in page time, the first click after it is installed and the first time the panel's
# execution indicator says idle after that click.
_STOP_TIMER_JS = """panel => {
  const t = (window.__veloStop = {clickAt: null, idleAt: null});
  document.addEventListener('click', () => { if (t.clickAt === null) t.clickAt = performance.now(); }, true);
  const check = () => {
    const ind = panel.querySelector('.jp-Notebook-ExecutionIndicator');
    if (t.clickAt !== null && t.idleAt === null && ind && ind.dataset.status === 'idle')
      t.idleAt = performance.now();
  };
  new MutationObserver(check).observe(panel, {attributes: true, subtree: true, childList: true});
}"""
