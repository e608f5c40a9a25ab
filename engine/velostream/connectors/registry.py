"""Connector types by their `'<name>.type'` value: declared keys, validation, construction."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from velostream.connectors import kafka_config, postgres_common, redis_common
from velostream.connectors.base import PropSpec, Sink, Source
from velostream.connectors.common import parse_bool, parse_duration_ms
from velostream.errors import ConfigError
from velostream.formats.event_time import normalize_format


@dataclass
class ConnectorType:
    """One `'<name>.type'` value: its role, its keys and how to build it."""

    type: str
    role: str  # source | sink
    props: tuple[PropSpec, ...]
    help: str = ""

    def spec(self, key: str) -> PropSpec | None:
        """The declared key, or None."""
        for p in self.props:
            if p.name == key:
                return p
        return None


ON_ERROR = ("skip", "fail", "dead_letter")
FILE_FORMATS = ("jsonl", "json_lines", "jsonlines", "ndjson", "json", "csv")
# Message value formats (formats/codecs.py `value_codec`) and the keys avro/protobuf read, for
# connectors that carry opaque bytes (Kafka, Redis) to include in their declared keys.
VALUE_FORMATS = ("json", "avro", "protobuf")
FORMAT_PROPS: tuple[PropSpec, ...] = (
    PropSpec("avro.schema", help="Avro record schema, inline JSON"),
    PropSpec("avro.schema.file", help="Avro record schema file (.avsc)"),
    PropSpec("avro.writer.schema", help="schema old values were written with (evolution)"),
    PropSpec("avro.writer.schema.file", help="file of avro.writer.schema"),
    PropSpec("schema.registry.url", help="Confluent-compatible schema registry (wire format)"),
    PropSpec("schema.registry.subject", help="registry subject (default <topic>-value)"),
    PropSpec("schema.registry.basic.auth.user.info", help="registry credentials 'user:password'"),
    PropSpec("protobuf.file", help="the .proto file, compiled at start"),
    PropSpec("protobuf.schema.file", help="alias of protobuf.file"),
    PropSpec("protobuf.schema", help="the .proto text inline"),
    PropSpec("protobuf.message", help="message type (may be left out when the file has one)"),
    PropSpec("protobuf.include", help="more import folders for the .proto, comma-separated"),
)

# Keys every source accepts, whatever its type.
COMMON_SOURCE_PROPS: tuple[PropSpec, ...] = (
    PropSpec("type", required=True, help="connector type"),
    PropSpec("event.time.field", help="the field that holds the event time"),
    PropSpec(
        "event.time.format",
        help="epoch_millis (default for integers), epoch_seconds, iso8601 "
        "(default for strings) or a strftime pattern",
    ),
    PropSpec("watermark.max_out_of_orderness", help="allowed lateness, e.g. '5s'"),
    PropSpec(
        "on.error", default="skip", choices=ON_ERROR, help="what to do with a malformed record"
    ),
    PropSpec(
        "dead.letter.path", help="JSON-lines file for malformed records (on.error=dead_letter)"
    ),
    PropSpec("batch.size", default="8192", help="most records per batch"),
)

FILE_SOURCE = ConnectorType(
    "file_source",
    "source",
    (
        PropSpec("path", required=True, help="a file or a glob; files are read in sorted order"),
        PropSpec("format", choices=FILE_FORMATS, help="jsonl (default), json (an array) or csv"),
        PropSpec("watch", default="false", choices=("true", "false"), help="tail the files"),
        PropSpec("polling.interval", default="100ms", help="how often a watching source looks"),
        PropSpec("delimiter", default=",", help="CSV field delimiter"),
        PropSpec("quote", default='"', help="CSV quote character"),
    ),
    "records from JSON-lines, JSON or CSV files",
)
FILE_SINK = ConnectorType(
    "file_sink",
    "sink",
    (
        PropSpec("type", required=True, help="connector type"),
        PropSpec("path", required=True, help="the output file"),
        PropSpec("format", choices=FILE_FORMATS, help="jsonl (default), json (an array) or csv"),
        PropSpec("append", default="false", choices=("true", "false"), help="keep existing rows"),
        PropSpec("delimiter", default=",", help="CSV field delimiter"),
    ),
    "output rows to a JSON-lines, JSON or CSV file",
)
SYNTHETIC = ConnectorType(
    "synthetic",
    "source",
    (
        PropSpec(
            "schema", help="columns to generate, e.g. 'symbol STRING ENUM(A,B), ts TIMESTAMP'"
        ),
        PropSpec("preset", choices=("trades",), help="a ready-made schema (trades)"),
        PropSpec("rate", default="0", help="events per second (0 = as fast as possible)"),
        PropSpec("count", help="number of records (absent = unbounded)"),
        PropSpec("seed", default="42", help="random seed"),
        PropSpec("start.time", help="first event time: epoch ms or ISO 8601"),
        PropSpec("keys", default="10", help="distinct values of a STRING column without ENUM"),
        PropSpec(
            "pace",
            choices=("true", "false"),
            help="pace to the wall clock (default: when unbounded with a rate)",
        ),
    ),
    "a seeded generator from a declared schema",
)
MEMORY_SOURCE = ConnectorType("memory", "source", (), "rows handed over from Python")
MEMORY_SINK = ConnectorType(
    "memory", "sink", (PropSpec("type", help="connector type"),), "rows collected in a list"
)

KAFKA_SOURCE = ConnectorType(
    "kafka_source",
    "source",
    (*kafka_config.SOURCE_PROPS, *FORMAT_PROPS),
    "records from a Kafka topic (aiokafka); bounded with 'end'",
)
KAFKA_SINK = ConnectorType(
    "kafka_sink",
    "sink",
    (*kafka_config.SINK_PROPS, *FORMAT_PROPS),
    "output rows as messages of a Kafka topic, keyed by PRIMARY KEY / GROUP BY",
)

SOURCE_TYPES: dict[str, ConnectorType] = {
    t.type: t for t in (FILE_SOURCE, SYNTHETIC, MEMORY_SOURCE, KAFKA_SOURCE)
}
SINK_TYPES: dict[str, ConnectorType] = {t.type: t for t in (FILE_SINK, MEMORY_SINK, KAFKA_SINK)}
POSTGRES_SOURCE = ConnectorType(
    "postgres_source",
    "source",
    postgres_common.SOURCE_PROPS,
    "a PostgreSQL table or query, read once or followed by polling",
)
POSTGRES_SINK = ConnectorType(
    "postgres_sink", "sink", postgres_common.SINK_PROPS, "rows inserted or upserted into a table"
)
REDIS_SOURCE = ConnectorType(
    "redis_source",
    "source",
    (*redis_common.SOURCE_PROPS, *FORMAT_PROPS),
    "a Redis stream, or keys as a table",
)
REDIS_SINK = ConnectorType(
    "redis_sink",
    "sink",
    (*redis_common.SINK_PROPS, *FORMAT_PROPS),
    "rows to a Redis stream, hashes or strings",
)
SOURCE_TYPES.update({t.type: t for t in (POSTGRES_SOURCE, REDIS_SOURCE)})
SINK_TYPES.update({t.type: t for t in (POSTGRES_SINK, REDIS_SINK)})
# Names the dialect knows but this engine does not implement yet.
PLANNED_TYPES: tuple[str, ...] = ()

# Unprefixed (job-level) keys of a statement's WITH clause.
JOB_PROPS: tuple[PropSpec, ...] = (
    PropSpec(
        "watermark.max_out_of_orderness", default="0ms", help="allowed lateness for every source"
    ),
    PropSpec(
        "late.data.strategy", default="drop", choices=("drop", "dead_letter"), help="late records"
    ),
    PropSpec("late.data.dead.letter.path", help="JSON-lines file for late records"),
    PropSpec("late.data.dead_letter.path", help="alias of late.data.dead.letter.path"),
    PropSpec("dead.letter.path", help="JSON-lines file for late records (job-wide)"),
    PropSpec("late.data.dead_letter.path", help="alias of late.data.dead.letter.path"),
    PropSpec("dead.letter.path", help="alias of late.data.dead.letter.path"),
    PropSpec("event.time.field", help="event-time field for every source"),
    PropSpec("event.time.format", help="event-time format for every source"),
    PropSpec("watermark.strategy", help="bounded_out_of_orderness (the only one)"),
    PropSpec(
        "state.store",
        default="memory",
        choices=("memory", "sqlite"),
        help="where operator state lives; sqlite checkpoints it to 'state.path'",
    ),
    PropSpec("state.path", help="state file of 'state.store' = 'sqlite'"),
    PropSpec("checkpoint.interval", default="1s", help="time between checkpoints"),
)


def all_props(ctype: ConnectorType) -> tuple[PropSpec, ...]:
    """Every key a connector type accepts (common source keys included)."""
    if ctype.role == "source":
        own = {p.name for p in ctype.props}
        return tuple(p for p in COMMON_SOURCE_PROPS if p.name not in own) + ctype.props
    return ctype.props


def _err(name: str, key: str, message: str, expected: list[str] | None = None) -> ConfigError:
    return ConfigError(message, kind="property", token=f"{name}.{key}", expected=expected or [])


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def split_properties(
    props: dict[str, str], names: list[str]
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Split WITH properties into per-name dicts (prefix stripped) and job-level keys.

    A key belongs to a name when it starts with `'<name>.'` (case-insensitive); every other key
    is job-level. Every name gets an entry, possibly empty.
    """
    lowered = {n.lower(): n for n in names}
    per_name: dict[str, dict[str, str]] = {n: {} for n in names}
    job: dict[str, str] = {}
    for key, value in props.items():
        k = key.lower()
        head, dot, rest = k.partition(".")
        if dot and rest and head in lowered:
            per_name[lowered[head]][rest] = value
        else:
            job[k] = value
    return per_name, job


