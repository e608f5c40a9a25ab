"""Hermetic Jupyter for the kernel tests: config, data, runtime and IPython dirs in a temp
folder (the venv's share/jupyter still holds the kernelspec: it is on the path via sys.prefix)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_ROOT = tempfile.mkdtemp(prefix="velo-jupyter-")
for _var, _sub in (
    ("JUPYTER_CONFIG_DIR", "config"),
    ("JUPYTER_DATA_DIR", "data"),
    ("JUPYTER_RUNTIME_DIR", "runtime"),
    ("IPYTHONDIR", "ipython"),
):
    os.makedirs(os.path.join(_ROOT, _sub), exist_ok=True)
    os.environ[_var] = os.path.join(_ROOT, _sub)
os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
os.environ.pop("VELO_MODE", None)
atexit.register(shutil.rmtree, _ROOT, True)
