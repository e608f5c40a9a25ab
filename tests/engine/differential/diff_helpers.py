"""Shared pieces of the differential tests: input strategies, the DuckDB oracle, comparison."""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from velostream import Engine
from velostream.runtime.job import JobStats

Row = dict[str, Any]

# Deterministic runs (CI reproduces a failure exactly) and no example database in the repo.
DIFF_SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


def diff_settings(max_examples: int) -> settings:
    """Hypothesis settings for one differential property.

    `VELO_DIFF_EXPLORE=N` (by hand, not in CI) runs N times the examples from a random seed,
    to hunt for failures the fixed examples miss.
    """
    explore = int(os.environ.get("VELO_DIFF_EXPLORE", "0") or 0)
    if explore > 0:
        return settings(
            max_examples=max_examples * explore, **{**DIFF_SETTINGS, "derandomize": False}
        )
    return settings(max_examples=max_examples, **DIFF_SETTINGS)


# The input schema every generated row follows; DuckDB gets it explicitly so that an all-NULL
# column still has its type.
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("ts", pa.int64()),
        ("k", pa.string()),
        ("g", pa.int64()),
        ("v", pa.int64()),
        ("d", pa.decimal128(18, 2)),
        ("f", pa.float64()),
    ]
)

CENT = Decimal("0.01")
KEYS = st.sampled_from(["a", "b", "c", None])
SMALL_GROUPS = st.sampled_from([1, 2, None])
INTS = st.none() | st.integers(-1000, 1000)
DECIMALS = st.none() | st.decimals(
    min_value=Decimal("-10000"), max_value=Decimal("10000"), places=2, allow_nan=False
).map(lambda x: x.quantize(CENT))
DOUBLES = st.one_of(
    st.none(),
    st.floats(
        min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False
    ),
    st.integers(-20, 20).map(lambda i: i / 2),  # exact halves: rounding ties
)
# Epoch ms; -2500 puts some records before the epoch, where windows still align to it.
BASES = st.sampled_from([0, -2_500, 1_700_000_000_000, 1_699_999_999_500])


@st.composite
def offsets(draw: st.DrawFn, unit: int, n: int) -> list[int]:
    """`n` event-time offsets in [0, 6 * unit], often exactly on or next to a multiple of unit."""
    one = st.one_of(
        st.integers(0, 6 * unit),
        st.integers(0, 6).map(lambda i: i * unit),
        st.integers(1, 6).map(lambda i: i * unit - 1),
        st.integers(0, 5).map(lambda i: i * unit + 1),
    )
    return draw(st.lists(one, min_size=n, max_size=n))


@st.composite
def event_rows(
    draw: st.DrawFn, unit: int, min_size: int = 0, max_size: int = 30, ordered: bool = True
) -> list[Row]:
    """Random event rows; in event-time order when `ordered`, else in a random order."""
    n = draw(st.integers(min_size, max_size))
    base = draw(BASES)
    times = sorted(base + o for o in draw(offsets(unit, n)))
    if not ordered:
        times = draw(st.permutations(times))
    return [
        {
            "id": i,
            "ts": t,
            "k": draw(KEYS),
            "g": draw(SMALL_GROUPS),
            "v": draw(INTS),
            "d": draw(DECIMALS),
            "f": draw(DOUBLES),
        }
        for i, t in enumerate(times)
    ]


def floor_to(column: str, size: int) -> str:
    """DuckDB SQL for `column` floored to a multiple of `size` (DuckDB's `//` truncates)."""
    return f"({column} - ((({column} % {size}) + {size}) % {size}))"


# -- running both sides ----------------------------------------------------------------------


def to_form(rows: list[Row], form: str, schema: pa.Schema = SCHEMA) -> Any:
    """The rows as the engine may be given them: "dicts", an "arrow" table or a "polars" frame."""
    if form == "dicts":
        return rows
    table = pa.Table.from_pylist(rows, schema=schema)
    return table if form == "arrow" else pl.from_arrow(table)


def run_engine(data: Any, sql: str) -> tuple[list[Row], JobStats]:
    """Run a bounded query over `data` (rows, Arrow, Polars) registered as `events`; its output
    rows and job counters."""
    eng = Engine()
    # Copies, so that nothing the engine does to the dicts can leak into the oracle's input.
    eng.register("events", [dict(r) for r in data] if isinstance(data, list) else data)
    results = eng.execute(sql)
    assert len(results) == 1
    res = results[0]
    assert res.job is not None
    return list(res.rows), res.job.stats


