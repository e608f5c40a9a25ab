"""Seeded records from a `Schema`: the one generator behind `velo test` inputs and the
`synthetic` source.

Everything draws from one `random.Random` (Mersenne Twister, pure Python, no numpy), in a fixed
order, so the same schema and seed give the same records, byte for byte, on every machine.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from velostream.testing.schema import FieldSpec, Schema, SchemaError

FieldFn = Callable[[dict, int], Any]  # (record so far, event time in epoch ms) -> value
DEFAULT_NOW_MS = 1_700_000_000_000  # the simulated clock's "now" unless a spec sets it
_REL = re.compile(r"^\s*([+-])\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def resolve_time(value: Any, now_ms: int, where: str = "time") -> int:
    """Epoch ms of `now`, a relative time (`-1h`, `+30m`, `-500ms`), ISO 8601 or epoch ms."""
    if isinstance(value, bool):
        raise SchemaError(f"{where}: expected a time, got {value!r}")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, dt.datetime):  # YAML reads an unquoted ISO time as a datetime
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp() * 1000)
    if isinstance(value, dt.date):
        return (
            int(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp()) * 1000
        )
    text = str(value).strip()
    if text.lower() == "now":
        return now_ms
    m = _REL.match(text)
    if m:
        sign = -1 if m.group(1) == "-" else 1
        return now_ms + sign * round(float(m.group(2)) * _UNIT_MS[m.group(3).lower()])
    if text.lstrip("-").isdigit():
        return int(text)
    from velostream.formats.event_time import EventTimeError, parse_iso8601

    try:
        return parse_iso8601(text)
    except (EventTimeError, ValueError):
        raise SchemaError(
            f"{where}: expected now, a relative time such as -1h, ISO 8601 or epoch ms; "
            f"got {value!r}"
        ) from None


@dataclass
class TimeSimulation:
    """The simulated clock of one input: when each record arrives and what event time it has.

    Record i arrives at `start + i * 1000 / rate` ms (or spread evenly up to `end`); its event
    time is that plus jitter, or earlier on purpose: `out_of_order` records by up to
    `max_delay_ms`, `late` records by `late_delay_ms` (past any allowed lateness).
    """

    start: Any = None  # None: the clock's now
    end: Any = None
    rate: float | None = None  # events per second
    jitter_ms: int = 0
    out_of_order: float = 0.0  # fraction of records
    max_delay_ms: int = 1000
    late: float = 0.0  # fraction of records
    late_delay_ms: int = 60_000
    field: str | None = None  # the field that carries the event time
    batch_size: int = 100

    def arrivals(self, n: int, now_ms: int) -> list[int]:
        """Arrival times of `n` records (epoch ms, non-decreasing)."""
        start = (
            resolve_time(self.start, now_ms, "time_simulation.start_time")
            if (self.start is not None)
            else now_ms
        )
        if self.rate is None and self.end is not None and n > 1:
            end = resolve_time(self.end, now_ms, "time_simulation.end_time")
            if end < start:
                raise SchemaError("time_simulation: end_time is before start_time")
            return [start + (end - start) * i // (n - 1) for i in range(n)]
        rate = self.rate if self.rate else 1000.0
        return [start + math.floor(i * 1000 / rate) for i in range(n)]


class FieldCompiler:
    """Compiles each `FieldSpec` into a function drawing its values from one seeded RNG."""

    def __init__(
        self,
        schema: Schema,
        rng: random.Random,
        now_ms: int = DEFAULT_NOW_MS,
        references: dict[str, list[dict]] | None = None,
        keys: int = 10,
    ) -> None:
        self.schema = schema
        self.rng = rng
        self.now_ms = now_ms
        self.references = {k.lower(): v for k, v in (references or {}).items()}
        self.keys = keys

    def compile(self) -> list[tuple[str, FieldFn]]:
        """(name, function) per field: plain fields in order, then derived ones."""
        plain = [f for f in self.schema.fields if f.derived is None]
        derived = [f for f in self.schema.fields if f.derived is not None]
        out = [(f.name, self._with_nulls(f, self._base(f))) for f in plain]
        every = {f.name.lower() for f in self.schema.fields}
        done = {f.name.lower() for f in plain}
        pending = list(derived)
        while pending:  # derived fields may read each other: compile in dependency order
            progressed = False
            for f in list(pending):
                fn = self._derived(f, every, done)
                if fn is None:
                    continue
                out.append((f.name, self._with_nulls(f, fn)))
                done.add(f.name.lower())
                pending.remove(f)
                progressed = True
            if not progressed:
                names = ", ".join(p.name for p in pending)
                raise SchemaError(f"derived fields depend on each other in a cycle: {names}")
        return out

    def _with_nulls(self, f: FieldSpec, fn: FieldFn) -> FieldFn:
        if not f.null_rate:
            return fn
        rand, frac = self.rng.random, f.null_rate
        return lambda rec, et: None if rand() < frac else fn(rec, et)

    def _derived(self, f: FieldSpec, every: set[str], done: set[str]) -> FieldFn | None:
        """The field's expression, or None while a field it reads is not compiled yet."""
        from velostream.testing.expressions import ExpressionError, compile_expression

        used = _expression_fields(f.derived or "")
        if f.name.lower() in used:
            raise SchemaError(f"field {f.name!r}: derived expression reads the field itself")
        if not used <= done and used <= every:
            return None
        try:
            fn, _ = compile_expression(f.derived or "", self.rng, known=every)
        except ExpressionError as e:
            raise SchemaError(f"field {f.name!r}: derived: {e}") from None
        cast = self._cast(f)
        return lambda rec, et: cast(fn(rec))

    def _cast(self, f: FieldSpec) -> Callable[[Any], Any]:
        """Converts a derived value to the field's type."""
        if f.type == "decimal":
            q = Decimal(1).scaleb(-f.scale)
            return lambda v: None if v is None else Decimal(str(v)).quantize(q)
        if f.type == "integer":
            return lambda v: None if v is None else round(float(v))
        if f.type == "float":
            return lambda v: None if v is None else float(v)
        if f.type == "string":
            return lambda v: None if v is None else str(v)
        return lambda v: v

    # -- plain fields ---------------------------------------------------------------------

    def _base(self, f: FieldSpec) -> FieldFn:
        rand = self.rng.random
        t = f.type
        if f.references is not None:
            return self._reference(f)
        if f.event_time:
            return self._timestamp(f)
        if t == "timestamp":
            return self._timestamp(f)
        if f.enum is not None:
            if f.distribution == "zipf":
                pick = self._zipf_index(f, len(f.enum))
                values = f.enum
                return lambda rec, et: values[pick()]
            return self._enum(f)
        if f.sequence is not None:
            start, step = f.sequence
            state = [start - step]

            def seq(rec: dict, et: int) -> Any:
                state[0] += step
                return state[0] if t != "string" else f"{f.name}_{state[0]}"

            return seq
        if t == "string":
            if f.pattern:
                from velostream.testing.patterns import pattern_generator

                draw = pattern_generator(f.pattern, self.rng)
                return lambda rec, et: draw()
            if f.length is not None:
                lo, hi = f.length
                letters = "abcdefghijklmnopqrstuvwxyz"

                def text(rec: dict, et: int) -> str:
                    n = lo + int(rand() * (hi - lo + 1))
                    return "".join(letters[int(rand() * 26)] for _ in range(n))

                return text
            n = f.cardinality or self.keys
            names = [f"{f.name}_{k}" for k in range(n)]
            if f.distribution == "zipf":
                pick = self._zipf_index(f, n)
                return lambda rec, et: names[pick()]
            return lambda rec, et: names[int(rand() * n)]
        if t == "boolean":
            p = f.probability
            return lambda rec, et: rand() < p
        if t == "uuid":
            bits = self.rng.getrandbits
            return lambda rec, et: str(uuid.UUID(int=bits(128), version=4))
        if t == "date":
            return self._date(f)
        return self._number(f)

    def _enum(self, f: FieldSpec) -> FieldFn:
        rand = self.rng.random
        values = f.enum or []
        n = len(values)
        if f.weights is None:
            return lambda rec, et: values[int(rand() * n)]
        total = sum(f.weights)
        cum = []
        acc = 0.0
        for w in f.weights:
            acc += w / total
            cum.append(acc)
        cum[-1] = 1.0
        last = n - 1
        return lambda rec, et: values[min(bisect.bisect_right(cum, rand()), last)]

    def _zipf_index(self, f: FieldSpec, n: int) -> Callable[[], int]:
        """A draw of a 0-based rank: P(rank k+1) proportional to 1 / (k+1)^s."""
        s = float(f.params.get("exponent", 1.0))
        cum, acc = [], 0.0
        for k in range(1, n + 1):
            acc += k**-s
            cum.append(acc)
        total = acc
        rand = self.rng.random
        last = n - 1
        return lambda: min(bisect.bisect_right(cum, rand() * total), last)

    def _number(self, f: FieldSpec) -> FieldFn:
        rand = self.rng.random
        integer = f.type == "integer"
        lo, hi = f.lo, f.hi
        if lo is None:
            lo, hi = {"integer": (0, 1000), "float": (0.0, 1.0), "decimal": (0, 1000)}[f.type]
        dist = f.distribution
        finish = self._finisher(f, lo, hi)
        if dist == "random_walk":
            return self._walk(f, lo, hi, finish)
        if dist == "normal":
            mean, sd = f.params["mean"], f.params["std_dev"]
            gauss = self.rng.gauss
            return lambda rec, et: finish(gauss(mean, sd))
        if dist == "log_normal":
            mean, sd = f.params["mean"], f.params["std_dev"]
            lnv = self.rng.lognormvariate
            return lambda rec, et: finish(lnv(mean, sd))
        if dist == "zipf":
            n = int(f.params.get("n") or (int(hi) - int(lo) + 1 if f.lo is not None else 100))
            pick = self._zipf_index(f, n)
            base = int(lo) if f.lo is not None else 1
            return lambda rec, et: finish(base + pick())
        if integer:
            lo_i, span = math.ceil(lo), math.floor(hi) - math.ceil(lo) + 1
            return lambda rec, et: lo_i + int(rand() * span)
        if f.type == "decimal":  # a uniform scaled integer: exact at its scale
            fct = 10**f.scale
            lo_s = math.ceil(lo * fct)
            span_s = math.floor(hi * fct) - lo_s + 1
            e = -f.scale
            return lambda rec, et: Decimal(lo_s + int(rand() * span_s)).scaleb(e)
        width = hi - lo
        return lambda rec, et: lo + rand() * width

    def _finisher(self, f: FieldSpec, lo: float, hi: float) -> Callable[[float], Any]:
        """Clamps a drawn number into the range (when one is given) and types it."""
        clamp = f.lo is not None
        if f.type == "integer":
            return lambda x: int(min(max(round(x), lo), hi)) if clamp else round(x)
        if f.type == "decimal":
            fct, e = 10**f.scale, -f.scale
            return lambda x: Decimal(round((min(max(x, lo), hi) if clamp else x) * fct)).scaleb(e)
        return lambda x: float(min(max(x, lo), hi)) if clamp else float(x)

    def _walk(self, f: FieldSpec, lo: float, hi: float, finish: Callable[[float], Any]) -> FieldFn:
        """Geometric Brownian motion S' = S * (1 + drift + volatility * Z), one path per value
        of `group_by`, starting at `start` (else uniform in the range)."""
        rng = self.rng
        drift = float(f.params.get("drift", 0.0))
        vol = float(f.params.get("volatility", 0.01))
        group = f.params.get("group_by")
        start = f.params.get("start")
        below, above = bool(f.params.get("allow_below_min")), bool(f.params.get("allow_above_max"))
        paths: dict[Any, float] = {}

        def gen(rec: dict, et: int) -> Any:
            key = rec.get(group) if group else None
            cur = paths.get(key)
            if cur is None:
                cur = float(start) if start is not None else lo + rng.random() * (hi - lo)
            else:
                cur *= 1.0 + drift + vol * rng.gauss(0.0, 1.0)
                if not below:
                    cur = max(cur, lo)
                if not above:
                    cur = min(cur, hi)
            paths[key] = cur
            if f.type == "integer":
                return round(cur)
            if f.type == "decimal":
                return Decimal(round(cur * 10**f.scale)).scaleb(-f.scale)
            return cur

        return gen

    def _timestamp(self, f: FieldSpec) -> FieldFn:
        fmt = "epoch_seconds" if f.type == "integer" and f.format == "epoch_seconds" else f.format
        if f.event_time or f.lo is None:
            base: FieldFn = lambda rec, et: et  # noqa: E731  the simulated clock
        else:
            lo = resolve_time(f.lo, self.now_ms, f"field {f.name!r}: start")
            hi = resolve_time(f.hi, self.now_ms, f"field {f.name!r}: end")
            if lo > hi:
                raise SchemaError(f"field {f.name!r}: timestamp start is after end")
            rand, span = self.rng.random, hi - lo + 1
            base = lambda rec, et: lo + int(rand() * span)  # noqa: E731
        if fmt == "epoch_seconds":
            return lambda rec, et: base(rec, et) // 1000
        if fmt == "iso8601":
            return lambda rec, et: iso_ms(base(rec, et))
        return base

    def _date(self, f: FieldSpec) -> FieldFn:
        lo = resolve_time(f.lo if f.lo is not None else "-365d", self.now_ms, f.name) // 86_400_000
        hi = resolve_time(f.hi if f.hi is not None else "now", self.now_ms, f.name) // 86_400_000
        rand, span = self.rng.random, hi - lo + 1
        epoch = dt.date(1970, 1, 1)
        return lambda rec, et: (epoch + dt.timedelta(days=lo + int(rand() * span))).isoformat()

    def _reference(self, f: FieldSpec) -> FieldFn:
        """A foreign key: a value of `field` in a row of another input, drawn uniformly;
        `match_rate` < 1 makes the rest keys that match nothing."""
        src, col = f.references or ("", "")
        rows = self.references.get(src.lower())
        if rows is None and f.params.get("references_file"):
            from velostream.testing.data import read_rows

            rows = read_rows(f.params["references_file"])
        if rows is None:
            raise SchemaError(
                f"field {f.name!r} references {src}.{col}, but there is no input {src!r} "
                "(give it an input in the spec, or references.file)"
            )
        values = [r.get(col) for r in rows if r.get(col) is not None]
        if not values:
            raise SchemaError(f"field {f.name!r} references {src}.{col}, which has no values")
        rand, n, rate = self.rng.random, len(values), f.match_rate
        counter = [0]

        def gen(rec: dict, et: int) -> Any:
            if rate < 1.0 and rand() >= rate:
                counter[0] += 1
                return f"{f.name}_unmatched_{counter[0]}"
            return values[int(rand() * n)]

        return gen


