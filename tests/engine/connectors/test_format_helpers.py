"""Format helpers: bulk typing agrees with value-by-value typing; JSON output keeps decimals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import orjson
from connector_helpers import drain
from hypothesis import given, settings
from hypothesis import strategies as st

from velostream.connectors.registry import create_source
from velostream.formats.csv import format_value, infer_column, infer_value
from velostream.formats.json import convert_batch_decimals, dumps_rows_jsonl, infer_decimal

# Texts that exercise every branch of the inference: numbers, near-numbers, booleans, empties.
csv_texts = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "-1",
            "+1",
            "1.50",
            "-0.5",
            ".5",
            "5.",
            "1e3",
            "-2.5E-2",
            "true",
            "False",
            "TRUE",
            "x",
            "k81",
            "100",
            "1_000",
            " 1",
            "1 ",
            "nan",
            "a\nb",
            "٣",
        ]
    ),
    st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{1,3})?", fullmatch=True),
    st.text(max_size=4),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(csv_texts, min_size=1, max_size=8))
def test_infer_column_equals_infer_value(values: list[str]) -> None:
    got = infer_column(values)
    want = [infer_value(v) for v in values]
    assert got == want
    assert [type(x) for x in got] == [type(x) for x in want]
    assert [str(x) for x in got] == [str(x) for x in want]  # decimals keep their scale


def test_infer_value_by_hand() -> None:
    assert infer_value("12") == 12 and type(infer_value("12")) is int
    assert str(infer_value("12.50")) == "12.50"
    assert infer_value("1.5e3") == 1500.0 and type(infer_value("1.5e3")) is float
    assert infer_value("true") is True and infer_value("FALSE") is False
    assert infer_value("") is None
    assert infer_value("+5") == "+5" and infer_value(".5") == ".5" and infer_value("1_0") == "1_0"


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["a", "b", "c"]),
            st.one_of(
                st.integers(-5, 5),
                st.sampled_from(["1.5", "1.50", "-0.25", "100", "x", "v1.2", "1e5", ".5"]),
                st.none(),
            ),
        ),
        max_size=80,
    )
)
def test_batch_decimal_conversion_equals_the_per_value_rule(records: list[dict]) -> None:
    raw = b"\n".join(orjson.dumps(r) for r in records)
    decoded = [orjson.loads(orjson.dumps(r)) for r in records]
    convert_batch_decimals(decoded, raw)
    for orig, got in zip(records, decoded, strict=True):
        for k, v in orig.items():
            want = infer_decimal(v) if isinstance(v, str) else None
            if want is not None:
                assert type(got[k]) is Decimal and str(got[k]) == v
            else:
                assert got[k] == v and type(got[k]) is type(v)


def test_json_output_values() -> None:
    rows = [
        {
            "d": Decimal("45482.50"),
            "e": Decimal("1E+3"),
            "z": Decimal("0E-7"),
            "f": float("inf"),
            "t": dt.datetime(2023, 11, 14, 22, 13, 20, 5000),
            "l": [Decimal("1.10"), None],
        }
    ]
    line = dumps_rows_jsonl(rows, ["d", "e", "z", "f", "t", "l"])
    obj = orjson.loads(line)
    assert obj["d"] == "45482.50" and obj["e"] == "1000" and obj["z"] == "0.0000000"
    assert obj["f"] is None and obj["l"] == ["1.10", None]
    assert obj["t"].startswith("2023-11-14T22:13:20.005")


def test_csv_field_formatting() -> None:
    assert format_value(Decimal("1E+2")) == "100"
    assert format_value(Decimal("-0.50")) == "-0.50"
    assert format_value(float("nan")) == "" and format_value(None) == ""
    assert format_value(True) == "true" and format_value(2.5) == "2.5"


def test_csv_with_crlf_and_blank_lines(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_bytes(b"\xef\xbb\xbfa,b\r\n1,x\r\n\r\n2,y\r\n")
    src = create_source("c", {"type": "file_source", "path": str(f)})
    assert [(r["a"], r["b"]) for r in drain(src)] == [(1, "x"), (2, "y")]
    assert src.errors.malformed == 0


def test_csv_custom_delimiter_and_quoted_blank_line_positions(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text('a;b\n"1;2";3\n\n4\n')
    src = create_source("c", {"type": "file_source", "path": str(f), "delimiter": ";"})
    assert [(r["a"], r["b"]) for r in drain(src)] == [("1;2", 3)]
    assert src.errors.reports == [f"{f}:4: expected 2 fields, got 1"]
