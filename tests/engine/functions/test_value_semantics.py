"""SQL value semantics: exact decimals, division, 3-valued logic, LIKE, CAST, JSON forms.

Every expected value is worked out by hand (the comment says how where it is not obvious).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from velostream import values as v
from velostream.errors import SqlError
from velostream.values import SqlType

T, F, N = True, False, None


def same(a: D, text: str) -> None:
    """The decimal has exactly this value and this scale (its text form)."""
    assert type(a) is D
    assert format(a, "f") == text


# --------------------------------------------------------------------------- arithmetic


def test_decimal_addition_is_exact_where_floats_are_not():
    assert 0.1 + 0.2 != 0.3  # the float trap the DECIMAL path must avoid
    same(v.add(D("0.1"), D("0.2")), "0.3")
    same(v.sub(D("0.3"), D("0.1")), "0.2")


def test_addition_takes_the_larger_scale():
    same(v.add(D("1.5"), D("2.25")), "3.75")
    same(v.add(D("1.50"), 2), "3.50")
    same(v.add(2, D("1.50")), "3.50")
    same(v.sub(D("5.000"), 2), "3.000")


def test_multiplication_keeps_the_natural_scale():
    same(v.mul(D("129.95"), 350), "45482.50")
    # 123.45 * 67 = 8271.15 and 123.45 * 0.89 = 109.8705; together 8381.0205
    same(v.mul(D("123.45"), D("67.89")), "8381.0205")


def test_decimal_arithmetic_beyond_28_digits_stays_exact():
    # The thread's default context (28 digits) would round these.
    big = D("12345678901234567890123456789.01")
    same(v.add(big, D("0.01")), "12345678901234567890123456789.02")
    # (10**20 - 0.01)**2 = 10**40 - 2 * 10**18 + 0.0001
    x = D("99999999999999999999.99")
    expected = str(10**22 - 2) + "0" * 18 + ".0001"
    same(v.mul(x, x), expected)


def test_integer_results_stay_integers_and_double_wins():
    assert v.add(2, 3) == 5 and type(v.add(2, 3)) is int
    assert v.mul(4, 5) == 20 and type(v.mul(4, 5)) is int
    r = v.add(D("1.5"), 0.25)
    assert type(r) is float and r == 1.75
    r = v.mul(2, 0.5)
    assert type(r) is float and r == 1.0


def test_null_propagates_through_arithmetic():
    for op in (v.add, v.sub, v.mul, v.div, v.mod):
        assert op(None, 1) is None
        assert op(D("1.5"), None) is None
    assert v.neg(None) is None


def test_integer_division_gives_double():
    r = v.div(7, 2)
    assert type(r) is float and r == 3.5
    assert v.div(-7, 2) == -3.5


def test_division_by_zero_is_null():
    assert v.div(1, 0) is None
    assert v.div(1.5, 0) is None
    assert v.div(D("1.00"), 0) is None
    assert v.div(D("1.00"), D("0.00")) is None
    assert v.mod(5, 0) is None
    assert v.mod(D("5.5"), D("0")) is None


def test_decimal_division_scale_and_rounding():
    # scale max(max input scale + 4, 6)
    same(v.div(D("10"), 3), "3.333333")
    same(v.div(D("10.00"), D("4.00")), "2.500000")
    same(v.div(D("1.0000"), 3), "0.33333333")  # input scale 4 -> scale 8
    same(v.div(10, D("4")), "2.500000")
    # 2/3 = 0.6666666.. -> 0.666667; the negative rounds away from zero too
    same(v.div(D("2"), 3), "0.666667")
    same(v.div(D("-2"), 3), "-0.666667")
    same(v.div(D("2"), -3), "-0.666667")


def test_decimal_division_rounds_half_away_from_zero_not_to_even():
    # 1/128 = 0.0078125 exactly: half-up gives 0.007813, banker's rounding 0.007812.
    same(v.div(D("1.00"), 128), "0.007813")
    same(v.div(D("-1.00"), 128), "-0.007813")
    # 0.0000025 at scale 6 is a tie too: 0.000003
    same(v.div(D("0.05"), 20000), "0.000003")


def test_division_with_a_double_is_double():
    r = v.div(D("1.5"), 0.5)
    assert type(r) is float and r == 3.0


def test_mod_sign_follows_the_dividend():
    assert v.mod(7, 3) == 1
    assert v.mod(-7, 3) == -1
    assert v.mod(7, -3) == 1
    same(v.mod(D("7.5"), 2), "1.5")
    same(v.mod(D("-7.5"), 2), "-1.5")
    assert v.mod(-7.5, 2.0) == -1.5


def test_negation():
    same(v.neg(D("1.50")), "-1.50")
    assert v.neg(3) == -3
    assert v.neg(-2.5) == 2.5


def test_booleans_and_text_are_not_numbers():
    with pytest.raises(SqlError) as e:
        v.add(True, 1)
    assert e.value.kind == "type"
    with pytest.raises(SqlError):
        v.mul("3", 2)
    with pytest.raises(SqlError):
        v.div(1, False)
    with pytest.raises(SqlError):
        v.neg("x")


def test_concat_operator():
    assert v.concat_op("ab", "cd") == "abcd"
    assert v.concat_op("a", None) is None
    assert v.concat_op(None, "a") is None
    assert v.concat_op("x=", D("1.50")) == "x=1.50"
    assert v.concat_op("ok:", True) == "ok:true"
    assert v.concat_op(1, 2) == "12"


# --------------------------------------------------------------------------- comparisons


def test_numbers_compare_exactly_across_types():
    assert v.eq(1, D("1.00")) is True
    assert v.eq(D("0.3"), 0.1 + 0.2) is False  # the float is 0.30000000000000004
    assert v.lt(D("0.1"), 0.1) is True  # float 0.1 is 0.1000000000000000055...
    assert v.gt(2, D("1.99")) is True
    assert v.le(D("2.0"), 2) is True
    assert v.ne(3, 3.0) is False


def test_comparisons_with_null_are_null():
    for op in (v.eq, v.ne, v.lt, v.le, v.gt, v.ge):
        assert op(None, 1) is None
        assert op("a", None) is None
        assert op(None, None) is None


def test_strings_and_times_compare():
    assert v.lt("apple", "banana") is True
    assert v.eq("a", "a") is True
    assert v.lt(datetime(2024, 1, 1), datetime(2024, 1, 2)) is True
    # an int epoch-ms against a datetime
    assert v.eq(0, datetime(1970, 1, 1)) is True
    assert v.lt(1000, datetime(1970, 1, 1, 0, 0, 2)) is True
    assert v.gt(datetime(1970, 1, 1, 0, 0, 1), 999) is True
    assert v.eq(datetime(2024, 1, 1, 12), "2024-01-01T12:00:00") is True


def test_numeric_text_compares_as_a_number():
    assert v.eq("5", 5) is True
    assert v.lt(4, "10") is True  # as text "4" > "10"; as numbers 4 < 10
    with pytest.raises(SqlError):
        v.eq("abc", 5)


@pytest.mark.parametrize(
    "a, b, and_result, or_result",
    [
        (T, T, T, T),
        (T, F, F, T),
        (T, N, N, T),
        (F, T, F, T),
        (F, F, F, F),
        (F, N, F, N),
        (N, T, N, T),
        (N, F, F, N),
        (N, N, N, N),
    ],
)
def test_three_valued_and_or(a, b, and_result, or_result):
    assert v.and_(a, b) is and_result
    assert v.or_(a, b) is or_result


def test_three_valued_not_and_is_true():
    assert v.not_(T) is F
    assert v.not_(F) is T
    assert v.not_(N) is N
    assert v.is_true(T) is True
    assert v.is_true(F) is False
    assert v.is_true(N) is False


def test_logic_rejects_non_booleans():
    with pytest.raises(SqlError):
        v.and_(1, True)
    with pytest.raises(SqlError):
        v.or_(None, "x")
    with pytest.raises(SqlError):
        v.not_(0)


@pytest.mark.parametrize(
    "s, pattern, expected",
    [
        ("abc", "a%", True),
        ("abc", "%c", True),
        ("abc", "%b%", True),
        ("abc", "a_c", True),
        ("abbc", "a_c", False),
        ("abc", "abc", True),
        ("abc", "ab", False),
        ("ABC", "a%", False),  # case-sensitive
        ("a.c", "a.c", True),  # regex characters are literal
        ("abc", "a.c", False),
        ("a+b", "a+b", True),
        ("line1\nline2", "line1%line2", True),
        ("", "%", True),
        ("", "_", False),
    ],
)
def test_like(s, pattern, expected):
    assert v.like(s, pattern) is expected


def test_like_escape_and_null():
    assert v.like("50%", "50\\%", "\\") is True
    assert v.like("500", "50\\%", "\\") is False
    assert v.like("a_b", "a!_b", "!") is True
    assert v.like("axb", "a!_b", "!") is False
    assert v.like(None, "a%") is None
    assert v.like("a", None) is None


def test_between_is_inclusive_and_three_valued():
    assert v.between(5, 1, 5) is True
    assert v.between(1, 1, 5) is True
    assert v.between(6, 1, 5) is False
    assert v.between(D("1.5"), 1, 2) is True
    assert v.between(None, 1, 2) is None
    assert v.between(3, None, 2) is False  # NULL AND FALSE
    assert v.between(1, None, 2) is None  # NULL AND TRUE


def test_in_list_three_valued():
    assert v.in_list(1, [1, None]) is True
    assert v.in_list(3, [1, None]) is None
    assert v.in_list(3, [1, 2]) is False
    assert v.in_list(None, [1]) is None
    assert v.in_list(1, [D("1.0")]) is True
    assert v.in_list("b", ["a", "b"]) is True
    assert v.in_list(1, []) is False


# --------------------------------------------------------------------------- types


@pytest.mark.parametrize(
    "text, expected",
    [
        ("INT", SqlType("INTEGER")),
        ("integer", SqlType("INTEGER")),
        ("BIGINT", SqlType("BIGINT")),
        ("FLOAT", SqlType("DOUBLE")),
        ("REAL", SqlType("DOUBLE")),
        ("double", SqlType("DOUBLE")),
        ("DOUBLE PRECISION", SqlType("DOUBLE")),
        ("DECIMAL(10,2)", SqlType("DECIMAL", 10, 2)),
        ("decimal( 12 , 4 )", SqlType("DECIMAL", 12, 4)),
        ("DECIMAL(10)", SqlType("DECIMAL", 10, 0)),
        ("NUMERIC", SqlType("DECIMAL")),
        ("NUMERIC(5,1)", SqlType("DECIMAL", 5, 1)),
        ("STRING", SqlType("STRING")),
        ("VARCHAR", SqlType("STRING")),
        ("VARCHAR(20)", SqlType("STRING")),
        ("TEXT", SqlType("STRING")),
        ("BOOLEAN", SqlType("BOOLEAN")),
        ("BOOL", SqlType("BOOLEAN")),
        ("TIMESTAMP", SqlType("TIMESTAMP")),
        ("DATETIME", SqlType("TIMESTAMP")),
        ("DATE", SqlType("DATE")),
        ("ARRAY<INT>", SqlType("ARRAY")),
        ("MAP<STRING, INT>", SqlType("MAP")),
    ],
)
def test_parse_type_text(text, expected):
    assert v.parse_type(text) == expected


def test_parse_type_from_sqlglot():
    assert v.parse_type(exp.DataType.build("DECIMAL(12, 4)")) == SqlType("DECIMAL", 12, 4)
    assert v.parse_type(exp.DataType.build("STRING")) == SqlType("STRING")
    assert v.parse_type(exp.DataType.build("INT")) == SqlType("INTEGER")
    assert v.parse_type(exp.DataType.build("DATETIME")) == SqlType("TIMESTAMP")


def test_parse_type_rejects_unknown_types():
    for bad in ("BLOB", "DECIMAL(2,5)", "INT EXTRA", ""):
        with pytest.raises(SqlError):
            v.parse_type(bad)


def test_cast_null_stays_null():
    for t in ("BIGINT", "DOUBLE", "DECIMAL(5,2)", "STRING", "BOOLEAN", "TIMESTAMP", "DATE"):
        assert v.cast(None, t) is None


def test_cast_to_integer_rounds_half_away_from_zero():
    assert v.cast(D("2.5"), "BIGINT") == 3
    assert v.cast(D("-2.5"), "INT") == -3
    assert v.cast(D("2.49"), "BIGINT") == 2
    assert v.cast(2.5, "BIGINT") == 3
    assert v.cast(-0.5, "BIGINT") == -1
    # the largest double below 0.5: floor(x + 0.5) would wrongly give 1
    assert v.cast(0.49999999999999994, "BIGINT") == 0
    assert v.cast("42", "BIGINT") == 42
    assert v.cast(" 7.5 ", "INTEGER") == 8
    assert v.cast(True, "INT") == 1
    assert type(v.cast(D("3.0"), "BIGINT")) is int


def test_cast_bad_text_names_the_value():
    with pytest.raises(SqlError) as e:
        v.cast("abc", "BIGINT")
    assert e.value.kind == "type" and "abc" in str(e.value)
    with pytest.raises(SqlError):
        v.cast("1.5x", "DOUBLE")
    with pytest.raises(SqlError):
        v.cast("one", "DECIMAL(5,2)")
    with pytest.raises(SqlError):
        v.cast("maybe", "BOOLEAN")
    with pytest.raises(SqlError):
        v.cast("not a time", "TIMESTAMP")


def test_cast_to_double():
    r = v.cast(1, "DOUBLE")
    assert type(r) is float and r == 1.0
    assert v.cast("1.5", "FLOAT") == 1.5
    assert v.cast(D("0.25"), "DOUBLE") == 0.25


def test_cast_to_decimal_quantizes_half_away_from_zero():
    same(v.cast(D("1.005"), "DECIMAL(5,2)"), "1.01")
    same(v.cast(D("-1.005"), "DECIMAL(5,2)"), "-1.01")
    same(v.cast(D("1.004"), "DECIMAL(5,2)"), "1.00")
    same(v.cast(1.1, "DECIMAL(10,2)"), "1.10")  # not 1.100000000000000088..
    same(v.cast(7, "DECIMAL(10,3)"), "7.000")
    same(v.cast("12.3", "DECIMAL(10,3)"), "12.300")
    same(v.cast(999.995, "DECIMAL(6,2)"), "1000.00")
    same(v.cast(5, "DECIMAL"), "5")


def test_cast_to_decimal_checks_precision():
    with pytest.raises(SqlError):
        v.cast(12345, "DECIMAL(5,2)")  # 5 integer digits, 3 allowed
    with pytest.raises(SqlError):
        v.cast(999.995, "DECIMAL(5,2)")  # rounds to 1000.00
    same(v.cast(D("999.99"), "DECIMAL(5,2)"), "999.99")


def test_cast_to_string():
    assert v.cast(D("45482.50"), "STRING") == "45482.50"
    assert v.cast(D("1E+2"), "STRING") == "100"
    assert v.cast(D("1E-7"), "VARCHAR") == "0.0000001"
    assert v.cast(True, "STRING") == "true"
    assert v.cast(False, "TEXT") == "false"
    assert v.cast(1.5, "STRING") == "1.5"
    assert v.cast(42, "STRING") == "42"
    assert v.cast(datetime(2024, 1, 2, 3, 4, 5, 6000), "STRING") == "2024-01-02T03:04:05.006"
    assert v.cast(date(2024, 1, 2), "STRING") == "2024-01-02"


def test_cast_to_boolean():
    assert v.cast("true", "BOOLEAN") is True
    assert v.cast("FALSE", "BOOL") is False
    assert v.cast(1, "BOOLEAN") is True
    assert v.cast(0, "BOOLEAN") is False


def test_cast_to_timestamp_and_date():
    # 1_700_000_000 s after the epoch is 2023-11-14 22:13:20 UTC
    assert v.cast(1_700_000_000_000, "TIMESTAMP") == datetime(2023, 11, 14, 22, 13, 20)
    assert v.cast(1_700_000_000_250, "TIMESTAMP") == datetime(2023, 11, 14, 22, 13, 20, 250000)
    assert v.cast("2024-01-02T03:04:05Z", "TIMESTAMP") == datetime(2024, 1, 2, 3, 4, 5)
    assert v.cast("2024-01-02T05:04:05+02:00", "DATETIME") == datetime(2024, 1, 2, 3, 4, 5)
    assert v.cast(date(2024, 3, 5), "TIMESTAMP") == datetime(2024, 3, 5)
    assert v.cast("2024-03-05", "DATE") == date(2024, 3, 5)
    assert v.cast(datetime(2024, 3, 5, 23, 59), "DATE") == date(2024, 3, 5)
    assert v.cast(86_400_000, "DATE") == date(1970, 1, 2)


def test_time_helpers():
    assert v.to_epoch_ms(datetime(1970, 1, 1, 0, 0, 1, 500000)) == 1500
    assert v.to_epoch_ms("1970-01-02T00:00:00") == 86_400_000
    assert v.to_epoch_ms(1234) == 1234
    assert v.to_datetime(-1000) == datetime(1969, 12, 31, 23, 59, 59)


# --------------------------------------------------------------------------- text and JSON forms


@pytest.mark.parametrize(
    "text, expected",
    [
        ("123.45", "123.45"),
        ("-0.5", "-0.5"),
        ("100.00", "100.00"),
        ("0.0", "0.0"),
    ],
)
def test_infer_decimal_accepts_plain_decimals(text, expected):
    same(v.infer_decimal(text), expected)


@pytest.mark.parametrize(
    "text", ["100", "-7", "1e5", "1.5e3", ".5", "5.", "+1.5", " 1.5", "1.5 ", "abc", "", "1.2.3"]
)
def test_infer_decimal_rejects_everything_else(text):
    assert v.infer_decimal(text) is None


def test_to_json_value():
    assert v.to_json_value(D("45482.50")) == "45482.50"
    assert v.to_json_value(D("1E-7")) == "0.0000001"  # never exponent notation
    assert v.to_json_value(D("1E+3")) == "1000"
    assert v.to_json_value(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05.000"
    assert v.to_json_value(date(2024, 1, 2)) == "2024-01-02"
    assert v.to_json_value(float("nan")) is None
    assert v.to_json_value(float("inf")) is None
    assert v.to_json_value(1.5) == 1.5
    assert v.to_json_value(None) is None
    assert v.to_json_value(True) is True
    assert v.to_json_value({"a": [D("1.10"), math.inf]}) == {"a": ["1.10", None]}


@pytest.mark.parametrize(
    "value, name",
    [
        (None, "NULL"),
        (True, "BOOLEAN"),
        (1, "BIGINT"),
        (1.0, "DOUBLE"),
        (D("1.0"), "DECIMAL"),
        ("s", "STRING"),
        (datetime(2024, 1, 1), "TIMESTAMP"),
        (date(2024, 1, 1), "DATE"),
        ([1], "ARRAY"),
        ({"a": 1}, "MAP"),
    ],
)
def test_type_name(value, name):
    assert v.type_name(value) == name


@pytest.mark.parametrize(
    "text, scale",
    [("1.50", 2), ("100", 0), ("1E+2", 0), ("1E-7", 7), ("-0.001", 3), ("0E-10", 10)],
)
def test_decimal_scale(text, scale):
    assert v.decimal_scale(D(text)) == scale


def _half_away(x: Fraction) -> int:
    """Round a fraction half away from zero (an independent reference)."""
    n = abs(x)
    whole = int(n)
    if n - whole >= Fraction(1, 2):
        whole += 1
    return whole if x >= 0 else -whole


decimals = st.decimals(
    min_value=-(10**12), max_value=10**12, places=4, allow_nan=False, allow_infinity=False
)


@settings(max_examples=100, deadline=None)
@given(a=decimals, b=decimals, places_a=st.integers(0, 4), places_b=st.integers(0, 4))
def test_decimal_division_matches_exact_fraction_rounding(a, b, places_a, places_b):
    a = a.quantize(D(1).scaleb(-places_a))
    b = b.quantize(D(1).scaleb(-places_b))
    got = v.div(a, b)
    if b == 0:
        assert got is None
        return
    scale = max(max(places_a, places_b) + 4, 6)
    expected = _half_away(Fraction(a) / Fraction(b) * 10**scale)
    assert got == D(expected).scaleb(-scale)
    assert v.decimal_scale(got) == scale


@settings(max_examples=100, deadline=None)
@given(a=decimals, b=decimals)
def test_decimal_add_sub_mul_match_fractions(a, b):
    assert Fraction(v.add(a, b)) == Fraction(a) + Fraction(b)
    assert Fraction(v.sub(a, b)) == Fraction(a) - Fraction(b)
    assert Fraction(v.mul(a, b)) == Fraction(a) * Fraction(b)


def test_timestamp_text_forms():
    assert v.to_datetime("1500") == datetime(1970, 1, 1, 0, 0, 1, 500000)  # digits are epoch ms
    assert v.to_datetime("-1000") == datetime(1969, 12, 31, 23, 59, 59)
    assert v.to_datetime("2024-01-02 03:04:05") == datetime(2024, 1, 2, 3, 4, 5)
    with pytest.raises(SqlError):
        v.to_datetime("--5")
    with pytest.raises(SqlError):
        v.to_datetime([1])


def test_decimal_results_beyond_76_digits_are_errors():
    with pytest.raises(SqlError):
        v.div(D("1E+80"), 3)
    with pytest.raises(SqlError):
        v.mod(D("1E+100"), D("0.0001"))
    with pytest.raises(SqlError):
        v.cast(D("1E+80"), "DECIMAL(100, 2)")
