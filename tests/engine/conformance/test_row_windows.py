"""Row windows: OVER (ROWS WINDOW BUFFER n ROWS ...) and OVER (... ROWS BETWEEN n PRECEDING ...)."""

from __future__ import annotations

import pytest
from harness import Case, Unordered, sink, src, with_

RULE = "f(x) OVER (...) computes, for each input row, over that row and the rows before it in its partition (at most n before it), in processing order; one output row per input row"

# partition a: v = 10, 20, 20, 5 (ts 1000, 2000, 2000, 3000); partition b: v = 5, 7
ROWS = [
    {"id": 1, "p": "a", "v": 10, "ts": 1000},
    {"id": 2, "p": "b", "v": 5, "ts": 1500},
    {"id": 3, "p": "a", "v": 20, "ts": 2000},
    {"id": 4, "p": "a", "v": 20, "ts": 2000},
    {"id": 5, "p": "b", "v": 7, "ts": 2500},
    {"id": 6, "p": "a", "v": 5, "ts": 3000},
]

BUF = "ROWS WINDOW BUFFER 10 ROWS PARTITION BY p ORDER BY ts"
STD = "PARTITION BY p ORDER BY ts ROWS BETWEEN 10 PRECEDING AND CURRENT ROW"


def _case(case_id: str, select: str, expected: list, rule: str = RULE) -> Case:
    name = "r_" + case_id
    return Case(
        id=case_id,
        rule=rule,
        sql=f"""
CREATE STREAM {name} AS SELECT id, {select} FROM s
{with_(src("s", "s.jsonl"), sink(name))};
""",
        inputs={"s.jsonl": ROWS},
        expected=expected,
    )


def _cols(**columns: list) -> list[dict]:
    """Expected rows for ids 1..6 from per-column value lists."""
    return [{"id": i + 1, **{c: vals[i] for c, vals in columns.items()}} for i in range(len(ROWS))]


