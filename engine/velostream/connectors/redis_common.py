"""What `redis_source` and `redis_sink` share: their keys, the client, value text.

Connection: `url` (`redis://[:password@]host:port/db`, default `VELOSTREAM_REDIS_URL`, else
`redis://localhost:6379/0`) and an optional `password`. A password never appears in an error.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from decimal import Decimal
from typing import Any

import orjson

from velostream.connectors.base import PropSpec
from velostream.connectors.common import parse_bool, parse_duration_ms
from velostream.errors import ConfigError
from velostream.formats.csv import infer_value
from velostream.formats.json import to_json_value

DEFAULT_URL = "redis://localhost:6379/0"
ENCODINGS = ("value", "fields")
_ENTRY_ID = re.compile(r"\d+(-\d+)?\Z")

CONNECTION_PROPS: tuple[PropSpec, ...] = (
    PropSpec("url", help="redis://host:port/db (default $VELOSTREAM_REDIS_URL or localhost)"),
    PropSpec("password", help="password (never printed)"),
)
_ENCODING = PropSpec(
    "encoding",
    default="value",
    choices=ENCODINGS,
    help="value: one field holds the record, encoded in 'format'; fields: one field per column",
)
_VALUE_FIELD = PropSpec("value.field", default="value", help="the field that holds the record")
_FORMAT = PropSpec(
    "format",
    default="json",
    choices=("json", "avro", "protobuf"),
    help="how the value field is encoded (avro and protobuf take their schema keys)",
)

SOURCE_PROPS: tuple[PropSpec, ...] = (
    *CONNECTION_PROPS,
    PropSpec(
        "mode",
        default="stream",
        choices=("stream", "table"),
        help="stream: entries of a Redis stream; table: keys read as rows (a lookup table)",
    ),
    PropSpec("stream", help="the stream key (default: the source name)"),
    PropSpec("group", help="consumer group: read with XREADGROUP, XACK once processed"),
    PropSpec("consumer", help="consumer name in the group (default '<source>-1')"),
    PropSpec(
        "start",
        default="earliest",
        help="where to start without a group position: earliest, latest or an entry id",
    ),
    PropSpec(
        "end",
        choices=("latest-at-start",),
        help="latest-at-start: stop at the last entry present at the start (bounded)",
    ),
    PropSpec("block", default="200ms", help="longest wait for new entries per read"),
    _ENCODING,
    _VALUE_FIELD,
    _FORMAT,
    PropSpec("key.prefix", default="", help="table mode: keys start with it; stripped in rows"),
    PropSpec("key.pattern", help="table mode: SCAN pattern (default '<key.prefix>*')"),
    PropSpec("key.column", default="key", help="table mode: the column holding the key"),
    PropSpec(
        "poll.interval",
        help="table mode: rescan the keys this often and pass on those that changed (unbounded)",
    ),
)

SINK_PROPS: tuple[PropSpec, ...] = (
    PropSpec("type", required=True, help="connector type"),
    *CONNECTION_PROPS,
    PropSpec(
        "mode",
        default="stream",
        choices=("stream", "hash", "string"),
        help="stream: XADD; hash: HSET per key; string: SET per key (JSON)",
    ),
    PropSpec("stream", help="the stream key (default: the sink name)"),
    PropSpec("maxlen", help="stream mode: trim the stream to about this many entries"),
    PropSpec(
        "maxlen.exact",
        default="false",
        choices=("true", "false"),
        help="trim to exactly maxlen (slower than the default approximate trim)",
    ),
    _ENCODING,
    _VALUE_FIELD,
    _FORMAT,
    PropSpec(
        "key.field",
        help="hash/string mode: the key column(s), comma-separated (default: the query's "
        "PRIMARY KEY)",
    ),
    PropSpec("primary.key", help="alias of key.field"),
    PropSpec("key.prefix", default="", help="hash/string mode: put before the key value"),
    PropSpec("ttl", help="hash/string mode: expire keys after this long, e.g. '10m'"),
    PropSpec("batch.size", default="1000", help="commands per round trip"),
)


def _err(name: str, key: str, message: str) -> ConfigError:
    return ConfigError(message, kind="property", token=f"{name}.{key}")


def url_of(props: dict[str, str]) -> str:
    """The server URL: `url`, else $VELOSTREAM_REDIS_URL, else localhost."""
    return props.get("url") or os.environ.get("VELOSTREAM_REDIS_URL") or DEFAULT_URL


def secrets_of(props: dict[str, str]) -> list[str]:
    """Strings that must not appear in messages: the password, also inside the URL."""
    out = [props["password"]] if props.get("password") else []
    m = re.search(r"://[^:/@]*:([^@]*)@", url_of(props))
    if m and m.group(1):
        out.append(m.group(1))
    return out


def mask(text: str, props: dict[str, str]) -> str:
    """`text` with every secret of `props` replaced by `***`."""
    for s in secrets_of(props):
        text = text.replace(s, "***")
    return text


def _check_url(name: str, props: dict[str, str]) -> None:
    url = url_of(props)
    if not re.match(r"(rediss?|unix)://", url):
        raise _err(
            name,
            "url",
            f"bad value for '{name}.url': {mask(url, props)!r} "
            "(expected redis://host:port/db, rediss://... or unix://...)",
        )


def validate_source(name: str, props: dict[str, str]) -> None:
    """The keys of a `redis_source` that depend on each other."""
    _check_url(name, props)
    mode = props.get("mode", "stream").lower()
    stream_keys = ("stream", "group", "consumer", "start", "end", "block")
    table_keys = ("key.prefix", "key.pattern", "key.column", "poll.interval")
    wrong = [k for k in (table_keys if mode == "stream" else stream_keys) if k in props]
    if wrong:
        raise _err(
            name,
            wrong[0],
            f"'{name}.{wrong[0]}' does not apply to '{name}.mode' = '{mode}'",
        )
    for key, default in (("block", "200ms"), ("poll.interval", "1s")):
        try:
            parse_duration_ms(props.get(key, default))
        except ValueError as exc:
            raise _err(name, key, f"bad value for '{name}.{key}': {exc}") from None
    start = props.get("start", "earliest").strip().lower()
    if start not in ("earliest", "latest") and not _ENTRY_ID.match(start):
        raise _err(
            name,
            "start",
            f"bad value for '{name}.start': {props['start']!r} "
            "(expected earliest, latest or an entry id such as 1700000000000-0)",
        )
    if "consumer" in props and "group" not in props:
        raise _err(name, "consumer", f"'{name}.consumer' needs '{name}.group'")


def validate_sink(name: str, props: dict[str, str]) -> None:
    """The keys of a `redis_sink` that depend on each other."""
    _check_url(name, props)
    mode = props.get("mode", "stream").lower()
    if mode == "stream":
        wrong = [k for k in ("key.field", "primary.key", "key.prefix", "ttl") if k in props]
    else:
        # hash: one field per column; string: the JSON of the row
        wrong = [
            k for k in ("stream", "maxlen", "maxlen.exact", "encoding", "value.field") if k in props
        ]
    if wrong:
        raise _err(
            name, wrong[0], f"'{name}.{wrong[0]}' does not apply to '{name}.mode' = '{mode}'"
        )
    if "maxlen" in props:
        try:
            if int(props["maxlen"]) < 1:
                raise ValueError(f"must be at least 1, got {props['maxlen']}")
        except ValueError as exc:
            raise _err(name, "maxlen", f"bad value for '{name}.maxlen': {exc}") from None
    if "ttl" in props:
        try:
            if parse_duration_ms(props["ttl"]) < 1:
                raise ValueError("must be at least 1ms")
        except ValueError as exc:
            raise _err(name, "ttl", f"bad value for '{name}.ttl': {exc}") from None
    parse_bool(props.get("maxlen.exact", "false"))


def client(props: dict[str, str]) -> Any:
    """An asyncio redis client (bytes in and out)."""
    import redis.asyncio as aioredis

    kw: dict[str, Any] = {"decode_responses": False, "socket_connect_timeout": 10}
    if props.get("password"):
        kw["password"] = props["password"]
    return aioredis.Redis.from_url(url_of(props), **kw)


async def close_quietly(conn: Any) -> None:
    """Close a client; a connection that is already broken is closed enough."""
    try:
        await conn.aclose()
    except Exception:
        pass


async def ping(name: str, props: dict[str, str], role: str, conn: Any) -> None:
    """Check the connection now, so a wrong address or password is a clear error at start."""
    import redis

    try:
        await conn.ping()
    except (redis.RedisError, OSError) as exc:
        await conn.aclose()
        raise ConfigError(
            f"{role} '{name}': cannot connect to Redis at {mask(url_of(props), props)}: "
            f"{mask(str(exc), props)}",
            kind="property",
            token=f"{name}.url",
        ) from None


def text_of(value: Any) -> str:
    """A value as Redis field text: exact decimals, true/false, ISO times, JSON containers."""
    if value.__class__ is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=to_json_value).decode()
    return str(value)


def decode_fields(fields: dict[bytes, bytes]) -> dict[str, Any]:
    """Flat Redis fields as a record: numbers and booleans typed as CSV values are."""
    return {k.decode(): infer_value(v.decode()) for k, v in fields.items()}


def entry_offset(entry_id: bytes | str) -> int:
    """An increasing integer for a stream entry id `ms-seq` (ms * 2**20 + seq)."""
    s = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = s.partition("-")
    return (int(ms) << 20) + int(seq or 0)


def offset_entry(offset: int) -> str:
    """The entry id an offset of `entry_offset` stands for."""
    return f"{offset >> 20}-{offset & 0xFFFFF}"
