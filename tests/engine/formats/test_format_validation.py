"""`velo validate` (Engine.validate) loads the Avro schema or .proto a Kafka source or sink
names, so a bad one is reported, with its key, before a job starts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from velostream import Engine
from velostream.connectors import registry
from velostream.errors import ConfigError

pytestmark = pytest.mark.skipif(
    "kafka_source" not in registry.SOURCE_TYPES, reason="no kafka_source connector in this tree"
)


def errors_of(with_clause: str) -> list[str]:
    sql = f"SELECT * FROM trades WITH ('trades.type' = 'kafka_source', {with_clause})"
    errors, _ = Engine().validate(sql)
    return [str(e) for e in errors]


def test_a_proto_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "t.proto"
    bad.write_text('syntax = "proto3";\nmessage T {\n  int64 id = 1\n  string s = 2;\n}\n')
    errors = errors_of(f"'trades.format' = 'protobuf', 'trades.protobuf.file' = '{bad}'")
    assert len(errors) == 1
    assert "'trades.protobuf.file'" in errors[0]
    assert "t.proto:4:3" in errors[0]


def test_an_unknown_message_is_reported(tmp_path: Path) -> None:
    ok = tmp_path / "t.proto"
    ok.write_text('syntax = "proto3";\nmessage T { int64 id = 1; }\n')
    errors = errors_of(
        f"'trades.format' = 'protobuf', 'trades.protobuf.file' = '{ok}', "
        "'trades.protobuf.message' = 'U'"
    )
    assert len(errors) == 1 and "'trades.protobuf.message' = 'U' is not a message" in errors[0]


def test_a_bad_avro_schema_is_reported() -> None:
    errors = errors_of("'trades.format' = 'avro', 'trades.avro.schema' = '{\"type\": \"record\"'")
    assert len(errors) == 1
    assert "'trades.avro.schema': invalid JSON" in errors[0]


def test_a_missing_schema_and_an_unknown_format() -> None:
    assert "needs a schema" in errors_of("'trades.format' = 'avro'")[0]
    unknown = errors_of("'trades.format' = 'thrift'")[0]
    assert "'trades.format'" in unknown and "thrift" in unknown and "avro" in unknown


def test_valid_formats_pass(tmp_path: Path) -> None:
    schema = {"type": "record", "name": "T", "fields": [{"name": "id", "type": "long"}]}
    assert (
        errors_of(f"'trades.format' = 'avro', 'trades.avro.schema' = '{json.dumps(schema)}'") == []
    )
    # a registry is not contacted while validating (nothing listens on port 1)
    assert (
        errors_of(
            "'trades.format' = 'avro', 'trades.topic' = 't', "
            "'trades.schema.registry.url' = 'http://127.0.0.1:1'"
        )
        == []
    )


def test_validate_raises_config_error_with_the_prefixed_token(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        registry.validate("trades", "source", {"type": "kafka_source", "format": "avro"})
    assert info.value.token == "trades.avro.schema"
