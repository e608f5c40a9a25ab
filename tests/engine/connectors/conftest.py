"""Fixtures for the connector tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def warnings_list() -> list[str]:
    """Collects on_warning messages."""
    return []
