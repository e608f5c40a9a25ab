"""`postgres_sink`: output rows into a PostgreSQL table, batch by batch, each batch in one
transaction: `mode` = `insert` (COPY) or `upsert` (INSERT .. ON CONFLICT (key) DO UPDATE, sent
with executemany). The upsert key is `primary.key`, else the query's PRIMARY KEY, else the
table's own primary key, else the query's GROUP BY columns. `create.table` = true creates a
missing table, with column types from the first rows written (and, for upsert, the key as its
PRIMARY KEY).
"""

from __future__ import annotations

from typing import Any

import orjson

from velostream.connectors.base import Record, Sink
from velostream.connectors.common import parse_bool
from velostream.connectors.postgres_common import (
    connect,
    key_list,
    mask,
    output_key,
    split_table_name,
    sql_type_of,
)
from velostream.errors import ConfigError
from velostream.formats.json import to_json_value

_DESCRIBE = """
SELECT a.attname, a.atttypid, t.typname
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""
_PRIMARY_KEY = """
SELECT a.attname
FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = to_regclass(%s) AND i.indisprimary
ORDER BY array_position(i.indkey::int2[], a.attnum)
"""


def _json_dumps(obj: Any) -> str:
    return orjson.dumps(obj, default=to_json_value).decode()


class PostgresSink(Sink):
    """Writes each batch of output rows with COPY (insert) or INSERT .. ON CONFLICT (upsert)."""

    def __init__(self, name: str, props: dict[str, str]) -> None:
        super().__init__(name, props)
        self.table = split_table_name(props["table"])
        self.mode = props.get("mode", "insert").strip().lower()
        self.create = parse_bool(props.get("create.table", "false"))
        self.key_columns: list[str] = []  # the query's PRIMARY KEY items
        self.group_columns: list[str] = []  # the query's GROUP BY columns (no window)
        self.keys: list[str] = []  # the upsert key in use
        self.columns: list[str] = []
        self.rows_written = 0
        self._conn: Any = None
        self._types: dict[str, str] = {}  # table column -> pg type name
        self._target: list[str] = []  # table column of each output column
        self._pending_create = False

    def _label(self) -> str:
        return ".".join(self.table)

    def _error(self, key: str, message: str) -> ConfigError:
        return ConfigError(
            f"postgres_sink '{self.name}': {mask(message, self.props)}",
            kind="property",
            token=f"{self.name}.{key}",
        )

    def bind_job(self, job: Any) -> None:
        """Take the key from the query: its PRIMARY KEY, else its GROUP BY columns."""
        self.key_columns, self.group_columns = output_key(getattr(job, "plan", None))

    async def open(self, columns: list[str]) -> None:
        """Connect; find the table (or plan to create it); check columns and the upsert key."""
        self.columns = [c for c in columns if c != "*"]
        self._conn = await connect(self.name, self.props, "postgres_sink")
        cols, pk = await self._describe()
        # the key: primary.key, else PRIMARY KEY of the query, else the table's primary key,
        # else the GROUP BY columns
        wanted = key_list(self.props.get("primary.key")) or [k.lower() for k in self.key_columns]
        grouped = [k.lower() for k in self.group_columns]
        if cols is None:
            if not self.create:
                await self.close()
                raise self._error(
                    "table",
                    f"table {self._label()} does not exist "
                    f"(create it, or set '{self.name}.create.table' = 'true')",
                )
            self._pending_create = True
            self.keys = wanted or grouped
            if self.mode == "upsert" and not self.keys:
                await self.close()
                raise self._error(
                    "primary.key",
                    f"upsert into a new table needs a key: mark a column PRIMARY KEY in the "
                    f"query or set '{self.name}.primary.key'",
                )
            return
        self._types = cols
        self.keys = wanted or pk or grouped
        if self.columns:
            self._map_columns(self.columns)
        if self.mode == "upsert":
            if not self.keys:
                await self.close()
                raise self._error(
                    "primary.key",
                    f"upsert into {self._label()} needs a key: the table has no primary key; "
                    f"mark a column PRIMARY KEY in the query or set '{self.name}.primary.key'",
                )
            missing = [k for k in self.keys if self._table_col(k) is None]
            if missing:
                await self.close()
                raise self._error(
                    "primary.key",
                    f"key column {missing[0]} is not a column of {self._label()} "
                    f"(columns: {', '.join(self._types)})",
                )

    async def _describe(self) -> tuple[dict[str, str] | None, list[str]]:
        """The table's columns (name -> type name) or None when it is missing, and its key."""
        from psycopg import sql

        regclass = sql.Identifier(*self.table).as_string(self._conn)
        async with self._conn.cursor() as cur:
            await cur.execute(_DESCRIBE, (regclass,))
            rows = await cur.fetchall()
            if not rows:
                await self._conn.rollback()
                return None, []
            await cur.execute(_PRIMARY_KEY, (regclass,))
            pk = [r[0] for r in await cur.fetchall()]
        await self._conn.rollback()
        return {r[0]: r[2] for r in rows}, pk

    def _table_col(self, col: str) -> str | None:
        if col in self._types:
            return col
        low = [t for t in self._types if t.lower() == col.lower()]
        return low[0] if len(low) == 1 else None

    def _map_columns(self, columns: list[str]) -> None:
        target = []
        for c in columns:
            t = self._table_col(c)
            if t is None:
                raise self._error(
                    "table",
                    f"output column {c} is not a column of table {self._label()} "
                    f"(columns: {', '.join(self._types)})",
                )
            target.append(t)
        self._target = target

    async def _create(self, rows: list[Record]) -> None:
        """CREATE TABLE with types from the values of the first rows."""
        from psycopg import sql

        defs = [
            sql.SQL("{} {}").format(
                sql.Identifier(c), sql.SQL(sql_type_of([r.get(c) for r in rows]))
            )
            for c in self.columns
        ]
        for k in self.keys if self.mode == "upsert" else []:
            if k not in self.columns:
                raise self._error(
                    "primary.key",
                    f"key column {k} is not an output column (columns: {', '.join(self.columns)})",
                )
        if self.keys and self.mode == "upsert":  # inserts may repeat a key (a change stream)
            defs.append(
                sql.SQL("PRIMARY KEY ({})").format(
                    sql.SQL(", ").join(sql.Identifier(k) for k in self.keys)
                )
            )
        stmt = sql.SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
            sql.Identifier(*self.table), sql.SQL(", ").join(defs)
        )
        await self._conn.execute(stmt)
        await self._conn.commit()
        cols, _ = await self._describe()
        self._types = cols or {}
        self._map_columns(self.columns)
        self._pending_create = False

    def _values(self, rows: list[Record]) -> list[list[Any]]:
        """Each row as the list of values to write, adapted to its column's type."""
        from psycopg.types.json import Jsonb

        adapt = []
        for t in self._target:
            typ = self._types.get(t, "")
            if typ in ("json", "jsonb"):
                adapt.append(lambda v: None if v is None else Jsonb(v, dumps=_json_dumps))
            elif typ.startswith("_"):
                adapt.append(None)  # an array column takes a list as it is
            else:
                adapt.append(lambda v: _json_dumps(v) if isinstance(v, dict | list) else v)
        cols = self.columns
        out = []
        for r in rows:
            vals = [r.get(c) for c in cols]
            for i, fn in enumerate(adapt):
                if fn is not None:
                    vals[i] = fn(vals[i])
            out.append(vals)
        return out

    async def write(self, rows: list[Record]) -> None:
        """Write one batch in one transaction."""
        import psycopg
        from psycopg import sql

        if not rows:
            return
        if not self.columns:
            self.columns = [k for k in rows[0] if not k.startswith("_") and "." not in k]
            if not self._pending_create:
                self._map_columns(self.columns)
        if self._pending_create:
            await self._create(rows)
        values = self._values(rows)
        ident = sql.Identifier(*self.table)
        col_list = sql.SQL(", ").join(sql.Identifier(c) for c in self._target)
        try:
            async with self._conn.cursor() as cur:
                if self.mode == "insert":
                    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(ident, col_list)
                    async with cur.copy(copy) as cp:
                        for v in values:
                            await cp.write_row(v)
                else:
                    await cur.executemany(self._upsert_sql(ident, col_list), values)
            await self._conn.commit()
        except psycopg.Error as exc:
            await self._conn.rollback()
            raise RuntimeError(self._write_error(exc)) from None
        self.rows_written += len(rows)

    def _upsert_sql(self, ident: Any, col_list: Any) -> Any:
        from psycopg import sql

        keys = [self._table_col(k) or k for k in self.keys]
        rest = [t for t in self._target if t not in keys]
        conflict = sql.SQL(", ").join(sql.Identifier(k) for k in keys)
        marks = sql.SQL(", ").join(sql.Placeholder() for _ in self._target)
        if rest:
            sets = sql.SQL(", ").join(
                sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
                for c in rest
            )
            action = sql.SQL("DO UPDATE SET {}").format(sets)
        else:
            action = sql.SQL("DO NOTHING")
        return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) {}").format(
            ident, col_list, marks, conflict, action
        )

    def _write_error(self, exc: Exception) -> str:
        import psycopg

        msg = str(exc).strip().splitlines()[0]
        diag = getattr(exc, "diag", None)
        where = getattr(diag, "context", None) if diag is not None else None
        hint = ""
        if isinstance(exc, psycopg.errors.InvalidColumnReference) and self.mode == "upsert":
            hint = (
                f" (upsert needs a primary key or unique index on ({', '.join(self.keys)}) "
                f"in {self._label()})"
            )
        text = f"postgres_sink '{self.name}': writing to {self._label()} failed: {msg}{hint}"
        if where:
            text += f" [{where.strip()}]"
        return mask(text, self.props)

    async def close(self) -> None:
        """Create a still-missing table (no rows came), then close the connection."""
        if self._conn is None:
            return
        try:
            if self._pending_create and self.columns:
                await self._create([])
        finally:
            conn, self._conn = self._conn, None
            try:
                await conn.close()
            except Exception:
                pass
