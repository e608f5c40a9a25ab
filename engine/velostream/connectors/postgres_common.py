"""What `postgres_source` and `postgres_sink` share: their keys, the connection, value types.

Connection: `dsn` (a libpq URL or `key=value` string), or `host`, `port`, `user`, `password`,
`dbname`. Every session runs with `TimeZone = UTC`, so TIMESTAMPTZ values read as UTC and
naive output datetimes (UTC in the engine) are written as UTC. A password never appears in an
error message.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

from velostream.connectors.base import PropSpec
from velostream.connectors.common import parse_bool, parse_duration_ms
from velostream.errors import ConfigError

CONNECTION_PROPS: tuple[PropSpec, ...] = (
    PropSpec("dsn", help="libpq connection string, e.g. 'postgresql://user:pw@host:5432/db'"),
    PropSpec("host", help="server host (when there is no dsn)"),
    PropSpec("port", default="5432", help="server port"),
    PropSpec("user", help="user name"),
    PropSpec("password", help="password (never printed)"),
    PropSpec("dbname", help="database name"),
)

SOURCE_PROPS: tuple[PropSpec, ...] = (
    *CONNECTION_PROPS,
    PropSpec("table", help="a table to read, 'name' or 'schema.name' (or give 'query')"),
    PropSpec("query", help="a SELECT to read (or give 'table')"),
    PropSpec(
        "poll.column",
        help="an increasing column (a serial id or a timestamp): follow the table by polling "
        "for rows above the last value seen (unbounded)",
    ),
    PropSpec("poll.interval", default="1s", help="time between polls"),
)

SINK_PROPS: tuple[PropSpec, ...] = (
    PropSpec("type", required=True, help="connector type"),
    *CONNECTION_PROPS,
    PropSpec("table", required=True, help="the table to write, 'name' or 'schema.name'"),
    PropSpec(
        "mode",
        default="insert",
        choices=("insert", "upsert"),
        help="insert (COPY) or upsert on the primary key (INSERT .. ON CONFLICT)",
    ),
    PropSpec(
        "primary.key",
        help="key columns for upsert, comma-separated (default: PRIMARY KEY of the query, "
        "else the table's primary key)",
    ),
    PropSpec(
        "create.table",
        default="false",
        choices=("true", "false"),
        help="create the table when it is missing (column types from the first rows)",
    ),
)

_IDENT_PART = re.compile(r'[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+"')


def _err(name: str, key: str, message: str, expected: list[str] | None = None) -> ConfigError:
    return ConfigError(message, kind="property", token=f"{name}.{key}", expected=expected or [])


def split_table_name(text: str) -> tuple[str, ...]:
    """`'schema.name'` or `'name'` as its parts (double quotes keep case and dots)."""
    parts: list[str] = []
    s = text.strip()
    pos = 0
    while True:
        m = _IDENT_PART.match(s, pos)
        if m is None:
            raise ValueError(f"not a table name: {text!r} (expected name or schema.name)")
        tok = m.group(0)
        parts.append(tok[1:-1].replace('""', '"') if tok.startswith('"') else tok.lower())
        pos = m.end()
        if pos == len(s):
            break
        if s[pos] != ".":
            raise ValueError(f"not a table name: {text!r} (expected name or schema.name)")
        pos += 1
    if len(parts) > 2:
        raise ValueError(f"not a table name: {text!r} (expected name or schema.name)")
    return tuple(parts)


def validate_connection(name: str, props: dict[str, str]) -> None:
    """`dsn` or the separate keys, not both; a numeric port."""
    parts = [k for k in ("host", "port", "user", "password", "dbname") if k in props]
    if props.get("dsn") and parts:
        raise _err(
            name,
            parts[0],
            f"give either '{name}.dsn' or '{name}.host'/'port'/'user'/'password'/'dbname', "
            f"not both ('{name}.{parts[0]}' is set)",
        )
    if not props.get("dsn") and not props.get("host"):
        raise _err(
            name,
            "dsn",
            f"missing property '{name}.dsn' (or '{name}.host') for the PostgreSQL connection",
        )
    if "port" in props:
        try:
            port = int(props["port"])
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            raise _err(
                name, "port", f"bad value for '{name}.port': {props['port']!r} is not a port"
            ) from None


def validate_source(name: str, props: dict[str, str]) -> None:
    """The keys of a `postgres_source` that depend on each other."""
    validate_connection(name, props)
    if bool(props.get("table")) == bool(props.get("query")):
        raise _err(
            name,
            "table",
            f"give exactly one of '{name}.table' and '{name}.query' for postgres_source",
        )
    if props.get("table"):
        try:
            split_table_name(props["table"])
        except ValueError as exc:
            raise _err(name, "table", f"bad value for '{name}.table': {exc}") from None
    if props.get("query"):
        q = props["query"].strip().rstrip(";").lstrip("(").lower()
        if not (q.startswith("select") or q.startswith("with") or q.startswith("values")):
            raise _err(name, "query", f"'{name}.query' must be a SELECT")
    try:
        parse_duration_ms(props.get("poll.interval", "1s"))
    except ValueError as exc:
        raise _err(name, "poll.interval", f"bad value for '{name}.poll.interval': {exc}") from None
    if "poll.interval" in props and not props.get("poll.column"):
        raise _err(name, "poll.interval", f"'{name}.poll.interval' needs '{name}.poll.column'")


def validate_sink(name: str, props: dict[str, str]) -> None:
    """The keys of a `postgres_sink` that depend on each other."""
    validate_connection(name, props)
    try:
        split_table_name(props.get("table", ""))
    except ValueError as exc:
        raise _err(name, "table", f"bad value for '{name}.table': {exc}") from None
    parse_bool(props.get("create.table", "false"))
    if "primary.key" in props and not key_list(props["primary.key"]):
        raise _err(name, "primary.key", f"'{name}.primary.key' names no column")


def key_list(text: str | None) -> list[str]:
    """Column names of a comma-separated list (lower case unless quoted)."""
    if not text:
        return []
    out = []
    for part in text.split(","):
        p = part.strip()
        if not p:
            continue
        out.append(p[1:-1] if p.startswith('"') and p.endswith('"') else p.lower())
    return out


def connect_kwargs(props: dict[str, str]) -> dict[str, Any]:
    """Arguments for `psycopg.AsyncConnection.connect`: the DSN or the separate keys."""
    kw: dict[str, Any] = {"options": "-c TimeZone=UTC", "connect_timeout": 10}
    if props.get("dsn"):
        kw["conninfo"] = props["dsn"]
        return kw
    kw["conninfo"] = ""
    for key, arg in (("host", "host"), ("port", "port"), ("user", "user"), ("dbname", "dbname")):
        if props.get(key):
            kw[arg] = props[key]
    if props.get("password"):
        kw["password"] = props["password"]
    return kw


def secrets_of(props: dict[str, str]) -> list[str]:
    """The strings that must not appear in messages: the password, also inside the DSN."""
    out = [props["password"]] if props.get("password") else []
    dsn = props.get("dsn") or ""
    m = re.search(r"://[^:/@]*:([^@]*)@", dsn)
    if m and m.group(1):
        out.append(m.group(1))
    m = re.search(r"(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", dsn)
    if m:
        out.append(m.group(1).strip("'"))
    return [s for s in out if s]


def mask(text: str, props: dict[str, str]) -> str:
    """`text` with every secret of `props` replaced by `***`."""
    for s in secrets_of(props):
        text = text.replace(s, "***")
    return text


def where(props: dict[str, str]) -> str:
    """The server a connector talks to, for messages (no password)."""
    if props.get("dsn"):
        return mask(props["dsn"], props)
    return f"{props.get('host')}:{props.get('port', '5432')}/{props.get('dbname', '')}"


async def connect(name: str, props: dict[str, str], role: str, autocommit: bool = False) -> Any:
    """An open async connection, or a ConfigError that names the connector and the server."""
    import psycopg

    try:
        return await psycopg.AsyncConnection.connect(autocommit=autocommit, **connect_kwargs(props))
    except psycopg.Error as exc:
        detail = mask(str(exc).strip(), props)
        raise ConfigError(
            f"{role} '{name}': cannot connect to PostgreSQL at {where(props)}: {detail}",
            kind="property",
            token=f"{name}.{'dsn' if props.get('dsn') else 'host'}",
        ) from None


# -- values read ------------------------------------------------------------------------------

_UTC = dt.UTC


def _timestamptz(v: Any) -> Any:
    return v.astimezone(_UTC).replace(tzinfo=None) if v.tzinfo is not None else v


def _to_text(v: Any) -> Any:
    return str(v)


def _time(v: Any) -> Any:
    return v.isoformat()


def _interval(v: dt.timedelta) -> Any:
    return v // dt.timedelta(milliseconds=1)  # INTERVAL -> milliseconds, as the engine's


def _bytes(v: Any) -> Any:
    return bytes(v).hex()


def _generic(v: Any) -> Any:
    """Values that need no type-specific loader: containers recurse, odd types become text."""
    if v is None or isinstance(v, bool | int | float | str | Decimal | dict):
        return v
    if isinstance(v, dt.datetime):
        return _timestamptz(v)
    if isinstance(v, dt.date):
        return v
    if isinstance(v, list):
        return [_generic(x) for x in v]
    if isinstance(v, dt.timedelta):
        return _interval(v)
    if isinstance(v, dt.time):
        return _time(v)
    if isinstance(v, bytes | bytearray | memoryview):
        return _bytes(v)
    if isinstance(v, uuid.UUID | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(v)
    return str(v)


# Type names (pg_type.typname) whose Python values psycopg returns as the engine wants them.
_AS_IS = {
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "numeric",
    "text",
    "varchar",
    "bpchar",
    "bool",
    "date",
    "timestamp",
    "json",
    "jsonb",
    "name",
    "oid",
}
_BY_TYPE: dict[str, Callable[[Any], Any]] = {
    "timestamptz": _timestamptz,
    "uuid": _to_text,
    "inet": _to_text,
    "cidr": _to_text,
    "time": _time,
    "timetz": _time,
    "interval": _interval,
    "bytea": _bytes,
    "money": _to_text,
}


def converters(description: Any, conn: Any) -> list[Callable[[Any], Any] | None]:
    """Per result column: None when psycopg's value is already an engine value, else a
    function that makes it one (TIMESTAMPTZ -> naive UTC, UUID -> text, INTERVAL -> ms, ...)."""
    types = conn.adapters.types
    out: list[Callable[[Any], Any] | None] = []
    for col in description:
        info = types.get(col.type_code)
        tname = info.name if info is not None else ""
        if tname in _AS_IS:
            out.append(None)
        elif tname in _BY_TYPE:
            fn = _BY_TYPE[tname]
            out.append(lambda v, fn=fn: None if v is None else fn(v))
        else:
            out.append(_generic)
    return out


def rows_to_records(
    rows: list[tuple], names: list[str], convs: list[Callable[[Any], Any] | None]
) -> list[dict[str, Any]]:
    """Result tuples as record dicts, each value made an engine value."""
    if all(c is None for c in convs):
        return [dict(zip(names, r, strict=True)) for r in rows]
    todo = [(i, c) for i, c in enumerate(convs) if c is not None]
    out = []
    for r in rows:
        vals = list(r)
        for i, c in todo:
            vals[i] = c(vals[i])
        out.append(dict(zip(names, vals, strict=True)))
    return out


# -- values written ---------------------------------------------------------------------------


def sql_type_of(values: list[Any]) -> str:
    """The column type for CREATE TABLE from a column's values (the first non-NULL decides)."""
    for v in values:
        if v is None:
            continue
        if isinstance(v, bool):
            return "BOOLEAN"
        if isinstance(v, int):
            return "BIGINT"
        if isinstance(v, float):
            return "DOUBLE PRECISION"
        if isinstance(v, Decimal):
            return "NUMERIC"
        if isinstance(v, dt.datetime):
            return "TIMESTAMP"
        if isinstance(v, dt.date):
            return "DATE"
        if isinstance(v, dict | list):
            return "JSONB"
        return "TEXT"
    return "TEXT"


def output_key(plan: Any) -> tuple[list[str], list[str]]:
    """The output columns that key a query's rows: `(PRIMARY KEY items, GROUP BY columns it
    selects)`, by output name; the GROUP BY columns only when there is no window."""
    if plan is None:
        return [], []
    group: list[str] = []
    if plan.group_by and plan.window is None:
        from velostream.runtime.compile import key_sql

        keys = {key_sql(g) for g in plan.group_by}
        group = [n for n, e in plan.items if n != "*" and key_sql(e) in keys]
    return list(plan.primary_key), group


def role_in(job: Any, source: Any) -> str:
    """`table` when the job reads `source` as the table side of a join, else `stream`."""
    for i, s in getattr(job, "sources", {}).items():
        if s is source or getattr(s, "inner", None) is source:
            leaves = getattr(job, "leaves", [])
            if i < len(leaves):
                return leaves[i].ref.role
    return "stream"


async def replay_batches(
    batches: list[list[dict[str, Any]]],
) -> AsyncIterator[list[dict[str, Any]]]:
    """Batches read ahead (a lookup table read at open), handed over once."""
    while batches:
        yield batches.pop(0)
