"""Aggregates that keep values: FIRST/LAST, STRING_AGG, COUNT_DISTINCT, MEDIAN, percentiles, DELTA."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from velostream.errors import SqlError
from velostream.functions.aggregates import MaxAcc, MinAcc
from velostream.functions.registry import register_aggregate
from velostream.values import DEC_CTX, decimal_scale, sub, to_string, type_name

_STR = str


def _freeze(v: Any) -> Any:
    """A hashable stand-in for a value (ARRAY and MAP values are not hashable)."""
    t = type(v)
    if t is list or t is tuple:
        return tuple(_freeze(x) for x in v)
    if t is dict:
        return tuple(sorted((str(k), _freeze(x)) for k, x in v.items()))
    return v


class FirstValueAcc:
    """FIRST_VALUE(x) as an aggregate: the first non-NULL value in processing order."""

    __slots__ = ("v",)

    def __init__(self) -> None:
        self.v: Any = None

    def add(self, v: Any) -> None:
        if self.v is None:
            self.v = v

    def result(self) -> Any:
        return self.v

    def merge(self, other: FirstValueAcc) -> None:
        # ``other`` holds rows that came after ours: keep our first unless we have none.
        if self.v is None:
            self.v = other.v

    def copy(self) -> FirstValueAcc:
        c = type(self)()
        c.v = self.v
        return c


class LastValueAcc(FirstValueAcc):
    """LAST_VALUE(x) as an aggregate: the last non-NULL value in processing order."""

    __slots__ = ()

    def add(self, v: Any) -> None:
        self.v = v

    def merge(self, other: FirstValueAcc) -> None:
        if other.v is not None:
            self.v = other.v


class StringAggAcc:
    """STRING_AGG(x, delimiter): the values as text joined in processing order."""

    __slots__ = ("delimiter", "parts")

    def __init__(self, delimiter: Any = ",") -> None:
        self.delimiter = "" if delimiter is None else to_string(delimiter)
        self.parts: list[str] = []

    def add(self, v: Any) -> None:
        self.parts.append(v if type(v) is _STR else to_string(v))

    def result(self) -> str | None:
        return self.delimiter.join(self.parts) if self.parts else None

    def merge(self, other: StringAggAcc) -> None:
        self.parts.extend(other.parts)

    def copy(self) -> StringAggAcc:
        c = StringAggAcc.__new__(StringAggAcc)
        c.delimiter = self.delimiter
        c.parts = list(self.parts)
        return c


class CountDistinctAcc:
    """COUNT_DISTINCT(x) / COUNT(DISTINCT x): the number of distinct non-NULL values (exact)."""

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: set[Any] = set()

    def add(self, v: Any) -> None:
        try:
            self.seen.add(v)
        except TypeError:  # an ARRAY or MAP value
            self.seen.add(_freeze(v))

    def result(self) -> int:
        return len(self.seen)

    def merge(self, other: CountDistinctAcc) -> None:
        self.seen |= other.seen

    def copy(self) -> CountDistinctAcc:
        c = CountDistinctAcc()
        c.seen = set(self.seen)
        return c


def _fraction(p: Any, func: str) -> Decimal:
    """A percentile fraction as an exact Decimal in [0, 1] (0.95 as written, not its binary)."""
    t = type(p)
    if t is Decimal:
        d = p
    elif t is int:
        d = Decimal(p)
    elif t is float and math.isfinite(p):
        d = Decimal(repr(p))
    else:
        raise SqlError(f"{func} needs a fraction between 0 and 1, got {p!r}", kind="type")
    if d < 0 or d > 1:
        raise SqlError(f"{func} needs a fraction between 0 and 1, got {p!r}", kind="type")
    return d


def _check_number(v: Any, func: str) -> None:
    t = type(v)
    if t is not int and t is not float and t is not Decimal:
        raise SqlError(f"{func} needs numbers, got {type_name(v)} {v!r}", kind="type")


def _sorted(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        raise SqlError("cannot order values of different types", kind="type") from None
    except ArithmeticError:  # a Decimal against a float NaN
        return sorted(values, key=float)


def _interpolate(values: list[Any], fraction: Decimal) -> Any:
    """PERCENTILE_CONT over sorted values: linear interpolation between neighbours.

    DECIMAL data interpolates exactly (result trimmed back to the data's scale when that loses
    nothing); BIGINT/DOUBLE data gives a DOUBLE.
    """
    n = len(values)
    rank = fraction * (n - 1)
    lo = int(rank.to_integral_value(rounding=ROUND_FLOOR))
    hi = int(rank.to_integral_value(rounding=ROUND_CEILING))
    a, b = values[lo], values[hi]
    if any(type(v) is Decimal for v in (a, b)) and not any(type(v) is float for v in (a, b)):
        da = a if type(a) is Decimal else Decimal(a)
        db = b if type(b) is Decimal else Decimal(b)
        if lo == hi:
            return da
        frac = DEC_CTX.subtract(rank, lo)
        out = DEC_CTX.add(da, DEC_CTX.multiply(DEC_CTX.subtract(db, da), frac))
        scale = max(decimal_scale(da), decimal_scale(db))
        trimmed = out.quantize(Decimal((0, (1,), -scale)), context=DEC_CTX)
        return trimmed if trimmed == out else out
    fa, fb = float(a), float(b)
    if lo == hi:
        return fa
    return fa + (fb - fa) * float(rank - lo)


class PercentileContAcc:
    """PERCENTILE_CONT(x, p): the p-th percentile, interpolated (MEDIAN is p = 0.5)."""

    __slots__ = ("fraction", "name", "values")

    def __init__(self, fraction: Any = 0.5, name: str = "PERCENTILE_CONT") -> None:
        self.fraction = _fraction(fraction, name)
        self.name = name
        self.values: list[Any] = []

    def add(self, v: Any) -> None:
        _check_number(v, self.name)
        self.values.append(v)

    def result(self) -> Any:
        if not self.values:
            return None
        return _interpolate(_sorted(self.values), self.fraction)

    def merge(self, other: PercentileContAcc) -> None:
        self.values.extend(other.values)

    def copy(self) -> PercentileContAcc:
        c = type(self).__new__(type(self))
        c.fraction, c.name, c.values = self.fraction, self.name, list(self.values)
        return c


class MedianAcc(PercentileContAcc):
    """MEDIAN(x): the middle value (the mean of the two middle values for an even count)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(Decimal("0.5"), "MEDIAN")


