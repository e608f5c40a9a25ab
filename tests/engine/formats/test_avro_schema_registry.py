"""Avro with a schema registry: the wire format, registering, the writer-schema cache,
evolution by schema id, malformed values and an unreachable registry.

The registry is the stand-in in tests/services/schema_registry.py (no Confluent-compatible
registry can run on this machine; see that module)."""

from __future__ import annotations

import io
import json
import socket
import struct
import urllib.request
from decimal import Decimal

import fastavro
import pytest
from avro_helpers import bytes_, long_, string, twos_complement
from services.schema_registry import schema_registry_server

from velostream.errors import ConfigError
from velostream.formats.codecs import value_codec
from velostream.formats.schema_registry import (
    RegistryError,
    SchemaRegistryClient,
    frame,
    unframe,
)

DEC = {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 2}
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
    ],
}


def codec(reg, schema=None, **extra):
    props = {"format": "avro", "schema.registry.url": reg.url, "topic": "payments", **extra}
    if schema is not None:
        props["avro.schema"] = json.dumps(schema)
    return value_codec(props)


def register_over_http(url: str, subject: str, schema: dict) -> int:
    """Register a schema with a plain HTTP request, as another producer's client would."""
    req = urllib.request.Request(
        f"{url}/subjects/{subject}/versions",
        data=json.dumps({"schema": json.dumps(schema)}).encode(),
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())["id"]


def test_wire_format_header() -> None:
    assert frame(258, b"xy") == b"\x00\x00\x00\x01\x02xy"
    schema_id, body = unframe(b"\x00\x00\x00\x01\x02xy")
    assert (schema_id, bytes(body)) == (258, b"xy")


def test_the_sink_registers_its_schema_under_topic_value_and_frames_values(schema_registry) -> None:
    c = codec(schema_registry, V1)
    raw = c.encode({"id": 1, "amount": Decimal("9.99")})
    assert schema_registry.subjects == {"payments-value": [1]}
    assert json.loads(schema_registry.schemas[1]) == V1
    # magic byte 0, id 1 (4 bytes big-endian), then the body: id 1, 999 cents
    assert raw == b"\x00" + struct.pack(">I", 1) + long_(1) + bytes_(twos_complement(999))
    c.encode({"id": 2, "amount": Decimal("1")})
    assert schema_registry.count("POST", "/subjects/payments-value/versions") == 1  # cached


def test_decode_of_values_another_producer_wrote(schema_registry) -> None:
    schema_id = register_over_http(schema_registry.url, "payments-value", V1)
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(V1), {"id": 5, "amount": Decimal("-0.5")})
    value = b"\x00" + schema_id.to_bytes(4, "big") + buf.getvalue()
    c = codec(schema_registry)  # no local schema: the writer's schema is the reader's
    assert c.decode(value) == {"id": 5, "amount": Decimal("-0.50")}


def test_writer_schemas_are_fetched_once_per_id(schema_registry) -> None:
    id1 = register_over_http(schema_registry.url, "payments-value", V1)
    id2 = register_over_http(schema_registry.url, "payments-value", V2)
    assert id1 != id2
    v1 = frame(id1, long_(1) + bytes_(b"\x64"))  # amount 1.00
    v2 = frame(id2, long_(2) + bytes_(b"\x00") + string("EUR"))
    c = codec(schema_registry)
    records, errors = c.decode_many([v1, v2] * 50)
    assert errors == [None] * 100
    assert records[0] == {"id": 1, "amount": Decimal("1.00")}
    assert records[1] == {"id": 2, "amount": Decimal("0.00"), "currency": "EUR"}
    assert schema_registry.count("GET", f"/schemas/ids/{id1}") == 1
    assert schema_registry.count("GET", f"/schemas/ids/{id2}") == 1


def test_evolution_a_reader_schema_reads_values_of_an_older_writer_schema(schema_registry) -> None:
    old_id = register_over_http(schema_registry.url, "payments-value", V1)
    old = frame(old_id, long_(7) + bytes_(twos_complement(12345)))
    reader = codec(schema_registry, V2)  # the consumer upgraded to V2 (adds 'currency')
    new = reader.encode({"id": 8, "amount": Decimal("1.5"), "currency": "GBP"})
    assert unframe(new)[0] != old_id  # V2 was registered as a new schema
    records, errors = reader.decode_many([old, new])
    assert errors == [None, None]
    assert records == [
        {"id": 7, "amount": Decimal("123.45"), "currency": "USD"},
        {"id": 8, "amount": Decimal("1.50"), "currency": "GBP"},
    ]