_CON: duckdb.DuckDBPyConnection | None = None


def _connection() -> duckdb.DuckDBPyConnection:
    # Opening a DuckDB connection costs ~150 ms; one in-memory connection serves every example.
    global _CON
    if _CON is None:
        _CON = duckdb.connect(":memory:")
    return _CON


def run_duckdb(rows: list[Row], sql: str, **tables: pa.Table) -> list[Row]:
    """Run `sql` in DuckDB over `rows` as table `t` (typed by SCHEMA) and any other `tables`."""
    con = _connection()
    tables = {"t": pa.Table.from_pylist(rows, schema=SCHEMA), **tables}
    for name, table in tables.items():
        con.register(name, table)
    try:
        cur = con.execute(sql)
        names = [c[0] for c in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        for name in tables:
            con.unregister(name)


def decimal_avg(total: Decimal | None, count: int, scale: int = 2) -> Decimal | None:
    """AVG of DECIMALs per SEMANTICS: scale max(s + 4, 6), rounded half away from zero."""
    if total is None or count == 0:
        return None
    quantum = Decimal(1).scaleb(-max(scale + 4, 6))
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(total) / Decimal(count)).quantize(quantum, rounding=ROUND_HALF_UP)


def decimal_div(x: Decimal | None, y: Any, scale: int = 2) -> Decimal | None:
    """DECIMAL division per SEMANTICS: NULL on zero, scale max(s + 4, 6), half away from zero."""
    if x is None or y is None or y == 0:
        return None
    quantum = Decimal(1).scaleb(-max(scale + 4, 6))
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(x) / Decimal(y)).quantize(quantum, rounding=ROUND_HALF_UP)


# -- comparing -------------------------------------------------------------------------------


def values_match(actual: Any, expected: Any) -> bool:
    """One value: NULL, exact DECIMAL (value and scale), exact integer, or a close DOUBLE."""
    if expected is None:
        return actual is None
    if isinstance(expected, bool):
        return isinstance(actual, bool) and actual == expected
    if isinstance(expected, Decimal):
        return (
            isinstance(actual, Decimal)
            and actual == expected
            and actual.as_tuple().exponent == expected.as_tuple().exponent
        )
    if isinstance(expected, int):
        return isinstance(actual, int) and not isinstance(actual, bool) and actual == expected
    if isinstance(expected, float):
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            return False
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-6)
    return actual == expected


def numbers_match(actual: Any, expected: Any) -> bool:
    """Like values_match, but an integer and a DOUBLE of the same value agree (CASE mixes)."""
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        if isinstance(actual, int | float) and not isinstance(actual, bool):
            return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-6)
        return False
    return values_match(actual, expected)


def _sort_key(value: Any) -> tuple:
    return (value is None, value if value is not None else 0)


def group_key(row: Row, keys: Sequence[str]) -> tuple:
    """A row's grouping key, orderable even with NULLs."""
    return tuple(_sort_key(row.get(k)) for k in keys)


def assert_same_groups(
    actual: list[Row],
    expected: list[Row],
    keys: Sequence[str],
    columns: Iterable[str],
    context: str = "",
) -> None:
    """The two results hold the same rows (as multisets), each key once, values matching."""
    act_keys = Counter(group_key(r, keys) for r in actual)
    dup = [k for k, n in act_keys.items() if n > 1]
    assert not dup, f"{context}engine emitted a group more than once: {dup}\n{actual}"
    exp_by = {group_key(r, keys): r for r in expected}
    act_by = {group_key(r, keys): r for r in actual}
    missing = sorted(set(exp_by) - set(act_by))
    extra = sorted(set(act_by) - set(exp_by))
    assert not missing and not extra, (
        f"{context}groups differ\n missing: {[exp_by[k] for k in missing]}\n"
        f" extra: {[act_by[k] for k in extra]}"
    )
    cols = list(columns)
    for key in sorted(exp_by):
        exp, act = exp_by[key], act_by[key]
        bad = [c for c in cols if not values_match(act.get(c, "<missing>"), exp[c])]
        assert not bad, (
            f"{context}group {[exp[k] for k in keys]}: columns {bad} differ\n"
            f" expected: { {c: exp[c] for c in bad} }\n actual:   { {c: act.get(c) for c in bad} }"
        )
