"""Large micro-batches (the engine's vectorized path) against DuckDB and the lateness model.

Batches of at least the engine's threshold (512 rows as of this writing; FAST_ROWS is well above
it) take the engine's Polars path; smaller ones, and whatever that path declines, run row by row. The result must not depend on which path ran, on the batch size, or on
whether the data came as dicts, an Arrow table or a Polars frame.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pyarrow as pa
from diff_helpers import (
    SCHEMA,
    assert_same_groups,
    decimal_avg,
    diff_settings,
    floor_to,
    run_duckdb,
    run_engine,
    to_form,
)
from diff_model import reference
from hypothesis import given
from hypothesis import strategies as st

FAST_ROWS = 1024  # rows enough for the vectorized path (the engine's threshold is 512 now)
# Mostly sizes that let the vectorized path run, sometimes row by row (97).
BATCH_SIZES = st.sampled_from([None, None, FAST_ROWS, FAST_ROWS + 300, 97])
MOSTLY_NOT = st.sampled_from([False, False, False, True])
FORMS = st.sampled_from(["dicts", "arrow", "polars"])
# (size, advance): tumbling when equal; (300, 1000) leaves gaps between windows.
SHAPES = st.sampled_from([(1000, 1000), (250, 250), (1000, 500), (1000, 300), (300, 1000)])
# Filters whose oracle spelling is the same; none does arithmetic on v (it can be near 2**62).
WHERES = st.sampled_from(
    ["", "WHERE v > 0", "WHERE g = 1 OR k IS NULL", "WHERE f < 0.5 AND v IS NOT NULL",
     "WHERE NOT (k = 'b')", "WHERE v / 3 > 1.5", "WHERE g * 2 + 1 > 2",
     "WHERE d > 0 OR d IS NULL", "WHERE k < 'k2'"]
)  # fmt: skip

INT_AGGS = """COUNT(*) AS n, COUNT(v) AS nv, SUM(v) AS sv, AVG(v) AS av, MIN(v) AS minv,
    MAX(v) AS maxv, COUNT(f) AS nf, SUM(f) AS sf, AVG(f) AS af, MIN(f) AS minf, MAX(f) AS maxf,
    SUM(g * 10 + 1) AS sg, MAX(f * 2) AS mf2, MIN(k) AS mink, MAX(k) AS maxk"""
INT_COLS = ["n", "nv", "sv", "av", "minv", "maxv", "nf", "sf", "af", "minf", "maxf", "sg", "mf2"]
INT_COLS += ["mink", "maxk"]
DEC_AGGS = "COUNT(d) AS nd, SUM(d) AS sd, MIN(d) AS mind, MAX(d) AS maxd"
DEC_COLS = ["nd", "sd", "mind", "maxd", "ad"]
# Ours: v / (g - 1) is NULL where g = 1; DuckDB would give inf, so it divides by NULLIF.
HAVINGS = st.sampled_from(["", "", "HAVING COUNT(*) > 30", "HAVING SUM(v) > 0 OR k IS NULL"])
# Aggregates only: also valid without GROUP BY.
WINDOW_HAVINGS = st.sampled_from(
    ["", "", "HAVING COUNT(*) > 30", "HAVING SUM(v) > 0 OR COUNT(k) < COUNT(*)"]
)
DIV_OURS = "SUM(v / (g - 1)) AS sdiv"
DIV_DUCK = "SUM(v / NULLIF(g - 1, 0)) AS sdiv"


@st.composite
def big_rows(draw: st.DrawFn) -> dict[str, Any]:
    """Some hundreds of rows from a seed, with the knobs that change which path runs."""
    knobs = {
        "seed": draw(st.integers(0, 2**32 - 1)),
        "n": draw(st.integers(FAST_ROWS, 2 * FAST_ROWS)),
        "keys": draw(st.sampled_from([1, 3, 40])),
        "null_rate": draw(st.sampled_from([0.0, 0.1, 0.6])),
        "huge": draw(MOSTLY_NOT),  # values up to 4e18: SUM leaves BIGINT, the fast path declines
        "decimals": draw(MOSTLY_NOT),
        # f holds some integers among its doubles, as a JSON source gives 3 next to 2.5
        "mixed": draw(MOSTLY_NOT),
        "base": draw(st.sampled_from([-3_000, 0, 1_700_000_000_000])),
        "span": draw(st.sampled_from([2_000, 20_000])),
    }
    rnd = random.Random(knobs["seed"])
    keys = [f"k{i}" for i in range(knobs["keys"])]

    def maybe(value: Any) -> Any:
        return None if rnd.random() < knobs["null_rate"] else value

    limit = 4 * 10**18 if knobs["huge"] else 1000
    times = sorted(knobs["base"] + rnd.randrange(knobs["span"]) for _ in range(knobs["n"]))
    rows = []
    for i, t in enumerate(times):
        row = {
            "id": i,
            "ts": t,
            "k": maybe(rnd.choice(keys)),
            "g": maybe(rnd.choice([1, 2, 3])),
            "v": maybe(rnd.randint(-limit, limit)),
            "f": maybe(round(rnd.uniform(-1000, 1000), 3)),
        }
        if knobs["mixed"] and row["f"] is not None and rnd.random() < 0.3:
            row["f"] = round(row["f"])
        if knobs["decimals"]:
            row["d"] = maybe(Decimal(rnd.randint(-(10**6), 10**6)).scaleb(-2))
        rows.append(row)
    knobs["rows"] = rows
    return knobs


def as_form(rows: list[dict], form: str, decimals: bool) -> Any:
    """The rows as the engine is given them (without the d column when it is not generated)."""
    schema = SCHEMA if decimals else pa.schema([f for f in SCHEMA if f.name != "d"])
    return to_form(rows, form, schema)


def with_clause(delay: int | None, batch: int | None) -> str:
    """Event time, lateness and batch size of the memory source."""
    props = ["'events.event.time.field' = 'ts'"]
    if delay is not None:
        props.append(f"'watermark.max_out_of_orderness' = '{delay}ms'")
    if batch is not None:
        props.append(f"'events.batch.size' = '{batch}'")
    return f"WITH ({', '.join(props)})"


def aggregates(decimals: bool, ours: bool) -> tuple[str, list[str]]:
    """The select list's aggregates for one side and the columns to compare."""
    aggs = f"{INT_AGGS}, {DIV_OURS if ours else DIV_DUCK}"
    cols = [*INT_COLS, "sdiv"]
    if decimals:
        aggs += f", {DEC_AGGS}" + (", AVG(d) AS ad" if ours else "")
        cols += DEC_COLS
    return aggs, cols


