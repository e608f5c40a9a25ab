"""The lab extension's TypeScript unit tests (vitest, labextension/test) run from pytest, so
`make test` runs them. They need the extension's node_modules (installed by its build)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

LABEXT = Path(__file__).resolve().parents[2] / "labextension"


def test_typescript_unit_tests_pass() -> None:
    if shutil.which("npx") is None:
        pytest.skip("node/npx is not installed: the lab extension cannot be tested")
    if not (LABEXT / "node_modules" / ".bin" / "vitest").exists():
        pytest.skip(
            "labextension/node_modules is missing: the extension was not built here "
            "(pip install -e . builds it; or run `npm install` in labextension/)"
        )
    r = subprocess.run(
        ["npx", "--no-install", "vitest", "run", "--reporter=dot"],
        cwd=LABEXT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, f"vitest failed:\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}"
    assert " passed" in r.stdout, r.stdout[-2000:]
