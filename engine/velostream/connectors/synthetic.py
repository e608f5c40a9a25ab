"""`synthetic`: a seeded generator of records from a declared schema, for demos and tests.

Schema grammar (the `schema` key; case-insensitive keywords)::

    schema   := column ("," column)*
    column   := NAME TYPE modifier*
    TYPE     := STRING | VARCHAR | TEXT | BIGINT | INT | INTEGER | DOUBLE | FLOAT
              | BOOLEAN | BOOL | DECIMAL(p, s) | TIMESTAMP
    modifier := ENUM(v1, v2, ...)   STRING: one of the values, uniformly
              | RANGE(lo, hi)       BIGINT / DOUBLE / DECIMAL: uniform in [lo, hi] (inclusive)
              | WALK                DOUBLE / DECIMAL: a random walk inside RANGE, one walk per
                                    value of the first STRING column (e.g. a price per symbol)
              | SEQUENCE            BIGINT: 1, 2, 3, ...
              | NULLS(f)            any type: a fraction f of the values are NULL

A STRING without ENUM takes `keys` distinct values `<column>_0` .. `<column>_<keys-1>`.
A TIMESTAMP column carries the simulated event time in epoch ms; it advances 1000/rate ms per
record (1 ms when rate is 0 or absent). Defaults: BIGINT RANGE(0, 1000), DOUBLE RANGE(0, 1),
DECIMAL RANGE(0, 1000). The values come from `velostream.testing.generator`, the generator
`velo test` uses; a `schema` that is a path to a `.schema.yaml` file uses its full syntax
(weighted enums, distributions, derived fields, ...). Example::

    symbol STRING ENUM(AAPL,MSFT,GOOG), price DECIMAL(10,2) RANGE(100,200) WALK,
    quantity BIGINT RANGE(1,500), side STRING ENUM(BUY,SELL), ts TIMESTAMP
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from velostream.connectors.base import Record, Source
from velostream.connectors.common import (
    event_time_extractor,
    malformed_policy,
    now_ms,
    parse_bool,
)
from velostream.formats.event_time import EventTimeError, parse_iso8601

PRESETS = {
    "trades": (
        "symbol STRING ENUM(AAPL,MSFT,GOOG,AMZN,NVDA), "
        "price DECIMAL(10,2) RANGE(100,500) WALK, "
        "quantity BIGINT RANGE(1,1000), "
        "ts TIMESTAMP"
    ),
}
BOUNDED_START_MS = 1_700_000_000_000
_TYPES = {
    "string": "string",
    "varchar": "string",
    "text": "string",
    "bigint": "bigint",
    "int": "bigint",
    "integer": "bigint",
    "double": "double",
    "float": "double",
    "boolean": "boolean",
    "bool": "boolean",
    "decimal": "decimal",
    "timestamp": "timestamp",
}
_PART = re.compile(r"\s*([A-Za-z_][A-Za-z_0-9]*)\s*(?:\(([^()]*)\))?")


class SchemaError(ValueError):
    """The synthetic schema text is not valid."""


@dataclass
class ColumnSpec:
    """One generated column."""

    name: str
    type: str  # string | bigint | double | boolean | decimal | timestamp
    scale: int = 0
    enum: list[str] | None = None
    lo: float | None = None
    hi: float | None = None
    walk: bool = False
    sequence: bool = False
    nulls: float = 0.0
    range_text: tuple[str, str] | None = field(default=None, repr=False)


def _split_top(text: str) -> list[str]:
    """Split at commas outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise SchemaError("unbalanced ')'")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise SchemaError("unbalanced '('")
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def _args(text: str | None) -> list[str]:
    if text is None:
        return []
    return [a.strip().strip("'\"") for a in text.split(",")]


