"""WHERE + projection with random arithmetic, CASE and 3-valued logic against DuckDB."""

from __future__ import annotations

from dataclasses import dataclass

from diff_helpers import (
    decimal_div,
    diff_settings,
    event_rows,
    numbers_match,
    run_duckdb,
    to_form,
)
from diff_helpers import run_engine as run_streaming
from hypothesis import given
from hypothesis import strategies as st

# Inputs: g (1, 2, NULL) and v (-1000..1000 or NULL) are BIGINT, f DOUBLE, d DECIMAL(18, 2),
# k a string or NULL. Expressions stay shallow so that BIGINT products cannot overflow.


@dataclass(frozen=True)
class Expr:
    """One expression spelled for our engine and for the DuckDB oracle."""

    ours: str
    duck: str


def _both(text: str) -> Expr:
    return Expr(text, text)


def _literal(n: int) -> Expr:
    # A negative literal in parentheses: "a - -3" would start a "--" comment.
    return _both(f"({n})" if n < 0 else str(n))


INT_LEAVES = st.one_of(
    st.sampled_from(["v", "g", "NULL"]).map(_both),
    st.integers(-3, 3).map(_literal),
)
DOUBLE_LEAVES = st.one_of(
    st.just(_both("f")),
    st.sampled_from(["0.5", "2.0", "0.0"]).map(lambda s: _both(f"CAST({s} AS DOUBLE)")),
)


def _binary(op: str) -> callable:
    def build(pair: tuple[Expr, Expr]) -> Expr:
        a, b = pair
        return Expr(f"({a.ours} {op} {b.ours})", f"({a.duck} {op} {b.duck})")

    return build


def _divide(pair: tuple[Expr, Expr]) -> Expr:
    # Ours: division by zero is NULL; DuckDB gives inf or NaN, so the oracle divides by NULLIF.
    a, b = pair
    return Expr(f"({a.ours} / {b.ours})", f"({a.duck} / NULLIF({b.duck}, 0))")


def _modulo(pair: tuple[Expr, Expr]) -> Expr:
    # The remainder takes the dividend's sign (DuckDB, PostgreSQL); by zero it is NULL like /.
    a, b = pair
    return Expr(f"({a.ours} % {b.ours})", f"({a.duck} % NULLIF({b.duck}, 0))")


def _case(parts: tuple[Expr, Expr, Expr]) -> Expr:
    c, a, b = parts
    return Expr(
        f"CASE WHEN {c.ours} THEN {a.ours} ELSE {b.ours} END",
        f"CASE WHEN {c.duck} THEN {a.duck} ELSE {b.duck} END",
    )


def _coalesce(pair: tuple[Expr, Expr]) -> Expr:
    a, b = pair
    return Expr(f"COALESCE({a.ours}, {b.ours})", f"COALESCE({a.duck}, {b.duck})")


def _not(e: Expr) -> Expr:
    return Expr(f"(NOT {e.ours})", f"(NOT {e.duck})")


def _is_null(args: tuple[Expr, str]) -> Expr:
    e, test = args
    return Expr(f"({e.ours} {test})", f"({e.duck} {test})")


def int_exprs(depth: int) -> st.SearchStrategy[Expr]:
    """BIGINT-valued expressions."""
    if depth == 0:
        return INT_LEAVES
    sub = int_exprs(depth - 1)
    return st.one_of(
        INT_LEAVES,
        *(st.tuples(sub, sub).map(_binary(op)) for op in ("+", "-", "*")),
        st.tuples(sub, sub).map(_modulo),
        st.tuples(bool_exprs(depth - 1), sub, sub).map(_case),
        st.tuples(sub, sub).map(_coalesce),
    )


def double_exprs(depth: int) -> st.SearchStrategy[Expr]:
    """DOUBLE-valued expressions (BIGINT / BIGINT is a DOUBLE, as SEMANTICS says)."""
    ints = int_exprs(max(depth - 1, 0))
    if depth == 0:
        return DOUBLE_LEAVES | st.tuples(ints, ints).map(_divide)
    sub = double_exprs(depth - 1)
    return st.one_of(
        DOUBLE_LEAVES,
        st.tuples(ints, ints).map(_divide),
        st.tuples(sub, sub).map(_divide),
        *(st.tuples(sub, sub).map(_binary(op)) for op in ("+", "-", "*")),
        st.tuples(bool_exprs(depth - 1), sub, sub).map(_case),
    )


COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")


def bool_exprs(depth: int) -> st.SearchStrategy[Expr]:
    """Boolean expressions, NULL included (3-valued logic)."""
    ints = int_exprs(min(depth, 1))
    leaves = st.one_of(
        *(st.tuples(ints, ints).map(_binary(op)) for op in COMPARISONS),
        st.tuples(double_exprs(0), double_exprs(0)).map(_binary("<")),
        st.tuples(ints, st.sampled_from(["IS NULL", "IS NOT NULL"])).map(_is_null),
        st.sampled_from(
            ["k = 'a'", "k <> 'b'", "k IS NULL", "k IN ('a', 'c')", "d > 0", "d <= 10.5"]
        ).map(_both),
    )
    if depth == 0:
        return leaves
    sub = bool_exprs(depth - 1)
    return st.one_of(
        leaves,
        sub.map(_not),
        st.tuples(sub, sub).map(_binary("AND")),
        st.tuples(sub, sub).map(_binary("OR")),
    )


@st.composite
def queries(draw: st.DrawFn) -> tuple[Expr, list[Expr], list[dict]]:
    """A WHERE condition, projected expressions and rows."""
    where = draw(bool_exprs(2))
    items = [draw(int_exprs(2)), draw(double_exprs(1)), draw(bool_exprs(1))]
    return where, items, draw(event_rows(1000, max_size=20))


FIXED = """id, k, d * v AS dv, d + g AS dg, d - d AS dz, d * 1.5 AS dm, d - 0.125 AS dp,
    CAST(d AS BIGINT) AS di, ROUND(d, 1) AS dr"""
SELECT = f"{FIXED}, d / v AS dq, CAST(f AS BIGINT) AS fi, ROUND(f) AS fr"
# DuckDB's CAST(DOUBLE AS BIGINT) rounds ties to even; SEMANTICS rounds half away from zero,
# as DuckDB's round() does.
ORACLE_SELECT = f"{FIXED}, d, v, CAST(round(f) AS BIGINT) AS fi, round(f) AS fr"
# SEMANTICS fixes ROUND's value, not its scale: compared by value.
BY_VALUE = {"dr"}


@diff_settings(50)
@given(queries(), st.sampled_from(["dicts", "dicts", "arrow", "polars"]))
def test_where_and_projection_match_duckdb(q: tuple, form: str) -> None:
    where, items, rows = q
    names = [f"e{i}" for i in range(len(items))]
    ours = ", ".join(f"{e.ours} AS {n}" for e, n in zip(items, names, strict=True))
    duck = ", ".join(f"{e.duck} AS {n}" for e, n in zip(items, names, strict=True))
    actual, _ = run_streaming(
        to_form(rows, form),
        f"SELECT {SELECT}, {ours} FROM events WHERE {where.ours} "
        f"WITH ('events.event.time.field' = 'ts')",
    )
    expected = run_duckdb(
        rows, f"SELECT {ORACLE_SELECT}, {duck} FROM t WHERE {where.duck} ORDER BY id"
    )
    # DuckDB gives DECIMAL / BIGINT as a DOUBLE; SEMANTICS wants an exact DECIMAL.
    for r in expected:
        r["dq"] = decimal_div(r.pop("d"), r.pop("v"))
    # One row per input row that passes WHERE, in input order.
    assert [r["id"] for r in actual] == [r["id"] for r in expected], "rows passing WHERE differ"
    for act, exp in zip(actual, expected, strict=True):
        bad = [
            c
            for c in exp
            if not numbers_match(act.get(c, "<missing>"), exp[c])
            and not (c in BY_VALUE and exp[c] is not None and act.get(c) == exp[c])
        ]
        assert not bad, (
            f"row id={exp['id']}: {bad} differ\n expected {[exp[c] for c in bad]}\n"
            f" actual {[act.get(c) for c in bad]}\n input {rows[exp['id']]}"
        )
