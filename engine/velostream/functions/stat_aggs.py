"""Statistical aggregates (DOUBLE results): variance, standard deviation, covariance, regression.

One-pass and numerically stable (Welford's update; Chan et al.'s formula to merge partials).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from velostream.errors import SqlError
from velostream.functions.registry import register_aggregate
from velostream.values import type_name


def _as_float(v: Any, func: str) -> float:
    t = type(v)
    if t is float:
        return v
    if t is int or t is Decimal:
        return float(v)
    raise SqlError(f"{func} needs numbers, got {type_name(v)} {v!r}", kind="type")


class _MomentsAcc:
    """Count, mean and sum of squared deviations of one variable."""

    __slots__ = ("m2", "mean", "n")
    NAME = "VARIANCE"

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0

    def add(self, v: Any) -> None:
        x = v if type(v) is float else _as_float(v, self.NAME)
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    def merge(self, other: _MomentsAcc) -> None:
        if other.n == 0:
            return
        if self.n == 0:
            self.n, self.mean, self.m2 = other.n, other.mean, other.m2
            return
        n = self.n + other.n
        delta = other.mean - self.mean
        self.mean += delta * other.n / n
        self.m2 += other.m2 + delta * delta * self.n * other.n / n
        self.n = n

    def copy(self) -> Any:
        c = type(self)()
        c.n, c.mean, c.m2 = self.n, self.mean, self.m2
        return c

    def result(self) -> float | None:  # pragma: no cover - overridden
        raise NotImplementedError


class VarSampAcc(_MomentsAcc):
    """VARIANCE / VAR_SAMP: sample variance; NULL for fewer than two values."""

    __slots__ = ()
    NAME = "VAR_SAMP"

    def result(self) -> float | None:
        return self.m2 / (self.n - 1) if self.n > 1 else None


class VarPopAcc(_MomentsAcc):
    """VAR_POP: population variance."""

    __slots__ = ()
    NAME = "VAR_POP"

    def result(self) -> float | None:
        return self.m2 / self.n if self.n > 0 else None


class StddevSampAcc(_MomentsAcc):
    """STDDEV / STDDEV_SAMP: sample standard deviation; NULL for fewer than two values."""

    __slots__ = ()
    NAME = "STDDEV_SAMP"

    def result(self) -> float | None:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else None


class StddevPopAcc(_MomentsAcc):
    """STDDEV_POP: population standard deviation."""

    __slots__ = ()
    NAME = "STDDEV_POP"

    def result(self) -> float | None:
        return math.sqrt(self.m2 / self.n) if self.n > 0 else None


class _CoMomentsAcc:
    """Count, means, squared deviations and co-deviation of pairs (y, x)."""

    __slots__ = ("cxy", "m2x", "m2y", "mx", "my", "n")
    NAME = "COVAR"

    def __init__(self) -> None:
        self.n = 0
        self.mx = self.my = self.m2x = self.m2y = self.cxy = 0.0

    def add(self, y: Any, x: Any) -> None:
        fy = y if type(y) is float else _as_float(y, self.NAME)
        fx = x if type(x) is float else _as_float(x, self.NAME)
        self.n += 1
        n = self.n
        dx = fx - self.mx
        dy = fy - self.my
        self.mx += dx / n
        self.my += dy / n
        self.m2x += dx * (fx - self.mx)
        self.m2y += dy * (fy - self.my)
        self.cxy += dx * (fy - self.my)

    def merge(self, other: _CoMomentsAcc) -> None:
        if other.n == 0:
            return
        if self.n == 0:
            self.n, self.mx, self.my = other.n, other.mx, other.my
            self.m2x, self.m2y, self.cxy = other.m2x, other.m2y, other.cxy
            return
        na, nb = self.n, other.n
        n = na + nb
        dx = other.mx - self.mx
        dy = other.my - self.my
        w = na * nb / n
        self.mx += dx * nb / n
        self.my += dy * nb / n
        self.m2x += other.m2x + dx * dx * w
        self.m2y += other.m2y + dy * dy * w
        self.cxy += other.cxy + dx * dy * w
        self.n = n

    def copy(self) -> Any:
        c = type(self)()
        c.n, c.mx, c.my, c.m2x, c.m2y, c.cxy = (
            self.n,
            self.mx,
            self.my,
            self.m2x,
            self.m2y,
            self.cxy,
        )
        return c

    def result(self) -> float | None:  # pragma: no cover - overridden
        raise NotImplementedError


class CovarPopAcc(_CoMomentsAcc):
    """COVAR_POP(y, x)."""

    __slots__ = ()
    NAME = "COVAR_POP"

    def result(self) -> float | None:
        return self.cxy / self.n if self.n > 0 else None


class CovarSampAcc(_CoMomentsAcc):
    """COVAR_SAMP(y, x); NULL for fewer than two pairs."""

    __slots__ = ()
    NAME = "COVAR_SAMP"

    def result(self) -> float | None:
        return self.cxy / (self.n - 1) if self.n > 1 else None


class CorrAcc(_CoMomentsAcc):
    """CORR(y, x): Pearson's correlation; NULL when either variable is constant."""

    __slots__ = ()
    NAME = "CORR"

    def result(self) -> float | None:
        if self.n < 1 or self.m2x <= 0.0 or self.m2y <= 0.0:
            return None
        return self.cxy / math.sqrt(self.m2x * self.m2y)


