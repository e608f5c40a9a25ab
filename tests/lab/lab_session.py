"""JupyterLab started by a test and driven by Debian's Chromium through Playwright: the server
on a free loopback port with a token, every Jupyter, IPython and browser file under the test's
folder, and a page that is screenshotted (with the server log printed) when the test fails."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
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
# JupyterLab asks "get notified about news?" in a toast that covers the outputs: answer "no".
NOTIFICATION_SETTINGS = "@jupyterlab/apputils-extension/notification.jupyterlab-settings"
NO_NEWS = '{"fetchNews": "false", "checkForUpdates": false}'

if not os.path.exists(CHROMIUM):
    # `make test` installs Debian's chromium when run as root; without root we cannot.
    pytest.skip(
        f"{CHROMIUM} is missing (install Debian's chromium package, or run `make test` as root)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hermetic_env(base: Path) -> dict[str, str]:
    """Jupyter, IPython and the browser keep every file under `base`, never in $HOME."""
    env = dict(os.environ)
    env.pop("VELO_MODE", None)  # live cells must run live
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


@contextmanager
def lab_page(
    root: Path,
    env: dict[str, str],
    log: Path,
    failure_png: Path,
    viewport: dict[str, int],
    profile: Path,
) -> Iterator[tuple[Any, str]]:
    """JupyterLab on `root` and a Chromium page; yields the page and a function of a notebook
    path giving its URL (with the token). On failure: a screenshot and the server log's tail."""
    port, token = free_port(), "velo-lab-test-token"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            [
                str(Path(sys.prefix) / "bin" / "jupyter"),
                "lab",
                "--allow-root",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                "--LabApp.news_url=None",  # no "get notified about news" toast over the notebook
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            cwd=root,
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
                str(profile),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                env=env,
                viewport=viewport,
            )
            try:
                page = browser.pages[0] if browser.pages else browser.new_page()
                page.set_default_timeout(UI_TIMEOUT_MS)
                try:
                    yield page, lambda nb: f"{base}/lab/tree/{nb}?token={token}"
                except Exception:
                    page.screenshot(path=str(failure_png))
                    print(f"\nfailure screenshot: {failure_png}")
                    state = "running" if server.poll() is None else f"exited {server.returncode}"
                    print(f"jupyter lab ({state}), log tail:\n{log.read_text()[-3000:]}")
                    raise
            finally:
                browser.close()
    finally:
        _stop(server)


def table_rows(table: Any) -> int:
    """Rows in the shown result table."""
    return table.locator("tbody tr").count()
