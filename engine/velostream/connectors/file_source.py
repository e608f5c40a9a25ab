"""`file_source`: JSON lines, a JSON array or CSV from files named by a glob; optional tailing."""

from __future__ import annotations

import asyncio
import codecs
import gc
import glob as globlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from velostream.connectors.base import Record, Source
from velostream.connectors.common import (
    event_time_extractor,
    frame_with_system_columns,
    malformed_policy,
    parse_bool,
    parse_duration_ms,
    stamp_records,
)
from velostream.errors import ConfigError
from velostream.formats.csv import infer_column, split_rows
from velostream.formats.json import convert_batch_decimals
from velostream.formats.json_frame import ndjson_frame, uniform_jsonl_frame

CHUNK_BYTES = 4 << 20  # read this much at a time: large enough for bulk decoding, bounded memory
FRAME_CHUNK_BYTES = 8 << 20  # (DataFrames are compact: fewer, larger chunks cost less)
FORMAT_ALIASES = {
    "jsonl": "jsonl",
    "json_lines": "jsonl",
    "jsonlines": "jsonl",
    "ndjson": "jsonl",
    "json": "json",
    "csv": "csv",
}
_GLOB_CHARS = set("*?[")


def source_format(props: dict[str, str]) -> str:
    """The canonical format of a file source/sink: from `format`, else from the path's suffix."""
    fmt = props.get("format")
    if fmt:
        return FORMAT_ALIASES[fmt.strip().lower()]
    path = props.get("path", "").lower()
    if path.endswith(".csv"):
        return "csv"
    if path.endswith(".json"):
        return "json"
    return "jsonl"


def expand_glob(pattern: str) -> list[str]:
    """Files matching a path or glob (`**` allowed), in sorted order."""
    if not _GLOB_CHARS & set(pattern):
        return [pattern] if os.path.isfile(pattern) else []
    return sorted(p for p in globlib.glob(pattern, recursive=True) if os.path.isfile(p))


def _skip_bom(state: _FileState, data: bytes) -> bytes:
    """`data` without a UTF-8 byte-order mark when it starts the file (counted as read)."""
    if state.pos == 0 and data.startswith(codecs.BOM_UTF8):
        state.pos += len(codecs.BOM_UTF8)
        return data[len(codecs.BOM_UTF8) :]
    return data


@dataclass
class _FileState:
    """How far one file has been read."""

    path: str
    pos: int = 0  # bytes consumed (always at a line boundary)
    lines: int = 0  # lines consumed
    header: list[str] | None = None  # CSV header, once read


