"""`file_sink`: output rows as JSON lines, CSV or one JSON array, in emission order."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import orjson

from velostream.connectors.base import Record, Sink
from velostream.connectors.common import parse_bool
from velostream.connectors.file_source import source_format
from velostream.formats.csv import format_header, format_rows
from velostream.formats.json import dumps_rows_jsonl, shape_row, to_json_value


class FileSink(Sink):
    """Writes every row it receives to `path` (truncated on open unless `append` = true)."""

    def __init__(self, name: str, props: dict[str, str]) -> None:
        super().__init__(name, props)
        self.path = Path(props["path"])
        self.format = source_format(props)
        self.append = parse_bool(props.get("append", "false"))
        self.delimiter = props.get("delimiter", ",") or ","
        self.columns: list[str] = []
        self._file: IO[bytes] | None = None
        self._json_rows: list[Any] = []
        self.rows_written = 0

    async def open(self, columns: list[str]) -> None:
        """Create parent folders, open (or truncate) the file, write a CSV header."""
        self.columns = list(columns)
        if self.path.parent and not self.path.parent.exists():
            os.makedirs(self.path.parent, exist_ok=True)
        if self.format == "json":
            if self.append and self.path.exists() and self.path.stat().st_size:
                existing = orjson.loads(self.path.read_bytes())
                self._json_rows = existing if isinstance(existing, list) else [existing]
            return
        existed = self.append and self.path.exists() and self.path.stat().st_size > 0
        self._file = open(self.path, "ab" if self.append else "wb")
        if self.format == "csv" and not existed:
            self._file.write(format_header(self.columns, self.delimiter).encode())
            self._file.flush()

    async def write(self, rows: list[Record]) -> None:
        """Append one batch (one write call per batch)."""
        if not rows:
            return
        if self._file is None and self.format != "json":
            await self.open(self.columns or list(rows[0].keys()))
        if not self.columns:
            self.columns = [k for k in rows[0] if not k.startswith("_")] or list(rows[0])
        if self.format == "jsonl":
            assert self._file is not None
            self._file.write(dumps_rows_jsonl(rows, self.columns))
            self._file.flush()
        elif self.format == "csv":
            assert self._file is not None
            self._file.write(format_rows(rows, self.columns, self.delimiter).encode())
            self._file.flush()
        else:
            cols = self.columns
            self._json_rows.extend(
                {c: to_json_value(v) for c, v in shape_row(r, cols).items()} for r in rows
            )
        self.rows_written += len(rows)

    async def close(self) -> None:
        """Flush; a JSON sink writes its array now."""
        if self.format == "json":
            if self.path.parent and not self.path.parent.exists():
                os.makedirs(self.path.parent, exist_ok=True)
            body = b",\n".join(orjson.dumps(r) for r in self._json_rows)
            self.path.write_bytes(b"[\n" + body + b"\n]\n" if body else b"[]\n")
            return
        if self._file is not None:
            self._file.close()
            self._file = None
