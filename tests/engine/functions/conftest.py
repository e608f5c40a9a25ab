"""Helpers for the function tests: call a function the way the runtime does."""

from __future__ import annotations

from typing import Any

import pytest

from velostream.functions import AGGREGATES, SCALARS


def call_scalar(name: str, *args: Any) -> Any:
    """Call a registered scalar with the runtime's NULL rule and argument-count checks."""
    f = SCALARS[name.upper()]
    assert len(args) >= f.min_args, f"{name} takes at least {f.min_args} arguments"
    assert f.max_args is None or len(args) <= f.max_args, f"{name} takes at most {f.max_args}"
    if f.null_propagating and any(a is None for a in args):
        return None
    return f.fn(*args)


def run_aggregate(name: str, rows: list[Any], *constants: Any) -> Any:
    """Feed rows to a fresh accumulator the way the runtime does (NULL rows skipped)."""
    agg = AGGREGATES[name.upper()]
    acc = agg.factory(*constants)
    for row in rows:
        values = row if isinstance(row, tuple) else (row,)
        if agg.value_args and any(v is None for v in values):
            continue
        acc.add(*values)
    return acc.result()


@pytest.fixture
def call():
    return call_scalar


@pytest.fixture
def agg():
    return run_aggregate
