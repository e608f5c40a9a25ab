"""The Protobuf codec: a .proto compiled at start, values both ways, decimals, timestamps,
malformed values and configuration errors. Values are also produced and checked with classes
that protoc generated as Python code (`--python_out`), independent of the codec's dynamic
descriptor loading."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from grpc_tools import protoc

from velostream.errors import ConfigError
from velostream.formats.codecs import value_codec
from velostream.formats.protobuf import _well_known_include

PROTO = """\
syntax = "proto3";
package velotest.fmt;

import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

// Velostream's financial.proto convention: value = units x 10^-scale
message Decimal { int64 units = 1; int32 scale = 2; }

enum Side { SIDE_UNKNOWN = 0; BUY = 1; SELL = 2; }

message Trade {
  int64 id = 1;
  string symbol = 2;
  Decimal price = 3;
  google.protobuf.Timestamp ts = 4;
  Side side = 5;
  repeated string tags = 6;
  map<string, int64> counts = 7;
  optional double qty = 8;
  google.protobuf.StringValue note = 9;
  message Leg { string venue = 1; Decimal px = 2; }
  repeated Leg legs = 10;
  bool active = 11;
  bytes raw = 12;
}
"""

TEXT_DECIMAL = """\
syntax = "proto3";
package velotest.txt;
message Decimal { string value = 1; }  // like google.type.Decimal
message Quote { string symbol = 1; Decimal bid = 2; Decimal ask = 3; }
"""


@pytest.fixture(scope="module")
def proto_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("proto")
    (d / "velo_fmt_trades.proto").write_text(PROTO)
    (d / "velo_fmt_quotes.proto").write_text(TEXT_DECIMAL)
    return d


@pytest.fixture(scope="module")
def generated(proto_dir: Path):
    """The Trade module protoc generates as Python code (the reference implementation)."""
    out = proto_dir / "gen"
    out.mkdir()
    rc = protoc.main(
        [
            "protoc",
            f"-I{proto_dir}",
            f"-I{_well_known_include()}",
            f"--python_out={out}",
            str(proto_dir / "velo_fmt_trades.proto"),
        ]
    )
    assert rc == 0
    spec = importlib.util.spec_from_file_location(
        "velo_fmt_trades_pb2", out / "velo_fmt_trades_pb2.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["velo_fmt_trades_pb2"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def trade_codec(proto_dir: Path):
    return value_codec(
        {
            "format": "protobuf",
            "protobuf.file": str(proto_dir / "velo_fmt_trades.proto"),
            "protobuf.message": "Trade",
        }
    )


def test_decode_of_a_message_built_with_generated_code(generated, trade_codec) -> None:
    m = generated.Trade(id=7, symbol="AAPL", side=generated.SELL, active=True, raw=b"\x00\xff")
    m.price.units, m.price.scale = 1234500, 4  # 123.4500
    m.ts.seconds, m.ts.nanos = 1704067200, 123_456_000  # 2024-01-01T00:00:00.123456Z
    m.tags.extend(["x", "y"])
    m.counts["a"] = 3
    m.note.value = "hi"
    leg = m.legs.add(venue="XNAS")
    leg.px.units, leg.px.scale = -1, 2
    assert trade_codec.decode(m.SerializeToString()) == {
        "id": 7,
        "symbol": "AAPL",
        "price": Decimal("123.4500"),
        "ts": dt.datetime(2024, 1, 1, 0, 0, 0, 123456),
        "side": "SELL",
        "tags": ["x", "y"],
        "counts": {"a": 3},
        "qty": None,  # optional and not set
        "note": "hi",
        "legs": [{"venue": "XNAS", "px": Decimal("-0.01")}],
        "active": True,
        "raw": b"\x00\xff",
    }


def test_unset_fields_read_as_defaults_or_null(trade_codec) -> None:
    assert trade_codec.decode(b"") == {
        "id": 0,
        "symbol": "",
        "price": None,
        "ts": None,
        "side": "SIDE_UNKNOWN",
        "tags": [],
        "counts": {},
        "qty": None,
        "note": None,
        "legs": [],
        "active": False,
        "raw": b"",
    }


def test_hand_written_bytes() -> None:
    # field 1 (id) varint 150 = 08 96 01; field 2 (symbol) length-delimited "ab" = 12 02 61 62
    c = value_codec({"format": "protobuf", "protobuf.schema": PROTO, "protobuf.message": "Trade"})
    rec = c.decode(b"\x08\x96\x01\x12\x02ab")
    assert (rec["id"], rec["symbol"]) == (150, "ab")
    assert c.encode({"id": 150, "symbol": "ab"}) == b"\x08\x96\x01\x12\x02ab"


def test_encode_is_read_back_by_generated_code(generated, trade_codec) -> None:
    row = {
        "ID": 9,  # SQL names are case-insensitive
        "symbol": "MSFT",
        "price": Decimal("-0.0500"),
        "ts": dt.datetime(2024, 2, 29, 12, 30, 0, 250000),
        "side": "buy",
        "tags": ["t"],
        "counts": {"k": 2},
        "qty": Decimal("1.5"),
        "note": None,
        "legs": [{"venue": "X", "px": 3}],
        "active": True,
    }
    m = generated.Trade()
    m.ParseFromString(trade_codec.encode(row))
    assert m.id == 9 and m.symbol == "MSFT" and m.side == generated.BUY
    assert (m.price.units, m.price.scale) == (-500, 4)
    assert (m.ts.seconds, m.ts.nanos) == (1709209800, 250_000_000)
    assert list(m.tags) == ["t"] and dict(m.counts) == {"k": 2}
    assert m.HasField("qty") and m.qty == 1.5
    assert not m.HasField("note")
    assert (m.legs[0].venue, m.legs[0].px.units, m.legs[0].px.scale) == ("X", 3, 0)


def test_round_trip_keeps_decimals_exact(trade_codec) -> None:
    for text in ["0", "0.00", "-1.5", "123456789012345.678", "9223372036854775.807", "1E+3"]:
        d = Decimal(text)
        back = trade_codec.decode(trade_codec.encode({"price": d}))["price"]
        assert back == d
        assert back.as_tuple().exponent == min(0, d.as_tuple().exponent)  # scale kept
    assert (
        str(trade_codec.decode(trade_codec.encode({"price": Decimal("2.50")}))["price"]) == "2.50"
    )


def test_timestamp_at_the_epoch_is_present_and_ints_are_epoch_millis(trade_codec) -> None:
    rec = trade_codec.decode(trade_codec.encode({"ts": dt.datetime(1970, 1, 1)}))
    assert rec["ts"] == dt.datetime(1970, 1, 1)  # not NULL: the message is set
    rec = trade_codec.decode(trade_codec.encode({"ts": 1704067200123}))
    assert rec["ts"] == dt.datetime(2024, 1, 1, 0, 0, 0, 123000)
    assert rec["ts"].tzinfo is None


def test_text_decimal_convention(proto_dir: Path) -> None:
    c = value_codec(
        {
            "format": "protobuf",
            "protobuf.file": str(proto_dir / "velo_fmt_quotes.proto"),
            "protobuf.message": "velotest.txt.Quote",
        }
    )
    raw = c.encode({"symbol": "A", "bid": Decimal("10.1000"), "ask": "10.25"})
    # field 2 (bid) holds a message whose field 1 is the text "10.1000"
    assert b"\x12\x09\x0a\x0710.1000" in raw
    assert c.decode(raw) == {"symbol": "A", "bid": Decimal("10.1000"), "ask": Decimal("10.25")}
    records, errors = c.decode_many([b"\x12\x05\x0a\x03abc"])
    assert records == [None] and "not a decimal number" in errors[0]


def test_malformed_values_are_reported_in_place(trade_codec) -> None:
    good = trade_codec.encode({"id": 1})
    values = [good, b"\xff\xff\xff", b"\x12\x10ab", None, good]
    records, errors = trade_codec.decode_many(values)
    assert records[0] == records[4] and records[0]["id"] == 1
    assert errors[0] is None and errors[4] is None
    assert records[1:4] == [None, None, None]
    assert "not a valid velotest.fmt.Trade message (3 bytes)" in errors[1]
    assert "not a valid velotest.fmt.Trade message (4 bytes)" in errors[2]  # cut short
    assert "null value" in errors[3]


def test_encode_errors_name_the_field(trade_codec) -> None:
    with pytest.raises(ValueError, match=r"field 'side': 'HOLD' is not a value of Side"):
        trade_codec.encode({"side": "HOLD"})
    with pytest.raises(ValueError, match=r"field 'id': expected an integer"):
        trade_codec.encode({"id": "seven"})
    with pytest.raises(ValueError, match=r"field 'raw': expected bytes or text"):
        trade_codec.encode({"raw": 5})
    with pytest.raises(ValueError, match=r"field 'id': 99999999999999999999"):
        trade_codec.encode({"id": 99999999999999999999})  # beyond int64
    with pytest.raises(ValueError, match=r"field 'legs'\.px: 'x' is not a decimal"):
        trade_codec.encode({"legs": [{"px": "x"}]})


def test_imports_from_an_include_folder(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "money.proto").write_text(
        'syntax = "proto3";\npackage m;\nmessage Decimal { int64 units = 1; int32 scale = 2; }\n'
    )
    app = tmp_path / "app"
    app.mkdir()
    (app / "order.proto").write_text(
        'syntax = "proto3";\nimport "money.proto";\nmessage Order { m.Decimal total = 1; }\n'
    )
    props = {"format": "protobuf", "protobuf.file": str(app / "order.proto")}
    with pytest.raises(ConfigError, match=r"money\.proto"):
        value_codec(props)
    c = value_codec({**props, "protobuf.include": str(lib)})  # one message: no name needed
    assert c.decode(c.encode({"total": Decimal("4.20")})) == {"total": Decimal("4.20")}


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        value_codec({"format": "protobuf", "protobuf.file": str(tmp_path / "nope.proto")})
    assert info.value.token == "protobuf.file"
    assert "not found" in info.value.message and "nope.proto" in info.value.message


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.proto"
    bad.write_text('syntax = "proto3";\nmessage T {\n  int64 id = 1\n  string s = 2;\n}\n')
    with pytest.raises(ConfigError) as info:
        value_codec({"format": "protobuf", "protobuf.file": str(bad)})
    assert info.value.token == "protobuf.file"
    assert "bad.proto:4:3" in info.value.message  # protoc notices the missing ';' at line 4
    assert 'Expected ";"' in info.value.message


def test_unknown_or_missing_message_name(proto_dir: Path) -> None:
    path = str(proto_dir / "velo_fmt_trades.proto")
    with pytest.raises(ConfigError) as info:
        value_codec({"format": "protobuf", "protobuf.file": path, "protobuf.message": "Order"})
    assert info.value.token == "protobuf.message"
    assert "'Order' is not a message" in info.value.message
    assert "velotest.fmt.Trade" in info.value.message
    with pytest.raises(ConfigError, match=r"'protobuf\.message' is needed"):
        value_codec({"format": "protobuf", "protobuf.file": path})
    nested = value_codec(
        {"format": "protobuf", "protobuf.file": path, "protobuf.message": "Trade.Leg"}
    )
    assert nested.decode(b"\x0a\x01Z") == {"venue": "Z", "px": None}


def test_no_file_given() -> None:
    with pytest.raises(ConfigError, match=r"needs 'protobuf\.file'"):
        value_codec({"format": "protobuf"})


def test_registry_framing_is_refused_for_protobuf(proto_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        value_codec(
            {
                "format": "protobuf",
                "protobuf.file": str(proto_dir / "velo_fmt_quotes.proto"),
                "schema.registry.url": "http://127.0.0.1:1",
            }
        )
    assert info.value.token == "schema.registry.url"
    assert "avro only" in info.value.message
