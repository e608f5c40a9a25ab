"""`redis_sink`: output rows as stream entries (XADD, optionally trimmed to `maxlen`), or one key
per row: a hash (HSET; NULL columns are removed from it) or a JSON string (SET), with an
optional TTL. The key is `key.prefix` + the key column values joined by ':'; the key columns are
`key.field`, else the query's PRIMARY KEY. Each batch goes in pipelined round trips of
`batch.size` commands.
"""

from __future__ import annotations

from typing import Any

from velostream.connectors.base import Record, Sink
from velostream.connectors.common import parse_bool, parse_duration_ms
from velostream.connectors.postgres_common import key_list, output_key
from velostream.connectors.redis_common import client, close_quietly, mask, ping, text_of
from velostream.errors import ConfigError
from velostream.formats.codecs import value_codec
from velostream.formats.json import shape_row


class RedisSink(Sink):
    """Writes rows to a Redis stream, or to one hash or string key per row."""

    def __init__(self, name: str, props: dict[str, str]) -> None:
        super().__init__(name, props)
        self.mode = props.get("mode", "stream").strip().lower()
        self.stream = props.get("stream") or name
        self.maxlen = int(props["maxlen"]) if props.get("maxlen") else None
        self.exact = parse_bool(props.get("maxlen.exact", "false"))
        self.encoding = props.get("encoding", "value").strip().lower()
        self.value_field = props.get("value.field") or "value"
        self.codec = value_codec(props)
        self.key_prefix = props.get("key.prefix", "")
        self.ttl_ms = parse_duration_ms(props["ttl"]) if props.get("ttl") else None
        self.batch_size = max(1, int(props.get("batch.size", "1000")))
        self.key_columns: list[str] = []  # the query's PRIMARY KEY items
        self.group_columns: list[str] = []  # the query's GROUP BY columns (no window)
        self.keys: list[str] = []
        self.columns: list[str] = []
        self.rows_written = 0
        self._redis: Any = None

    def bind_job(self, job: Any) -> None:
        """Take the key from the query: its PRIMARY KEY, else its GROUP BY columns."""
        self.key_columns, self.group_columns = output_key(getattr(job, "plan", None))

    async def open(self, columns: list[str]) -> None:
        """Connect; check that keyed modes have key columns among the output columns."""
        self.columns = [c for c in columns if c != "*"]
        self._redis = client(self.props)
        await ping(self.name, self.props, "redis_sink", self._redis)
        if self.mode == "stream":
            return
        given = self.props.get("key.field") or self.props.get("primary.key")
        self.keys = key_list(given) or [k.lower() for k in self.key_columns or self.group_columns]
        if not self.keys:
            await self.close()
            raise ConfigError(
                f"redis_sink '{self.name}': mode {self.mode} needs a key: set "
                f"'{self.name}.key.field' or mark a column PRIMARY KEY in the query",
                kind="property",
                token=f"{self.name}.key.field",
            )
        if self.columns:
            lower = {c.lower() for c in self.columns}
            missing = [k for k in self.keys if k not in lower]
            if missing:
                await self.close()
                raise ConfigError(
                    f"redis_sink '{self.name}': key column {missing[0]} is not an output column "
                    f"(columns: {', '.join(self.columns)})",
                    kind="property",
                    token=f"{self.name}.key.field",
                )

    def _key(self, row: Record) -> str:
        parts = []
        for k in self.keys:
            v = row.get(k)
            if v is None:
                raise ValueError(f"key column {k} is NULL")
            parts.append(text_of(v))
        return self.key_prefix + ":".join(parts)

    async def write(self, rows: list[Record]) -> None:
        """Write one batch (pipelined, `batch.size` commands per round trip)."""
        import redis

        if not rows:
            return
        cols = self.columns or [k for k in rows[0] if not k.startswith("_")]
        try:
            for start in range(0, len(rows), self.batch_size):
                chunk = rows[start : start + self.batch_size]
                async with self._redis.pipeline(transaction=False) as p:
                    for r in chunk:
                        self._queue(p, dict(shape_row(r, cols)))
                    await p.execute()
        except ValueError as exc:
            raise RuntimeError(f"redis_sink '{self.name}': {exc}") from None
        except redis.RedisError as exc:
            raise RuntimeError(
                f"redis_sink '{self.name}': writing failed: {mask(str(exc), self.props)}"
            ) from None
        self.rows_written += len(rows)

    def _queue(self, p: Any, row: Record) -> None:
        """The commands for one row."""
        if self.mode == "stream":
            p.xadd(
                self.stream,
                self._fields(row),
                maxlen=self.maxlen,
                approximate=not self.exact,
            )
            return
        key = self._key(row)
        if self.mode == "string":
            p.set(key, self.codec.encode(row), px=self.ttl_ms)
            return
        present = {k: text_of(v) for k, v in row.items() if v is not None}
        gone = [k for k, v in row.items() if v is None]
        if present:
            p.hset(key, mapping=present)
        if gone:
            p.hdel(key, *gone)
        if self.ttl_ms is not None:
            p.pexpire(key, self.ttl_ms)

    def _fields(self, row: Record) -> dict[str, Any]:
        if self.encoding == "value":
            return {self.value_field: self.codec.encode(row)}
        # A stream entry cannot hold NULL: a NULL column is left out (read back as NULL).
        fields = {k: text_of(v) for k, v in row.items() if v is not None}
        return fields or {"": ""}

    async def close(self) -> None:
        """Close the connection."""
        if self._redis is not None:
            conn, self._redis = self._redis, None
            await close_quietly(conn)
