"""Protobuf message values: a `.proto` file compiled at start, messages <-> records.

The file (`protobuf.file`, or the text inline in `protobuf.schema`) is compiled in-process by
grpcio-tools' protoc into a descriptor set in a temporary folder; its descriptors are loaded
into a private pool and the message class (`protobuf.message`, which may be left out when the
file has one message) is made with `message_factory.GetMessageClass`. No generated code.

Values (decoding; encoding does the reverse):

- fields keep their `.proto` names; scalars without presence read as their default (0, "",
  false), fields with presence (`optional`, messages, oneof members) as NULL when unset;
  repeated fields -> list, maps -> dict, enums -> the value's name, bytes -> bytes;
- `google.protobuf.Timestamp` -> naive UTC datetime (to the microsecond);
- the wrappers (`google.protobuf.DoubleValue`, `StringValue`, ...) -> their value or NULL;
- decimals, by convention: a message named `Decimal` (any package) with the fields
  `int64 units` and `int32 scale` (Velostream's financial.proto: value = units x 10^-scale), or
  with one field `string value` (like `google.type.Decimal`: "123.4500") -> exact Decimal;
- other messages -> dict (a struct).
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message

from velostream import values
from velostream.errors import ConfigError
from velostream.formats.codecs import CODECS, Codec, Record, decimal_value

FILE = "protobuf.file"
FILE_ALIAS = "protobuf.schema.file"  # the Velostream dialect's spelling
SCHEMA = "protobuf.schema"  # the .proto text inline
MESSAGE = "protobuf.message"
INCLUDE = "protobuf.include"  # more import folders, comma-separated

_EPOCH = dt.datetime(1970, 1, 1)
_WRAPPERS = frozenset(
    f"google.protobuf.{n}Value"
    for n in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
_INT_TYPES = frozenset(
    (
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_UINT64,
        FieldDescriptor.TYPE_UINT32,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_FIXED64,
        FieldDescriptor.TYPE_FIXED32,
        FieldDescriptor.TYPE_SFIXED64,
        FieldDescriptor.TYPE_SFIXED32,
    )
)
_protoc_lock = threading.Lock()  # protoc writes to the process's fd 2, redirected per call


def _config_error(key: str, message: str) -> ConfigError:
    return ConfigError(message, kind="property", token=key)


# ---- compiling ----


def _well_known_include() -> str:
    """grpcio-tools' folder of google/protobuf/*.proto (Timestamp, wrappers, ...)."""
    return str(importlib.resources.files("grpc_tools") / "_proto")


def compile_proto(path: Path, includes: list[Path], key: str) -> descriptor_pb2.FileDescriptorSet:
    """Compile `path` (and its imports) with protoc in-process; ConfigError with protoc's
    message (file:line:column) when it does not compile."""
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory(prefix="velo-protoc-") as tmp:
        out = os.path.join(tmp, "descriptors.pb")
        args = ["protoc", f"-I{path.parent}"]
        args += [f"-I{p}" for p in includes]
        args += [f"-I{_well_known_include()}", f"--descriptor_set_out={out}", "--include_imports"]
        args.append(str(path))
        err_path = os.path.join(tmp, "stderr.txt")
        with _protoc_lock, open(err_path, "w+b") as err:
            # protoc (C++) prints its errors on file descriptor 2: catch them for the message.
            sys.stderr.flush()
            saved = os.dup(2)
            try:
                os.dup2(err.fileno(), 2)
                rc = protoc.main(args)
            finally:
                os.dup2(saved, 2)
                os.close(saved)
            err.seek(0)
            message = err.read().decode("utf-8", "replace").strip()
        if rc != 0 or not os.path.exists(out):
            raise _config_error(
                key, f"'{key}': {path} does not compile: {message or f'protoc exit {rc}'}"
            )
        fds = descriptor_pb2.FileDescriptorSet()
        fds.ParseFromString(Path(out).read_bytes())
        return fds


def _messages(file_desc: Any) -> list[Descriptor]:
    """Every message type of a file, nested ones included (map entries left out)."""
    out: list[Descriptor] = []
    for m in file_desc.message_types_by_name.values():
        out.append(m)
        out.extend(_messages_nested(m))
    return out


def _messages_nested(m: Descriptor) -> list[Descriptor]:
    out: list[Descriptor] = []
    for n in m.nested_types:
        if n.GetOptions().map_entry:
            continue
        out.append(n)
        out.extend(_messages_nested(n))
    return out


