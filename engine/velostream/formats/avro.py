"""Avro message values (fastavro): a schema inline, from a file, or from a schema registry.

Without `schema.registry.url` a value is the plain Avro binary encoding of one record (what
fastavro's `schemaless_writer` writes), read with the given schema; `avro.writer.schema(.file)`
names the schema the values were written with when it differs (schema evolution). With a
registry, values are in the registry wire format (magic byte, schema id, body): the writer
schema of each value is fetched by its id (once, then cached) and the record is resolved to the
local schema when one is given, so a reader schema with added optional fields reads old
records. Encoding registers the local schema under the subject (`<topic>-value` unless
`schema.registry.subject` says otherwise), or uses the subject's latest version when there is
no local schema.

Values: `decimal` (bytes or fixed) <-> exact Decimal with the schema's scale; `timestamp-millis`
and `timestamp-micros` -> naive UTC datetime (an integer going out is epoch milliseconds, the
engine's convention); `date` -> date; `uuid` -> str.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import fastavro
from fastavro.read import SchemaResolutionError

from velostream import values
from velostream.errors import ConfigError
from velostream.formats.codecs import CODECS, Codec, Record, decimal_value
from velostream.formats.schema_registry import (
    RegistryError,
    SchemaNotFound,
    SchemaRegistryClient,
    frame,
    unframe,
)

# Keys this codec reads (un-prefixed), for the connectors' declarations (registry.FORMAT_PROPS).
SCHEMA = "avro.schema"
SCHEMA_FILE = "avro.schema.file"
WRITER_SCHEMA = "avro.writer.schema"
WRITER_SCHEMA_FILE = "avro.writer.schema.file"
REGISTRY_URL = "schema.registry.url"
REGISTRY_SUBJECT = "schema.registry.subject"
REGISTRY_AUTH = "schema.registry.basic.auth.user.info"

# Logical types whose decoded values need a fix-up to the engine's value types.
_FIXUP_LOGICAL = ("timestamp-millis", "timestamp-micros", "uuid")
_EPOCH = dt.datetime(1970, 1, 1)


def _config_error(key: str, message: str) -> ConfigError:
    return ConfigError(message, kind="property", token=key)


def load_schema_text(props: dict[str, str], inline_key: str, file_key: str) -> str | None:
    """The schema text given inline or in a file (ConfigError when both, or the file is bad)."""
    inline, path = props.get(inline_key), props.get(file_key)
    if inline and path:
        raise _config_error(file_key, f"give either '{inline_key}' or '{file_key}', not both")
    if path:
        p = Path(path).expanduser()
        try:
            return p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise _config_error(file_key, f"'{file_key}': schema file not found: {p}") from None
        except OSError as exc:
            raise _config_error(file_key, f"'{file_key}': cannot read {p}: {exc}") from None
    return inline or None


def parse_avro_schema(text: str, key: str) -> tuple[Any, Any]:
    """The schema's JSON and fastavro's parsed form; ConfigError naming `key` when bad."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _config_error(
            key, f"'{key}': invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    try:
        parsed = fastavro.parse_schema(raw)
    except Exception as exc:  # fastavro raises several types (SchemaParseException, UnknownType…)
        raise _config_error(key, f"'{key}': not a valid Avro schema: {exc}") from None
    return raw, parsed


def _needs_fixup(raw: Any) -> bool:
    """True when decoded values may hold aware datetimes or UUIDs."""
    text = json.dumps(raw)
    return any(f'"{lt}"' in text for lt in _FIXUP_LOGICAL)


def _fix_timestamp(v: Any) -> Any:
    """fastavro's aware UTC datetime as a naive one (the same instant)."""
    return v.replace(tzinfo=None) if v.__class__ is dt.datetime and v.tzinfo is not None else v


def _fix_uuid(v: Any) -> Any:
    return str(v) if v.__class__ is uuid.UUID else v


def _direct_logical(schema: Any) -> str | None:
    """The fix-up logical type of a field type that is one (or a union of it and null)."""
    if isinstance(schema, list):
        rest = [b for b in schema if b != "null"]
        return _direct_logical(rest[0]) if len(rest) == 1 else None
    if isinstance(schema, dict):
        lt = schema.get("logicalType")
        return lt if lt in _FIXUP_LOGICAL else None
    return None


