"""Values: JSON typing, exact DECIMAL, division, CAST, NULL logic, names and aliases."""

from __future__ import annotations

import pytest
from harness import Case, Unordered, sink, src, with_


def _one_row(
    case_id: str, rule: str, select: str, row: dict, expected: dict, where: str = ""
) -> Case:
    """A projection over a single input record."""
    name = "v_" + case_id
    return Case(
        id=case_id,
        rule=rule,
        sql=f"""
CREATE STREAM {name} AS SELECT {select} FROM s {where}
{with_(src("s", "s.jsonl"), sink(name))};
""",
        inputs={"s.jsonl": [{**row, "ts": 1000}]},
        expected=[expected],
    )


JSON_TYPES = "JSON numbers without a fraction are BIGINT, with a fraction DOUBLE; a JSON string that is a plain decimal number with a point is an exact DECIMAL with its own scale (not '100')"
DECIMAL = "DECIMAL is exact: + - *, SUM, comparisons and ROUND never go through binary floating point; a sink writes a DECIMAL as a JSON string that keeps its scale"
DIVISION = "AVG of a DECIMAL and division involving a DECIMAL give a DECIMAL with scale max(input scale + 4, 6), rounded half away from zero; division by zero gives NULL; BIGINT / BIGINT gives DOUBLE (7 / 2 = 3.5)"
CAST = "CAST(x AS t) with t in BIGINT, INTEGER (INT), DOUBLE (FLOAT), DECIMAL(p, s), STRING (VARCHAR, TEXT), BOOLEAN, TIMESTAMP, DATE; a fraction cast to an integer type rounds half away from zero"
NULLS = "NULL follows SQL three-valued logic; aggregates skip NULLs; COUNT(*) counts rows"

