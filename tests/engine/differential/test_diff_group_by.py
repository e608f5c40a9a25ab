"""GROUP BY without a window: EMIT FINAL and EMIT CHANGES against DuckDB's batch aggregate."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
from diff_helpers import (
    assert_same_groups,
    decimal_avg,
    diff_settings,
    event_rows,
    run_duckdb,
    to_form,
    values_match,
)
from diff_helpers import run_engine as run_streaming
from hypothesis import given
from hypothesis import strategies as st

KEYS = st.sampled_from([["k"], ["k", "g"], ["g"]])
WHERES = st.sampled_from(["", "WHERE v IS NOT NULL", "WHERE v > 0 OR k IS NULL", "WHERE d < 5"])
AGGS = """COUNT(*) AS n, COUNT(v) AS nv, SUM(v) AS sv, AVG(v) AS av, MIN(v) AS minv,
    MAX(v) AS maxv, SUM(d) AS sd, COUNT(d) AS nd, MIN(d) AS mind, MAX(d) AS maxd,
    SUM(f) AS sf, AVG(f) AS af, MAX(f) AS maxf, COUNT(DISTINCT v) AS cdv,
    SUM(DISTINCT d) AS sdd, COUNT(DISTINCT k) AS cdk"""
COLS = ["n", "nv", "sv", "av", "minv", "maxv", "sd", "nd", "mind", "maxd", "sf", "af", "maxf"]
COLS += ["ad", "cdv", "sdd", "cdk"]


def engine_sql(keys: list[str], where: str, emit: str, ordered: bool) -> str:
    """The streaming query under test."""
    group = ", ".join(keys)
    lateness = "" if ordered else ", 'watermark.max_out_of_orderness' = '1d'"
    return (
        f"SELECT {group}, {AGGS}, AVG(d) AS ad FROM events {where} GROUP BY {group} {emit} "
        f"WITH ('events.event.time.field' = 'ts'{lateness})"
    )


def oracle(rows: list[dict], keys: list[str], where: str) -> list[dict]:
    """The batch aggregate, AVG of DECIMAL per SEMANTICS from DuckDB's exact SUM and COUNT."""
    group = ", ".join(keys)
    expected = run_duckdb(rows, f"SELECT {group}, {AGGS} FROM t {where} GROUP BY {group}")
    for r in expected:
        r["ad"] = decimal_avg(r["sd"], r["nd"])
    return expected


@st.composite
def cases(draw: st.DrawFn) -> tuple:
    """Group keys, a filter, an input order and rows."""
    ordered = draw(st.booleans())
    rows = draw(event_rows(1000, max_size=30, ordered=ordered))
    return draw(KEYS), draw(WHERES), ordered, rows


@diff_settings(40)
@given(cases())
def test_group_by_emit_final_matches_duckdb(case: tuple) -> None:
    keys, where, ordered, rows = case
    actual, _ = run_streaming(rows, engine_sql(keys, where, "EMIT FINAL", ordered))
    assert_same_groups(actual, oracle(rows, keys, where), keys, COLS)


@diff_settings(40)
@given(cases(), st.sampled_from(["EMIT CHANGES", ""]))
def test_group_by_emit_changes_ends_on_duckdb_aggregate(case: tuple, emit: str) -> None:
    """A row per input row passing WHERE (no EMIT clause means EMIT CHANGES here)."""
    keys, where, ordered, rows = case
    actual, _ = run_streaming(rows, engine_sql(keys, where, emit, ordered))
    passing = run_duckdb(rows, f"SELECT id FROM t {where} ORDER BY id")
    assert len(actual) == len(passing)
    last = {tuple(r[k] for k in keys): r for r in actual}
    expected = oracle(rows, keys, where)
    assert_same_groups(list(last.values()), expected, keys, COLS)
    # Each input row's change is its group's: the changes per group are that group's row count.
    changes = Counter(tuple(r[k] for k in keys) for r in actual)
    assert changes == Counter({tuple(r[k] for k in keys): r["n"] for r in expected})


RUNNING = """COUNT(*) OVER w AS n, SUM(v) OVER w AS sv, MIN(v) OVER w AS minv,
    SUM(d) OVER w AS sd, COUNT(d) OVER w AS nd, MAX(d) OVER w AS maxd, AVG(f) OVER w AS af"""


