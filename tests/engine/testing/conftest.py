"""The harness's tests: helpers on the path, and hermetic Jupyter dirs for the notebook tests."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "services"))

_JUPYTER = tempfile.mkdtemp(prefix="velo-test-jupyter-")
for _var, _sub in (
    ("JUPYTER_CONFIG_DIR", "config"),
    ("JUPYTER_DATA_DIR", "data"),
    ("JUPYTER_RUNTIME_DIR", "runtime"),
    ("IPYTHONDIR", "ipython"),
):
    os.makedirs(os.path.join(_JUPYTER, _sub), exist_ok=True)
    os.environ[_var] = os.path.join(_JUPYTER, _sub)
os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
os.environ.pop("VELO_MODE", None)
atexit.register(shutil.rmtree, _JUPYTER, True)
