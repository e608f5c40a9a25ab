"""Settings for the whole suite."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

# Hermetic Jupyter for every test: config, data, runtime and IPython dirs in a temp folder,
# inherited by each kernel, papermill run, Jupyter server and `velo` process a test starts
# (the venv's share/jupyter still holds the kernelspec: it is on the path via sys.prefix).
_JUPYTER = tempfile.mkdtemp(prefix="velo-jupyter-")
for _var, _sub in (
    ("JUPYTER_CONFIG_DIR", "config"),
    ("JUPYTER_DATA_DIR", "data"),
    ("JUPYTER_RUNTIME_DIR", "runtime"),
    ("IPYTHONDIR", "ipython"),
):
    os.makedirs(os.path.join(_JUPYTER, _sub), exist_ok=True)
    os.environ[_var] = os.path.join(_JUPYTER, _sub)
os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
for _var in ("VELO_MODE", "VELO_PROJECT", "VELO_METRICS_PORT"):  # a developer's own settings
    os.environ.pop(_var, None)
atexit.register(shutil.rmtree, _JUPYTER, True)

# Tests write only to temporary folders: hypothesis keeps its caches in one, and no example
# database. In CI the search is derandomized, so a run is reproducible; locally it explores
# new examples each run.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="velo-hypothesis-"))
settings.register_profile("local", database=None, deadline=None)
settings.register_profile("ci", parent=settings.get_profile("local"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "local")
