"""The metrics tests use the Prometheus server starter from tests/services."""

from __future__ import annotations

import sys
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[2])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from services.prometheus import prometheus  # noqa: E402, F401  (the fixture)