CASES = [
    _case(
        "rows_lag_buffer_form",
        f"LAG(v) OVER ({BUF}) AS prev, LAG(v, 2) OVER ({BUF}) AS prev2",
        _cols(prev=[None, None, 10, 20, 5, 20], prev2=[None, None, None, 10, None, 20]),
    ),
    _case(
        "rows_lag_standard_form",
        f"LAG(v) OVER ({STD}) AS prev",
        _cols(prev=[None, None, 10, 20, 5, 20]),
    ),
    _case(
        "rows_row_number_rank_dense_rank",
        # ORDER BY ts with a tie in partition a (ids 3 and 4 at 2000)
        f"ROW_NUMBER() OVER ({BUF}) AS rn, RANK() OVER ({BUF}) AS rk, "
        f"DENSE_RANK() OVER ({BUF}) AS dr",
        _cols(rn=[1, 1, 2, 3, 2, 4], rk=[1, 1, 2, 2, 2, 4], dr=[1, 1, 2, 2, 2, 3]),
    ),
    _case(
        "rows_row_number_standard_form",
        f"ROW_NUMBER() OVER ({STD}) AS rn",
        _cols(rn=[1, 1, 2, 3, 2, 4]),
    ),
    _case(
        "rows_first_last_value",
        f"FIRST_VALUE(v) OVER ({BUF}) AS f, LAST_VALUE(v) OVER ({BUF}) AS l",
        _cols(f=[10, 5, 10, 10, 5, 10], l=[10, 5, 20, 20, 7, 5]),
    ),
    _case(
        "rows_running_aggregates_unbounded_enough",
        f"COUNT(*) OVER ({BUF}) AS c, SUM(v) OVER ({BUF}) AS s, MIN(v) OVER ({BUF}) AS lo, "
        f"MAX(v) OVER ({BUF}) AS hi",
        _cols(
            c=[1, 1, 2, 3, 2, 4],
            s=[10, 5, 30, 50, 12, 55],
            lo=[10, 5, 10, 10, 5, 5],
            hi=[10, 5, 20, 20, 7, 20],
        ),
    ),
    _case(
        "rows_running_aggregates_one_preceding",
        # frame = this row and at most 1 before it in the partition
        "COUNT(v) OVER (PARTITION BY p ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS c, "
        "SUM(v) OVER (PARTITION BY p ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s, "
        "MIN(v) OVER (PARTITION BY p ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS lo, "
        "MAX(v) OVER (PARTITION BY p ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS hi, "
        "FIRST_VALUE(v) OVER (PARTITION BY p ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS f",
        _cols(
            c=[1, 1, 2, 2, 2, 2],
            s=[10, 5, 30, 40, 12, 25],
            lo=[10, 5, 10, 20, 5, 5],
            hi=[10, 5, 20, 20, 7, 20],
            f=[10, 5, 10, 20, 5, 20],
        ),
    ),
    _case(
        "rows_running_sum_buffer_two",
        # BUFFER 2 ROWS: this row and at most 2 before it
        "SUM(v) OVER (ROWS WINDOW BUFFER 2 ROWS PARTITION BY p ORDER BY ts) AS s",
        _cols(s=[10, 5, 30, 50, 12, 45]),
    ),
    _case(
        "rows_running_avg",
        # AVG of BIGINTs is a division of BIGINTs: a DOUBLE
        f"AVG(v) OVER ({BUF}) AS a",
        _cols(a=[10.0, 5.0, 15.0, 50 / 3, 6.0, 13.75]),
    ),
    Case(
        id="rows_no_partition",
        rule=RULE,
        sql=f"""
CREATE STREAM r_nopart AS SELECT id,
  ROW_NUMBER() OVER (ROWS WINDOW BUFFER 100 ROWS ORDER BY ts) AS rn,
  SUM(v) OVER (ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS s3
FROM s WHERE id <= 4
{with_(src("s", "s.jsonl"), sink("r_nopart"))};
""",
        inputs={"s.jsonl": ROWS},
        # v = 10, 5, 20, 20 -> sums over 3 rows: 10, 15, 35, 45
        expected=[
            {"id": 1, "rn": 1, "s3": 10},
            {"id": 2, "rn": 2, "s3": 15},
            {"id": 3, "rn": 3, "s3": 35},
            {"id": 4, "rn": 4, "s3": 45},
        ],
    ),
    Case(
        id="rows_lead_held_until_next_row",
        rule="LEAD holds a row back until the next row of its partition arrives (NULL at the end of a bounded input)",
        # a: 10 -> 20 -> 5; b: 5 -> 7. Emitted when the next row of the partition arrives:
        # id1 on id3, id2 on id4, id3 on id5; id4 and id5 at the end (NULL lead)
        sql=f"""
CREATE STREAM r_lead AS SELECT id, LEAD(v) OVER (ROWS WINDOW BUFFER 10 ROWS PARTITION BY p ORDER BY ts) AS nxt
FROM s
{with_(src("s", "s.jsonl"), sink("r_lead"))};
""",
        inputs={
            "s.jsonl": [
                {"id": 1, "p": "a", "v": 10, "ts": 1000},
                {"id": 2, "p": "b", "v": 5, "ts": 2000},
                {"id": 3, "p": "a", "v": 20, "ts": 3000},
                {"id": 4, "p": "b", "v": 7, "ts": 4000},
                {"id": 5, "p": "a", "v": 5, "ts": 5000},
            ]
        },
        expected=[
            {"id": 1, "nxt": 20},
            {"id": 2, "nxt": 7},
            {"id": 3, "nxt": 5},
            Unordered({"id": 4, "nxt": None}, {"id": 5, "nxt": None}),
        ],
    ),
    Case(
        id="rows_where_runs_before_row_window",
        rule=RULE + " (rows that WHERE drops are not input rows of the window)",
        sql=f"""
CREATE STREAM r_where AS SELECT id, ROW_NUMBER() OVER ({BUF}) AS rn, LAG(v) OVER ({BUF}) AS prev
FROM s WHERE v > 5
{with_(src("s", "s.jsonl"), sink("r_where"))};
""",
        inputs={"s.jsonl": ROWS},
        # kept: a 10 (id1), a 20 (id3), a 20 (id4), b 7 (id5)
        expected=[
            {"id": 1, "rn": 1, "prev": None},
            {"id": 3, "rn": 2, "prev": 10},
            {"id": 4, "rn": 3, "prev": 20},
            {"id": 5, "rn": 1, "prev": None},
        ],
    ),
    Case(
        id="rows_decimal_running_sum_avg",
        rule=RULE + "; DECIMAL SUM is exact; AVG of a DECIMAL has scale max(s + 4, 6)",
        sql=f"""
CREATE STREAM r_dec AS SELECT SUM(d) OVER ({BUF}) AS s, AVG(d) OVER ({BUF}) AS a FROM s
{with_(src("s", "s.jsonl"), sink("r_dec"))};
""",
        inputs={
            "s.jsonl": [
                {"p": "a", "d": "0.10", "ts": 1},
                {"p": "a", "d": "0.20", "ts": 2},
                {"p": "a", "d": "0.10", "ts": 3},
            ]
        },
        # 0.10, 0.30, 0.40; averages 0.1, 0.15, 0.1333..
        expected=[
            {"s": "0.10", "a": "0.100000"},
            {"s": "0.30", "a": "0.150000"},
            {"s": "0.40", "a": "0.133333"},
        ],
    ),
    Case(
        id="rows_aggregates_skip_nulls",
        rule=RULE + "; aggregates skip NULLs; COUNT(*) counts rows",
        sql=f"""
CREATE STREAM r_nulls AS SELECT id, COUNT(*) OVER ({BUF}) AS n, COUNT(v) OVER ({BUF}) AS nv,
  SUM(v) OVER ({BUF}) AS s, MIN(v) OVER ({BUF}) AS lo, LAG(v) OVER ({BUF}) AS prev
FROM s
{with_(src("s", "s.jsonl"), sink("r_nulls"))};
""",
        inputs={
            "s.jsonl": [
                {"id": 1, "p": "a", "v": 10, "ts": 1},
                {"id": 2, "p": "a", "v": None, "ts": 2},
                {"id": 3, "p": "a", "v": 20, "ts": 3},
                {"id": 4, "p": "a", "ts": 4},
            ]
        },
        # LAG gives the previous row's value, NULL included
        expected=[
            {"id": 1, "n": 1, "nv": 1, "s": 10, "lo": 10, "prev": None},
            {"id": 2, "n": 2, "nv": 1, "s": 10, "lo": 10, "prev": 10},
            {"id": 3, "n": 3, "nv": 2, "s": 30, "lo": 10, "prev": None},
            {"id": 4, "n": 4, "nv": 2, "s": 30, "lo": 10, "prev": 20},
        ],
    ),
    _case(
        "rows_zero_preceding_is_current_row",
        "SUM(v) OVER (PARTITION BY p ORDER BY ts ROWS BETWEEN 0 PRECEDING AND CURRENT ROW) AS s",
        _cols(s=[10, 5, 20, 20, 7, 5]),
    ),
    Case(
        id="rows_lead_standard_form_with_other_functions",
        rule="LEAD holds a row back until the next row of its partition arrives (NULL at the end of a bounded input); the other columns of the row are those of that row",
        sql=f"""
CREATE STREAM r_lead2 AS SELECT id, ROW_NUMBER() OVER ({STD}) AS rn,
  LEAD(v) OVER ({STD}) AS nxt, LAG(v) OVER ({STD}) AS prev
FROM s
{with_(src("s", "s.jsonl"), sink("r_lead2"))};
""",
        inputs={"s.jsonl": ROWS},
        # a: ids 1, 3, 4, 6 (v 10, 20, 20, 5); b: ids 2, 5 (v 5, 7). id1 leaves on id3, id3 on
        # id4, id2 on id5, id4 on id6; ids 5 and 6 at the end
        expected=[
            {"id": 1, "rn": 1, "nxt": 20, "prev": None},
            {"id": 3, "rn": 2, "nxt": 20, "prev": 10},
            {"id": 2, "rn": 1, "nxt": 7, "prev": None},
            {"id": 4, "rn": 3, "nxt": 5, "prev": 20},
            Unordered(
                {"id": 5, "rn": 2, "nxt": None, "prev": 5},
                {"id": 6, "rn": 4, "nxt": None, "prev": 20},
            ),
        ],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_row_windows(case: Case, conformance) -> None:
    """Row windows conform to SEMANTICS.md."""
    conformance.check(case)