def fill_decimal_avg(expected: list[dict], decimals: bool) -> None:
    """AVG of DECIMAL per SEMANTICS, from DuckDB's exact SUM and COUNT."""
    if decimals:
        for r in expected:
            r["ad"] = decimal_avg(r["sd"], r["nd"])


@diff_settings(20)
@given(big_rows(), SHAPES, WHERES, FORMS, BATCH_SIZES, st.booleans(), st.booleans(), WINDOW_HAVINGS)
def test_big_windowed_batches_match_duckdb(
    data: dict,
    shape: tuple,
    where: str,
    form: str,
    batch: int | None,
    shuffled: bool,
    grouped: bool,
    having: str,
) -> None:
    """In order with lateness 0, or shuffled with lateness beyond the disorder: nothing late.
    With GROUP BY k, or without GROUP BY (one row per window)."""
    size, adv = shape
    rows = data["rows"]
    if shuffled:
        rows = random.Random(data["seed"]).sample(rows, len(rows))
    window = f"TUMBLING({size}ms)" if size == adv else f"SLIDING({size}ms, {adv}ms)"
    ours, cols = aggregates(data["decimals"], ours=True)
    key, group = ("k, ", "GROUP BY k") if grouped else ("", "")
    lateness = 86_400_000 if shuffled else None
    sql = (
        f"SELECT {key}{ours}, _window_start AS ws, _window_end AS we FROM events {where} "
        f"{group} {having} WINDOW {window} EMIT FINAL {with_clause(lateness, batch)}"
    )
    actual, stats = run_engine(as_form(rows, form, data["decimals"]), sql)
    duck, _ = aggregates(data["decimals"], ours=False)
    starts = f"unnest(range({floor_to('ts', adv)}, ts - {size}, -{adv}))"
    expected = run_duckdb(
        rows,
        f"SELECT {key}ws, ws + {size} AS we, {duck} "
        f"FROM (SELECT *, {starts} AS ws FROM t) {where} GROUP BY ALL {having}",
    )
    fill_decimal_avg(expected, data["decimals"])
    assert_same_groups(actual, expected, ["ws", "k"] if grouped else ["ws"], ["we", *cols])
    assert stats.late == 0


