"""Property handling: splitting WITH keys by name, and validation errors that name the key."""

from __future__ import annotations

import pytest

from velostream.connectors.file_sink import FileSink
from velostream.connectors.file_source import FileSource
from velostream.connectors.memory import MemorySink, MemorySource
from velostream.connectors.registry import (
    create_sink,
    create_source,
    describe_types,
    split_properties,
    validate,
    validate_job,
)
from velostream.connectors.synthetic import SyntheticSource
from velostream.errors import ConfigError


def test_split_properties_by_name_and_job_level() -> None:
    props = {
        "orders.type": "file_source",
        "orders.event.time.field": "ts",
        "out.type": "file_sink",
        "out.path": "o.jsonl",
        "watermark.max_out_of_orderness": "5s",
        "late.data.strategy": "drop",
        "ordersx.type": "oops",
    }
    per, job = split_properties(props, ["orders", "out", "unused"])
    assert per == {
        "orders": {"type": "file_source", "event.time.field": "ts"},
        "out": {"type": "file_sink", "path": "o.jsonl"},
        "unused": {},
    }
    assert job == {
        "watermark.max_out_of_orderness": "5s",
        "late.data.strategy": "drop",
        "ordersx.type": "oops",
    }


def test_split_properties_is_case_insensitive_on_names() -> None:
    per, job = split_properties({"orders.path": "x"}, ["Orders"])
    assert per == {"Orders": {"path": "x"}} and job == {}


def error(name: str, role: str, props: dict[str, str], **kw) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        validate(name, role, props, **kw)
    assert info.value.kind == "property"
    return info.value


def test_unknown_key_is_named_with_a_suggestion() -> None:
    e = error("orders", "source", {"type": "file_source", "path": "x", "fromat": "csv"})
    assert "'orders.fromat'" in e.message and "did you mean 'orders.format'" in e.message
    assert e.token == "orders.fromat"


def test_missing_required_key() -> None:
    e = error("out", "sink", {"type": "file_sink"})
    assert "'out.path'" in e.message and "missing" in e.message


def test_missing_type_names_the_type_key() -> None:
    e = error("orders", "source", {"path": "x"})
    assert "'orders.type'" in e.message
    validate("orders", "source", {}, memory={"orders": []})  # registered in memory: fine


def test_unknown_type_value_suggests() -> None:
    e = error("orders", "source", {"type": "file_sorce", "path": "x"})
    assert "'orders.type'" in e.message and "did you mean 'file_source'" in e.message


def test_sink_type_used_as_source() -> None:
    e = error("orders", "source", {"type": "file_sink", "path": "x"})
    assert "is a sink" in e.message


def test_bad_choice_value() -> None:
    e = error("o", "source", {"type": "file_source", "path": "x", "on.error": "ignore"})
    assert "'o.on.error'" in e.message and e.expected == ["skip", "fail", "dead_letter"]
    e = error("o", "sink", {"type": "file_sink", "path": "x", "format": "xml"})
    assert "'o.format'" in e.message


def test_values_with_a_shape() -> None:
    assert (
        "'o.batch.size'"
        in error("o", "source", {"type": "synthetic", "batch.size": "lots"}).message
    )
    assert (
        "'o.watch'"
        in error("o", "source", {"type": "file_source", "path": "x", "watch": "maybe"}).message
    )
    e = error("o", "source", {"type": "synthetic", "watermark.max_out_of_orderness": "soon"})
    assert "'o.watermark.max_out_of_orderness'" in e.message
    e = error("o", "source", {"type": "synthetic", "event.time.format": "epoch_weeks"})
    assert "'o.event.time.format'" in e.message


def test_dead_letter_needs_a_path() -> None:
    e = error("o", "source", {"type": "file_source", "path": "x", "on.error": "dead_letter"})
    assert "'o.dead.letter.path'" in e.message


def test_watch_needs_a_line_format() -> None:
    e = error("o", "source", {"type": "file_source", "path": "x.json", "watch": "true"})
    assert "'o.watch'" in e.message


def test_bad_synthetic_schema_names_the_schema_key() -> None:
    e = error("t", "source", {"type": "synthetic", "schema": "a STRNG"})
    assert "'t.schema'" in e.message and "unknown type" in e.message
    e = error("t", "source", {"type": "synthetic", "schema": "a BIGINT", "event.time.field": "b"})
    assert "'t.event.time.field'" in e.message


def test_job_level_keys() -> None:
    validate_job({"watermark.max_out_of_orderness": "5s", "late.data.strategy": "drop"})
    with pytest.raises(ConfigError, match=r"'late\.data\.strategy'"):
        validate_job({"late.data.strategy": "keep"})
    with pytest.raises(ConfigError, match=r"did you mean 'orders.type'"):
        validate_job({"order.type": "file_source"}, ["orders", "out"])
    with pytest.raises(ConfigError, match=r"did you mean 'watermark.max_out_of_orderness'"):
        validate_job({"watermark.max_out_of_ordernes": "5s"})


def test_create_builds_each_type(tmp_path) -> None:
    assert isinstance(create_source("a", {"type": "file_source", "path": "x"}), FileSource)
    assert isinstance(create_source("a", {"type": "synthetic", "count": "1"}), SyntheticSource)
    assert isinstance(create_source("a", {"type": "memory"}, memory={"a": []}), MemorySource)
    assert isinstance(create_source("a", {}, memory={"a": []}), MemorySource)
    assert isinstance(
        create_sink("o", {"type": "file_sink", "path": str(tmp_path / "o")}), FileSink
    )
    mem: dict = {}
    assert isinstance(create_sink("o", {"type": "memory"}, memory=mem), MemorySink)
    assert mem == {"o": []}


def test_describe_types_lists_keys() -> None:
    types = {(t["type"], t["role"]): t for t in describe_types()}
    keys = {p["name"] for p in types[("file_source", "source")]["props"]}
    assert {"path", "format", "watch", "on.error", "event.time.field", "batch.size"} <= keys


def test_keys_are_case_insensitive() -> None:
    validate("o", "source", {"TYPE": "file_source", "Path": "x", "On.Error": "fail"})
    e = error("o", "source", {"Type": "file_source", "PATH": "x", "Fromat": "csv"})
    assert "'o.fromat'" in e.message


def test_known_columns(tmp_path) -> None:
    (tmp_path / "a.csv").write_text("x, y\n1,2\n")
    (tmp_path / "a.jsonl").write_text('{"x":1}\n')
    csv_src = create_source("c", {"type": "file_source", "path": str(tmp_path / "*.csv")})
    assert csv_src.known_columns() == ["x", "y"]
    json_src = create_source("j", {"type": "file_source", "path": str(tmp_path / "a.jsonl")})
    assert json_src.known_columns() is None
    syn = create_source("s", {"type": "synthetic", "schema": "a BIGINT, ts TIMESTAMP"})
    assert syn.known_columns() == ["a", "ts"]
    mem = create_source("m", {}, memory={"m": [{"p": 1, "q": 2}]})
    assert mem.known_columns() == ["p", "q"]