class RegrSlopeAcc(_CoMomentsAcc):
    """REGR_SLOPE(y, x): slope of the least-squares line; NULL when x is constant."""

    __slots__ = ()
    NAME = "REGR_SLOPE"

    def result(self) -> float | None:
        if self.n < 1 or self.m2x <= 0.0:
            return None
        return self.cxy / self.m2x


class RegrInterceptAcc(_CoMomentsAcc):
    """REGR_INTERCEPT(y, x): intercept of the least-squares line; NULL when x is constant."""

    __slots__ = ()
    NAME = "REGR_INTERCEPT"

    def result(self) -> float | None:
        if self.n < 1 or self.m2x <= 0.0:
            return None
        return self.my - (self.cxy / self.m2x) * self.mx


class RegrR2Acc(_CoMomentsAcc):
    """REGR_R2(y, x): coefficient of determination; NULL when x is constant, 1 when y is."""

    __slots__ = ()
    NAME = "REGR_R2"

    def result(self) -> float | None:
        if self.n < 1 or self.m2x <= 0.0:
            return None
        if self.m2y <= 0.0:
            return 1.0
        return (self.cxy * self.cxy) / (self.m2x * self.m2y)


register_aggregate(
    "STDDEV",
    StddevSampAcc,
    1,
    1,
    "Sample standard deviation (NULL for fewer than 2 values).",
    aliases=("STDDEV_SAMP",),
)
register_aggregate("STDDEV_POP", StddevPopAcc, 1, 1, "Population standard deviation.")
register_aggregate(
    "VARIANCE",
    VarSampAcc,
    1,
    1,
    "Sample variance (NULL for fewer than 2 values).",
    aliases=("VAR_SAMP",),
)
register_aggregate("VAR_POP", VarPopAcc, 1, 1, "Population variance.")
register_aggregate(
    "CORR", CorrAcc, 2, 2, "Pearson correlation coefficient: CORR(y, x).", value_args=2
)
register_aggregate(
    "COVAR_POP", CovarPopAcc, 2, 2, "Population covariance: COVAR_POP(y, x).", value_args=2
)
register_aggregate(
    "COVAR_SAMP", CovarSampAcc, 2, 2, "Sample covariance: COVAR_SAMP(y, x).", value_args=2
)
register_aggregate(
    "REGR_SLOPE",
    RegrSlopeAcc,
    2,
    2,
    "Slope of the least-squares line: REGR_SLOPE(y, x).",
    value_args=2,
)
register_aggregate(
    "REGR_INTERCEPT",
    RegrInterceptAcc,
    2,
    2,
    "Intercept of the least-squares line: REGR_INTERCEPT(y, x).",
    value_args=2,
)
register_aggregate(
    "REGR_R2", RegrR2Acc, 2, 2, "Coefficient of determination: REGR_R2(y, x).", value_args=2
)