def resolve_type(
    name: str, role: str, props: dict[str, str], memory: dict[str, Any] | None = None
) -> ConnectorType:
    """The connector type of `name` in `role`, or a ConfigError naming `'<name>.type'`."""
    table = SOURCE_TYPES if role == "source" else SINK_TYPES
    value = props.get("type")
    if value is None or value.strip() == "":
        if memory is not None and (role == "sink" or name in memory):
            return table["memory"]
        raise _err(
            name,
            "type",
            f"missing property '{name}.type' for {role} '{name}'",
            sorted(table),
        )
    t = value.strip().lower()
    if t in table:
        return table[t]
    other = SINK_TYPES if role == "source" else SOURCE_TYPES
    if t in other and t != "memory":
        raise _err(
            name,
            "type",
            f"'{name}.type' = '{value}' is a {other[t].role}, but '{name}' is used as a {role}",
        )
    if t in PLANNED_TYPES:
        raise _err(name, "type", f"'{name}.type' = '{value}' is not supported yet")
    raise _err(
        name,
        "type",
        f"unknown connector type '{name}.type' = '{value}'{_suggest(t, sorted(table))}",
        sorted(table),
    )


def _check_value(name: str, key: str, value: str) -> None:
    """Values with a shape: durations, integers, booleans, formats."""
    try:
        if key in ("watermark.max_out_of_orderness", "polling.interval"):
            parse_duration_ms(value)
        elif key in ("batch.size", "count", "keys", "seed"):
            n = int(value)
            if key in ("batch.size", "keys") and n < 1:
                raise ValueError(f"must be at least 1, got {value}")
            if key == "count" and n < 0:
                raise ValueError(f"must not be negative, got {value}")
        elif key == "rate":
            if float(value) < 0:
                raise ValueError(f"must not be negative, got {value}")
        elif key in ("watch", "append", "pace"):
            parse_bool(value)
        elif key == "event.time.format":
            normalize_format(value)
        elif key == "start.time":
            from velostream.connectors.synthetic import parse_start_time

            parse_start_time(value)
        elif key in ("delimiter", "quote") and len(value) != 1:
            raise ValueError(f"must be one character, got {value!r}")
    except (ValueError, ArithmeticError) as exc:
        raise _err(name, key, f"bad value for '{name}.{key}': {exc}") from None


