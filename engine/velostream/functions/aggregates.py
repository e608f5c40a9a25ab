"""Aggregate accumulators: one small ``__slots__`` object per group and aggregate.

The runtime never passes NULL to ``add`` (aggregates skip NULLs), except that COUNT(*) is
called with no arguments for every row. COUNT/SUM/AVG/MIN/MAX are on the hot path: ``add`` does
the least work it can, and SUM/AVG keep int, float and DECIMAL partial sums apart so that a
DECIMAL total stays exact and an int total stays an int.

runtime/vectorized.py folds Polars partials straight into these objects, so the state
attributes (``CountAcc.n``, ``SumAcc``/``AvgAcc`` ``i f d n has_f has_d``, ``MinAcc.v``) are
part of the contract: rename none of them without changing it too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from velostream.errors import SqlError
from velostream.functions.registry import AGGREGATES, AggregateFunction, register_aggregate
from velostream.values import DEC_CTX, _decimal_div, lt, type_name

_DZERO = Decimal(0)
_dec_add = DEC_CTX.add


def _not_numeric(func: str, v: Any) -> SqlError:
    return SqlError(f"{func} needs numbers, got {type_name(v)} {v!r}", kind="type")


class CountStarAcc:
    """COUNT(*): counts rows (``add()`` takes no value)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def add(self) -> None:
        self.n += 1

    def result(self) -> int:
        return self.n

    def merge(self, other: CountStarAcc) -> None:
        self.n += other.n

    def copy(self) -> CountStarAcc:
        c = CountStarAcc()
        c.n = self.n
        return c