def parse_schema(text: str) -> list[Any]:
    """Parse the schema grammar of this module's docstring; a path ending in `.yaml` / `.yml`
    is a schema file in the `velo test` struct syntax (its fields are returned)."""
    if text.strip().lower().endswith((".yaml", ".yml")):
        from velostream.testing.schema import SchemaError as FileSchemaError
        from velostream.testing.schema import load_schema

        try:
            return load_schema(text.strip()).fields
        except FileSchemaError as e:
            raise SchemaError(str(e)) from None
    cols: list[ColumnSpec] = []
    for part in _split_top(text):
        if not part:
            raise SchemaError("empty column definition")
        pos = 0
        tokens: list[tuple[str, str | None]] = []
        while pos < len(part):
            m = _PART.match(part, pos)
            if not m or m.end() == pos:
                raise SchemaError(f"cannot read {part[pos:]!r} in column {part!r}")
            tokens.append((m.group(1), m.group(2)))
            pos = m.end()
            while pos < len(part) and part[pos].isspace():
                pos += 1
        if len(tokens) < 2:
            raise SchemaError(f"column {part!r} needs a name and a type")
        (name, name_args), (type_word, type_args) = tokens[0], tokens[1]
        if name_args is not None:
            raise SchemaError(f"column {part!r}: a name cannot take arguments")
        typ = _TYPES.get(type_word.lower())
        if typ is None:
            raise SchemaError(
                f"column {name!r}: unknown type {type_word!r} "
                f"(expected one of {', '.join(sorted(set(_TYPES)))})"
            )
        col = ColumnSpec(name=name, type=typ)
        if typ == "decimal":
            a = _args(type_args)
            try:
                col.scale = int(a[1]) if len(a) > 1 else 2
            except ValueError:
                raise SchemaError(f"column {name!r}: DECIMAL(p, s) needs integers") from None
        elif type_args is not None:
            raise SchemaError(f"column {name!r}: type {type_word} takes no arguments")
        for word, args in tokens[2:]:
            mod = word.lower()
            if mod == "enum":
                col.enum = [a for a in _args(args) if a != ""]
                if not col.enum:
                    raise SchemaError(f"column {name!r}: ENUM needs values")
            elif mod == "range":
                a = _args(args)
                if len(a) != 2:
                    raise SchemaError(f"column {name!r}: RANGE needs (lo, hi)")
                try:
                    col.lo, col.hi = float(a[0]), float(a[1])
                except ValueError:
                    raise SchemaError(f"column {name!r}: RANGE needs numbers") from None
                if col.lo > col.hi:
                    raise SchemaError(f"column {name!r}: RANGE low is above high")
                col.range_text = (a[0], a[1])
            elif mod == "walk" and args is None:
                col.walk = True
            elif mod == "sequence" and args is None:
                col.sequence = True
            elif mod == "nulls":
                a = _args(args)
                try:
                    col.nulls = float(a[0])
                except (ValueError, IndexError):
                    raise SchemaError(f"column {name!r}: NULLS needs a fraction") from None
            else:
                raise SchemaError(
                    f"column {name!r}: unknown modifier {word!r} "
                    "(expected ENUM, RANGE, WALK, SEQUENCE or NULLS)"
                )
        if col.enum is not None and typ != "string":
            raise SchemaError(f"column {name!r}: ENUM is for STRING columns")
        if col.walk and typ not in ("double", "decimal"):
            raise SchemaError(f"column {name!r}: WALK is for DOUBLE or DECIMAL columns")
        if col.sequence and typ != "bigint":
            raise SchemaError(f"column {name!r}: SEQUENCE is for BIGINT columns")
        defaults = {"bigint": (0.0, 1000.0), "double": (0.0, 1.0), "decimal": (0.0, 1000.0)}
        if col.lo is None and typ in defaults:
            col.lo, col.hi = defaults[typ]
        cols.append(col)
    names = [c.name.lower() for c in cols]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SchemaError(f"duplicate column {sorted(dup)[0]!r}")
    return cols


def parse_start_time(text: str) -> int:
    """`start.time` as epoch ms: an integer, or an ISO 8601 timestamp."""
    t = text.strip()
    if t.lstrip("-").isdigit():
        return int(t)
    return parse_iso8601(t)