def validate(
    name: str, role: str, props: dict[str, str], memory: dict[str, Any] | None = None
) -> None:
    """Check one source's or sink's properties (prefix already stripped); raise ConfigError."""
    if role not in ("source", "sink"):
        raise ValueError(f"role must be 'source' or 'sink', not {role!r}")
    props = {k.lower(): v for k, v in props.items()}  # keys are case-insensitive
    ctype = resolve_type(name, role, props, memory)
    specs = {p.name: p for p in all_props(ctype)}
    for key, value in props.items():
        k = key.lower()
        spec = specs.get(k)
        if spec is None:
            known = [f"{name}.{s}" for s in sorted(specs)]
            hint = _suggest(f"{name}.{k}", known)
            raise _err(
                name,
                k,
                f"unknown property '{name}.{k}' for {ctype.type}{hint}",
                [] if hint else known,  # the whole list only when no key is close
            )
        if spec.choices is not None and value.strip().lower() not in spec.choices:
            raise _err(
                name,
                k,
                f"bad value for '{name}.{k}': '{value}'"
                f"{_suggest(value.strip().lower(), list(spec.choices))}",
                list(spec.choices),
            )
        _check_value(name, k, value)
    for spec in specs.values():
        if spec.required and spec.name != "type" and not props.get(spec.name):
            raise _err(
                name, spec.name, f"missing required property '{name}.{spec.name}' for {ctype.type}"
            )
    if role == "source":
        if (
            props.get("on.error", "skip").lower() == "dead_letter"
            and not props.get("dead.letter.path")
            and not (ctype.type == "kafka_source" and props.get("dead.letter.topic"))
        ):
            raise _err(
                name,
                "dead.letter.path",
                f"'{name}.on.error' = 'dead_letter' needs '{name}.dead.letter.path'",
            )
    if ctype.type == "file_source":
        from velostream.connectors.file_source import source_format

        if parse_bool(props.get("watch", "false")) and source_format(props) == "json":
            raise _err(name, "watch", f"'{name}.watch' = 'true' needs format jsonl or csv")
    if ctype.type == "synthetic":
        _validate_synthetic(name, props)
    checks = {
        "postgres_source": postgres_common.validate_source,
        "postgres_sink": postgres_common.validate_sink,
        "redis_source": redis_common.validate_source,
        "redis_sink": redis_common.validate_sink,
    }
    if ctype.type in checks:
        checks[ctype.type](name, props)
    if ctype.type in ("kafka_source", "kafka_sink"):
        for key, value in props.items():
            try:
                kafka_config.check_value(key, value)
            except ValueError as exc:
                raise _err(name, key, f"bad value for '{name}.{key}': {exc}") from None
    if ctype.spec("avro.schema") is not None:  # a connector with message value formats
        _validate_format(name, props)


