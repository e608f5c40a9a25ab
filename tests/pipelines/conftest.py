"""Hermetic Jupyter for the pipeline tests: config, data, runtime and IPython dirs in a temp
folder, inherited by every `velo` process and kernel the tests start (the kernelspec comes from
the venv's share/jupyter, on the path through sys.prefix)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_ROOT = tempfile.mkdtemp(prefix="velo-pipelines-jupyter-")
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
os.environ.pop("VELO_PROJECT", None)
atexit.register(shutil.rmtree, _ROOT, True)