class CountAcc:
    """COUNT(x): counts non-NULL values (the runtime skips the NULLs)."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def add(self, v: Any) -> None:
        self.n += 1

    def result(self) -> int:
        return self.n

    def merge(self, other: CountAcc) -> None:
        self.n += other.n

    def copy(self) -> CountAcc:
        c = CountAcc()
        c.n = self.n
        return c


class SumAcc:
    """SUM(x): ints stay an int, DECIMALs an exact DECIMAL, any DOUBLE makes a DOUBLE."""

    __slots__ = ("d", "f", "has_d", "has_f", "i", "n")

    def __init__(self) -> None:
        self.i = 0
        self.f = 0.0
        self.d = _DZERO
        self.n = 0
        self.has_f = False
        self.has_d = False

    def add(self, v: Any) -> None:
        t = type(v)
        if t is int:
            self.i += v
        elif t is Decimal:
            self.d = _dec_add(self.d, v)
            self.has_d = True
        elif t is float:
            self.f += v
            self.has_f = True
        else:
            raise _not_numeric(type(self).__name__[:3].upper(), v)
        self.n += 1

    def _total(self) -> Any:
        if self.has_f:
            return self.i + self.f + float(self.d)
        if self.has_d:
            return _dec_add(self.d, self.i)
        return self.i

    def result(self) -> Any:
        return None if self.n == 0 else self._total()

    def merge(self, other: SumAcc) -> None:
        self.i += other.i
        self.f += other.f
        self.d = _dec_add(self.d, other.d)
        self.n += other.n
        self.has_f = self.has_f or other.has_f
        self.has_d = self.has_d or other.has_d

    def copy(self) -> SumAcc:
        c = type(self)()
        c.i, c.f, c.d, c.n, c.has_f, c.has_d = (
            self.i,
            self.f,
            self.d,
            self.n,
            self.has_f,
            self.has_d,
        )
        return c


class AvgAcc(SumAcc):
    """AVG(x): ints give a DOUBLE; DECIMALs a DECIMAL of scale max(scale + 4, 6), half up."""

    __slots__ = ()

    def result(self) -> Any:
        n = self.n
        if n == 0:
            return None
        if self.has_f:
            return (self.i + self.f + float(self.d)) / n
        if self.has_d:
            return _decimal_div(_dec_add(self.d, self.i), n)
        return self.i / n


class MinAcc:
    """MIN(x): the smallest value (numbers compare exactly across int, DECIMAL and DOUBLE)."""

    __slots__ = ("v",)

    def __init__(self) -> None:
        self.v: Any = None

    def add(self, v: Any) -> None:
        cur = self.v
        if cur is None:
            self.v = v
            return
        try:
            if v < cur:
                self.v = v
        except (TypeError, ArithmeticError):  # mixed types, or a Decimal vs a NaN
            if lt(v, cur):
                self.v = v

    def result(self) -> Any:
        return self.v

    def merge(self, other: MinAcc) -> None:
        if other.v is not None:
            self.add(other.v)

    def copy(self) -> MinAcc:
        c = type(self)()
        c.v = self.v
        return c


class MaxAcc(MinAcc):
    """MAX(x): the largest value."""

    __slots__ = ()

    def add(self, v: Any) -> None:
        cur = self.v
        if cur is None:
            self.v = v
            return
        try:
            if v > cur:
                self.v = v
        except (TypeError, ArithmeticError):  # mixed types, or a Decimal vs a NaN
            if lt(cur, v):
                self.v = v


class DistinctAcc:
    """Wraps an accumulator so it sees each distinct value once (SUM(DISTINCT x) and the like)."""

    __slots__ = ("inner", "seen")

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: set[Any] = set()

    def add(self, *values: Any) -> None:
        key = values[0] if len(values) == 1 else values
        if key not in self.seen:
            self.seen.add(key)
            self.inner.add(*values)

    def result(self) -> Any:
        return self.inner.result()

    def merge(self, other: DistinctAcc) -> None:
        for key in other.seen:
            if key not in self.seen:
                self.seen.add(key)
                self.inner.add(*(key if type(key) is tuple else (key,)))

    def copy(self) -> DistinctAcc:
        c = DistinctAcc(self.inner.copy())
        c.seen = set(self.seen)
        return c


# --------------------------------------------------------------------------- registration

COUNT_STAR = AggregateFunction(
    "COUNT", CountStarAcc, 0, 0, "aggregate", "Number of rows (COUNT(*)).", value_args=0
)

register_aggregate(
    "COUNT", CountAcc, 1, 1, "Number of rows; COUNT(x) counts non-NULL x, COUNT(*) every row."
)
register_aggregate("SUM", SumAcc, 1, 1, "Sum of the non-NULL values (exact for DECIMAL).")
register_aggregate(
    "AVG", AvgAcc, 1, 1, "Average; DECIMAL gives DECIMAL (scale max(s+4, 6)), BIGINT a DOUBLE."
)
register_aggregate("MIN", MinAcc, 1, 1, "Smallest non-NULL value.")
register_aggregate("MAX", MaxAcc, 1, 1, "Largest non-NULL value.")


def resolve_aggregate(
    name: str, *, star: bool = False, distinct: bool = False
) -> AggregateFunction:
    """The aggregate to run for a call: COUNT(*) -> COUNT_STAR, AGG(DISTINCT x) -> a distinct form.

    ``COUNT(DISTINCT x)`` is COUNT_DISTINCT; any other ``AGG(DISTINCT ...)`` wraps the
    aggregate's accumulators in `DistinctAcc`. Raises KeyError for an unknown name.
    """
    key = name.upper()
    if star:
        if key != "COUNT":
            raise KeyError(f"{name}(*) is not an aggregate; only COUNT(*) is")
        return COUNT_STAR
    agg = AGGREGATES[key]
    if not distinct:
        return agg
    if key == "COUNT" and "COUNT_DISTINCT" in AGGREGATES:
        return AGGREGATES["COUNT_DISTINCT"]
    inner = agg.factory

    def factory(*constants: Any) -> DistinctAcc:
        return DistinctAcc(inner(*constants))

    return AggregateFunction(
        agg.name,
        factory,
        agg.min_args,
        agg.max_args,
        agg.category,
        agg.description,
        agg.value_args,
    )