def _validate_format(name: str, props: dict[str, str]) -> None:
    """Load the schema or .proto that `format` = avro | protobuf names (no network: a registry
    is first asked when values flow), so a bad one is found before the job starts."""
    if (props.get("format") or "json").strip().lower() == "json":
        return
    from velostream.formats.codecs import value_codec

    try:
        value_codec(props)
    except ConfigError as exc:
        message = exc.message
        for key in ("format", *(p.name for p in FORMAT_PROPS)):
            message = message.replace(f"'{key}'", f"'{name}.{key}'")
        raise _err(name, exc.token or "format", message, exc.expected) from None


def _validate_synthetic(name: str, props: dict[str, str]) -> None:
    from velostream.connectors.synthetic import SchemaError, parse_schema

    if props.get("schema") and props.get("preset"):
        raise _err(name, "preset", f"give either '{name}.schema' or '{name}.preset', not both")
    if props.get("schema"):
        try:
            cols = parse_schema(props["schema"])
        except SchemaError as exc:
            raise _err(name, "schema", f"bad '{name}.schema': {exc}") from None
        field = props.get("event.time.field")
        if field and field.lower() not in {c.name.lower() for c in cols}:
            raise _err(
                name,
                "event.time.field",
                f"'{name}.event.time.field' = '{field}' is not a column of '{name}.schema'",
            )


