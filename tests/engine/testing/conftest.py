"""The harness's tests: the server helpers importable as `services.*` (hermetic Jupyter comes
from tests/conftest.py). Not tests/services itself on the path: its redis.py would shadow the
redis package for every later test."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parents[2])
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
