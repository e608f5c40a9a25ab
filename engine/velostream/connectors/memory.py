"""`memory`: rows handed over from Python (list of dicts, Arrow table, Polars frame), and a sink
that collects output rows in a list."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from operator import itemgetter
from typing import Any

from velostream.connectors.base import SYSTEM_COLUMNS, Record, Sink, Source
from velostream.connectors.common import (
    event_time_extractor,
    frame_with_system_columns,
    malformed_policy,
    now_ms,
    stamp_records,
)
from velostream.connectors.row_columns import typed_series
from velostream.formats.json import shape_row


def to_records(data: Any) -> list[Record]:
    """Fresh dicts from a list of dicts, a pyarrow.Table/RecordBatch or a polars.DataFrame.

    Arrow decimal128 columns become Decimal; timestamps become datetime.
    """
    if data is None:
        return []
    if isinstance(data, list | tuple):
        out: list[Record] = []
        for row in data:
            if not isinstance(row, dict):
                raise TypeError(f"memory rows must be dicts, got {type(row).__name__}")
            out.append(dict(row))
        return out
    mod = type(data).__module__
    if mod.startswith("polars"):
        return data.to_arrow().to_pylist()  # via Arrow: decimals stay Decimal
    if mod.startswith("pyarrow"):
        return data.to_pylist()
    if mod.startswith("pandas"):
        return data.to_dict(orient="records")
    raise TypeError(
        f"memory data must be a list of dicts, a pyarrow.Table or a polars.DataFrame, "
        f"got {type(data).__name__}"
    )


class MemorySource(Source):
    """A bounded source over rows held in memory."""

    bounded = True

    def __init__(
        self,
        name: str,
        props: dict[str, str],
        data: Any = None,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(name, props, on_warning)
        self.data = data
        self.batch_size = max(1, int(props.get("batch.size", "8192")))
        # Columnar slices amortise per-batch work better when larger (measured: 64k rows is
        # about a third faster than 8k); a given batch.size applies to both.
        self.frame_size = max(1, int(props.get("batch.size", "65536")))
        self.extractor = event_time_extractor(props)
        self.bad = malformed_policy(name, self.errors, self.on_warning, props)
        self._columns: list[str] | None = None  # decode_only: the fields a query reads

    def known_columns(self) -> list[str] | None:
        """Column names of the first row (or of the Arrow/Polars schema)."""
        names = getattr(self.data, "column_names", None) or getattr(self.data, "columns", None)
        if names is not None and not isinstance(self.data, list | tuple):
            return [str(n) for n in names]
        if self.data:
            return [k for k in self.data[0] if not k.startswith("_")]
        return []

    def decode_only(self, columns: list[str] | None) -> None:
        """DataFrames (`frames`) need hold only these fields (and the event time field);
        None: every field."""
        if columns is not None and self.extractor is not None:
            columns = [*columns, self.extractor.field]
        self._columns = columns

    def frames(self) -> AsyncIterator[Any]:
        """Polars or Arrow data as DataFrame slices (with system columns); lists of dicts as
        DataFrames where every column read holds one type, else as records."""
        if isinstance(self.data, list | tuple):
            first = self.data[0] if self.data else None
            if not isinstance(first, dict) or {"_event_time", "_timestamp"} & first.keys():
                return self.batches()
            return self._dict_frames(self.data)
        frame = _as_polars(self.data)
        if frame is None or {"_event_time", "_timestamp"} & set(frame.columns):
            return self.batches()
        return self._frames(frame)

    def _frames(self, frame: Any) -> AsyncIterator[Any]:
        size = self.frame_size
        return self._slices(
            frame.height,
            lambda start: frame.slice(start, size),
            lambda start: frame.slice(start, size).to_arrow().to_pylist(),
        )

    def _dict_frames(self, data: list[Record] | tuple[Record, ...]) -> AsyncIterator[Any]:
        keys = self._frame_keys(data[0])
        whole = self._columns is None
        size = self.frame_size
        return self._slices(
            len(data),
            lambda start: (
                None if keys is None else _dicts_frame(data[start : start + size], keys, whole)
            ),
            lambda start: _copies(data[start : start + size]),
        )

    async def _slices(
        self,
        n: int,
        frame_at: Callable[[int], Any | None],
        rows_at: Callable[[int], list[Record]],
    ) -> AsyncIterator[Any]:
        """frame_size slices of n rows: `frame_at(start)` with the system columns, or, when it
        is None or its event times need reading one by one, the records of `rows_at(start)`."""
        offset = 0
        for start in range(0, n, self.frame_size):
            frame = frame_at(start)
            out = (
                None if frame is None else frame_with_system_columns(frame, offset, self.extractor)
            )
            if out is None:  # mixed types, missing fields, Decimals, string event times, ...
                out = self._stamped(rows_at(start), start, offset)
                offset += len(out)
            else:
                offset += out.height
            yield out
            await asyncio.sleep(0)

    def _frame_keys(self, first: Record) -> list[str] | None:
        """The keys of the first row that hold the fields read (all keys when every field is
        read), or None when a field read is not among them (rows may differ: records)."""
        if not all(isinstance(k, str) for k in first):
            return None
        if self._columns is None:
            return list(first)
        lower: dict[str, list[str]] = {}
        for k in first:
            lower.setdefault(k.lower(), []).append(k)
        keys: list[str] = []
        for name in dict.fromkeys(self._columns):
            if name in SYSTEM_COLUMNS:
                continue
            if name in first:
                keys.append(name)
                continue
            match = lower.get(name.lower(), [])
            if len(match) != 1:
                return None
            keys.append(match[0])
        return keys

    async def batches(self) -> AsyncIterator[list[Record]]:  # type: ignore[override]
        """The rows in order, batch.size at a time (copies: the caller's rows stay as given)."""
        data = self.data
        fresh = not isinstance(data, list | tuple)
        if fresh:
            data = to_records(data)  # Arrow / Polars rows are fresh dicts already
        offset = 0
        for start in range(0, len(data), self.batch_size):
            rows = data[start : start + self.batch_size]
            kept = self._stamped(list(rows) if fresh else _copies(rows), start, offset)
            offset += len(kept)
            yield kept
            await asyncio.sleep(0)

    def _stamped(self, chunk: list[Record], start: int, offset: int) -> list[Record]:
        """Fresh record dicts of rows start.. with their system columns (bad event times
        reported and dropped); offsets count on from `offset`."""
        was_enabled = gc.isenabled()
        gc.disable()  # many small dicts with no cycles: skip needless collections
        try:
            if self.extractor is None:
                return _stamp_given(chunk, offset)
            return stamp_records(
                chunk,
                offset,
                self.extractor,
                self.bad,
                lambda i: f"{self.name}:row {start + i + 1}",
                None,
            )
        finally:
            if was_enabled:
                gc.enable()


def _copies(rows: list[Record] | tuple[Record, ...]) -> list[Record]:
    """Shallow copies of the caller's rows (a clear TypeError for one that is not a dict)."""
    try:
        return [r.copy() for r in rows]
    except AttributeError:
        return to_records(rows)


def _dicts_frame(
    rows: list[Record] | tuple[Record, ...], keys: list[str], whole: bool
) -> Any | None:
    """The fields `keys` of the rows as a DataFrame of typed columns, or None when a row lacks
    one, is not a dict, or a column mixes types (row_columns.typed_series). `whole`: the keys
    are all the first row's, and every row must have exactly them."""
    import polars as pl

    columns = []
    try:
        for key in keys:
            s = typed_series(key, list(map(itemgetter(key), rows)))
            if s is None:
                return None
            columns.append(s)
    except (KeyError, TypeError):
        return None
    if whole and set(map(len, rows)) != {len(keys)}:
        return None  # a row with more fields than the first: SELECT * would lose them
    return pl.DataFrame(columns) if columns else pl.DataFrame(height=len(rows))


def _as_polars(data: Any) -> Any | None:
    """A polars.DataFrame for Polars or Arrow data, else None."""
    mod = type(data).__module__
    if mod.startswith("polars"):
        return data
    if mod.startswith("pyarrow"):
        import polars as pl

        try:
            return pl.from_arrow(data)
        except Exception:  # an Arrow type Polars cannot hold: use the record path
            return None
    return None


def _stamp_given(chunk: list[Record], offset: int) -> list[Record]:
    """System columns for rows without an event-time field: rows that already carry an integer
    `_event_time` / `_timestamp` (tests, replays) keep them, others get the read time."""
    now = now_ms()
    for i, rec in enumerate(chunk, offset):
        et = rec.get("_event_time")
        ts = rec.get("_timestamp")
        if et.__class__ is not int:
            et = ts if ts.__class__ is int else now
        rec["_event_time"] = et
        rec["_timestamp"] = ts if ts.__class__ is int else et
        rec["_offset"] = i
        rec["_partition"] = 0
        rec["_key"] = None
    return chunk


class MemorySink(Sink):
    """Collects output rows into `memory[name]` (a list), keys in select order."""

    def __init__(self, name: str, props: dict[str, str], memory: dict[str, Any] | None = None):
        super().__init__(name, props)
        self.memory = memory if memory is not None else {}
        # A fresh list per sink: running a query again does not pile onto the last run's rows.
        self.rows: list[Record] = []
        self.memory[name] = self.rows
        self.columns: list[str] = []

    async def open(self, columns: list[str]) -> None:
        """Remember the select order."""
        self.columns = list(columns)

    async def write(self, rows: list[Record]) -> None:
        """Append rows (each with exactly the selected columns when they are known)."""
        cols = self.columns
        if cols:
            # As the file sink: the selected columns in order, then any other non-system field
            # (rows of SELECT * over schemaless input differ from row to row).
            self.rows.extend(dict(shape_row(r, cols)) for r in rows)
        else:
            self.rows.extend({k: v for k, v in r.items() if k not in SYSTEM_COLUMNS} for r in rows)