def load_message_class(
    fds: descriptor_pb2.FileDescriptorSet, main_file: str, name: str | None, key: str
) -> type[Message]:
    """The message class `name` (full or short) of the compiled file, in a private pool."""
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:  # protoc orders them dependencies first
        pool.Add(fd)
    file_desc = pool.FindFileByName(main_file)
    top = list(file_desc.message_types_by_name.values())
    if not name:
        if len(top) != 1:
            names = ", ".join(m.full_name for m in top) or "none"
            raise _config_error(
                MESSAGE,
                f"'{MESSAGE}' is needed: {main_file} defines {len(top)} messages ({names})",
            )
        return message_factory.GetMessageClass(top[0])
    wanted = name.strip().lstrip(".")
    candidates = [m for m in _messages(file_desc) if m.full_name == wanted]
    if not candidates:
        candidates = [
            m
            for m in _messages(file_desc)
            if m.full_name.endswith("." + wanted) or m.name == wanted
        ]
    if len(candidates) != 1:
        names = ", ".join(m.full_name for m in _messages(file_desc)) or "none"
        what = "is ambiguous" if candidates else "is not a message"
        raise _config_error(
            MESSAGE, f"'{MESSAGE}' = '{name}' {what} in {main_file} (messages: {names})"
        )
    return message_factory.GetMessageClass(candidates[0])


# ---- decoding: messages -> records ----

Conv = Callable[[Any], Any]


def _decimal_shape(m: Descriptor) -> str | None:
    """'units' or 'value' when `m` follows a decimal convention, else None."""
    if m.name != "Decimal":
        return None
    fields = {f.name: f for f in m.fields}
    if set(fields) == {"units", "scale"} and fields["units"].type in _INT_TYPES:
        if fields["scale"].type in _INT_TYPES:
            return "units"
    if set(fields) == {"value"} and fields["value"].type == FieldDescriptor.TYPE_STRING:
        return "value"
    return None


def _timestamp_to_datetime(ts: Any) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)


def _units_to_decimal(m: Any) -> Decimal:
    return Decimal(m.units).scaleb(-m.scale)


def _value_to_decimal(m: Any) -> Decimal:
    try:
        d = Decimal(m.value.strip())
    except InvalidOperation:
        raise ValueError(f"Decimal.value {m.value!r} is not a decimal number") from None
    if not d.is_finite():
        raise ValueError(f"Decimal.value {m.value!r} is not a finite decimal")
    return d


class _Decoder:
    """Per message type (built once): a function message -> dict."""

    def __init__(self) -> None:
        self.cache: dict[str, Conv] = {}

    def message(self, m: Descriptor) -> Conv:
        """The converter of a message type (special types first)."""
        full = m.full_name
        if full == "google.protobuf.Timestamp":
            return _timestamp_to_datetime
        if full in _WRAPPERS:
            return lambda x: x.value
        shape = _decimal_shape(m)
        if shape == "units":
            return _units_to_decimal
        if shape == "value":
            return _value_to_decimal
        hit = self.cache.get(full)
        if hit is not None:
            return hit
        plan: list[tuple[str, int, bool, Conv | None]] = []

        def to_dict(msg: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name, mode, presence, conv in plan:
                v = getattr(msg, name)
                if mode == 2:  # map
                    out[name] = {k: conv(x) for k, x in v.items()} if conv else dict(v)
                elif mode == 1:  # repeated
                    out[name] = [conv(x) for x in v] if conv else list(v)
                elif presence and not msg.HasField(name):
                    out[name] = None
                else:
                    out[name] = conv(v) if conv else v
            return out

        self.cache[full] = to_dict  # before the fields: a recursive type finds itself
        for f in m.fields:
            plan.append(self._field(f))
        return to_dict

    def _field(self, f: FieldDescriptor) -> tuple[str, int, bool, Conv | None]:
        if f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type.GetOptions().map_entry:
            value_field = f.message_type.fields_by_name["value"]
            return f.name, 2, False, self._scalar_or_message(value_field)
        mode = 1 if f.is_repeated else 0
        return f.name, mode, f.has_presence, self._scalar_or_message(f)

    def _scalar_or_message(self, f: FieldDescriptor) -> Conv | None:
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            return self.message(f.message_type)
        if f.type == FieldDescriptor.TYPE_ENUM:
            by_number = {v.number: v.name for v in f.enum_type.values}
            return lambda n: by_number.get(n, n)
        return None


# ---- encoding: rows -> messages ----

Fill = Callable[[Any, Any], None]  # (message, value) -> None, sets the message from the value


def _as_int(v: Any, where: str) -> int:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, Decimal | float) and v == v and v == int(v):
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            pass
    raise ValueError(f"{where}: expected an integer, got {v!r}")


def _as_float(v: Any, where: str) -> float:
    if isinstance(v, int | float | Decimal) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            pass
    raise ValueError(f"{where}: expected a number, got {v!r}")


def _as_str(v: Any, where: str) -> str:
    if isinstance(v, str):
        return v
    out = values.to_json_value(v)
    return out if isinstance(out, str) else str(v)


