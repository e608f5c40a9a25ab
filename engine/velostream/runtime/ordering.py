"""ORDER BY over a finished, bounded result (ad-hoc SELECT)."""

from __future__ import annotations

import functools
from typing import Any

from velostream import values as V
from velostream.plan.logical import QueryPlan
from velostream.runtime.codegen import Compiler, Resolver, field_access


class _OutputColumns(Resolver):
    """ORDER BY names output columns (aliases), as SQL allows."""

    def column(self, col, compiler: Compiler) -> str:  # type: ignore[override]
        return field_access("r", col.name)


def sort_rows(rows: list[dict], plan: QueryPlan) -> list[dict]:
    """Sort rows by the plan's ORDER BY (NULLs last ascending, first descending)."""
    comp = Compiler(_OutputColumns())
    keys = [(comp.lambda_("r", o.this), bool(o.args.get("desc"))) for o in plan.order_by]

    def cmp(a: dict, b: dict) -> int:
        for fn, desc in keys:
            x, y = fn(a), fn(b)
            c = _compare(x, y)
            if c:
                return -c if desc else c
        return 0

    return sorted(rows, key=functools.cmp_to_key(cmp))


def _compare(x: Any, y: Any) -> int:
    if x is None or y is None:
        return 0 if x is y else (1 if x is None else -1)
    if V.lt(x, y):
        return -1
    if V.gt(x, y):
        return 1
    return 0
