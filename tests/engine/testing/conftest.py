"""The harness's tests: the server helpers on the path (hermetic Jupyter comes from
tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests" / "services"))
