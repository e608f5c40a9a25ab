"""The registry: names, aliases, categories and the SHOW FUNCTIONS catalog."""

from __future__ import annotations

from collections import Counter

from velostream.functions import (
    AGGREGATES,
    COUNT_STAR,
    SCALARS,
    WINDOW_FUNCTIONS,
    catalog,
    lookup,
    resolve_aggregate,
)

AGGREGATE_NAMES = """COUNT SUM AVG MIN MAX COUNT_DISTINCT APPROX_COUNT_DISTINCT FIRST_VALUE LAST_VALUE
STRING_AGG LISTAGG MEDIAN DELTA STDDEV STDDEV_POP VARIANCE VAR_POP PERCENTILE_CONT PERCENTILE_DISC
CORR COVAR_POP COVAR_SAMP REGR_SLOPE REGR_INTERCEPT REGR_R2""".split()
AGGREGATE_ALIASES = {
    "FIRST": "FIRST_VALUE",
    "LAST": "LAST_VALUE",
    "GROUP_CONCAT": "STRING_AGG",
    "COLLECT": "LISTAGG",
    "STDDEV_SAMP": "STDDEV",
    "VAR_SAMP": "VARIANCE",
}
SCALAR_NAMES = {
    "math": "ABS ROUND CEIL FLOOR SQRT POWER MOD LEAST GREATEST",
    "string": "UPPER LOWER SUBSTRING REPLACE TRIM LTRIM RTRIM LENGTH CONCAT SPLIT JOIN LEFT RIGHT "
    "POSITION REGEXP REGEXP_REPLACE SPLIT_PART",
    "datetime": "NOW CURRENT_TIMESTAMP TIMESTAMP EXTRACT DATE_FORMAT DATEDIFF TUMBLE_START "
    "TUMBLE_END FROM_UNIXTIME UNIX_TIMESTAMP",
    "conditional": "COALESCE NULLIF CAST",
    "json": "JSON_EXTRACT JSON_VALUE JSON_QUERY JSON_EXISTS",
    "array": "ARRAY STRUCT MAP ARRAY_LENGTH ARRAY_CONTAINS MAP_KEYS MAP_VALUES",
    "header": "HEADER",
}
SCALAR_ALIASES = {"CEILING": "CEIL", "POW": "POWER", "LEN": "LENGTH"}
WINDOW_NAMES = "LAG LEAD ROW_NUMBER RANK DENSE_RANK NTH_VALUE PERCENT_RANK CUME_DIST NTILE".split()


def test_catalog_counts_per_category():
    counts = Counter(category for _, _, category, _ in catalog(include_aliases=False))
    assert counts == {
        "aggregate": 25,
        "math": 9,
        "string": 17,
        "datetime": 10,
        "conditional": 3,
        "json": 4,
        "array": 7,
        "header": 1,
        "window": 9,
    }


def test_every_listed_function_is_registered_under_its_name():
    assert sorted(n for n, f in AGGREGATES.items() if f.alias_of is None) == sorted(AGGREGATE_NAMES)
    for category, names in SCALAR_NAMES.items():
        for name in names.split():
            assert SCALARS[name].category == category, name
            assert SCALARS[name].alias_of is None
    assert sorted(WINDOW_FUNCTIONS) == sorted(WINDOW_NAMES)


def test_aliases_point_at_their_function():
    for alias, target in AGGREGATE_ALIASES.items():
        assert AGGREGATES[alias].alias_of == target
        assert AGGREGATES[alias].factory is AGGREGATES[target].factory
    for alias, target in SCALAR_ALIASES.items():
        assert SCALARS[alias].alias_of == target
        assert SCALARS[alias].fn is SCALARS[target].fn


def test_catalog_lists_aliases_as_such():
    rows = {name: (kind, description) for name, kind, _, description in catalog()}
    assert rows["GROUP_CONCAT"] == ("aggregate", "Alias of STRING_AGG.")
    assert rows["CEILING"] == ("scalar", "Alias of CEIL.")
    assert rows["LAG"][0] == "window"
    assert len(rows) == 85 + len(AGGREGATE_ALIASES) + len(SCALAR_ALIASES)
    for name, (_, description) in rows.items():
        assert description and "\n" not in description, name


def test_lookup_is_case_insensitive():
    assert lookup("sum") is AGGREGATES["SUM"]
    assert lookup("Upper") is SCALARS["UPPER"]
    assert lookup("row_number") is WINDOW_FUNCTIONS["ROW_NUMBER"]
    assert lookup("no_such_function") is None


def test_null_rules_of_special_scalars():
    for name in ("COALESCE", "NULLIF", "CONCAT", "LEAST", "GREATEST", "ARRAY", "MAP", "STRUCT"):
        assert SCALARS[name].null_propagating is False, name
    assert SCALARS["UPPER"].null_propagating is True
    assert SCALARS["NOW"].deterministic is False
    assert SCALARS["ABS"].deterministic is True


def test_value_args_of_aggregates():
    assert AGGREGATES["STRING_AGG"].value_args == 1  # the delimiter is a constant
    assert AGGREGATES["PERCENTILE_CONT"].value_args == 1
    assert AGGREGATES["CORR"].value_args == 2
    assert COUNT_STAR.value_args == 0


def test_resolve_aggregate_star_and_distinct():
    assert resolve_aggregate("count", star=True) is COUNT_STAR
    assert resolve_aggregate("COUNT", distinct=True) is AGGREGATES["COUNT_DISTINCT"]
    acc = resolve_aggregate("sum", distinct=True).factory()
    for x in (1, 2, 2, 3, 3, 3):
        acc.add(x)
    assert acc.result() == 6


def test_exactly_these_scalars_see_their_nulls():
    # Every other scalar gives NULL when any argument is NULL (the runtime skips the call).
    seeing = {n for n, f in SCALARS.items() if not f.null_propagating}
    assert seeing == {
        "COALESCE",
        "NULLIF",
        "CONCAT",
        "JOIN",
        "LEAST",
        "GREATEST",
        "ARRAY",
        "STRUCT",
        "MAP",
        "HEADER",  # a record without headers has none of them: NULL
    }