class PercentileDiscAcc(PercentileContAcc):
    """PERCENTILE_DISC(x, p): the first value whose cumulative share reaches p (no interpolation)."""

    __slots__ = ()

    def __init__(self, fraction: Any = 0.5) -> None:
        super().__init__(fraction, "PERCENTILE_DISC")

    def add(self, v: Any) -> None:
        self.values.append(v)  # any orderable type

    def result(self) -> Any:
        if not self.values:
            return None
        ordered = _sorted(self.values)
        position = (self.fraction * len(ordered)).to_integral_value(rounding=ROUND_CEILING)
        return ordered[max(int(position) - 1, 0)]


class DeltaAcc:
    """DELTA(x): MAX(x) - MIN(x)."""

    __slots__ = ("hi", "lo")

    def __init__(self) -> None:
        self.lo = MinAcc()
        self.hi = MaxAcc()

    def add(self, v: Any) -> None:
        self.lo.add(v)
        self.hi.add(v)

    def result(self) -> Any:
        return sub(self.hi.v, self.lo.v)

    def merge(self, other: DeltaAcc) -> None:
        self.lo.merge(other.lo)
        self.hi.merge(other.hi)

    def copy(self) -> DeltaAcc:
        c = DeltaAcc()
        c.lo, c.hi = self.lo.copy(), self.hi.copy()
        return c


register_aggregate("COUNT_DISTINCT", CountDistinctAcc, 1, 1, "Number of distinct non-NULL values.")
register_aggregate(
    "APPROX_COUNT_DISTINCT",
    CountDistinctAcc,
    1,
    1,
    "Number of distinct non-NULL values (computed exactly here, not approximated).",
)
register_aggregate(
    "FIRST_VALUE",
    FirstValueAcc,
    1,
    1,
    "First non-NULL value in processing order.",
    aliases=("FIRST",),
)
register_aggregate(
    "LAST_VALUE",
    LastValueAcc,
    1,
    1,
    "Last non-NULL value in processing order.",
    aliases=("LAST",),
)
register_aggregate(
    "STRING_AGG",
    StringAggAcc,
    1,
    2,
    "Values as text joined by a delimiter (default ','): STRING_AGG(x, ', ').",
    aliases=("GROUP_CONCAT",),
)
register_aggregate(
    "LISTAGG",
    StringAggAcc,
    1,
    2,
    "Values as text joined by a delimiter (default ','): LISTAGG(x, ', ').",
    aliases=("COLLECT",),
)
register_aggregate("MEDIAN", MedianAcc, 1, 1, "Median (interpolated between the middle values).")
register_aggregate("DELTA", DeltaAcc, 1, 1, "MAX(x) - MIN(x).")
register_aggregate(
    "PERCENTILE_CONT",
    PercentileContAcc,
    2,
    2,
    "Interpolated percentile: PERCENTILE_CONT(x, 0.95) or PERCENTILE_CONT(0.95) WITHIN GROUP "
    "(ORDER BY x).",
)
register_aggregate(
    "PERCENTILE_DISC",
    PercentileDiscAcc,
    2,
    2,
    "Discrete percentile (an actual value): PERCENTILE_DISC(x, 0.95) or PERCENTILE_DISC(0.95) "
    "WITHIN GROUP (ORDER BY x).",
)
