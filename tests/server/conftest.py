"""The server tests: jupyter-server's pytest plugin (jp_serverapp, jp_fetch), the Anthropic
stand-in from tests/services, and the Velostream kernelspec in the test's own Jupyter dirs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

# pytest_plugins is only allowed in the top conftest: take the plugin's fixtures and its
# async-test hooks from its module instead (they apply to this folder only).
from pytest_jupyter.jupyter_server import *  # noqa: E402, F403


@pytest.fixture
def velo_kernelspec(jp_kernel_dir: Path) -> str:
    """The Velostream SQL kernelspec, installed in the test's Jupyter data dir."""
    spec = Path(jp_kernel_dir) / "velostream"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "velostream_kernel", "-f", "{connection_file}"],
                "display_name": "Velostream SQL",
                "language": "velosql",
                "interrupt_mode": "message",
                "metadata": {"debugger": False},
            }
        )
    )
    return "velostream"