def validate_job(job_props: dict[str, str], names: list[str] | None = None) -> None:
    """Check the unprefixed keys of a WITH clause; an unknown key is an error naming it."""
    specs = {p.name: p for p in JOB_PROPS}
    for key, value in job_props.items():
        k = key.lower()
        spec = specs.get(k)
        if spec is None:
            options = sorted(specs)
            head = k.partition(".")[0]
            hint = ""
            if names:
                close = difflib.get_close_matches(head, [n.lower() for n in names], n=1, cutoff=0.6)
                if close:
                    hint = f" (did you mean '{close[0]}.{k.partition('.')[2]}'?)"
            if not hint:
                hint = _suggest(k, options)
            known = ", ".join(options)
            raise ConfigError(
                f"unknown property '{k}'{hint}; job-level keys are {known}, "
                "source and sink keys start with their name",
                kind="property",
                token=k,
            )
        if spec.choices is not None and value.strip().lower() not in spec.choices:
            raise ConfigError(
                f"bad value for '{k}': '{value}'",
                kind="property",
                token=k,
                expected=list(spec.choices),
            )
        try:
            if k in ("watermark.max_out_of_orderness", "checkpoint.interval"):
                parse_duration_ms(value)
            elif k == "event.time.format":
                normalize_format(value)
        except ValueError as exc:
            raise ConfigError(f"bad value for '{k}': {exc}", kind="property", token=k) from None


def create_source(
    name: str,
    props: dict[str, str],
    memory: dict[str, Any] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> Source:
    """Validate and build the source `name` from its (prefix-stripped) properties."""
    validate(name, "source", props, memory)
    ctype = resolve_type(name, "source", props, memory)
    props = {k.lower(): v for k, v in props.items()}
    if ctype.type == "file_source":
        from velostream.connectors.file_source import FileSource

        return FileSource(name, props, on_warning)
    if ctype.type == "synthetic":
        from velostream.connectors.synthetic import SyntheticSource

        return SyntheticSource(name, props, on_warning)
    if ctype.type == "kafka_source":
        from velostream.connectors.kafka_source import KafkaSource

        return KafkaSource(name, props, on_warning)
    if ctype.type == "postgres_source":
        from velostream.connectors.postgres_source import PostgresSource

        return PostgresSource(name, props, on_warning)
    if ctype.type == "redis_source":
        from velostream.connectors.redis_source import RedisSource

        return RedisSource(name, props, on_warning)
    from velostream.connectors.memory import MemorySource

    if memory is None or name not in memory:
        raise _err(
            name, "type", f"memory source '{name}' has no rows: pass memory={{'{name}': rows}}"
        )
    return MemorySource(name, props, memory[name], on_warning)


def create_sink(name: str, props: dict[str, str], memory: dict[str, Any] | None = None) -> Sink:
    """Validate and build the sink `name` from its (prefix-stripped) properties."""
    validate(name, "sink", props, memory)
    ctype = resolve_type(name, "sink", props, memory)
    props = {k.lower(): v for k, v in props.items()}
    if ctype.type == "file_sink":
        from velostream.connectors.file_sink import FileSink

        return FileSink(name, props)
    if ctype.type == "kafka_sink":
        from velostream.connectors.kafka_sink import KafkaSink

        return KafkaSink(name, props)
    if ctype.type == "postgres_sink":
        from velostream.connectors.postgres_sink import PostgresSink

        return PostgresSink(name, props)
    if ctype.type == "redis_sink":
        from velostream.connectors.redis_sink import RedisSink

        return RedisSink(name, props)
    from velostream.connectors.memory import MemorySink

    return MemorySink(name, props, memory)


def describe_types() -> list[dict[str, Any]]:
    """Every connector type with its keys, for help screens and `velo validate`."""
    out = []
    for ctype in [*SOURCE_TYPES.values(), *SINK_TYPES.values()]:
        out.append(
            {
                "type": ctype.type,
                "role": ctype.role,
                "help": ctype.help,
                "props": [
                    {
                        "name": p.name,
                        "required": p.required,
                        "default": p.default,
                        "choices": list(p.choices) if p.choices else None,
                        "help": p.help,
                    }
                    for p in all_props(ctype)
                ],
            }
        )
    return out