class FileSource(Source):
    """Reads records from files; bounded unless `watch` = true."""

    def __init__(
        self,
        name: str,
        props: dict[str, str],
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(name, props, on_warning)
        self.path = props["path"]
        self.format = source_format(props)
        self.watch = parse_bool(props.get("watch", "false"))
        self.bounded = not self.watch
        self.poll_s = parse_duration_ms(props.get("polling.interval", "100ms")) / 1000
        self.batch_size = max(1, int(props.get("batch.size", "8192")))
        # DataFrame slices (bulk-decoded JSON lines): a whole chunk (8 MB) is often one, as
        # each batch costs Polars a fixed ~1-3 ms
        self.frame_size = max(1, int(props.get("batch.size", str(1 << 18))))
        self.delimiter = props.get("delimiter", ",") or ","
        self.quote = props.get("quote", '"') or '"'
        self.extractor = event_time_extractor(props)
        self.bad = malformed_policy(name, self.errors, self.on_warning, props)
        self._files: list[str] = []
        self._states: dict[str, _FileState] = {}
        self._offset = 0
        self._stopped = False
        self._columns: list[str] | None = None  # fields bulk-decoded frames need (None: all)

    async def open(self) -> None:
        """Resolve the glob; a bounded source whose glob matches nothing is an error."""
        self._files = expand_glob(self.path)
        if not self._files and not self.watch:
            raise ConfigError(
                f"'{self.name}.path' = '{self.path}' matches no file",
                kind="property",
                token=f"{self.name}.path",
            )

    def known_columns(self) -> list[str] | None:
        """The header of the first CSV file (JSON input is schemaless: None)."""
        if self.format != "csv":
            return None
        files = self._files or expand_glob(self.path)
        if not files:
            return None
        with open(files[0], encoding="utf-8", errors="replace", newline="") as f:
            text = f.read(1 << 16).lstrip("\ufeff")
        for row in split_rows(text, self.delimiter, self.quote):
            if row and row != [""]:
                return [h.strip() for h in row]
        return None

    def stop(self) -> None:
        """Ask a watching source to end after its current poll."""
        self._stopped = True

    def batches(self) -> AsyncIterator[list[Record]]:
        """Record batches: all files in order (bounded), or tailing them (watch)."""
        return self._watch() if self.watch else self._bounded()

    def decode_only(self, columns: list[str] | None) -> None:
        """DataFrames (`frames`) need hold only these fields (and the event time field);
        None: every field. Lines are checked to be valid JSON all the same."""
        if columns is not None and self.extractor is not None:
            columns = [*columns, self.extractor.field]
        self._columns = columns

    def frames(self) -> AsyncIterator[Any]:
        """Batches as DataFrames where a chunk of JSON lines decodes exactly in bulk, else as
        record lists (malformed lines, mixed types, ...); other formats yield records."""
        if self.watch or self.format != "jsonl":
            return self.batches()
        return self._bounded_frames()

    # -- reading -------------------------------------------------------------------------

    async def _bounded(self) -> AsyncIterator[list[Record]]:
        if not self._files and not self._states:
            self._files = expand_glob(self.path)
        for path in self._files:
            state = self._states.setdefault(path, _FileState(path))
            if self.format == "json":
                with open(path, "rb") as f:
                    data = f.read()
                for batch in self._slices(self._decode_json_array(path, data)):
                    yield batch
                    await asyncio.sleep(0)
                continue
            with open(path, "rb") as f:
                rest = b""
                while True:
                    chunk = f.read(CHUNK_BYTES)
                    if not chunk:
                        records = self._decode(state, rest) if rest else []
                        for batch in self._slices(records):
                            yield batch
                        break
                    data = rest + chunk if rest else chunk
                    cut = data.rfind(b"\n") + 1
                    rest = data[cut:]
                    if cut:
                        for batch in self._slices(self._decode(state, data[:cut])):
                            yield batch
                            await asyncio.sleep(0)

    async def _bounded_frames(self) -> AsyncIterator[Any]:
        if not self._files and not self._states:
            self._files = expand_glob(self.path)
        for path in self._files:
            state = self._states.setdefault(path, _FileState(path))
            with open(path, "rb") as f:
                while True:
                    data = f.read(FRAME_CHUNK_BYTES)
                    if not data:
                        break
                    if not data.endswith(b"\n"):
                        # complete the last line (one copy; the file's last line may lack its
                        # newline, and then this reads nothing more)
                        data += f.readline()
                    for batch in self._frame_or_records(state, data):
                        yield batch
                        await asyncio.sleep(0)

    def _frame_or_records(self, state: _FileState, data: bytes) -> list[Any]:
        """One chunk of complete lines as DataFrame slices, or as record batches."""
        data = _skip_bom(state, data)
        frame = uniform_jsonl_frame(data, self._columns)
        lines = frame.height if frame is not None else None  # (one row per line, checked)
        if frame is None:
            frame = ndjson_frame(data)
        if frame is not None:
            frame = frame_with_system_columns(frame, self._offset, self.extractor)
        if frame is None:
            return self._slices(self._decode(state, data))
        state.pos += len(data)
        if lines is None:
            lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        state.lines += lines
        self._offset += frame.height
        n = self.frame_size
        return [frame.slice(i, n) for i in range(0, frame.height, n)]

    async def _watch(self) -> AsyncIterator[list[Record]]:
        pending: list[Record] = []
        while not self._stopped:
            progressed = False
            for path in expand_glob(self.path):
                state = self._states.get(path)
                if state is None:
                    state = self._states[path] = _FileState(path)
                try:
                    size = os.path.getsize(path)
                except OSError:
                    continue
                if size < state.pos:  # truncated or replaced: read it again from the start
                    self._states[path] = state = _FileState(path)
                if size == state.pos:
                    continue
                with open(path, "rb") as f:
                    f.seek(state.pos)
                    data = f.read(CHUNK_BYTES)
                cut = data.rfind(b"\n") + 1  # only complete lines; a partial line waits
                if not cut:
                    continue
                progressed = True
                pending.extend(self._decode(state, data[:cut]))
                if len(pending) >= self.batch_size:
                    break
            while len(pending) >= self.batch_size:
                yield pending[: self.batch_size]
                pending = pending[self.batch_size :]
            if pending and not progressed:
                # Nothing more right now: hand over the partial batch (low latency).
                yield pending
                pending = []
            if not progressed:
                await asyncio.sleep(self.poll_s)
        if pending:
            yield pending

    def _slices(self, records: list[Record]) -> list[list[Record]]:
        n = self.batch_size
        if len(records) <= n:
            return [records] if records else []
        return [records[i : i + n] for i in range(0, len(records), n)]

    # -- decoding ------------------------------------------------------------------------

    def _decode(self, state: _FileState, data: bytes) -> list[Record]:
        """Decode complete lines of `data` (the next bytes of `state`'s file)."""
        data = _skip_bom(state, data)
        # Decoding creates many dicts holding only scalars (no reference cycles); the cyclic
        # collector would otherwise run every few hundred of them and find nothing.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._decode_lines(state, data)
        finally:
            if was_enabled:
                gc.enable()

    def _decode_lines(self, state: _FileState, data: bytes) -> list[Record]:
        first_line = state.lines
        state.pos += len(data)
        if self.format == "csv":
            records = self._decode_csv(state, data)
            state.lines += data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            return records
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        state.lines += len(lines)
        path = state.path
        records: list[Record] | None = None
        if b"\n\n" not in data and not data.startswith(b"\n"):
            # Fast path: every line holds one object; decode them all in a tight loop.
            loads = orjson.loads
            try:
                records = [loads(line) for line in lines]
            except orjson.JSONDecodeError:
                records = None
            if records is not None and all(r.__class__ is dict for r in records):
                convert_batch_decimals(records, data)
                return self._stamp(
                    records,
                    lambda i: f"{path}:{first_line + i + 1}",
                    lambda i: lines[i],
                )
        records = []
        linenos: list[int] = []
        raws: list[bytes] = []
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                self.bad(f"{path}:{first_line + i + 1}", f"not JSON: {exc}", line)
                continue
            if value.__class__ is not dict:
                self.bad(
                    f"{path}:{first_line + i + 1}",
                    f"expected a JSON object, got {type(value).__name__}",
                    line,
                )
                continue
            records.append(value)
            linenos.append(first_line + i + 1)
            raws.append(line)
        convert_batch_decimals(records, data)
        return self._stamp(records, lambda i: f"{path}:{linenos[i]}", lambda i: raws[i])

    def _decode_csv(self, state: _FileState, data: bytes) -> list[Record]:
        """Rows of complete CSV lines as typed records (the first row of a file is its header)."""
        text = data.decode("utf-8", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        base = state.lines
        raw_lines = text.split("\n")
        # rows[i] spans raw_lines[starts[i]:ends[i]] (0-based, end exclusive)
        rows: list[list[str]] = []
        starts: list[int] = []
        ends: list[int] = []
        if self.quote not in text:
            # No quoting anywhere: a row is a line split at the delimiter (what csv would do).
            d = self.delimiter
            if raw_lines and raw_lines[-1] == "":
                raw_lines.pop()
            if "" in raw_lines:
                starts = [i for i, line in enumerate(raw_lines) if line]  # skip blank lines
            else:
                starts = list(range(len(raw_lines)))
            rows = [raw_lines[i].split(d) for i in starts]
            ends = [i + 1 for i in starts]
        else:
            reader = split_rows(text, self.delimiter, self.quote)
            prev = 0
            try:
                for row in reader:
                    end = reader.line_num  # type: ignore[attr-defined]
                    if row and not (len(row) == 1 and row[0] == ""):
                        rows.append(row)
                        starts.append(prev)
                        ends.append(end)
                    prev = end
            except Exception as exc:  # csv.Error: a broken quote; report it, keep what was read
                self.bad(f"{state.path}:{base + prev + 1}", f"bad CSV: {exc}", None)
        path = state.path
        if rows and state.header is None:
            state.header = [h.strip() for h in rows[0]]
            rows, starts, ends = rows[1:], starts[1:], ends[1:]
        header = state.header or []
        width = len(header)
        if set(map(len, rows)) - {width}:
            keep = []
            for k, r in enumerate(rows):
                if len(r) == width:
                    keep.append(k)
                    continue
                raw = "\n".join(raw_lines[starts[k] : ends[k]])
                self.bad(f"{path}:{base + ends[k]}", f"expected {width} fields, got {len(r)}", raw)
            rows = [rows[k] for k in keep]
            starts = [starts[k] for k in keep]
            ends = [ends[k] for k in keep]
        if not rows:
            return []
        columns = [infer_column(list(col)) for col in zip(*rows, strict=True)]
        records = [dict(zip(header, vals, strict=True)) for vals in zip(*columns, strict=True)]
        return self._stamp(
            records,
            lambda i: f"{path}:{base + ends[i]}",
            lambda i: "\n".join(raw_lines[starts[i] : ends[i]]),
        )

    def _decode_json_array(self, path: str, data: bytes) -> list[Record]:
        state = self._states.setdefault(path, _FileState(path))
        state.pos = len(data)
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        if not data.strip():
            return []
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            line = getattr(exc, "lineno", 1)
            self.bad(f"{path}:{line}", f"not JSON: {exc}", data[:1000])
            return []
        if isinstance(value, dict):
            value = [value]  # a single object is a one-record file
        if not isinstance(value, list):
            self.bad(f"{path}:1", f"expected a JSON array, got {type(value).__name__}", data[:1000])
            return []
        records: list[Record] = []
        positions: list[str] = []
        for i, item in enumerate(value):
            if item.__class__ is not dict:
                self.bad(
                    f"{path}[{i}]",
                    f"expected a JSON object, got {type(item).__name__}",
                    orjson.dumps(item),
                )
                continue
            records.append(item)
            positions.append(f"{path}[{i}]")
        convert_batch_decimals(records, data)
        return self._stamp(records, lambda i: positions[i], None)

    def _stamp(
        self,
        records: list[Record],
        position_of: Callable[[int], str],
        raw_of: Callable[[int], Any] | None,
    ) -> list[Record]:
        kept = stamp_records(records, self._offset, self.extractor, self.bad, position_of, raw_of)
        self._offset += len(kept)
        return kept