def _expression_fields(text: str) -> set[str]:
    """The (lower-case) column names an SQL expression reads."""
    from sqlglot import exp

    from velostream.errors import SqlError
    from velostream.sql.parse import parse_statement

    try:
        stmt = parse_statement(f"SELECT {text}")
    except SqlError as e:
        raise SchemaError(f"derived expression {text!r}: {e.message}") from None
    q = stmt.query
    return {c.name.lower() for c in q.find_all(exp.Column)} if q is not None else set()


def iso_ms(ms: int) -> str:
    """Epoch ms as ISO 8601 UTC with milliseconds."""
    t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def generate_rows(
    schema: Schema,
    count: int,
    seed: int | str,
    sim: TimeSimulation | None = None,
    now_ms: int = DEFAULT_NOW_MS,
    references: dict[str, list[dict]] | None = None,
    keys: int = 10,
) -> list[dict]:
    """`count` records of `schema`; each carries `_timestamp` (its arrival on the simulated
    clock) and `_event_time` (its event time: arrival with jitter, out-of-order or late).

    An integer seed seeds the generator as the `synthetic` source does (the same records as
    `velo run` makes with that seed); any other seed is used as text.
    """
    rng = random.Random(seed if isinstance(seed, int) else str(seed))
    sim = sim or TimeSimulation()
    time_field = _time_field(schema, sim)
    if time_field is not None and time_field.lo is not None and sim.start is None:
        sim = TimeSimulation(**{**sim.__dict__, "start": time_field.lo})
        if sim.rate is None and sim.end is None:
            sim.end = time_field.hi
    fns = FieldCompiler(schema, rng, now_ms, references, keys).compile()
    arrivals = sim.arrivals(count, now_ms)
    order = [f.name for f in schema.fields]
    reorder = [n for n, _ in fns] != order
    rows: list[dict] = []
    jitter, ooo, late = sim.jitter_ms, sim.out_of_order, sim.late
    rand = rng.random
    for i in range(count):
        arrival = arrivals[i]
        et = arrival
        if late and rand() < late:
            et = arrival - sim.late_delay_ms
        elif ooo and rand() < ooo:
            et = arrival - 1 - int(rand() * sim.max_delay_ms)
        elif jitter:
            et = arrival + int(rand() * (2 * jitter + 1)) - jitter
        rec: dict[str, Any] = {}
        for name, fn in fns:
            rec[name] = fn(rec, et)
        if reorder:  # derived fields were made last: back to the schema's order
            rec = {n: rec[n] for n in order}
        rec["_event_time"] = et
        rec["_timestamp"] = arrival
        rows.append(rec)
    return rows


def _time_field(schema: Schema, sim: TimeSimulation) -> FieldSpec | None:
    """The field that carries the simulated event time (marked `event_time` on the schema)."""
    if sim.field is not None:
        f = schema.field(sim.field)
        if f is None:
            raise SchemaError(
                f"time_simulation.field {sim.field!r} is not a field of the schema "
                f"(fields: {', '.join(x.name for x in schema.fields)})"
            )
        f.event_time = True
        return f
    for f in schema.fields:
        if f.type == "timestamp" and (f.event_time or f.lo is None):
            f.event_time = True
            return f
    return None