CASES = [
    _one_row(
        "val_json_typing",
        JSON_TYPES,
        "i * 2 AS a, f * 2 AS b, g + 1 AS g1, d + 1 AS c, s AS s, n AS n, d * 2 AS d2",
        {"i": 5, "f": 2.5, "g": 3.0, "d": "123.45", "s": "100", "n": "-0.5"},
        # "100" has no point: it stays a string; "123.45" is DECIMAL(scale 2), * BIGINT keeps scale
        {"a": 10, "b": 5.0, "g1": 4.0, "c": "124.45", "s": "100", "n": "-0.5", "d2": "246.90"},
    ),
    _one_row(
        "val_decimal_exact_arithmetic",
        DECIMAL + "; a decimal literal in SQL is DECIMAL; DECIMAL with BIGINT gives DECIMAL",
        "a + b AS sum_ab, b - a AS diff, 1.1 + 2.2 AS lits, a * 3 AS a3, p * 350 AS notional, "
        "(a + b) - 0.30 AS zero, x * y AS xy, p + 1 AS p1",
        {"a": "0.1", "b": "0.2", "p": "129.95", "x": "1.5", "y": "2.25"},
        # + - align to the larger scale; * adds scales (1.5 * 2.25 = 3.375); * BIGINT keeps it
        {
            "sum_ab": "0.3",
            "diff": "0.1",
            "lits": "3.3",
            "a3": "0.3",
            "notional": "45482.50",
            "zero": "0.00",
            "xy": "3.375",
            "p1": "130.95",
        },
    ),
    Case(
        id="val_decimal_comparison_exact",
        rule=DECIMAL,
        # 0.1 + 0.2 = 0.3 exactly (in binary floating point it would not be)
        sql=f"""
CREATE STREAM v_cmp AS SELECT id FROM s WHERE a + b = 0.3
{with_(src("s", "s.jsonl"), sink("v_cmp"))};
""",
        inputs={
            "s.jsonl": [
                {"id": 1, "a": "0.1", "b": "0.2", "ts": 1},
                {"id": 2, "a": "0.1", "b": "0.3", "ts": 2},
                {"id": 3, "a": "0.15", "b": "0.15", "ts": 3},
            ]
        },
        expected=[{"id": 1}, {"id": 3}],
    ),
    Case(
        id="val_decimal_sum_min_max",
        rule=DECIMAL + "; EMIT FINAL without window: one row per group at the end",
        # x: 0.10 + 0.25 + 0.05 = 0.40 exactly; y: 0.10 * 3 = 0.30 exactly
        sql=f"""
CREATE STREAM v_sum AS
SELECT k, SUM(d) AS total, MIN(d) AS lo, MAX(d) AS hi FROM s GROUP BY k EMIT FINAL
{with_(src("s", "s.jsonl"), sink("v_sum"))};
""",
        inputs={
            "s.jsonl": [
                {"k": "x", "d": "0.10", "ts": 1},
                {"k": "y", "d": "0.10", "ts": 2},
                {"k": "x", "d": "0.25", "ts": 3},
                {"k": "y", "d": "0.10", "ts": 4},
                {"k": "x", "d": "0.05", "ts": 5},
                {"k": "y", "d": "0.10", "ts": 6},
            ]
        },
        expected=[
            Unordered(
                {"k": "x", "total": "0.40", "lo": "0.05", "hi": "0.25"},
                {"k": "y", "total": "0.30", "lo": "0.10", "hi": "0.10"},
            )
        ],
    ),
    _one_row(
        "val_decimal_round",
        DECIMAL,
        # 2.675 is exact as a DECIMAL, so it rounds up; as a double it is 2.67499999...
        "ROUND(d, 2) AS r",
        {"d": "2.675"},
        {"r": "2.68"},
    ),
    Case(
        id="val_decimal_avg_scale",
        rule=DIVISION,
        sql=f"""
CREATE STREAM v_avg AS SELECT k, AVG(d) AS a FROM s GROUP BY k EMIT FINAL
{with_(src("s", "s.jsonl"), sink("v_avg"))};
""",
        inputs={
            "s.jsonl": [
                # a: (1.00 + 2.00 + 2.00) / 3 = 1.6666.. -> scale max(2+4, 6) = 6
                {"k": "a", "d": "1.00", "ts": 1},
                {"k": "a", "d": "2.00", "ts": 2},
                {"k": "a", "d": "2.00", "ts": 3},
                # b: (1.5 + 2.5) / 2 = 2 -> scale 6
                {"k": "b", "d": "1.5", "ts": 4},
                {"k": "b", "d": "2.5", "ts": 5},
                # c: (0.125 + 0.250) / 2 = 0.1875 -> scale max(3+4, 6) = 7
                {"k": "c", "d": "0.125", "ts": 6},
                {"k": "c", "d": "0.250", "ts": 7},
            ]
            # e: -0.01 / 32 = -0.0003125 -> half away from zero at scale 6: -0.000313
            + [{"k": "e", "d": "-0.01", "ts": 8}]
            + [{"k": "e", "d": "0.00", "ts": 9 + i} for i in range(31)]
        },
        expected=[
            Unordered(
                {"k": "a", "a": "1.666667"},
                {"k": "b", "a": "2.000000"},
                {"k": "c", "a": "0.1875000"},
                {"k": "e", "a": "-0.000313"},
            )
        ],
    ),
    _one_row(
        "val_division",
        DIVISION,
        "7 / 2 AS half, i / j AS q, 6 / 3 AS two, i / 0 AS z1, d / 0 AS z2, f / 0 AS z3, "
        "d / 4 AS d4, e / 3 AS e3, c / 32 AS c32, nc / 32 AS nc32, h / 2 AS h2, e / t AS et",
        {
            "i": 9,
            "j": 4,
            "d": "10.00",
            "e": "2.00",
            "c": "0.01",
            "nc": "-0.01",
            "h": "1.23456",
            "t": "3.00",
            "f": 1.5,
        },
        # 10.00/4 = 2.5 at scale 6; 2.00/3 = 0.6666.. -> 0.666667; 0.01/32 = 0.0003125 -> 0.000313
        # (half away from zero; -0.000313 for the negative); 1.23456/2 at scale 5+4 = 9
        {
            "half": 3.5,
            "q": 2.25,
            "two": 2.0,
            "z1": None,
            "z2": None,
            "z3": None,
            "d4": "2.500000",
            "e3": "0.666667",
            "c32": "0.000313",
            "nc32": "-0.000313",
            "h2": "0.617280000",
            "et": "0.666667",
        },
    ),
    _one_row(
        "val_double_wins",
        "anything with DOUBLE gives DOUBLE",
        "d * f AS df, d + g AS dg, i * f AS i_f",
        {"d": "129.95", "f": 2.0, "g": 0.25, "i": 3},
        {"df": 259.9, "dg": 130.2, "i_f": 6.0},
    ),
    _one_row(
        "val_cast_integer_rounding",
        CAST,
        "CAST(2.5 AS BIGINT) AS a, CAST(-2.5 AS BIGINT) AS b, CAST(2.4 AS INTEGER) AS c, "
        "CAST(f AS INT) AS d, CAST(g AS BIGINT) AS e, CAST(m AS BIGINT) AS h, CAST('123' AS BIGINT) AS k",
        {"f": 3.5, "g": -0.5, "m": "-1.50"},
        {"a": 3, "b": -3, "c": 2, "d": 4, "e": -1, "h": -2, "k": 123},
    ),
    _one_row(
        "val_cast_decimal",
        CAST,
        "CAST(p AS DECIMAL(10, 1)) AS a, CAST(n AS DECIMAL(10, 1)) AS b, CAST(7 AS DECIMAL(10, 2)) AS c, "
        "CAST('2.50' AS DECIMAL(10, 2)) AS d, CAST(f AS DECIMAL(10, 2)) AS e",
        {"p": "2.25", "n": "-2.25", "f": 0.5},
        {"a": "2.3", "b": "-2.3", "c": "7.00", "d": "2.50", "e": "0.50"},
    ),
    _one_row(
        "val_cast_double_string_boolean",
        CAST,
        "CAST(7 AS DOUBLE) AS a, CAST(7 AS FLOAT) AS b, CAST(p AS DOUBLE) AS c, CAST('3.75' AS DOUBLE) AS d, "
        "CAST(42 AS STRING) AS e, CAST(42 AS VARCHAR) AS f, CAST(42 AS TEXT) AS g, "
        "CAST('true' AS BOOLEAN) AS h, CAST('false' AS BOOLEAN) AS i, CAST(NULL AS BIGINT) AS j",
        {"p": "2.25"},
        {
            "a": 7.0,
            "b": 7.0,
            "c": 2.25,
            "d": 3.75,
            "e": "42",
            "f": "42",
            "g": "42",
            "h": True,
            "i": False,
            "j": None,
        },
    ),
    _one_row(
        "val_cast_date_timestamp",
        CAST,
        "CAST('2024-01-02' AS DATE) < CAST('2024-01-10' AS DATE) AS a, "
        "CAST('2024-01-02T10:00:00Z' AS TIMESTAMP) > CAST('2024-01-02T09:30:00Z' AS TIMESTAMP) AS b, "
        "CAST(CAST('2024-03-05' AS DATE) AS STRING) AS c, CAST('9' AS INT) < 10 AS d",
        {"x": 1},
        {"a": True, "b": True, "c": "2024-03-05", "d": True},
    ),
    _one_row(
        "val_null_three_valued_logic",
        NULLS,
        "(a > 1) AND FALSE AS c1, (a > 1) OR TRUE AS c2, (a > 1) AND TRUE AS c3, "
        "(a > 1) OR FALSE AS c4, NOT (a > 1) AS c5, a + 1 AS c6, a = a AS c7",
        {"a": None},
        {"c1": False, "c2": True, "c3": None, "c4": None, "c5": None, "c6": None, "c7": None},
    ),
    Case(
        id="val_null_where",
        rule=NULLS + "; a column that a row lacks is NULL",
        # rows 2 (null) and 3 (missing): a > 1 and NOT (a > 1) are both NULL, so neither passes
        sql=f"""
CREATE STREAM v_nw1 AS SELECT id FROM s WHERE a > 1 OR NOT (a > 1)
{with_(src("s", "s.jsonl"), sink("v_nw1", "w1.jsonl"))};
CREATE STREAM v_nw2 AS SELECT id FROM s WHERE a IS NULL
{with_(src("s", "s.jsonl"), sink("v_nw2", "w2.jsonl"))};
""",
        inputs={
            "s.jsonl": [
                {"id": 1, "a": 2, "ts": 1},
                {"id": 2, "a": None, "ts": 2},
                {"id": 3, "ts": 3},
                {"id": 4, "a": 0, "ts": 4},
            ]
        },
        outputs={"w1.jsonl": [{"id": 1}, {"id": 4}], "w2.jsonl": [{"id": 2}, {"id": 3}]},
    ),
    Case(
        id="val_missing_column_written_as_null",
        rule="A column that a row lacks is NULL, and a sink writes every selected column, NULL as JSON null",
        sql=f"""
CREATE STREAM v_missing AS SELECT id, a, b FROM s
{with_(src("s", "s.jsonl"), sink("v_missing"))};
""",
        inputs={
            "s.jsonl": [
                {"id": 1, "a": 2, "ts": 1},
                {"id": 2, "a": None, "ts": 2},
                {"id": 3, "ts": 3},
            ]
        },
        expected=[
            {"id": 1, "a": 2, "b": None},
            {"id": 2, "a": None, "b": None},
            {"id": 3, "a": None, "b": None},
        ],
    ),
    Case(
        id="val_aggregates_skip_nulls",
        rule=NULLS,
        # x: a = 1, null, 3, missing -> COUNT(*) 4, COUNT(a) 2, SUM 4, AVG 2.0; y: only nulls
        sql=f"""
CREATE STREAM v_aggnull AS
SELECT g, COUNT(*) AS n, COUNT(a) AS na, SUM(a) AS s, MIN(a) AS lo, MAX(a) AS hi, AVG(a) AS av
FROM s GROUP BY g EMIT FINAL
{with_(src("s", "s.jsonl"), sink("v_aggnull"))};
""",
        inputs={
            "s.jsonl": [
                {"g": "x", "a": 1, "ts": 1},
                {"g": "x", "a": None, "ts": 2},
                {"g": "y", "a": None, "ts": 3},
                {"g": "x", "a": 3, "ts": 4},
                {"g": "x", "ts": 5},
            ]
        },
        expected=[
            Unordered(
                {"g": "x", "n": 4, "na": 2, "s": 4, "lo": 1, "hi": 3, "av": 2.0},
                {"g": "y", "n": 1, "na": 0, "s": None, "lo": None, "hi": None, "av": None},
            )
        ],
    ),
    Case(
        id="val_null_is_its_own_group",
        rule="NULL is a group of its own in GROUP BY; a column that a row lacks is NULL",
        sql=f"""
CREATE STREAM v_nullgrp AS SELECT g, COUNT(*) AS n FROM s GROUP BY g EMIT FINAL
{with_(src("s", "s.jsonl"), sink("v_nullgrp"))};
""",
        inputs={
            "s.jsonl": [
                {"g": "x", "ts": 1},
                {"g": None, "ts": 2},
                {"g": "x", "ts": 3},
                {"ts": 4},
                {"g": "z", "ts": 5},
            ]
        },
        expected=[Unordered({"g": "x", "n": 2}, {"g": None, "n": 2}, {"g": "z", "n": 1})],
    ),
    Case(
        id="val_identifiers_case_insensitive",
        rule="Identifiers are case-insensitive",
        sql=f"""
CREATE STREAM V_Ident AS SELECT ID AS out_id, AmOuNt * 2 AS dbl FROM S WHERE Amount > 5
{with_(src("s", "s.jsonl"), sink("v_ident"))};
""",
        inputs={"s.jsonl": [{"id": 1, "amount": 3, "ts": 1}, {"id": 2, "amount": 7, "ts": 2}]},
        expected=[{"out_id": 2, "dbl": 14}],
    ),
    _one_row(
        "val_output_names",
        "an output column is named by its alias, else by the column it projects; an unaliased "
        "expression gets a stable generated name (expr_1, ...)",
        "amount * 2, s.id, amount AS a",
        {"id": 4, "amount": 5},
        {"expr_1": 10, "id": 4, "a": 5},
    ),
    _one_row(
        "val_output_names_two_expressions",
        "an unaliased expression gets a stable generated name (expr_1, ...)",
        "amount + 1, amount * 2",
        {"amount": 5},
        {"expr_1": 6, "expr_2": 10},
    ),
    _one_row(
        "val_select_alias_reuse",
        "A select item may use the alias of an earlier select item",
        "price * qty AS total, total + 1 AS total_plus, total_plus * 2 AS doubled",
        {"price": 4, "qty": 3},
        {"total": 12, "total_plus": 13, "doubled": 26},
    ),
    Case(
        id="val_group_by_and_having_use_aliases",
        rule="A select item may use the alias of an earlier select item; so may GROUP BY and HAVING",
        # parity 1: k = 1, 3, 5 -> n = 3; parity 0: k = 2 -> n = 1, filtered by HAVING
        sql=f"""
CREATE STREAM v_grp_alias AS SELECT k % 2 AS parity, COUNT(*) AS n FROM s
GROUP BY parity HAVING n > 1 EMIT FINAL
{with_(src("s", "s.jsonl"), sink("v_grp_alias"))};
""",
        inputs={"s.jsonl": [{"k": k, "ts": k} for k in (1, 2, 3, 5)]},
        expected=[{"parity": 1, "n": 3}],
    ),
    _one_row(
        "val_primary_key_item_is_written",
        "PRIMARY KEY after a select item marks the output key (the column is still selected)",
        "id PRIMARY KEY, v",
        {"id": 9, "v": "a"},
        {"id": 9, "v": "a"},
    ),
    _one_row(
        "val_decimal_literals",
        DECIMAL + "; " + DIVISION,
        # 1.0 / 3: DECIMAL (scale 1) division -> scale max(1 + 4, 6) = 6
        "2.50 * 2 AS a, 1.0 / 3 AS b, d > 1 AS c, d < 1.5 AS e, d = 1.50 AS f",
        {"d": "1.50"},
        {"a": "5.00", "b": "0.333333", "c": True, "e": False, "f": True},
    ),
    _one_row(
        "val_json_booleans_and_strings",
        "NULL follows SQL three-valued logic (booleans from JSON true/false)",
        "NOT flag AS nf, flag AND other AS both_true, name AS name",
        {"flag": True, "other": False, "name": "zed"},
        {"nf": False, "both_true": False, "name": "zed"},
    ),
    _one_row(
        "val_decimal_strings_edge",
        JSON_TYPES,
        # "12.30" keeps its scale through + 0; "1.5e3" is not a plain decimal: stays a string
        "t + 0 AS t0, e AS e, 7 / d AS q",
        {"t": "12.30", "e": "1.5e3", "d": "2.0"},
        {"t0": "12.30", "e": "1.5e3", "q": "3.500000"},
    ),
    Case(
        id="val_where_cannot_use_select_alias",
        rule="A select item may use the alias of an earlier select item; so may GROUP BY and HAVING; WHERE may not (it runs before SELECT)",
        sql=f"""
CREATE STREAM v_where_alias AS SELECT amount * 2 AS dbl FROM s WHERE dbl > 12
{with_(src("s", "s.jsonl"), sink("v_where_alias"))};
""",
        inputs={"s.jsonl": [{"amount": 5, "ts": 1}, {"amount": 7, "ts": 2}]},
        exit_code=1,
        stderr=["dbl"],
    ),
    _one_row(
        "val_bigint_exact_beyond_double",
        JSON_TYPES + " (a BIGINT is a 64-bit integer, not a double)",
        # 2**53 + 1 is not representable as a double
        "i + 1 AS a, i * 2 AS b, i - 9007199254740992 AS c",
        {"i": 9007199254740993},
        {"a": 9007199254740994, "b": 18014398509481986, "c": 1},
    ),
    _one_row(
        "val_decimal_exact_beyond_double",
        DECIMAL,
        "d + 0.01 AS a, d * 2 AS b, d - 99999999999999999.98 AS c",
        {"d": "99999999999999999.99"},
        {"a": "100000000000000000.00", "b": "199999999999999999.98", "c": "0.01"},
    ),
    Case(
        id="val_decimal_sum_large_and_mixed_scale",
        rule=DECIMAL,
        # 9007199254740993.01 * 2 and 0.1 + 0.25 (scale of the sum: the larger, 2)
        sql=f"""
CREATE STREAM v_bigsum AS SELECT k, SUM(d) AS s FROM s GROUP BY k EMIT FINAL
{with_(src("s", "s.jsonl"), sink("v_bigsum"))};
""",
        inputs={
            "s.jsonl": [
                {"k": "big", "d": "9007199254740993.01", "ts": 1},
                {"k": "mix", "d": "0.1", "ts": 2},
                {"k": "big", "d": "9007199254740993.01", "ts": 3},
                {"k": "mix", "d": "0.25", "ts": 4},
            ]
        },
        expected=[Unordered({"k": "big", "s": "18014398509481986.02"}, {"k": "mix", "s": "0.35"})],
    ),
    Case(
        id="val_decimal_min_max_compare_as_numbers",
        rule=DECIMAL + " (decimal strings compare as numbers, not as text)",
        # as text "10.5" < "9.25"; as DECIMAL 9.25 < 10.5
        sql=f"""
CREATE STREAM v_minmax AS SELECT MIN(d) AS lo, MAX(d) AS hi, COUNT(*) AS n FROM s
WHERE d > 9 WINDOW TUMBLING(1s)
{with_(src("s", "s.jsonl"), sink("v_minmax"))};
""",
        inputs={
            "s.jsonl": [
                {"d": "9.25", "ts": 1},
                {"d": "10.5", "ts": 2},
                {"d": "8.75", "ts": 3},
                {"d": "100.00", "ts": 4},
            ]
        },
        expected=[{"lo": "9.25", "hi": "100.00", "n": 3}],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_values(case: Case, conformance) -> None:
    """Values conform to SEMANTICS.md."""
    conformance.check(case)
