"""Message value codecs: the bytes of one message (a Kafka value, a Redis field) <-> one record.

A connector that carries opaque bytes asks `value_codec(props)` for the codec its `format` key
names and uses `decode_many` on whole fetched batches (so a codec can decode columnar) and
`encode` per output row. `json` is here; `avro` and `protobuf` register themselves in
`CODECS` from their own modules.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from velostream.errors import ConfigError
from velostream.formats.json import convert_batch_decimals, dumps_row

Record = dict[str, Any]


class Codec:
    """Turns message values into records and rows into message values."""

    format = ""

    def decode_many(self, values: list[bytes]) -> tuple[list[Record | None], list[str | None]]:
        """Decode a batch: `(records, errors)`, both as long as `values`. Where a value is
        malformed its record is None and its error says why; otherwise its error is None."""
        records: list[Record | None] = []
        errors: list[str | None] = []
        for v in values:
            try:
                records.append(self.decode(v))
                errors.append(None)
            except Exception as exc:  # a malformed value is reported, never raised
                records.append(None)
                errors.append(str(exc) or type(exc).__name__)
        return records, errors

    def decode(self, value: bytes) -> Record:
        """One value as a record; raises ValueError when it is malformed."""
        raise NotImplementedError

    def encode(self, row: Record) -> bytes:
        """One output row as a message value."""
        raise NotImplementedError


class JsonCodec(Codec):
    """A JSON object per value; decimal strings become exact DECIMALs (formats/json.py)."""

    format = "json"

    def decode(self, value: bytes) -> Record:
        """One JSON object as a record."""
        rec = orjson.loads(value)
        if not isinstance(rec, dict):
            raise ValueError(f"expected a JSON object, found {type(rec).__name__}")
        convert_batch_decimals([rec], value)
        return rec

    def decode_many(self, values: list[bytes]) -> tuple[list[Record | None], list[str | None]]:
        """Decode a batch; the decimal fix-up runs once over the whole batch."""
        loads = orjson.loads
        records: list[Record | None] = []
        errors: list[str | None] = []
        good: list[Record] = []
        for v in values:
            try:
                rec = loads(v)
            except orjson.JSONDecodeError as exc:
                records.append(None)
                errors.append(f"invalid JSON: {exc}")
                continue
            if rec.__class__ is not dict:
                records.append(None)
                errors.append(f"expected a JSON object, found {type(rec).__name__}")
                continue
            records.append(rec)
            errors.append(None)
            good.append(rec)
        if good:
            convert_batch_decimals(good, b"\n".join(values))
        return records, errors

    def encode(self, row: Record) -> bytes:
        """One row as compact JSON."""
        return dumps_row(row)


def decimal_value(v: Any, where: str) -> Decimal:
    """An engine value (DECIMAL, BIGINT, DOUBLE or decimal text) as a finite Decimal for an
    encoder's decimal field, or a ValueError that names the field (`where`)."""
    if isinstance(v, Decimal):
        d = v
    elif isinstance(v, bool):
        raise ValueError(f"{where}: expected a decimal, got a boolean")
    elif isinstance(v, int):
        d = Decimal(v)
    elif isinstance(v, float):
        d = Decimal(repr(v))  # the shortest text that reads back as this float
    elif isinstance(v, str):
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            raise ValueError(f"{where}: {v!r} is not a decimal number") from None
    else:
        raise ValueError(f"{where}: expected a decimal, got {type(v).__name__}")
    if not d.is_finite():
        raise ValueError(f"{where}: {d} is not a finite decimal")
    return d


# format name -> factory(props of the connector, with its prefix removed)
CODECS: dict[str, Callable[[dict[str, str]], Codec]] = {"json": lambda props: JsonCodec()}
# Codecs whose modules register themselves when first asked for (velostream.formats.<name>).
OPTIONAL_CODECS = ("avro", "protobuf")


def value_codec(props: dict[str, str], key: str = "format") -> Codec:
    """The codec that the connector's `format` key names (json when absent)."""
    name = (props.get(key) or "json").strip().lower()
    if name not in CODECS and name.isidentifier():
        _load_optional(name)
    factory = CODECS.get(name)
    if factory is None:
        raise ConfigError(
            f"unknown format '{name}'",
            kind="property",
            token=key,
            expected=sorted({*CODECS, *OPTIONAL_CODECS}),
        )
    return factory(props)


def _load_optional(name: str) -> None:
    """Import the module of a codec that registers itself (avro, protobuf) on first use."""
    import importlib

    module = f"velostream.formats.{name}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:  # the codec exists but a library it needs is missing: say so
            raise ConfigError(
                f"format '{name}' needs the Python package '{exc.name}', which is not installed",
                kind="property",
                token="format",
            ) from None
