"""The Avro codec without a registry: schemas inline and from files, values, decimals,
timestamps, evolution, malformed values and configuration errors."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import fastavro
import pytest
from avro_helpers import bytes_, long_, string, twos_complement
from hypothesis import given
from hypothesis import strategies as st

from velostream.errors import ConfigError
from velostream.formats.codecs import value_codec

DEC = {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 4}
TRADE = {
    "type": "record",
    "name": "Trade",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "amount", "type": DEC},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}


def codec(schema: dict, **extra: str):
    return value_codec({"format": "avro", "avro.schema": json.dumps(schema), **extra})


def test_encode_writes_the_avro_binary_encoding_byte_for_byte() -> None:
    c = codec(TRADE)
    ts = dt.datetime(2024, 1, 1)  # 1704067200000 ms after the epoch
    got = c.encode({"id": 1, "amount": Decimal("1.5"), "ts": ts, "note": None})
    # id=1, amount 1.5000 -> unscaled 15000 = 0x3a98, ts in ms, union branch 0 (null)
    want = long_(1) + bytes_(b"\x3a\x98") + long_(1704067200000) + long_(0)
    assert got == want


def test_decode_reads_hand_written_bytes() -> None:
    c = codec(TRADE)
    raw = (
        long_(42)
        + bytes_(twos_complement(-15000))  # -1.5000
        + long_(1704067200123)
        + long_(1)
        + string("hé")
    )
    assert twos_complement(-15000) == b"\xc5\x68"  # 65536 - 15000 = 0xc568
    assert c.decode(raw) == {
        "id": 42,
        "amount": Decimal("-1.5000"),
        "ts": dt.datetime(2024, 1, 1, 0, 0, 0, 123000),
        "note": "hé",
    }


def test_timestamps_are_naive_utc_datetimes() -> None:
    rec = codec(TRADE).decode(long_(1) + bytes_(b"\x00") + long_(0) + long_(0))
    assert rec["ts"] == dt.datetime(1970, 1, 1)
    assert rec["ts"].tzinfo is None


def test_round_trip_of_bytes_written_by_fastavro_itself() -> None:
    rows = [
        {
            "id": 1,
            "amount": Decimal("12.3400"),
            "ts": dt.datetime(2024, 5, 6, 7, 8, 9),
            "note": "x",
        },
        {"id": -2, "amount": Decimal("-0.0001"), "ts": dt.datetime(1999, 12, 31), "note": None},
    ]
    parsed = fastavro.parse_schema(TRADE)
    values = []
    for r in rows:
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, r)
        values.append(buf.getvalue())
    c = codec(TRADE)
    records, errors = c.decode_many(values)
    assert errors == [None, None]
    assert records == rows
    assert [c.encode(r) for r in rows] == values


def test_decimal_fields_are_exact_at_the_schema_scale() -> None:
    big = {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 10}
    fixed = {
        "type": "fixed",
        "name": "D16",
        "size": 16,
        "logicalType": "decimal",
        "precision": 30,
        "scale": 2,
    }
    schema = {
        "type": "record",
        "name": "M",
        "fields": [{"name": "big", "type": big}, {"name": "fx", "type": fixed}],
    }
    c = codec(schema)
    row = {"big": Decimal("1234567890123456789012345678.1234567891"), "fx": Decimal("-99.5")}
    raw = c.encode(row)
    # fixed: 16 bytes of -9950 in two's complement, no length prefix
    assert raw.endswith((-9950).to_bytes(16, "big", signed=True))
    back = c.decode(raw)
    assert back == {"big": row["big"], "fx": Decimal("-99.50")}
    assert str(back["big"]) == "1234567890123456789012345678.1234567891"
    assert str(back["fx"]) == "-99.50"  # the schema's scale, not float noise


def test_decimal_from_int_float_and_text() -> None:
    c = codec(TRADE)
    ts = dt.datetime(2024, 1, 1)
    for given_, want in [(3, "3.0000"), (0.1, "0.1000"), ("2.25", "2.2500")]:
        back = c.decode(c.encode({"id": 1, "amount": given_, "ts": ts}))
        assert str(back["amount"]) == want


def test_decimal_with_more_places_than_the_scale_is_refused_not_rounded() -> None:
    c = codec(TRADE)
    with pytest.raises(ValueError, match=r"field 'amount'.*more than 4 decimal places"):
        c.encode({"id": 1, "amount": Decimal("1.23456"), "ts": 0})
    with pytest.raises(ValueError, match=r"more than 10 digits"):
        c.encode({"id": 1, "amount": Decimal("1234567.0001"), "ts": 0})


@given(st.decimals(min_value=-999999, max_value=999999, places=4, allow_nan=False))
def test_any_decimal_of_the_schema_scale_round_trips(d: Decimal) -> None:
    c = codec(TRADE)
    back = c.decode(c.encode({"id": 0, "amount": d, "ts": 0}))["amount"]
    assert back == d
    assert back.as_tuple().exponent == -4


def test_timestamp_micros_and_dates() -> None:
    schema = {
        "type": "record",
        "name": "E",
        "fields": [
            {"name": "us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        ],
    }
    c = codec(schema)
    uid = "8d6a1f32-4b4e-4d43-9a5e-9d1c1b2f7e10"
    raw = c.encode({"us": dt.datetime(2024, 1, 1, 0, 0, 0, 123456), "day": "2024-02-29", "id": uid})
    # micros since the epoch, then days since the epoch (19782 = 2024-02-29)
    assert raw == long_(1704067200123456) + long_(19782) + string(uid)
    assert c.decode(raw) == {
        "us": dt.datetime(2024, 1, 1, 0, 0, 0, 123456),
        "day": dt.date(2024, 2, 29),
        "id": uid,
    }
    # an integer for a timestamp is epoch milliseconds (the engine's system columns)
    back = c.decode(c.encode({"us": 1704067200123, "day": 0, "id": uid}))
    assert back["us"] == dt.datetime(2024, 1, 1, 0, 0, 0, 123000)


def test_encode_matches_fields_case_insensitively_and_uses_defaults() -> None:
    c = codec(TRADE)
    raw = c.encode({"ID": 5, "Amount": Decimal("1"), "TS": 0, "extra": "ignored"})
    assert c.decode(raw) == {
        "id": 5,
        "amount": Decimal("1.0000"),
        "ts": dt.datetime(1970, 1, 1),
        "note": None,
    }


def test_encode_of_a_row_missing_a_required_field_says_so() -> None:
    with pytest.raises(ValueError, match="cannot write the row as Avro"):
        codec(TRADE).encode({"amount": Decimal("1"), "ts": 0})


def test_nested_records_arrays_maps_and_enums() -> None:
    schema = {
        "type": "record",
        "name": "Order",
        "fields": [
            {"name": "side", "type": {"type": "enum", "name": "Side", "symbols": ["BUY", "SELL"]}},
            {
                "name": "legs",
                "type": {
                    "type": "array",
                    "items": {
                        "type": "record",
                        "name": "Leg",
                        "fields": [
                            {"name": "px", "type": DEC},
                            {
                                "name": "at",
                                "type": {"type": "long", "logicalType": "timestamp-millis"},
                            },
                        ],
                    },
                },
            },
            {"name": "fees", "type": {"type": "map", "values": DEC}},
            {"name": "first", "type": ["null", "Leg"], "default": None},
        ],
    }
    c = codec(schema)
    row = {
        "side": "SELL",
        "legs": [{"px": Decimal("1.1"), "at": dt.datetime(2024, 1, 1)}],
        "fees": {"venue": Decimal("0.25")},
        "first": {"px": "2", "at": 1000},
    }
    assert c.decode(c.encode(row)) == {
        "side": "SELL",
        "legs": [{"px": Decimal("1.1000"), "at": dt.datetime(2024, 1, 1)}],
        "fees": {"venue": Decimal("0.2500")},
        "first": {"px": Decimal("2.0000"), "at": dt.datetime(1970, 1, 1, 0, 0, 1)},
    }


V1 = {
    "type": "record",
    "name": "Payment",
    "fields": [{"name": "id", "type": "long"}, {"name": "amount", "type": DEC}],
}
V2 = {
    "type": "record",
    "name": "Payment",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "amount", "type": DEC},
        {"name": "currency", "type": "string", "default": "USD"},
        {"name": "memo", "type": ["null", "string"], "default": None},
    ],
}


def test_evolution_a_reader_schema_with_added_optional_fields_reads_old_values() -> None:
    old = long_(7) + bytes_(twos_complement(1234500))  # written with V1: id 7, amount 123.4500
    reader = codec(V2, **{"avro.writer.schema": json.dumps(V1)})
    assert reader.decode(old) == {
        "id": 7,
        "amount": Decimal("123.4500"),
        "currency": "USD",
        "memo": None,
    }
    # Without the writer schema the old value is too short for V2: an error, not a guess.
    records, errors = codec(V2).decode_many([old])
    assert records == [None]
    assert errors[0] and "truncated" in errors[0]


def test_evolution_a_reader_without_a_field_skips_it() -> None:
    new = codec(V2).encode({"id": 1, "amount": Decimal("2"), "currency": "EUR", "memo": "m"})
    reader = codec(V1, **{"avro.writer.schema": json.dumps(V2)})
    assert reader.decode(new) == {"id": 1, "amount": Decimal("2.0000")}


def test_evolution_an_incompatible_reader_is_a_record_error() -> None:
    v3 = {
        "type": "record",
        "name": "Payment",
        "fields": [{"name": "id", "type": "long"}, {"name": "required_new", "type": "string"}],
    }
    reader = codec(v3, **{"avro.writer.schema": json.dumps(V1)})
    records, errors = reader.decode_many([long_(1) + bytes_(b"\x01")])
    assert records == [None]
    assert "reader schema" in (errors[0] or "")


def test_malformed_values_are_reported_in_place_never_raised() -> None:
    c = codec(TRADE)
    good = c.encode({"id": 1, "amount": Decimal("1"), "ts": 0})
    values = [good, good[:3], good + b"\x00\x01", b"", None, good, long_(1) + long_(-5)]
    records, errors = c.decode_many(values)
    assert len(records) == len(errors) == len(values)
    assert records[0] == records[5] == c.decode(good)
    assert errors[0] is None and errors[5] is None
    assert records[1] is None and "truncated" in errors[1]
    assert records[2] is None and "2 bytes left over" in errors[2]
    assert records[3] is None and "truncated" in errors[3]
    assert records[4] is None and "null value" in errors[4]
    assert records[6] is None and errors[6]  # a negative length for the decimal's bytes


def test_schema_from_a_file(tmp_path) -> None:
    path = tmp_path / "trade.avsc"
    path.write_text(json.dumps(TRADE))
    c = value_codec({"format": "avro", "avro.schema.file": str(path)})
    assert c.decode(long_(3) + bytes_(b"\x00") + long_(0) + long_(0))["id"] == 3


@pytest.mark.parametrize(
    ("props", "key", "text"),
    [
        ({}, "avro.schema", "needs a schema"),
        ({"avro.schema": "{}", "avro.schema.file": "x.avsc"}, "avro.schema.file", "not both"),
        ({"avro.schema.file": "/nonexistent/t.avsc"}, "avro.schema.file", "not found"),
        ({"avro.schema": '{"type": "record",\n "name": }'}, "avro.schema", "line 2 column 10"),
        (
            {
                "avro.schema": '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "nope"}]}'
            },
            "avro.schema",
            "not a valid Avro schema",
        ),
        ({"avro.schema": '"string"'}, "avro.schema", "must be a record"),
        (
            {"avro.schema": json.dumps(V1), "avro.writer.schema": "{"},
            "avro.writer.schema",
            "invalid JSON",
        ),
    ],
)
def test_configuration_errors_name_the_key(props: dict, key: str, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        value_codec({"format": "avro", **props})
    assert info.value.token == key
    assert text in info.value.message
    assert key in info.value.message


def test_unknown_format_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        value_codec({"format": "thrift"})
    assert {"json", "avro", "protobuf"} <= set(info.value.expected)