@diff_settings(40)
@given(cases())
def test_group_by_each_change_is_the_running_aggregate(case: tuple) -> None:
    """The change after input row i is the group's aggregate over its rows up to i."""
    keys, where, _, rows = case  # any input order: lateness 1d keeps every record
    sql = (
        f"SELECT {', '.join(keys)}, COUNT(*) AS n, SUM(v) AS sv, MIN(v) AS minv, SUM(d) AS sd, "
        f"MAX(d) AS maxd, AVG(f) AS af, AVG(d) AS ad FROM events {where} "
        f"GROUP BY {', '.join(keys)} EMIT CHANGES "
        f"WITH ('events.event.time.field' = 'ts', 'watermark.max_out_of_orderness' = '1d')"
    )
    actual, _ = run_streaming(rows, sql)
    expected = run_duckdb(
        rows,
        f"SELECT id, {', '.join(keys)}, {RUNNING} FROM t {where} "
        f"WINDOW w AS (PARTITION BY {', '.join(keys)} ORDER BY id ROWS UNBOUNDED PRECEDING) "
        f"ORDER BY id",
    )
    assert len(actual) == len(expected)
    cols = [*keys, "n", "sv", "minv", "sd", "maxd", "af", "ad"]
    for i, (act, exp) in enumerate(zip(actual, expected, strict=True)):
        exp["ad"] = decimal_avg(exp["sd"], exp["nd"])
        bad = [c for c in cols if not values_match(act.get(c, "<missing>"), exp[c])]
        assert not bad, (
            f"change {i} (input id {exp['id']}): {bad} differ\n"
            f" expected {[exp[c] for c in bad]}\n actual {[act.get(c) for c in bad]}"
        )


@diff_settings(30)
@given(cases(), st.sampled_from(["", "HAVING COUNT(*) > 2", "HAVING SUM(v) > 0 OR parity IS NULL"]))
def test_group_by_an_aliased_expression_with_having(case: tuple, having: str) -> None:
    """GROUP BY and HAVING may name a select item's alias; HAVING drops whole groups."""
    _, where, ordered, rows = case
    select = "g % 2 AS parity, k, COUNT(*) AS n, SUM(v) AS sv, MAX(d) AS maxd"
    lateness = "" if ordered else ", 'watermark.max_out_of_orderness' = '1d'"
    actual, _ = run_streaming(
        rows,
        f"SELECT {select} FROM events {where} GROUP BY parity, k {having} EMIT FINAL "
        f"WITH ('events.event.time.field' = 'ts'{lateness})",
    )
    expected = run_duckdb(rows, f"SELECT {select} FROM t {where} GROUP BY parity, k {having}")
    assert_same_groups(actual, expected, ["parity", "k"], ["n", "sv", "maxd"])


@pytest.mark.parametrize(
    ("n", "one", "form"),
    [
        (32, "0.01", "dicts"),
        (320, "0.10", "dicts"),
        (320, "0.10", "arrow"),
        (320, "0.10", "polars"),
    ],
)
def test_decimal_avg_rounds_a_tie_half_away_from_zero(n: int, one: str, form: str) -> None:
    """AVG over n DECIMAL(2) values summing to +-one is +-0.0003125 exactly: at scale 6 a tie,
    rounded away from zero to +-0.000313 (half-even would give 0.000312). 320 rows in one
    batch take the vectorized path."""
    rows = []
    for k, sign in (("p", 1), ("n", -1)):
        for i in range(n):
            d = sign * Decimal(one) if i == 0 else Decimal("0.00")
            rows.append(
                {"id": len(rows), "ts": len(rows), "k": k, "g": 1, "v": 1, "d": d, "f": 1.0}
            )
    actual, _ = run_streaming(
        to_form(rows, form),
        "SELECT k, AVG(d) AS ad FROM events GROUP BY k EMIT FINAL "
        "WITH ('events.event.time.field' = 'ts')",
    )
    by_key = {r["k"]: r["ad"] for r in actual}
    assert by_key == {"p": Decimal("0.000313"), "n": Decimal("-0.000313")}
    assert all(str(v) in ("0.000313", "-0.000313") for v in by_key.values())  # scale 6
