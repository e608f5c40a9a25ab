"""The studio end to end: JupyterLab started by the test, driven by Debian's Chromium through
Playwright. Open the quickstart, run its live cell, watch the table and chart update, press Stop."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "01-quickstart.ipynb"
# Keep Chromium off the network (no Google services on a closed CI machine) and out of a GPU.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_S = 120  # ~25 s on a loaded machine; cold CI can be slower
UI_TIMEOUT_MS = 90_000
OBSERVE_S = 4.0  # watch the live table at least this long (and until it changed twice)
# JupyterLab asks "get notified about news?" in a toast that covers the outputs: answer "no".
NOTIFICATION_SETTINGS = "@jupyterlab/apputils-extension/notification.jupyterlab-settings"
NO_NEWS = '{"fetchNews": "false", "checkForUpdates": false}'

pytestmark = pytest.mark.slow

if not os.path.exists(CHROMIUM):
    # `make test` installs Debian's chromium when run as root; without root we cannot.
    pytest.skip(
        f"{CHROMIUM} is missing (install Debian's chromium package, or run `make test` as root)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _hermetic_env(base: Path) -> dict[str, str]:
    """Jupyter, IPython and the browser keep every file under `base`, never in $HOME."""
    env = dict(os.environ)
    env.pop("VELO_MODE", None)  # the live cell must run live
    for var, sub in (
        ("HOME", "home"),
        ("XDG_CONFIG_HOME", "xdg-config"),
        ("XDG_CACHE_HOME", "xdg-cache"),
        ("XDG_DATA_HOME", "xdg-data"),
        ("JUPYTER_CONFIG_DIR", "jupyter-config"),
        ("JUPYTER_DATA_DIR", "jupyter-data"),
        ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"),
        ("IPYTHONDIR", "ipython"),
    ):
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(base / sub)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    settings = base / "jupyter-config" / "lab" / "user-settings" / NOTIFICATION_SETTINGS
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(NO_NEWS)
    return env


def _wait_until_up(proc: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    pytest.fail(f"jupyter lab did not answer in {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM lets the server shut its kernels down; SIGKILL the whole group if it hangs."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def test_quickstart_live_cell_updates_and_stops(tmp_path: Path) -> None:
    """The live cell's table changes at least twice, a chart renders, Stop idles the kernel."""
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "example-notebooks", notebooks)
    env = _hermetic_env(tmp_path / "env")
    port, token = _free_port(), "velo-browser-test-token"
    jupyter = str(Path(sys.prefix) / "bin" / "jupyter")
    log = tmp_path / "jupyter-lab.log"
    screenshot = tmp_path / "quickstart-after-stop.png"

    with log.open("w") as log_file:
        server = subprocess.Popen(
            [
                jupyter,
                "lab",
                "--allow-root",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={notebooks}",
                "--LabApp.news_url=None",  # no "get notified about news" toast over the notebook
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            cwd=notebooks,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kernels go with it at the end
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(server, f"{base}/api/status?token={token}", log)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                env=env,
                viewport={"width": 1400, "height": 1700},
            )
            try:
                page = browser.pages[0] if browser.pages else browser.new_page()
                page.set_default_timeout(UI_TIMEOUT_MS)
                try:
                    _drive_quickstart(page, f"{base}/lab/tree/{NOTEBOOK}?token={token}", screenshot)
                except Exception:
                    page.screenshot(path=str(tmp_path / "failure.png"))
                    print(f"\nfailure screenshot: {tmp_path / 'failure.png'}")
                    state = "running" if server.poll() is None else f"exited {server.returncode}"
                    print(f"jupyter lab ({state}), log tail:\n{log.read_text()[-3000:]}")
                    raise
            finally:
                browser.close()
    finally:
        _stop(server)
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


def table_rows(table) -> int:
    """Rows in the shown result table."""
    return table.locator("tbody tr").count()


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
