"""Kafka connector tests run against a real Tansu broker (tests/services/kafka.py)."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parents[3])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from services.kafka import kafka_broker  # noqa: E402,F401  (the session fixture)

_names = itertools.count(1)


@pytest.fixture
def topic(request: pytest.FixtureRequest) -> str:
    """A topic name no other test uses."""
    return f"t{next(_names)}-{request.node.name[:40].replace('[', '-').replace(']', '')}"