@diff_settings(20)
@given(big_rows(), SHAPES, FORMS, BATCH_SIZES, st.sampled_from([0, 150, 1000, 5000]))
def test_big_shuffled_batches_drop_late_records_like_the_model(
    data: dict, shape: tuple, form: str, batch: int | None, delay: int
) -> None:
    """Out-of-order input: the model decides membership and lateness, DuckDB aggregates."""
    size, adv = shape
    rnd = random.Random(data["seed"])
    # Mostly in order with local disorder: each record moves up to ~40 places.
    rows = sorted(data["rows"], key=lambda r: r["id"] + rnd.uniform(0, 40))
    model = reference(rows, size, adv, delay)
    window = f"TUMBLING({size}ms)" if size == adv else f"SLIDING({size}ms, {adv}ms)"
    ours, cols = aggregates(data["decimals"], ours=True)
    sql = (
        f"SELECT k, {ours}, _window_start AS ws FROM events GROUP BY k WINDOW {window} "
        f"EMIT FINAL {with_clause(delay, batch)}"
    )
    actual, stats = run_engine(as_form(rows, form, data["decimals"]), sql)
    duck, _ = aggregates(data["decimals"], ours=False)
    expected = run_duckdb(
        rows,
        f"SELECT k, m.ws, {duck} FROM t JOIN m USING (id) GROUP BY ALL",
        m=pa.table({"id": [a for a, _ in model.assigned], "ws": [w for _, w in model.assigned]},
                   schema=pa.schema([("id", pa.int64()), ("ws", pa.int64())])),
    )  # fmt: skip
    fill_decimal_avg(expected, data["decimals"])
    assert_same_groups(actual, expected, ["ws", "k"], cols)
    assert stats.late == model.late


@diff_settings(15)
@given(big_rows(), WHERES, FORMS, BATCH_SIZES, st.sampled_from([["k"], ["k", "g"]]), HAVINGS)
def test_big_group_by_batches_match_duckdb(
    data: dict, where: str, form: str, batch: int | None, keys: list[str], having: str
) -> None:
    """GROUP BY without a window, EMIT FINAL, any input order, with or without HAVING."""
    rows = random.Random(data["seed"]).sample(data["rows"], len(data["rows"]))
    group = ", ".join(keys)
    ours, cols = aggregates(data["decimals"], ours=True)
    sql = (
        f"SELECT {group}, {ours} FROM events {where} GROUP BY {group} {having} EMIT FINAL "
        f"{with_clause(None, batch)}"
    )
    actual, _ = run_engine(as_form(rows, form, data["decimals"]), sql)
    duck, _ = aggregates(data["decimals"], ours=False)
    expected = run_duckdb(rows, f"SELECT {group}, {duck} FROM t {where} GROUP BY {group} {having}")
    fill_decimal_avg(expected, data["decimals"])
    assert_same_groups(actual, expected, keys, cols)


def test_big_batch_record_in_a_gap_between_windows_is_not_late() -> None:
    """SLIDING(300ms, 1000ms) over 1200 in-order records, one batch: those in the gaps
    [300, 1000) of each second belong to no window and are not late (as row by row)."""
    rows = [
        {"id": i, "ts": i * 10, "k": "a", "g": 1, "v": 1, "f": 0.5} for i in range(1200)
    ]  # 0 .. 11990 ms: 30 records in each [s, s + 300), 70 in each gap
    sql = (
        "SELECT k, COUNT(*) AS n, _window_start AS ws FROM events GROUP BY k "
        f"WINDOW SLIDING(300ms, 1000ms) EMIT FINAL {with_clause(0, None)}"
    )
    for batch in (None, 1):
        actual, stats = run_engine(rows, sql.replace(with_clause(0, None), with_clause(0, batch)))
        assert sorted((r["ws"], r["n"]) for r in actual) == [(s, 30) for s in range(0, 12000, 1000)]
        assert stats.late == 0, f"batch size {batch or 'default'}: {stats.late} counted late"


@diff_settings(10)
@given(big_rows(), SHAPES, WHERES, st.sampled_from([0, 150, 1000]))
def test_batch_size_changes_neither_rows_nor_late_count(
    data: dict, shape: tuple, where: str, delay: int
) -> None:
    """One batch (the vectorized path) and batches of one record (row by row) agree, WHERE
    and late records included, where SEMANTICS leaves no room for them to differ either."""
    size, adv = shape
    rnd = random.Random(data["seed"])
    rows = sorted(data["rows"], key=lambda r: r["id"] + rnd.uniform(0, 40))
    window = f"TUMBLING({size}ms)" if size == adv else f"SLIDING({size}ms, {adv}ms)"
    ours, cols = aggregates(data["decimals"], ours=True)
    results = {}
    for batch in (None, 1):
        sql = (
            f"SELECT k, {ours}, _window_start AS ws FROM events {where} GROUP BY k "
            f"WINDOW {window} EMIT FINAL {with_clause(delay, batch)}"
        )
        results[batch] = run_engine(rows, sql)
    (one_batch, one_stats), (row_by_row, row_stats) = results[None], results[1]
    assert_same_groups(one_batch, row_by_row, ["ws", "k"], cols, context="one batch vs rows: ")
    assert one_stats.late == row_stats.late
