"""What every source and sink looks like to the runtime.

A record is a plain ``dict`` of field name -> value, plus the system columns the source sets:
``_event_time`` and ``_timestamp`` (epoch milliseconds, ints), ``_offset`` (int, position in the
source), ``_partition`` (int, 0 for files), ``_key`` (None for files). Values are Python values:
None, bool, int (BIGINT), float (DOUBLE), decimal.Decimal (DECIMAL), str, datetime.datetime
(TIMESTAMP, naive UTC), datetime.date, list, dict.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

SYSTEM_COLUMNS = (
    "_timestamp",
    "_event_time",
    "_key",
    "_partition",
    "_offset",
    "_window_start",
    "_window_end",
    "_headers",  # Kafka message headers (name -> text), read with HEADER('name')
)

Record = dict[str, Any]


@dataclass
class PropSpec:
    """One configuration key a connector accepts."""

    name: str  # without the '<source>.' prefix, lower-case
    required: bool = False
    default: str | None = None
    help: str = ""
    choices: tuple[str, ...] | None = None  # allowed values, lower-case


@dataclass
class ErrorStats:
    """Counters of what a source could not read, and the last few reports."""

    malformed: int = 0
    dead_lettered: int = 0
    reports: list[str] = field(default_factory=list)  # "path:line: message", at most 100 kept


class Source:
    """A stream of record batches. Subclasses set `bounded` and implement `batches()`."""

    bounded: bool = True

    def __init__(
        self, name: str, props: dict[str, str], on_warning: Callable[[str], None] | None = None
    ):
        self.name = name
        self.props = props
        self.errors = ErrorStats()
        self.on_warning = on_warning or (lambda msg: None)

    async def open(self) -> None:
        """Acquire resources (files, connections)."""

    def batches(self) -> AsyncIterator[list[Record]]:
        """Yield whatever is available now, up to a batch size or a short wait."""
        raise NotImplementedError

    def known_columns(self) -> list[str] | None:
        """Column names known before reading (a generator's schema, a CSV header, rows handed
        over from Python), else None (schemaless input)."""
        return None

    def frames(self) -> AsyncIterator[Any]:
        """Like `batches()`, but a batch may also be a `polars.DataFrame` that holds exactly the
        values and system columns the record dicts would hold (an optional columnar fast path;
        a source without one yields its record batches). Read one of the two, not both."""
        return self.batches()

    async def close(self) -> None:
        """Release resources."""


class Sink:
    """Receives output rows, in emission order."""

    def __init__(self, name: str, props: dict[str, str]):
        self.name = name
        self.props = props

    async def open(self, columns: list[str]) -> None:
        """Prepare to receive rows with these columns (in select order)."""

    async def write(self, rows: list[Record]) -> None:
        """Write one batch of output rows (each holds every selected column)."""
        raise NotImplementedError

    async def close(self) -> None:
        """Flush and release resources."""
