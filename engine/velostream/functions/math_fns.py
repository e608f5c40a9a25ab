"""Math functions: ABS, ROUND, CEIL, FLOOR, SQRT, POWER, MOD, LEAST, GREATEST."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from velostream.errors import SqlError
from velostream.functions.registry import register_scalar
from velostream.values import DEC_CTX, gt, lt, mod, round_half_up, type_name


def _not_number(func: str, v: Any) -> SqlError:
    return SqlError(f"{func} needs a number, got {type_name(v)} {v!r}", kind="type")


def _int_arg(func: str, v: Any) -> int:
    t = type(v)
    if t is int:
        return v
    if t is Decimal and v.is_finite() and v == v.to_integral_value():
        return int(v)
    if t is float and math.isfinite(v) and v.is_integer():
        return int(v)
    raise SqlError(f"{func} needs an integer, got {type_name(v)} {v!r}", kind="type")


def abs_(x: Any) -> Any:
    """ABS(x): absolute value, same type."""
    t = type(x)
    if t is int or t is float:
        return abs(x)
    if t is Decimal:
        return x.copy_abs()
    raise _not_number("ABS", x)


def round_(x: Any, digits: Any = 0) -> Any:
    """ROUND(x[, d]): half away from zero, exact on DECIMAL; floats round their shortest text.

    A DOUBLE is rounded as the decimal number it prints as (``ROUND(1.005e0, 2)`` is 1.01, not
    the 1.0 its binary value 1.00499.. would give); d may be negative (ROUND(1250, -2) = 1300).
    """
    d = _int_arg("ROUND", digits)
    if abs(d) > 1000:
        raise SqlError(f"ROUND to {d} places is out of range", kind="runtime")
    t = type(x)
    if t is Decimal:
        return round_half_up(x, d)
    if t is int:
        return x if d >= 0 else int(round_half_up(Decimal(x), d))
    if t is float:
        if not math.isfinite(x):
            return x
        return float(round_half_up(Decimal(repr(x)), d))
    raise _not_number("ROUND", x)


def ceil_(x: Any) -> Any:
    """CEIL(x): the smallest integer >= x, as BIGINT (as Velostream does)."""
    t = type(x)
    if t is int:
        return x
    if t is float:
        if not math.isfinite(x):
            raise SqlError(f"CEIL of {x!r}", kind="runtime")
        return math.ceil(x)
    if t is Decimal:
        return int(x.to_integral_value(rounding=ROUND_CEILING))
    raise _not_number("CEIL", x)


def floor_(x: Any) -> Any:
    """FLOOR(x): the largest integer <= x, as BIGINT."""
    t = type(x)
    if t is int:
        return x
    if t is float:
        if not math.isfinite(x):
            raise SqlError(f"FLOOR of {x!r}", kind="runtime")
        return math.floor(x)
    if t is Decimal:
        return int(x.to_integral_value(rounding=ROUND_FLOOR))
    raise _not_number("FLOOR", x)


def _float_arg(func: str, v: Any) -> float:
    t = type(v)
    if t is float:
        return v
    if t is int or t is Decimal:
        return float(v)
    raise _not_number(func, v)


def sqrt_(x: Any) -> float:
    """SQRT(x): DOUBLE; a negative argument is an error."""
    f = _float_arg("SQRT", x)
    if f < 0:
        raise SqlError(f"SQRT of a negative number ({x!r})", kind="runtime")
    return math.sqrt(f)


def power_(base: Any, exponent: Any) -> Any:
    """POWER(b, e): DOUBLE; exact DECIMAL when b is DECIMAL and e a non-negative integer."""
    if type(base) is Decimal and type(exponent) is int and 0 <= exponent <= 1000:
        if exponent == 0:
            return Decimal(1)  # Decimal refuses 0 ** 0; SQL says 1
        return DEC_CTX.power(base, exponent)
    b = _float_arg("POWER", base)
    e = _float_arg("POWER", exponent)
    try:
        return math.pow(b, e)
    except (OverflowError, ValueError):
        raise SqlError(
            f"POWER({base!r}, {exponent!r}) is not a real number", kind="runtime"
        ) from None


def least(*args: Any) -> Any:
    """LEAST(a, b, ...): the smallest non-NULL argument (NULL only when all are NULL)."""
    best = None
    for v in args:
        if v is not None and (best is None or lt(v, best)):
            best = v
    return best


def greatest(*args: Any) -> Any:
    """GREATEST(a, b, ...): the largest non-NULL argument (NULL only when all are NULL)."""
    best = None
    for v in args:
        if v is not None and (best is None or gt(v, best)):
            best = v
    return best


register_scalar("ABS", abs_, 1, 1, "math", "Absolute value.")
register_scalar(
    "ROUND", round_, 1, 2, "math", "Round to d decimal places (default 0), half away from zero."
)
register_scalar(
    "CEIL", ceil_, 1, 1, "math", "Smallest integer not less than x.", aliases=("CEILING",)
)
register_scalar("FLOOR", floor_, 1, 1, "math", "Largest integer not greater than x.")
register_scalar("SQRT", sqrt_, 1, 1, "math", "Square root (DOUBLE).")
register_scalar("POWER", power_, 2, 2, "math", "b raised to the power e.", aliases=("POW",))
register_scalar(
    "MOD", mod, 2, 2, "math", "Remainder of a / b, with the sign of a; NULL when b is 0."
)
register_scalar(
    "LEAST",
    least,
    1,
    None,
    "math",
    "Smallest of the arguments, ignoring NULLs.",
    null_propagating=False,
)
register_scalar(
    "GREATEST",
    greatest,
    1,
    None,
    "math",
    "Largest of the arguments, ignoring NULLs.",
    null_propagating=False,
)
