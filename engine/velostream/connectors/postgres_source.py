"""`postgres_source`: a table or query read once (bounded), or followed by polling an increasing
column (unbounded). Usable as a stream and as a lookup table of a stream-table join.

- Bounded (no `poll.column`): the rows in the query's order; `_offset` counts them from 0.
- Following (`poll.column`): rows with the column above the last value seen, in its order,
  every `poll.interval`; `_offset` is the column's value (integers as such, timestamps in epoch
  microseconds), so a checkpointed job resumes after the last row it processed. Rows that
  commit later with a lower value than one already read are not seen: use a column that grows
  in commit order (a serial id written by one writer, or a commit timestamp).
- Event time: `event.time.field`, else the read time; but when the job reads the source as the
  lookup table of a stream-table join, the rows there at the start get event time 0, so the
  table as it was when the job started is in place before any stream record is looked up.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

from velostream.connectors.base import Record, Source
from velostream.connectors.common import (
    event_time_extractor,
    malformed_policy,
    now_ms,
    parse_duration_ms,
)
from velostream.connectors.postgres_common import (
    connect,
    converters,
    key_list,
    mask,
    replay_batches,
    role_in,
    rows_to_records,
    split_table_name,
)
from velostream.errors import ConfigError
from velostream.formats.event_time import EventTimeError, datetime_to_millis

_EPOCH = dt.datetime(1970, 1, 1)
# Poll-column types whose values `_offset` stands for exactly (so a restart can resume).
_RESUMABLE = ("int2", "int4", "int8", "numeric", "timestamp", "timestamptz", "date")


class PostgresSource(Source):
    """Reads a table or query; follows it when `poll.column` is set."""

    resume_after: int | None = None  # set by the checkpointer before open() on a restart

    def __init__(
        self, name: str, props: dict[str, str], on_warning: Callable[[str], None] | None = None
    ) -> None:
        super().__init__(name, props, on_warning)
        self.table = split_table_name(props["table"]) if props.get("table") else None
        self.query = props.get("query", "").strip().rstrip(";") or None
        cols = key_list(props.get("poll.column"))
        self.poll_column = cols[0] if cols else None
        self.bounded = self.poll_column is None
        self.poll_s = parse_duration_ms(props.get("poll.interval", "1s")) / 1000
        self.batch_size = max(1, int(props.get("batch.size", "8192")))
        self.extractor = event_time_extractor(props)
        self.bad = malformed_policy(name, self.errors, self.on_warning, props)
        self.rows_read = 0
        self._conn: Any = None
        self._columns: list[str] | None = None
        self._poll_type = ""
        self._stopped = False
        self._prefetched: list[list[Record]] | None = None
        self.role = "stream"  # or "table": the lookup side of a stream-table join

    def bind_job(self, job: Any) -> None:
        """Note whether the job reads this source as a stream or as a lookup table."""
        self.role = role_in(job, self)

    # -- set-up ------------------------------------------------------------------------------

    def _what(self) -> str:
        return '"' + ".".join(self.table) + '"' if self.table else "the query"

    def _base(self) -> Any:
        from psycopg import sql

        if self.table is not None:
            return sql.SQL("SELECT * FROM {}").format(sql.Identifier(*self.table))
        return sql.SQL(self.query)  # type: ignore[arg-type]

    def _error(self, key: str, message: str) -> ConfigError:
        return ConfigError(
            f"postgres_source '{self.name}': {mask(message, self.props)}",
            kind="property",
            token=f"{self.name}.{key}",
        )

    async def open(self) -> None:
        """Connect and check that the table or query and the poll column exist."""
        import psycopg
        from psycopg import sql

        self._conn = await connect(self.name, self.props, "postgres_source", autocommit=True)
        probe = sql.SQL("SELECT * FROM ({}) AS q LIMIT 0").format(self._base())
        try:
            async with self._conn.cursor() as cur:
                await cur.execute(probe)
                desc = cur.description or []
        except psycopg.errors.UndefinedTable:
            await self.close()
            raise self._error("table", f"table {self._what()} does not exist") from None
        except psycopg.Error as exc:
            await self.close()
            key = "table" if self.table else "query"
            msg = str(exc).strip().splitlines()[0]
            raise self._error(key, f"cannot read {self._what()}: {msg}") from None
        self._columns = [d.name for d in desc]
        if self.poll_column is not None:
            match = [d for d in desc if d.name == self.poll_column]
            if not match:
                await self.close()
                raise self._error(
                    "poll.column",
                    f"'{self.name}.poll.column' = '{self.poll_column}' is not a column of "
                    f"{self._what()} (columns: {', '.join(self._columns)})",
                )
            info = self._conn.adapters.types.get(match[0].type_code)
            self._poll_type = info.name if info is not None else ""
            if self.resume_after is not None and self._poll_type not in _RESUMABLE:
                await self.close()
                raise self._error(
                    "poll.column",
                    f"cannot resume after a checkpoint: '{self.name}.poll.column' = "
                    f"'{self.poll_column}' is {self._poll_type or 'of an unknown type'}; use an "
                    "integer, date or timestamp column",
                )
        if self.bounded and self.role == "table":
            # A lookup table is read now: in a live run its rows are then in place before the
            # first stream record arrives (the job starts reading only once all are open).
            self._prefetched = [b async for b in self._bounded()]

    def known_columns(self) -> list[str] | None:
        """The result columns, once open."""
        return list(self._columns) if self._columns is not None else None

    def stop(self) -> None:
        """Ask a following source to end after its current poll."""
        self._stopped = True

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close()
            except Exception:
                pass

    # -- reading -----------------------------------------------------------------------------

    def batches(self) -> AsyncIterator[list[Record]]:
        """Record batches: the whole result (bounded) or new rows as they come (following)."""
        if self._prefetched is not None:
            return replay_batches(self._prefetched)
        return self._bounded() if self.bounded else self._follow()

    async def _bounded(self) -> AsyncIterator[list[Record]]:
        import psycopg

        offset = 0
        try:
            async with self._conn.transaction():
                async with self._conn.cursor(name=f"velo_{id(self)}") as cur:
                    await cur.execute(self._base())
                    convs: list[Any] | None = None
                    names: list[str] = []
                    while True:
                        rows = await cur.fetchmany(self.batch_size)
                        if convs is None:
                            desc = cur.description or []
                            names = [d.name for d in desc]
                            convs = converters(desc, self._conn)
                        if not rows:
                            break
                        recs = rows_to_records(rows, names, convs)
                        first = offset
                        offset += len(recs)
                        yield self._stamp(recs, list(range(first, offset)), True)
                        await asyncio.sleep(0)
        except psycopg.Error as exc:
            raise RuntimeError(
                f"postgres_source '{self.name}': reading {self._what()} failed: "
                f"{mask(str(exc).strip(), self.props)}"
            ) from None

    async def _follow(self) -> AsyncIterator[list[Record]]:
        import psycopg
        from psycopg import sql

        col = sql.Identifier(self.poll_column)
        start = sql.SQL("SELECT * FROM ({}) AS q WHERE {} IS NOT NULL ORDER BY {} LIMIT {}")
        # The last value goes in as a literal, not a parameter: a '%' in the user's query
        # (LIKE 'a%', n % 2) must not be read as a placeholder.
        after = sql.SQL("SELECT * FROM ({}) AS q WHERE {} > {} ORDER BY {} LIMIT {}")
        limit = sql.Literal(self.batch_size)
        first_q = start.format(self._base(), col, col, limit)
        last: Any = None
        if self.resume_after is not None:
            last = self._value_of_offset(self.resume_after)
        snapshot = True  # rows there at the start: event time 0 unless a field gives it
        counter = 0
        while not self._stopped:
            try:
                async with self._conn.cursor() as cur:
                    if last is None:
                        await cur.execute(first_q)
                    else:
                        await cur.execute(
                            after.format(self._base(), col, sql.Literal(last), col, limit)
                        )
                    rows = await cur.fetchall()
                    desc = cur.description or []
                    full = len(rows) == self.batch_size
                    if full:  # never split rows with the same poll value across batches
                        pos = [d.name for d in desc].index(self.poll_column)
                        rows = await self._whole_ties(cur, rows, pos, col)
            except psycopg.Error as exc:
                raise RuntimeError(
                    f"postgres_source '{self.name}': polling {self._what()} failed: "
                    f"{mask(str(exc).strip(), self.props)}"
                ) from None
            if rows:
                names = [d.name for d in desc]
                pos = names.index(self.poll_column)
                last = rows[-1][pos]
                recs = rows_to_records(rows, names, converters(desc, self._conn))
                offsets = []
                for r in recs:
                    off = self._offset_of(r[self.poll_column])
                    if off is None:
                        off = counter
                    counter = off + 1
                    offsets.append(off)
                yield self._stamp(recs, offsets, snapshot)
            if not full:
                snapshot = False
                await asyncio.sleep(self.poll_s)
            else:
                await asyncio.sleep(0)

    async def _whole_ties(self, cur: Any, rows: list[tuple], pos: int, col: Any) -> list[tuple]:
        """A full page without its trailing rows that share the last poll value (the next
        poll reads them, after the value before); a page that is all one value gets every
        row with that value. So a batch never ends inside a run of equal values, and polling
        `> last` misses none of them."""
        from psycopg import sql

        v = rows[-1][pos]
        cut = len(rows)
        while cut > 0 and rows[cut - 1][pos] == v:
            cut -= 1
        if cut > 0:
            return rows[:cut]
        q = sql.SQL("SELECT * FROM ({}) AS q WHERE {} = {}").format(
            self._base(), col, sql.Literal(v)
        )
        await cur.execute(q)
        return await cur.fetchall()

    def _offset_of(self, v: Any) -> int | None:
        """The `_offset` of a poll-column value: integers as such, timestamps in epoch µs."""
        if isinstance(v, bool):
            return None
        if isinstance(v, int):
            return v
        if isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value():
            return int(v)
        if isinstance(v, dt.datetime):
            d = v - _EPOCH
            return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds
        if isinstance(v, dt.date):
            return (v - _EPOCH.date()).days
        return None

    def _value_of_offset(self, off: int) -> Any:
        """The poll-column value a committed `_offset` stands for (to resume after it)."""
        if self._poll_type in ("timestamp", "timestamptz"):
            return _EPOCH + dt.timedelta(microseconds=off)
        if self._poll_type == "date":
            return _EPOCH.date() + dt.timedelta(days=off)
        return off

    def _stamp(self, recs: list[Record], offsets: list[int], snapshot: bool) -> list[Record]:
        """System columns; records whose event time cannot be read go to `on.error`. Without
        an event-time field, a lookup table's initial rows get event time 0."""
        read_at = now_ms()
        ext = self.extractor
        et_default = 0 if snapshot and self.role == "table" else read_at
        kept: list[Record] = []
        for rec, off in zip(recs, offsets, strict=True):
            self.rows_read += 1
            if ext is None:
                et = et_default
            else:
                try:
                    v = rec.get(ext.field)
                    et = datetime_to_millis(v) if isinstance(v, dt.datetime) else ext(rec)
                except EventTimeError as exc:
                    self.bad(
                        f"{self.name}:{self._what()} row {self.rows_read}", str(exc), repr(rec)
                    )
                    continue
            rec["_event_time"] = et
            rec["_timestamp"] = read_at
            rec["_offset"] = off
            rec["_partition"] = 0
            rec["_key"] = None
            kept.append(rec)
        return kept