_PRIMITIVES = frozenset(
    "null boolean int long float double bytes string record enum array map fixed error".split()
)


def _names_a_type(schema: Any) -> bool:
    """True when a type refers to a named type by its name (its definition is elsewhere)."""
    if isinstance(schema, str):
        return schema not in _PRIMITIVES
    if isinstance(schema, list):
        return any(_names_a_type(b) for b in schema)
    if isinstance(schema, dict):
        kind = schema.get("type")
        if isinstance(kind, list | dict) or (isinstance(kind, str) and kind not in _PRIMITIVES):
            return _names_a_type(kind)
        if kind == "record" or kind == "error":
            return any(_names_a_type(f.get("type")) for f in schema.get("fields", []))
        if kind == "array":
            return _names_a_type(schema.get("items"))
        if kind == "map":
            return _names_a_type(schema.get("values"))
    return False


Fixer = Callable[[dict[str, Any]], dict[str, Any]]


def make_fixer(raw: Any) -> Fixer | None:
    """A function that turns a decoded record's values into engine values in place, built
    from the schema the record has (None when nothing needs it): top-level timestamp and uuid
    fields directly, fields with such values nested inside by a walk of their value."""
    if raw is None or not _needs_fixup(raw):
        return None
    if not (isinstance(raw, dict) and isinstance(raw.get("fields"), list)):
        return _fix_value
    plan: list[tuple[str, Callable[[Any], Any]]] = []
    for f in raw["fields"]:
        lt = _direct_logical(f.get("type"))
        if lt is not None:
            plan.append((f["name"], _fix_uuid if lt == "uuid" else _fix_timestamp))
        elif _needs_fixup(f.get("type")) or _names_a_type(f.get("type")):
            plan.append((f["name"], _fix_value))  # nested, or a named type defined elsewhere

    def fix(rec: dict[str, Any]) -> dict[str, Any]:
        for name, conv in plan:
            v = rec.get(name)
            if v is not None:
                rec[name] = conv(v)
        return rec

    return fix


def _fix_value(v: Any) -> Any:
    """A decoded value as an engine value: aware datetime -> naive UTC, UUID -> str."""
    t = v.__class__
    if t is dt.datetime:
        if v.tzinfo is not None:
            return v.astimezone(dt.UTC).replace(tzinfo=None)
        return v
    if t is dict:
        return {k: _fix_value(x) for k, x in v.items()}
    if t is list:
        return [_fix_value(x) for x in v]
    if t is uuid.UUID:
        return str(v)
    return v


# ---- encoding: rows of engine values -> what fastavro writes for the schema ----

Prep = Callable[[Any], Any]


def _to_decimal(v: Any, scale: int, precision: int | None, where: str) -> Decimal:
    """An engine value as a Decimal with exactly `scale` places, or ValueError (never rounds)."""
    d = decimal_value(v, where)
    try:
        q = d.quantize(Decimal(1).scaleb(-scale), context=values.DEC_CTX)
    except InvalidOperation:
        raise ValueError(f"{where}: {d} is too large for an Avro decimal") from None
    if q != d:
        raise ValueError(
            f"{where}: {d} has more than {scale} decimal places (the schema's scale); "
            f"round it in the query, e.g. ROUND(x, {scale})"
        )
    if precision is not None and len(q.as_tuple().digits) > precision and q != 0:
        raise ValueError(f"{where}: {d} has more than {precision} digits (the schema's precision)")
    return q


def _timestamp(v: Any, micros: bool, where: str) -> Any:
    """A datetime (or epoch-ms int, ISO string, date) for a timestamp field."""
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return v * 1000 if micros else v  # engine integers are epoch milliseconds
    try:
        return values.to_datetime(v)
    except Exception:
        raise ValueError(f"{where}: cannot read {v!r} as a timestamp") from None


def _date(v: Any, where: str) -> Any:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date) or isinstance(v, int):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v.strip()[:10])
        except ValueError:
            pass
    raise ValueError(f"{where}: cannot read {v!r} as a date")