def _scalar_coercer(f: FieldDescriptor, where: str) -> Callable[[Any], Any]:
    t = f.type
    if t in _INT_TYPES:
        return lambda v: _as_int(v, where)
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return lambda v: _as_float(v, where)
    if t == FieldDescriptor.TYPE_BOOL:

        def to_bool(v: Any) -> bool:
            if isinstance(v, bool):
                return v
            raise ValueError(f"{where}: expected a boolean, got {v!r}")

        return to_bool
    if t == FieldDescriptor.TYPE_STRING:
        return lambda v: _as_str(v, where)
    if t == FieldDescriptor.TYPE_BYTES:

        def to_bytes(v: Any) -> bytes:
            if isinstance(v, str):
                return v.encode()
            if isinstance(v, bytes | bytearray | memoryview):
                return bytes(v)
            raise ValueError(f"{where}: expected bytes or text, got {v!r}")

        return to_bytes
    if t == FieldDescriptor.TYPE_ENUM:
        by_name = {v.name.lower(): v.number for v in f.enum_type.values}

        def to_enum(v: Any) -> int:
            if isinstance(v, str):
                n = by_name.get(v.strip().lower())
                if n is None:
                    names = ", ".join(x.name for x in f.enum_type.values)
                    raise ValueError(
                        f"{where}: {v!r} is not a value of {f.enum_type.name} ({names})"
                    )
                return n
            return _as_int(v, where)

        return to_enum
    raise ValueError(f"{where}: unsupported field type {t}")


def _fill_timestamp(ts: Any, v: Any, where: str) -> None:
    if isinstance(v, int) and not isinstance(v, bool):
        ts.seconds, ms = divmod(v, 1000)  # engine integers are epoch milliseconds
        ts.nanos = ms * 1_000_000
        return
    try:
        d = values.to_datetime(v)
    except Exception:
        raise ValueError(f"{where}: cannot read {v!r} as a timestamp") from None
    delta = d - _EPOCH
    ts.seconds = delta.days * 86_400 + delta.seconds
    ts.nanos = delta.microseconds * 1000


def _fill_units(m: Any, v: Any, where: str) -> None:
    d = decimal_value(v, where)
    exp = d.as_tuple().exponent
    assert isinstance(exp, int)
    if exp >= 0:
        m.units, m.scale = int(d), 0
    else:
        m.units, m.scale = int(d.scaleb(-exp)), -exp


class _Encoder:
    """Per message type (built once): a function (message, row) -> None."""

    def __init__(self) -> None:
        self.cache: dict[str, Fill] = {}

    def message(self, m: Descriptor, where: str) -> Fill:
        """The filler of a message type (special types first)."""
        full = m.full_name
        if full == "google.protobuf.Timestamp":
            return lambda msg, v: _fill_timestamp(msg, v, where)
        if full in _WRAPPERS:
            coerce = _scalar_coercer(m.fields_by_name["value"], where)
            return lambda msg, v: setattr(msg, "value", coerce(v))
        shape = _decimal_shape(m)
        if shape == "units":
            return lambda msg, v: _fill_units(msg, v, where)
        if shape == "value":
            return lambda msg, v: setattr(msg, "value", format(decimal_value(v, where), "f"))
        hit = self.cache.get(full)
        if hit is not None:
            return hit
        plan: list[tuple[str, str, Fill]] = []

        def fill(msg: Any, row: Any) -> None:
            if not isinstance(row, dict):
                raise ValueError(f"{where or 'row'}: expected a struct, got {row!r}")
            lower: dict[str, str] | None = None
            for name, low, setter in plan:
                if name in row:
                    v = row[name]
                else:
                    # SQL names are case-insensitive: `price` fills the field `Price`.
                    if lower is None:
                        lower = {k.lower(): k for k in row}
                    k = lower.get(low)
                    if k is None:
                        continue
                    v = row[k]
                if v is not None:
                    setter(msg, v)

        self.cache[full] = fill
        for f in m.fields:
            path = f"{where}.{f.name}" if where else f"field '{f.name}'"
            plan.append((f.name, f.name.lower(), self._field(f, path)))
        return fill

    def _field(self, f: FieldDescriptor, where: str) -> Fill:
        name = f.name
        if f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type.GetOptions().map_entry:
            vf = f.message_type.fields_by_name["value"]
            kc = _scalar_coercer(f.message_type.fields_by_name["key"], f"{where} key")
            if vf.type == FieldDescriptor.TYPE_MESSAGE:
                sub = self.message(vf.message_type, f"{where}{{}}")

                def fill_msg_map(msg: Any, v: Any) -> None:
                    box = getattr(msg, name)
                    for k, x in _items(v, where):
                        if x is not None:
                            sub(box[kc(k)], x)

                return fill_msg_map
            vc = _scalar_coercer(vf, f"{where}{{}}")

            def fill_map(msg: Any, v: Any) -> None:
                box = getattr(msg, name)
                for k, x in _items(v, where):
                    if x is not None:
                        box[kc(k)] = vc(x)

            return fill_map
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            sub = self.message(f.message_type, where)
            if f.is_repeated:

                def fill_msgs(msg: Any, v: Any) -> None:
                    box = getattr(msg, name)
                    for x in _seq(v, where):
                        sub(box.add(), x)

                return fill_msgs

            def fill_one(msg: Any, v: Any) -> None:
                child = getattr(msg, name)
                child.SetInParent()  # present even when every field is at its default
                sub(child, v)

            return fill_one
        coerce = _scalar_coercer(f, where)
        if f.is_repeated:

            def fill_list(msg: Any, v: Any) -> None:
                try:
                    getattr(msg, name).extend([coerce(x) for x in _seq(v, where)])
                except (TypeError, OverflowError) as exc:
                    raise ValueError(f"{where}: {exc}") from None

            return fill_list

        def fill_scalar(msg: Any, v: Any) -> None:
            x = coerce(v)
            try:
                setattr(msg, name, x)
            except (TypeError, ValueError, OverflowError) as exc:  # e.g. out of range for int32
                raise ValueError(f"{where}: {x!r}: {exc}") from None

        return fill_scalar