def test_without_a_local_schema_the_sink_uses_the_subjects_latest(schema_registry) -> None:
    register_over_http(schema_registry.url, "pay-v", V1)
    latest = register_over_http(schema_registry.url, "pay-v", V2)
    c = codec(schema_registry, **{"schema.registry.subject": "pay-v"})
    raw = c.encode({"id": 3, "amount": Decimal("2")})
    assert unframe(raw)[0] == latest
    assert c.decode(raw) == {"id": 3, "amount": Decimal("2.00"), "currency": "USD"}


def test_malformed_wire_values_say_what_is_wrong(schema_registry) -> None:
    schema_id = register_over_http(schema_registry.url, "payments-value", V1)
    good = frame(schema_id, long_(1) + bytes_(b"\x01"))
    values = [
        good,
        b'{"id": 1}',  # JSON where Avro was expected
        b"\x00\x00\x01",  # shorter than the header
        frame(999, long_(1) + bytes_(b"\x01")),  # an id the registry does not know
        frame(999, b""),
        frame(schema_id, long_(1)),  # body cut short
        frame(schema_id, long_(1) + bytes_(b"\x01") + b"\xff"),  # a byte too many
    ]
    records, errors = codec(schema_registry).decode_many(values)
    assert records[0] == {"id": 1, "amount": Decimal("0.01")} and errors[0] is None
    assert records[1:] == [None] * 6
    assert "bad magic byte 0x7b" in errors[1]
    assert "too short" in errors[2] and "3 bytes" in errors[2]
    assert "unknown schema id 999" in errors[3] and "unknown schema id 999" in errors[4]
    assert "truncated" in errors[5] and f"schema id {schema_id}" in errors[5]
    assert "1 bytes left over" in errors[6]
    # the unknown id was asked for once, not once per value
    assert schema_registry.count("GET", "/schemas/ids/999") == 1


def test_an_unreachable_registry_fails_the_batch_instead_of_dropping_values() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    c = value_codec(
        {"format": "avro", "schema.registry.url": f"http://127.0.0.1:{port}", "topic": "t"}
    )
    with pytest.raises(RegistryError, match="not reachable"):
        c.decode_many([frame(1, b"\x02")])


def test_basic_auth_from_the_key_or_the_url() -> None:
    with schema_registry_server(user_info="ann:s3cret") as reg:
        schema_id = reg.register("t-value", json.dumps(V1))
        value = frame(schema_id, long_(1) + bytes_(b"\x01"))
        for props in (
            {"schema.registry.url": reg.url, "schema.registry.basic.auth.user.info": "ann:s3cret"},
            {"schema.registry.url": reg.url.replace("http://", "http://ann:s3cret@")},
        ):
            c = value_codec({"format": "avro", "topic": "t", **props})
            assert c.decode(value)["id"] == 1
        no_auth = value_codec({"format": "avro", "topic": "t", "schema.registry.url": reg.url})
        with pytest.raises(RegistryError, match="HTTP 401"):
            no_auth.decode_many([value])


def test_client_errors_carry_the_registry_error_code(schema_registry) -> None:
    client = SchemaRegistryClient(schema_registry.url)
    with pytest.raises(RegistryError) as info:
        client.latest("no-such-subject")
    assert info.value.status == 404 and info.value.code == 40401
    assert "no-such-subject" in str(info.value)


@pytest.mark.parametrize(
    ("props", "key", "text"),
    [
        ({"schema.registry.url": "ftp://x"}, "schema.registry.url", "not an http(s) URL"),
        (
            {"schema.registry.url": "http://127.0.0.1:1"},
            "schema.registry.subject",
            "needs a schema",
        ),
        (
            {
                "schema.registry.url": "http://127.0.0.1:1",
                "avro.schema": json.dumps(V2),
                "avro.writer.schema": json.dumps(V1),
            },
            "avro.writer.schema",
            "by id",
        ),
    ],
)
def test_registry_configuration_errors(props: dict, key: str, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        value_codec({"format": "avro", **props})
    assert info.value.token == key
    assert text in info.value.message