def _scalar_prep(kind: str, where: str) -> Prep | None:
    """Coercions of engine values fastavro does not accept for a primitive type."""
    if kind in ("double", "float"):

        def to_float(v: Any) -> Any:
            return float(v) if isinstance(v, Decimal) else v

        return to_float
    if kind in ("long", "int"):

        def to_int(v: Any) -> Any:
            if isinstance(v, Decimal | float) and v == int(v):
                return int(v)
            return v

        return to_int
    if kind == "string":

        def to_str(v: Any) -> Any:
            if v is None or isinstance(v, str):
                return v
            out = values.to_json_value(v)
            return out if isinstance(out, str) else str(v)

        return to_str
    return None


class _Preparer:
    """Builds, once per schema, functions that turn engine values into writable ones."""

    def __init__(self) -> None:
        self.named: dict[str, Prep | None] = {}

    def build(self, schema: Any, where: str, namespace: str = "") -> Prep | None:
        """The function for `schema` (None when values go to fastavro unchanged)."""
        if isinstance(schema, str):
            if schema in self.named:
                return self.named[schema]
            full = f"{namespace}.{schema}" if namespace and "." not in schema else schema
            if full in self.named:
                return self.named[full]
            return _scalar_prep(schema, where)
        if isinstance(schema, list):
            return self._union(schema, where, namespace)
        if not isinstance(schema, dict):
            return None
        kind = schema.get("type")
        logical = schema.get("logicalType")
        if kind in ("bytes", "fixed") and logical == "decimal":
            scale = int(schema.get("scale", 0))
            precision = schema.get("precision")
            prep: Prep | None = lambda v: _to_decimal(v, scale, precision, where)  # noqa: E731
            self._name(schema, namespace, prep)
            return prep
        if kind == "long" and logical in ("timestamp-millis", "timestamp-micros"):
            micros = logical == "timestamp-micros"
            return lambda v: _timestamp(v, micros, where)
        if kind == "int" and logical == "date":
            return lambda v: _date(v, where)
        if kind == "record" or kind == "error":
            return self._record(schema, where, namespace)
        if kind == "array":
            item = self.build(schema.get("items"), f"{where}[]", namespace)
            return (lambda v: [item(x) for x in v] if isinstance(v, list) else v) if item else None
        if kind == "map":
            val = self.build(schema.get("values"), f"{where}{{}}", namespace)
            if val is None:
                return None
            return lambda v: {k: val(x) for k, x in v.items()} if isinstance(v, dict) else v
        if kind in ("enum", "fixed"):
            self._name(schema, namespace, None)
            return None
        if isinstance(kind, dict | list):
            return self.build(kind, where, namespace)
        return _scalar_prep(kind, where) if isinstance(kind, str) else None

    def _name(self, schema: dict[str, Any], namespace: str, prep: Prep | None) -> None:
        name = schema.get("name")
        if isinstance(name, str):
            ns = schema.get("namespace", namespace)
            self.named[name] = prep
            self.named[f"{ns}.{name}" if ns and "." not in name else name] = prep

    def _union(self, branches: list[Any], where: str, namespace: str) -> Prep | None:
        preps = [self.build(b, where, namespace) for b in branches if b != "null"]
        real = [p for p in preps if p is not None]
        if not real:
            return None
        if len(real) == 1 and len(preps) == 1:
            only = real[0]
            return lambda v: None if v is None else only(v)

        def first_fit(v: Any) -> Any:
            if v is None:
                return None
            for p in real:
                try:
                    return p(v)
                except (ValueError, TypeError, ArithmeticError):
                    continue
            return v  # no branch's coercion fits: fastavro picks a branch or says why not

        return first_fit

    def _record(self, schema: dict[str, Any], where: str, namespace: str) -> Prep:
        namespace = schema.get("namespace", namespace)
        # Registered before the fields are built, so a recursive reference ends the walk.
        self._name(schema, namespace, None)
        fields: list[tuple[str, str, Prep | None]] = []
        for f in schema.get("fields", []):
            name = f["name"]
            path = f"field '{name}'" if where == "" else f"{where}.{name}"
            fields.append((name, name.lower(), self.build(f.get("type"), path, namespace)))

        def record(v: Any) -> Any:
            if not isinstance(v, dict):
                return v
            lower: dict[str, str] | None = None
            out: dict[str, Any] = {}
            for name, low, prep in fields:
                if name in v:
                    x = v[name]
                else:
                    # SQL names are case-insensitive: `price` fills the Avro field `Price`.
                    if lower is None:
                        lower = {k.lower(): k for k in v}
                    k = lower.get(low)
                    if k is None:
                        continue  # absent: fastavro uses the field's default or says it lacks one
                    x = v[k]
                out[name] = prep(x) if prep is not None and x is not None else x
            return out

        self._name(schema, namespace, record)
        return record


