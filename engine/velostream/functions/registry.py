"""The function registry: scalar, aggregate and window-only functions by UPPER-case name.

Contract with the runtime:

- `ScalarFunction`: when ``null_propagating`` the runtime returns NULL without calling ``fn``
  if any argument is NULL, so ``fn`` may assume non-NULL arguments.
- `AggregateFunction`: the first ``value_args`` arguments are evaluated per row; the remaining
  arguments are constants passed once per group to ``factory(*constants)``. The accumulator
  it returns has ``add(*values)`` (never called with a NULL value: rows where a value argument
  is NULL are skipped, except COUNT(*) which has ``value_args=0`` and is called with no
  arguments for every row), ``result()``, ``merge(other)`` and ``copy()``.
- `WindowFunction`: the runtime implements these (LAG, RANK, ...); the registry holds their
  signatures and descriptions so that validation and ``SHOW FUNCTIONS`` know them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "AGGREGATES",
    "SCALARS",
    "WINDOW_FUNCTIONS",
    "Accumulator",
    "AggregateFunction",
    "ScalarFunction",
    "WindowFunction",
    "catalog",
    "lookup",
    "register_aggregate",
    "register_scalar",
    "register_window",
]


class Accumulator(Protocol):
    """The state of one aggregate over one group."""

    def add(self, *values: Any) -> None: ...
    def result(self) -> Any: ...
    def merge(self, other: Any) -> None: ...
    def copy(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class ScalarFunction:
    """A per-row function; ``max_args=None`` means variadic."""

    name: str
    fn: Callable[..., Any]
    min_args: int
    max_args: int | None
    category: str
    description: str
    null_propagating: bool = True
    deterministic: bool = True  # False for NOW() and friends: never fold to a constant
    alias_of: str | None = None
    row_column: str | None = None  # a field of the input row passed as the first argument


@dataclass(frozen=True, slots=True)
class AggregateFunction:
    """An aggregate: ``factory(*constant_args)`` makes one accumulator per group."""

    name: str
    factory: Callable[..., Accumulator]
    min_args: int
    max_args: int | None
    category: str
    description: str
    value_args: int = 1
    alias_of: str | None = None


@dataclass(frozen=True, slots=True)
class WindowFunction:
    """A window-only function (used with OVER); implemented by the runtime."""

    name: str
    min_args: int
    max_args: int | None
    category: str
    description: str
    alias_of: str | None = None


SCALARS: dict[str, ScalarFunction] = {}
AGGREGATES: dict[str, AggregateFunction] = {}
WINDOW_FUNCTIONS: dict[str, WindowFunction] = {}


def _check_new(name: str) -> None:
    if name in SCALARS or name in AGGREGATES or name in WINDOW_FUNCTIONS:
        raise ValueError(f"function {name} registered twice")


def register_scalar(
    name: str,
    fn: Callable[..., Any],
    min_args: int,
    max_args: int | None,
    category: str,
    description: str,
    *,
    aliases: tuple[str, ...] = (),
    null_propagating: bool = True,
    deterministic: bool = True,
    row_column: str | None = None,
) -> ScalarFunction:
    """Register a scalar function (and its aliases) under UPPER-case names. With
    `row_column`, `fn` gets that field of the input row first (e.g. HEADER: the headers)."""
    canonical = name.upper()
    entry = ScalarFunction(
        canonical,
        fn,
        min_args,
        max_args,
        category,
        description,
        null_propagating,
        deterministic,
        row_column=row_column,
    )
    _check_new(canonical)
    SCALARS[canonical] = entry
    for alias in aliases:
        a = alias.upper()
        _check_new(a)
        SCALARS[a] = ScalarFunction(
            a,
            fn,
            min_args,
            max_args,
            category,
            f"Alias of {canonical}.",
            null_propagating,
            deterministic,
            alias_of=canonical,
        )
    return entry


def register_aggregate(
    name: str,
    factory: Callable[..., Accumulator],
    min_args: int,
    max_args: int | None,
    description: str,
    *,
    value_args: int = 1,
    aliases: tuple[str, ...] = (),
    category: str = "aggregate",
) -> AggregateFunction:
    """Register an aggregate function (and its aliases) under UPPER-case names."""
    canonical = name.upper()
    entry = AggregateFunction(
        canonical, factory, min_args, max_args, category, description, value_args
    )
    _check_new(canonical)
    AGGREGATES[canonical] = entry
    for alias in aliases:
        a = alias.upper()
        _check_new(a)
        AGGREGATES[a] = AggregateFunction(
            a,
            factory,
            min_args,
            max_args,
            category,
            f"Alias of {canonical}.",
            value_args,
            alias_of=canonical,
        )
    return entry


def register_window(
    name: str, min_args: int, max_args: int | None, description: str
) -> WindowFunction:
    """Register a window-only function's signature (the runtime implements it)."""
    canonical = name.upper()
    _check_new(canonical)
    entry = WindowFunction(canonical, min_args, max_args, "window", description)
    WINDOW_FUNCTIONS[canonical] = entry
    return entry


def lookup(name: str) -> ScalarFunction | AggregateFunction | WindowFunction | None:
    """The function registered under ``name`` (any case), or None."""
    key = name.upper()
    return SCALARS.get(key) or AGGREGATES.get(key) or WINDOW_FUNCTIONS.get(key)


def catalog(include_aliases: bool = True) -> list[tuple[str, str, str, str]]:
    """``(name, kind, category, description)`` rows for SHOW FUNCTIONS, sorted by category, name.

    ``kind`` is ``aggregate``, ``scalar`` or ``window``; an alias row's description reads
    ``Alias of X.``.
    """
    rows: list[tuple[str, str, str, str]] = []
    for kind, table in (
        ("aggregate", AGGREGATES),
        ("scalar", SCALARS),
        ("window", WINDOW_FUNCTIONS),
    ):
        for f in table.values():
            if f.alias_of is not None and not include_aliases:
                continue
            rows.append((f.name, kind, f.category, f.description))
    order = {c: i for i, c in enumerate(CATEGORY_ORDER)}
    rows.sort(key=lambda r: (order.get(r[2], len(order)), r[0]))
    return rows


CATEGORY_ORDER = (
    "aggregate",
    "window",
    "math",
    "string",
    "datetime",
    "conditional",
    "json",
    "array",
    "header",
)