def _seq(v: Any, where: str) -> list[Any]:
    if isinstance(v, list | tuple):
        return list(v)
    raise ValueError(f"{where}: expected a list, got {v!r}")


def _items(v: Any, where: str) -> list[tuple[Any, Any]]:
    if isinstance(v, dict):
        return list(v.items())
    raise ValueError(f"{where}: expected a map, got {v!r}")


# ---- the codec ----


class ProtobufCodec(Codec):
    """Protobuf values of one message type from a `.proto` file."""

    format = "protobuf"

    def __init__(self, props: dict[str, str]) -> None:
        props = {k.lower(): v for k, v in props.items()}
        if props.get("schema.registry.url"):
            # Confluent's Protobuf framing (schema id + message indexes) is not implemented:
            # refuse rather than misread framed values as plain messages.
            raise _config_error(
                "schema.registry.url",
                "'schema.registry.url' works with format avro only; format protobuf reads plain "
                f"messages of the type in '{FILE}'",
            )
        file_key = FILE if props.get(FILE) else FILE_ALIAS
        path_text = props.get(FILE) or props.get(FILE_ALIAS)
        inline = props.get(SCHEMA)
        if path_text and inline:
            raise _config_error(file_key, f"give either '{file_key}' or '{SCHEMA}', not both")
        if not path_text and not inline:
            raise _config_error(
                FILE, f"format protobuf needs '{FILE}' (a .proto file) and usually '{MESSAGE}'"
            )
        includes = [
            Path(p.strip()).expanduser() for p in (props.get(INCLUDE) or "").split(",") if p.strip()
        ]
        with tempfile.TemporaryDirectory(prefix="velo-proto-") as tmp:
            if inline:
                path = Path(tmp) / "inline.proto"
                path.write_text(inline, encoding="utf-8")
                key = SCHEMA
            else:
                assert path_text is not None
                path = Path(path_text).expanduser().resolve()
                key = file_key
                if not path.is_file():
                    raise _config_error(key, f"'{key}': .proto file not found: {path}")
            fds = compile_proto(path, includes, key)
        self.cls = load_message_class(fds, path.name, props.get(MESSAGE), key)
        self.message_name = self.cls.DESCRIPTOR.full_name
        self._to_dict = _Decoder().message(self.cls.DESCRIPTOR)
        self._fill = _Encoder().message(self.cls.DESCRIPTOR, "")

    def decode(self, value: bytes) -> Record:
        """One value as a record; ValueError says what is wrong with a malformed one."""
        if value is None:
            raise ValueError(f"null value (expected a {self.message_name} message)")
        msg = self.cls()
        try:
            msg.ParseFromString(value)
        except DecodeError as exc:
            raise ValueError(
                f"not a valid {self.message_name} message ({len(value)} bytes): {exc}"
            ) from None
        return self._to_dict(msg)

    def encode(self, row: Record) -> bytes:
        """One row as a serialized message (fields matched by name, case-insensitively)."""
        msg = self.cls()
        try:
            self._fill(msg, row)
        except (TypeError, OverflowError) as exc:
            raise ValueError(f"cannot write the row as {self.message_name}: {exc}") from None
        return msg.SerializeToString()


def _protobuf_codec(props: dict[str, str]) -> Codec:
    return ProtobufCodec(props)


CODECS["protobuf"] = _protobuf_codec