class SyntheticSource(Source):
    """Generates records; bounded when `count` is given, paced to `rate` when unbounded."""

    def __init__(
        self,
        name: str,
        props: dict[str, str],
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(name, props, on_warning)
        schema_text = props.get("schema") or PRESETS[props.get("preset", "trades").lower()]
        self.schema = parse_schema(schema_text)
        self.count: int | None = int(props["count"]) if props.get("count") else None
        self.bounded = self.count is not None
        self.rate = float(props.get("rate", "0") or 0)
        self.seed = int(props.get("seed", "42"))
        self.keys = max(1, int(props.get("keys", "10")))
        self.batch_size = max(1, int(props.get("batch.size", "8192")))
        pace = props.get("pace")
        self.pace = parse_bool(pace) if pace else (not self.bounded and self.rate > 0)
        if props.get("start.time"):
            self.start_ms = parse_start_time(props["start.time"])
        else:
            self.start_ms = BOUNDED_START_MS if self.bounded else now_ms()
        self.extractor = event_time_extractor(props)
        self.time_column = next((c.name for c in self.schema if c.type == "timestamp"), None)
        self.bad = malformed_policy(name, self.errors, self.on_warning, props)
        self._rng = random.Random(self.seed)
        self._gens: list[tuple[str, Callable[[Record, int], Any]]] | None = None
        # The wall clock and the sleep used for pacing (tests replace them with fakes).
        self.clock: Callable[[], float] = time.monotonic
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._produced = 0
        self._stopped = False
        self.resume_after: int | None = None  # set by a job resuming from a checkpoint

    def known_columns(self) -> list[str] | None:
        """The schema's column names."""
        return [c.name for c in self.schema]

    def stop(self) -> None:
        """End an unbounded run after the current batch."""
        self._stopped = True

    def event_time_of(self, index: int) -> int:
        """The simulated event time of record `index` (0-based)."""
        if self.rate > 0:
            return self.start_ms + math.floor(index * 1000 / self.rate)
        return self.start_ms + index

    def _compile_all(self) -> list[tuple[str, Callable[[Record, int], Any]]]:
        """(column, generator (record so far, event time) -> value), by the generator that
        `velo test` uses too (velostream.testing.generator)."""
        from velostream.testing.generator import FieldCompiler
        from velostream.testing.schema import Schema, schema_from_columns

        if self.schema and isinstance(self.schema[0], ColumnSpec):
            schema = schema_from_columns(self.schema, self.name)
        else:  # a schema file's fields
            schema = Schema(self.name, list(self.schema))
        return FieldCompiler(schema, self._rng, self.start_ms, keys=self.keys).compile()

    def _generate(self, n: int) -> list[Record]:
        if self._gens is None:
            self._gens = self._compile_all()
        gens = self._gens
        out: list[Record] = []
        rate, start = self.rate, self.start_ms
        extractor = self.extractor
        for _ in range(n):
            i = self._produced
            self._produced += 1
            et = start + math.floor(i * 1000 / rate) if rate > 0 else start + i
            rec: Record = {}
            for name, gen in gens:
                rec[name] = gen(rec, et)
            if extractor is not None:
                try:
                    et = extractor(rec)
                except EventTimeError as exc:
                    self.bad(f"{self.name}:record {i + 1}", str(exc), None)
                    continue
            rec["_event_time"] = et
            rec["_timestamp"] = et
            rec["_offset"] = i
            rec["_partition"] = 0
            rec["_key"] = None
            out.append(rec)
        return out

    def _replay_through(self, offset: int) -> None:
        """Generate and drop records up to `offset`, unpaced, so the seeded generator goes on
        exactly where an earlier run stopped."""
        end = offset + 1 if self.count is None else min(offset + 1, self.count)
        while self._produced < end:
            self._generate(min(self.batch_size, end - self._produced))

    async def batches(self) -> AsyncIterator[list[Record]]:  # type: ignore[override]
        """Batches of generated records; paced to the wall clock in a live run."""
        wall_start = self.clock()
        if self.resume_after is not None:
            self._replay_through(self.resume_after)
            if self.pace:  # the records replayed count as already due
                wall_start -= self._produced / self.rate
        while not self._stopped:
            remaining = None if self.count is None else self.count - self._produced
            if remaining is not None and remaining <= 0:
                return
            n = self.batch_size if remaining is None else min(self.batch_size, remaining)
            if self.pace:
                # (+1e-9: a record due exactly now is not missed through float rounding)
                due = math.floor((self.clock() - wall_start) * self.rate + 1e-9) + 1
                ready = due - self._produced
                if ready <= 0:
                    # Sleep until the next record is due.
                    next_at = wall_start + self._produced / self.rate
                    await self.sleep(max(0.0, next_at - self.clock()))
                    continue
                n = min(n, ready)
            batch = self._generate(n)
            if batch:
                yield batch
            if not self.pace:
                await asyncio.sleep(0)
