"""Settings for the whole suite."""

from __future__ import annotations

import os
import tempfile

from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

# Tests write only to temporary folders: hypothesis keeps its caches in one, and no example
# database. In CI the search is derandomized, so a run is reproducible; locally it explores
# new examples each run.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="velo-hypothesis-"))
settings.register_profile("local", database=None, deadline=None)
settings.register_profile("ci", parent=settings.get_profile("local"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "local")