def make_preparer(raw_schema: Any) -> Prep:
    """A function row -> the record fastavro writes for `raw_schema`."""
    prep = _Preparer().build(raw_schema, "")
    return prep if prep is not None else (lambda v: v)


# ---- the codec ----


class AvroCodec(Codec):
    """Avro values, plain or in the schema registry wire format."""

    format = "avro"

    def __init__(self, props: dict[str, str]) -> None:
        props = {k.lower(): v for k, v in props.items()}
        text = load_schema_text(props, SCHEMA, SCHEMA_FILE)
        key = SCHEMA_FILE if props.get(SCHEMA_FILE) else SCHEMA
        self.raw: Any = None
        self.schema: Any = None
        if text is not None:
            self.raw, self.schema = parse_avro_schema(text, key)
            if not (isinstance(self.raw, dict) and self.raw.get("type") == "record"):
                raise _config_error(
                    key, f"'{key}': the schema must be a record (a message holds one)"
                )
        writer_text = load_schema_text(props, WRITER_SCHEMA, WRITER_SCHEMA_FILE)
        url = (props.get(REGISTRY_URL) or "").strip()
        self.registry: SchemaRegistryClient | None = None
        self.subject: str | None = None
        if url:
            if writer_text is not None:
                raise _config_error(
                    WRITER_SCHEMA,
                    f"'{WRITER_SCHEMA}' is for values without the registry: with "
                    f"'{REGISTRY_URL}' each value names its writer schema by id",
                )
            try:
                self.registry = SchemaRegistryClient(url, user_info=props.get(REGISTRY_AUTH))
            except ValueError as exc:
                raise _config_error(REGISTRY_URL, f"bad '{REGISTRY_URL}': {exc}") from None
            subject = (props.get(REGISTRY_SUBJECT) or "").strip()
            topic = (props.get("topic") or props.get("topic.name") or "").strip()
            self.subject = subject or (f"{topic}-value" if topic else None)
            if self.subject is None and self.schema is None:
                raise _config_error(
                    REGISTRY_SUBJECT,
                    f"format avro with '{REGISTRY_URL}' needs a schema: "
                    f"'{SCHEMA}', '{SCHEMA_FILE}', '{REGISTRY_SUBJECT}' or a topic",
                )
        elif self.schema is None:
            raise _config_error(
                SCHEMA,
                f"format avro needs a schema: '{SCHEMA}' (inline JSON), '{SCHEMA_FILE}' or "
                f"'{REGISTRY_URL}'",
            )
        # Without a registry: values are written with `writer` and read as `self.schema`.
        self.writer: Any = None
        if writer_text is not None:
            wkey = WRITER_SCHEMA_FILE if props.get(WRITER_SCHEMA_FILE) else WRITER_SCHEMA
            self.writer = parse_avro_schema(writer_text, wkey)[1]
        # Per schema id: (writer, reader or None, fix-up), or the error message.
        self._by_id: dict[int, tuple[Any, Any, Fixer | None] | str] = {}
        # Decoded records have the reader's fields (the local schema, when there is one).
        self._fix = make_fixer(self.raw)
        self._prep = make_preparer(self.raw) if self.raw is not None else None
        self._out_id: int | None = None  # the schema id encoded values carry (registry mode)

    # -- decoding --

    def decode(self, value: bytes) -> Record:
        """One value as a record; ValueError says what is wrong with a malformed one."""
        if self.registry is None:
            if value is None:
                raise ValueError("null value (expected an Avro record)")
            if self.writer is not None:
                return self._read(value, self.writer, self.schema, self._fix, "")
            return self._read(value, self.schema, None, self._fix, "")
        schema_id, body = unframe(value)
        writer, reader, fix = self._schemas_for(schema_id)
        return self._read(body, writer, reader, fix, f" (schema id {schema_id})")

    def decode_many(self, values_: list[bytes]) -> tuple[list[Record | None], list[str | None]]:
        """Decode a batch; a malformed value gets an error, an unreachable registry raises."""
        records: list[Record | None] = []
        errors: list[str | None] = []
        for v in values_:
            try:
                records.append(self.decode(v))
                errors.append(None)
            except RegistryError:
                raise  # not the value's fault: the job cannot read anything without it
            except Exception as exc:  # a malformed value is reported, never raised
                records.append(None)
                errors.append(str(exc) or type(exc).__name__)
        return records, errors

    def _read(self, body: Any, writer: Any, reader: Any, fix: Fixer | None, where: str) -> Record:
        buf = io.BytesIO(body)
        try:
            rec = fastavro.schemaless_reader(buf, writer, reader)
        except SchemaResolutionError as exc:
            raise ValueError(
                f"cannot read the value{where} with the reader schema: {exc}"
            ) from None
        except (EOFError, StopIteration, IndexError):
            raise ValueError(f"truncated Avro body{where}: {len(body)} bytes") from None
        except Exception as exc:
            raise ValueError(f"corrupt Avro body{where}: {type(exc).__name__}: {exc}") from None
        left = len(body) - buf.tell()
        if left:
            raise ValueError(
                f"{left} bytes left over after the Avro record{where} "
                "(the value was written with another schema?)"
            )
        if not isinstance(rec, dict):
            raise ValueError(f"expected an Avro record{where}, found {type(rec).__name__}")
        return fix(rec) if fix is not None else rec

    def _schemas_for(self, schema_id: int) -> tuple[Any, Any, Fixer | None]:
        """Writer schema, reader schema (None = same) and fix-up flag of a schema id (cached)."""
        hit = self._by_id.get(schema_id)
        if hit is not None:
            if isinstance(hit, str):
                raise ValueError(hit)
            return hit
        assert self.registry is not None
        try:
            text = self.registry.schema_by_id(schema_id)
        except SchemaNotFound:
            msg = f"unknown schema id {schema_id} (not in the registry {self.registry.url})"
            self._by_id[schema_id] = msg
            raise ValueError(msg) from None
        try:
            raw = json.loads(text)
            writer = fastavro.parse_schema(raw)
        except Exception as exc:
            msg = f"schema id {schema_id} in the registry is not a valid Avro schema: {exc}"
            self._by_id[schema_id] = msg
            raise ValueError(msg) from None
        fix = self._fix if self.raw is not None else make_fixer(raw)
        entry = (writer, self.schema, fix)
        self._by_id[schema_id] = entry
        return entry

    # -- encoding --

    def encode(self, row: Record) -> bytes:
        """One row as an Avro value (in the wire format when there is a registry)."""
        if self.registry is not None and self._out_id is None:
            self._resolve_output_schema()
        assert self._prep is not None and self.schema is not None
        buf = io.BytesIO()
        rec = self._prep(row)
        try:
            fastavro.schemaless_writer(buf, self.schema, rec)
        except Exception as exc:
            raise ValueError(f"cannot write the row as Avro: {exc}") from None
        body = buf.getvalue()
        return frame(self._out_id, body) if self._out_id is not None else body

    def _resolve_output_schema(self) -> None:
        """Register the local schema under the subject, or take the subject's latest one."""
        assert self.registry is not None
        if self.subject is None:
            raise RegistryError(
                f"format avro with '{REGISTRY_URL}' writes under a subject: set "
                f"'{REGISTRY_SUBJECT}' or the topic"
            )
        if self.raw is not None:
            self._out_id = self.registry.register(self.subject, json.dumps(self.raw))
            return
        schema_id, text = self.registry.latest(self.subject)
        raw, parsed = parse_avro_schema(text, REGISTRY_SUBJECT)
        self.raw, self.schema = raw, parsed
        self._prep = make_preparer(raw)
        self._out_id = schema_id


def _avro_codec(props: dict[str, str]) -> Codec:
    return AvroCodec(props)


CODECS["avro"] = _avro_codec
