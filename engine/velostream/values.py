"""SQL value semantics on plain Python values: arithmetic, 3-valued logic, types and CAST.

Run-time values are plain Python objects:

======================  ==========================================
SQL type                Python
======================  ==========================================
NULL                    ``None``
BOOLEAN                 ``bool``
BIGINT / INTEGER        ``int``
DOUBLE                  ``float``
DECIMAL                 ``decimal.Decimal`` (exact, keeps its scale)
STRING                  ``str``
TIMESTAMP               ``datetime.datetime`` (naive, UTC)
DATE                    ``datetime.date``
ARRAY                   ``list``
MAP / STRUCT            ``dict``
======================  ==========================================

System time columns are ``int`` epoch milliseconds; wherever a timestamp is expected an int
epoch-ms, a datetime or an ISO 8601 string is accepted (`to_datetime`).

These functions run per record, so each one checks the common types first with ``type(x) is``
(cheaper than ``isinstance`` and it keeps ``bool`` out of the numbers: ``bool`` is a subclass
of ``int`` in Python but not a number in SQL).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from velostream.errors import SqlError

__all__ = [
    "DEC_CTX",
    "SqlType",
    "add",
    "and_",
    "between",
    "cast",
    "concat_op",
    "decimal_scale",
    "div",
    "eq",
    "ge",
    "gt",
    "in_list",
    "infer_decimal",
    "is_true",
    "le",
    "like",
    "lt",
    "mod",
    "mul",
    "ne",
    "neg",
    "not_",
    "or_",
    "parse_type",
    "round_half_up",
    "sub",
    "to_datetime",
    "to_epoch_ms",
    "to_json_value",
    "to_string",
    "type_name",
]

# Every DECIMAL operation goes through this context, never the thread's default (28 digits):
# 76 significant digits keeps + - * exact for any realistic money value (decimal128 holds 38).
DEC_CTX = Context(prec=76, rounding=ROUND_HALF_UP, Emax=999_999, Emin=-999_999)

# Division first truncates to 76 digits, then rounds once (see _decimal_div).
_DIV_CTX = Context(prec=76, rounding=ROUND_DOWN, Emax=999_999, Emin=-999_999)
_dec_add = DEC_CTX.add  # bound once: looking a method up on a Context costs more than the call
_dec_sub = DEC_CTX.subtract
_dec_mul = DEC_CTX.multiply
_dec_div_trunc = _DIV_CTX.divide

EPOCH = datetime(1970, 1, 1)
_ONE = Decimal(1)
_NUMERIC = frozenset((int, float, Decimal))


def _type_error(message: str) -> SqlError:
    return SqlError(message, kind="type")


def type_name(v: Any) -> str:
    """The SQL type name of a run-time value (for DESCRIBE and error messages)."""
    t = type(v)
    if t is int:
        return "BIGINT"
    if t is float:
        return "DOUBLE"
    if t is Decimal:
        return "DECIMAL"
    if t is str:
        return "STRING"
    if t is bool:
        return "BOOLEAN"
    if v is None:
        return "NULL"
    if t is datetime:
        return "TIMESTAMP"
    if t is date:
        return "DATE"
    if t is list or t is tuple:
        return "ARRAY"
    if t is dict:
        return "MAP"
    if isinstance(v, datetime):
        return "TIMESTAMP"
    if isinstance(v, date):
        return "DATE"
    return t.__name__.upper()


def decimal_scale(d: Decimal) -> int:
    """Digits after the point of a finite Decimal (0 for integers such as ``1E+2``)."""
    text = str(d)  # cheaper than as_tuple(); plain notation unless the exponent is extreme
    if "E" in text:
        exp = d.as_tuple().exponent
        return -exp if exp < 0 else 0  # type: ignore[operator]
    point = text.find(".")
    return len(text) - point - 1 if point >= 0 else 0


# --------------------------------------------------------------------------- arithmetic


def _numeric_operand(v: Any, op: str, other: Any) -> Any:
    """The value as a number for a mixed-type arithmetic operation, or a type error."""
    t = type(v)
    if t is int or t is float or t is Decimal:
        return v
    raise _type_error(
        f"cannot apply '{op}' to {type_name(v)} {v!r} and {type_name(other)} {other!r}"
    )


def _mixed(a: Any, b: Any, op: str) -> tuple[Any, Any, type]:
    """Coerce two numbers of different types; returns (a, b, result type)."""
    a = _numeric_operand(a, op, b)
    b = _numeric_operand(b, op, a)
    ta, tb = type(a), type(b)
    if ta is float or tb is float:
        return float(a), float(b), float
    if ta is Decimal or tb is Decimal:
        return a, b, Decimal  # the other is an int: Context methods take ints exactly
    return a, b, int


def _other_add(a: Any, b: Any) -> Any:
    if isinstance(a, datetime) and isinstance(b, timedelta):
        return a + b
    if isinstance(a, timedelta) and isinstance(b, datetime):
        return b + a
    a, b, rt = _mixed(a, b, "+")
    return _dec_add(a, b) if rt is Decimal else a + b


def add(a: Any, b: Any) -> Any:
    """``a + b``: NULL-propagating; DECIMAL exact; with a DOUBLE the result is DOUBLE."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is int:
        if tb is int or tb is float:
            return a + b
        if tb is Decimal:
            return _dec_add(a, b)
    elif ta is Decimal:
        if tb is Decimal or tb is int:
            return _dec_add(a, b)
        if tb is float:
            return float(a) + b
    elif ta is float:
        if tb is float or tb is int:
            return a + b
        if tb is Decimal:
            return a + float(b)
    return _other_add(a, b)


def sub(a: Any, b: Any) -> Any:
    """``a - b``: NULL-propagating; DECIMAL exact; with a DOUBLE the result is DOUBLE."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is int:
        if tb is int or tb is float:
            return a - b
        if tb is Decimal:
            return _dec_sub(a, b)
    elif ta is Decimal:
        if tb is Decimal or tb is int:
            return _dec_sub(a, b)
        if tb is float:
            return float(a) - b
    elif ta is float:
        if tb is float or tb is int:
            return a - b
        if tb is Decimal:
            return a - float(b)
    if isinstance(a, datetime) and isinstance(b, timedelta | datetime):
        return a - b
    a, b, rt = _mixed(a, b, "-")
    return _dec_sub(a, b) if rt is Decimal else a - b


def mul(a: Any, b: Any) -> Any:
    """``a * b``: NULL-propagating; DECIMAL exact with the natural scale (sa + sb)."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is int:
        if tb is int or tb is float:
            return a * b
        if tb is Decimal:
            return _dec_mul(a, b)
    elif ta is Decimal:
        if tb is Decimal or tb is int:
            return _dec_mul(a, b)
        if tb is float:
            return float(a) * b
    elif ta is float:
        if tb is float or tb is int:
            return a * b
        if tb is Decimal:
            return a * float(b)
    a, b, rt = _mixed(a, b, "*")
    return _dec_mul(a, b) if rt is Decimal else a * b


_QUANTUM: dict[int, Decimal] = {}


def _quantum(scale: int) -> Decimal:
    """``Decimal('1E-scale')``, cached."""
    q = _QUANTUM.get(scale)
    if q is None:
        q = _QUANTUM[scale] = Decimal((0, (1,), -scale))
    return q


def _decimal_div(a: Decimal | int, b: Decimal | int) -> Decimal:
    """Exact DECIMAL division: scale max(max input scale + 4, 6), rounded half away from zero.

    The quotient is first truncated to 76 digits, then rounded half up to the scale: truncation
    keeps every tie that lies on the result grid, so the two steps round exactly like one.
    """
    sa = decimal_scale(a) if type(a) is Decimal else 0
    sb = decimal_scale(b) if type(b) is Decimal else 0
    scale = sa if sa > sb else sb
    scale = scale + 4 if scale > 2 else 6
    try:
        q = _dec_div_trunc(a, b).quantize(_quantum(scale), ROUND_HALF_UP, DEC_CTX)
    except ArithmeticError:  # more than 76 digits at that scale
        raise SqlError(f"{a} / {b} is out of the DECIMAL range", kind="runtime") from None
    return q if q else q.copy_abs()  # no "-0.000000"


def div(a: Any, b: Any) -> Any:
    """``a / b``: NULL on a zero divisor; BIGINT/BIGINT gives DOUBLE; DECIMAL stays exact."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return None if b == 0 else a / b
    if (ta is Decimal or ta is int) and (tb is Decimal or tb is int):
        return None if b == 0 else _decimal_div(a, b)
    if ta is float or tb is float:
        a = float(_numeric_operand(a, "/", b))
        b = float(_numeric_operand(b, "/", a))
        return None if b == 0.0 else a / b
    _mixed(a, b, "/")  # raises the type error
    return None


def mod(a: Any, b: Any) -> Any:
    """``a % b`` (SQL MOD): the sign follows the dividend; NULL on a zero divisor."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        if b == 0:
            return None
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    a, b, rt = _mixed(a, b, "%")
    if b == 0:
        return None
    if rt is float:
        return math.fmod(a, b) if math.isfinite(a) else math.nan
    try:
        return DEC_CTX.remainder(Decimal(a) if type(a) is int else a, b)
    except ArithmeticError:  # the quotient needs more than 76 digits
        raise SqlError(f"MOD({a}, {b}) is out of the DECIMAL range", kind="runtime") from None


def neg(a: Any) -> Any:
    """Unary minus: NULL-propagating; exact for DECIMAL."""
    if a is None:
        return None
    t = type(a)
    if t is int or t is float:
        return -a
    if t is Decimal:
        return a.copy_negate()
    if isinstance(a, timedelta):
        return -a
    raise _type_error(f"cannot negate {type_name(a)} {a!r}")


def concat_op(a: Any, b: Any) -> Any:
    """``a || b``: string concatenation, NULL if either side is NULL."""
    if a is None or b is None:
        return None
    if type(a) is str and type(b) is str:
        return a + b
    return to_string(a) + to_string(b)


# --------------------------------------------------------------------------- comparisons


def _parse_number(s: str) -> int | Decimal | float:
    text = s.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise _type_error(f"cannot read the string {s!r} as a number") from None
    if not d.is_finite():
        return float(d)
    return d


def _coerce_pair(a: Any, b: Any, op: str) -> tuple[Any, Any]:
    """Bring two non-NULL values of different types to comparable ones (or raise)."""
    ta, tb = type(a), type(b)
    if ta in _NUMERIC and tb in _NUMERIC:
        return a, b  # Python compares int, float and Decimal exactly
    a_time = isinstance(a, date)
    b_time = isinstance(b, date)
    if a_time or b_time:
        try:
            return to_datetime(a), to_datetime(b)
        except SqlError:
            pass
    elif ta is str and tb in _NUMERIC:
        return _parse_number(a), b
    elif tb is str and ta in _NUMERIC:
        return a, _parse_number(b)
    elif ta in (list, tuple) and tb in (list, tuple):
        return list(a), list(b)
    raise _type_error(f"cannot compare {type_name(a)} {a!r} {op} {type_name(b)} {b!r}")


def eq(a: Any, b: Any) -> bool | None:
    """``a = b`` with NULL propagation (numbers compare exactly across int/DECIMAL/DOUBLE)."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is tb or (ta in _NUMERIC and tb in _NUMERIC):
        return a == b
    a, b = _coerce_pair(a, b, "=")
    return a == b


def ne(a: Any, b: Any) -> bool | None:
    """``a <> b`` with NULL propagation."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is tb or (ta in _NUMERIC and tb in _NUMERIC):
        return a != b
    a, b = _coerce_pair(a, b, "<>")
    return a != b


def lt(a: Any, b: Any) -> bool | None:
    """``a < b`` with NULL propagation."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is not tb and not (ta in _NUMERIC and tb in _NUMERIC):
        a, b = _coerce_pair(a, b, "<")
    try:
        return a < b
    except TypeError:
        raise _type_error(f"cannot compare {type_name(a)} < {type_name(b)}") from None
    except ArithmeticError:  # a Decimal against a float NaN: compare as floats (NaN: FALSE)
        return float(a) < float(b)


def le(a: Any, b: Any) -> bool | None:
    """``a <= b`` with NULL propagation."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is not tb and not (ta in _NUMERIC and tb in _NUMERIC):
        a, b = _coerce_pair(a, b, "<=")
    try:
        return a <= b
    except TypeError:
        raise _type_error(f"cannot compare {type_name(a)} <= {type_name(b)}") from None
    except ArithmeticError:  # a Decimal against a float NaN: compare as floats (NaN: FALSE)
        return float(a) <= float(b)


def gt(a: Any, b: Any) -> bool | None:
    """``a > b`` with NULL propagation."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is not tb and not (ta in _NUMERIC and tb in _NUMERIC):
        a, b = _coerce_pair(a, b, ">")
    try:
        return a > b
    except TypeError:
        raise _type_error(f"cannot compare {type_name(a)} > {type_name(b)}") from None
    except ArithmeticError:  # a Decimal against a float NaN: compare as floats (NaN: FALSE)
        return float(a) > float(b)


def ge(a: Any, b: Any) -> bool | None:
    """``a >= b`` with NULL propagation."""
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if ta is not tb and not (ta in _NUMERIC and tb in _NUMERIC):
        a, b = _coerce_pair(a, b, ">=")
    try:
        return a >= b
    except TypeError:
        raise _type_error(f"cannot compare {type_name(a)} >= {type_name(b)}") from None
    except ArithmeticError:  # a Decimal against a float NaN: compare as floats (NaN: FALSE)
        return float(a) >= float(b)


def _not_boolean(v: Any, op: str) -> SqlError:
    return _type_error(f"{op} needs BOOLEAN operands, got {type_name(v)} {v!r}")


def and_(a: Any, b: Any) -> bool | None:
    """SQL ``AND`` (three-valued): FALSE wins, then NULL, else TRUE."""
    if a is False or b is False:
        return False
    if a is True and b is True:
        return True
    if (a is None or a is True) and (b is None or b is True):
        return None
    raise _not_boolean(b if a is None or a is True else a, "AND")


def or_(a: Any, b: Any) -> bool | None:
    """SQL ``OR`` (three-valued): TRUE wins, then NULL, else FALSE."""
    if a is True or b is True:
        return True
    if a is False and b is False:
        return False
    if (a is None or a is False) and (b is None or b is False):
        return None
    raise _not_boolean(b if a is None or a is False else a, "OR")


def not_(a: Any) -> bool | None:
    """SQL ``NOT``: NULL stays NULL."""
    if a is True:
        return False
    if a is False:
        return True
    if a is None:
        return None
    raise _not_boolean(a, "NOT")


def is_true(v: Any) -> bool:
    """Whether a WHERE/HAVING condition passes: only TRUE does (not NULL, not FALSE)."""
    return v is True


_LIKE_CACHE: dict[tuple[str, str | None], re.Pattern[str]] = {}


def _compile_like(pattern: str, escape: str | None) -> re.Pattern[str]:
    key = (pattern, escape)
    compiled = _LIKE_CACHE.get(key)
    if compiled is not None:
        return compiled
    if escape is not None and len(escape) != 1:
        raise _type_error(f"LIKE escape must be one character, got {escape!r}")
    parts: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if escape is not None and c == escape:
            i += 1
            if i >= n:
                raise _type_error(f"LIKE pattern {pattern!r} ends with the escape character")
            parts.append(re.escape(pattern[i]))
        elif c == "%":
            parts.append(".*")
        elif c == "_":
            parts.append(".")
        else:
            parts.append(re.escape(c))
        i += 1
    compiled = re.compile("".join(parts), re.DOTALL)
    if len(_LIKE_CACHE) > 4096:  # patterns built per record must not grow without bound
        _LIKE_CACHE.clear()
    _LIKE_CACHE[key] = compiled
    return compiled


def like(s: Any, pattern: Any, escape: str | None = None) -> bool | None:
    """``s LIKE pattern [ESCAPE e]``: ``%`` any run, ``_`` one character; case-sensitive."""
    if s is None or pattern is None:
        return None
    if type(s) is not str:
        s = to_string(s)
    if type(pattern) is not str:
        pattern = to_string(pattern)
    return _compile_like(pattern, escape).fullmatch(s) is not None


def between(v: Any, lo: Any, hi: Any) -> bool | None:
    """``v BETWEEN lo AND hi`` (inclusive), three-valued."""
    return and_(ge(v, lo), le(v, hi))


def in_list(v: Any, items: Any) -> bool | None:
    """``v IN (items)``: TRUE on a match, else NULL if v or any item is NULL, else FALSE."""
    if v is None:
        return None
    saw_null = False
    for item in items:
        if item is None:
            saw_null = True
        elif eq(v, item):
            return True
    return None if saw_null else False


# --------------------------------------------------------------------------- time


def to_datetime(v: Any) -> datetime:
    """A TIMESTAMP from an int epoch-ms, a datetime, a date or an ISO 8601 string."""
    t = type(v)
    if t is datetime:
        return v
    try:
        return _to_datetime(v, t)
    except (OverflowError, ValueError):
        raise _type_error(f"{v!r} is out of the TIMESTAMP range") from None


def _to_datetime(v: Any, t: type) -> datetime:
    if t is int:
        return EPOCH + timedelta(milliseconds=v)
    if t is str:
        return _parse_timestamp(v)
    if t is float or t is Decimal:
        if not math.isfinite(v):
            raise _type_error(f"cannot read {v!r} as a timestamp")
        whole = int(v)
        micros = round((v - whole) * 1000)
        return EPOCH + timedelta(milliseconds=whole, microseconds=int(micros))
    if isinstance(v, datetime):
        return v if v.tzinfo is None else v.astimezone(UTC).replace(tzinfo=None)
    if isinstance(v, date):
        return datetime(v.year, v.month, v.day)
    raise _type_error(f"cannot read {type_name(v)} {v!r} as a timestamp")


_INT_TEXT = re.compile(r"-?[0-9]+")


def _parse_timestamp(s: str) -> datetime:
    text = s.strip()
    if _INT_TEXT.fullmatch(text):
        return EPOCH + timedelta(milliseconds=int(text))  # a numeric string is epoch ms
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _type_error(f"cannot read the string {s!r} as a timestamp") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def to_epoch_ms(v: Any) -> int:
    """Epoch milliseconds from an int epoch-ms, a datetime, a date or an ISO string."""
    if type(v) is int:
        return v
    d = to_datetime(v) - EPOCH
    return (d.days * 86_400_000) + (d.seconds * 1000) + (d.microseconds // 1000)


# --------------------------------------------------------------------------- text forms


def to_string(v: Any) -> str:
    """The STRING form of a value: decimals keep their scale, booleans are true/false."""
    t = type(v)
    if t is str:
        return v
    if t is int:
        return str(v)
    if t is Decimal:
        return format(v, "f")
    if t is float:
        return repr(v)
    if t is bool:
        return "true" if v else "false"
    if isinstance(v, datetime):
        return v.isoformat(timespec="milliseconds")
    if isinstance(v, date):
        return v.isoformat()
    if t is list or t is tuple or t is dict:
        import orjson

        return orjson.dumps(to_json_value(v)).decode()
    if v is None:
        return "NULL"
    return str(v)


_DECIMAL_TEXT = re.compile(r"-?[0-9]+\.[0-9]+")


def infer_decimal(s: str) -> Decimal | None:
    """The exact DECIMAL a JSON string spells, else None.

    Only a plain decimal number with a point and digits on both sides counts, with an optional
    leading minus: ``"123.45"``, ``"-0.5"``, ``"100.00"``. Not ``"100"`` (no point), not
    ``".5"``, ``"5."``, ``"+1.5"``, ``"1e5"``, nor text with spaces around it.
    """
    if "." not in s or _DECIMAL_TEXT.fullmatch(s) is None:
        return None
    return Decimal(s)


def to_json_value(v: Any) -> Any:
    """A value ready for a JSON sink: DECIMAL as a string keeping its scale, times as ISO."""
    t = type(v)
    if t is int or t is str or t is bool or v is None:
        return v
    if t is Decimal:
        return format(v, "f")
    if t is float:
        return v if math.isfinite(v) else None
    if isinstance(v, datetime):
        return v.isoformat(timespec="milliseconds")
    if isinstance(v, date):
        return v.isoformat()
    if t is list or t is tuple:
        return [to_json_value(x) for x in v]
    if t is dict:
        return {str(k): to_json_value(x) for k, x in v.items()}
    return v


# --------------------------------------------------------------------------- types and CAST


@dataclass(frozen=True, slots=True)
class SqlType:
    """A SQL type: name in BIGINT INTEGER DOUBLE DECIMAL STRING BOOLEAN TIMESTAMP DATE ARRAY MAP."""

    name: str
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.name == "DECIMAL" and self.precision is not None:
            return f"DECIMAL({self.precision}, {self.scale or 0})"
        return self.name


_TYPE_ALIASES = {
    "BIGINT": "BIGINT",
    "LONG": "BIGINT",
    "INT64": "BIGINT",
    "INT": "INTEGER",
    "INTEGER": "INTEGER",
    "SMALLINT": "INTEGER",
    "TINYINT": "INTEGER",
    "INT32": "INTEGER",
    "FLOAT": "DOUBLE",
    "DOUBLE": "DOUBLE",
    "REAL": "DOUBLE",
    "FLOAT64": "DOUBLE",
    "DECIMAL": "DECIMAL",
    "NUMERIC": "DECIMAL",
    "DEC": "DECIMAL",
    "STRING": "STRING",
    "VARCHAR": "STRING",
    "TEXT": "STRING",
    "CHAR": "STRING",
    "NVARCHAR": "STRING",
    "BOOLEAN": "BOOLEAN",
    "BOOL": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMP",
    "DATETIME": "TIMESTAMP",
    "TIMESTAMP_NTZ": "TIMESTAMP",
    "DATE": "DATE",
    "ARRAY": "ARRAY",
    "LIST": "ARRAY",
    "MAP": "MAP",
    "STRUCT": "MAP",
    "JSON": "MAP",
}

_TYPE_TEXT = re.compile(
    r"\s*([A-Za-z_][A-Za-z_0-9]*)(?:\s+PRECISION)?\s*"
    r"(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?(.*)",
    re.IGNORECASE | re.DOTALL,
)


def parse_type(spec: Any) -> SqlType:
    """A `SqlType` from type text (``'DECIMAL(10,2)'``, ``'varchar'``) or a sqlglot DataType."""
    if isinstance(spec, SqlType):
        return spec
    if isinstance(spec, str):
        text = spec
    elif hasattr(spec, "sql"):
        text = spec.sql()
    else:
        raise _type_error(f"not a type: {spec!r}")
    m = _TYPE_TEXT.fullmatch(text)
    if m is None:
        raise _type_error(f"unknown type {text!r}")
    word, p, s, rest = m.groups()
    name = _TYPE_ALIASES.get(word.upper())
    rest = rest.strip()
    if name is None or (rest and not rest.startswith(("<", "("))):
        raise _type_error(
            f"unknown type {text!r} (expected BIGINT, INTEGER, DOUBLE, DECIMAL(p, s), STRING, "
            "BOOLEAN, TIMESTAMP, DATE, ARRAY or MAP)"
        )
    if name == "DECIMAL":
        precision = int(p) if p is not None else None
        scale = int(s) if s is not None else (0 if p is not None else None)
        if precision is not None and (precision < 1 or scale > precision):  # type: ignore[operator]
            raise _type_error(f"bad DECIMAL precision/scale in {text!r}")
        return SqlType("DECIMAL", precision, scale)
    return SqlType(name)


def round_half_up(d: Decimal, scale: int) -> Decimal:
    """Round a DECIMAL to ``scale`` digits after the point, half away from zero, exactly."""
    try:
        return _round_half_up(d, scale)
    except ArithmeticError:  # more than 76 digits at that scale
        raise SqlError(f"{d} rounded to {scale} places is out of range", kind="runtime") from None


def _round_half_up(d: Decimal, scale: int) -> Decimal:
    if scale >= 0:
        out = d.quantize(Decimal((0, (1,), -scale)), rounding=ROUND_HALF_UP, context=DEC_CTX)
    else:
        step = Decimal((0, (1,), -scale))
        out = d.quantize(step, rounding=ROUND_HALF_UP, context=DEC_CTX).quantize(
            _ONE, context=DEC_CTX
        )
    return out.copy_abs() if out.is_zero() else out  # no "-0.00"


def _float_to_decimal(x: float) -> Decimal:
    if not math.isfinite(x):
        raise _type_error(f"cannot represent {x!r} as a DECIMAL")
    return Decimal(repr(x))  # the shortest decimal that reads back as x, not its binary expansion


def _to_int(v: Any, target: SqlType) -> int:
    t = type(v)
    if t is int:
        return v
    if t is float:
        if not math.isfinite(v):
            raise _type_error(f"cannot cast {v!r} to {target}")
        return int(Decimal(v).to_integral_value(rounding=ROUND_HALF_UP))
    if t is Decimal:
        if not v.is_finite():
            raise _type_error(f"cannot cast {v!r} to {target}")
        return int(v.to_integral_value(rounding=ROUND_HALF_UP))
    if t is str:
        n = _parse_number(v)
        if type(n) is float:
            raise _type_error(f"cannot cast {v!r} to {target}")
        return _to_int(n, target)
    if t is bool:
        return 1 if v else 0
    if isinstance(v, date):
        return to_epoch_ms(v)
    raise _type_error(f"cannot cast {type_name(v)} {v!r} to {target}")


def _to_float(v: Any, target: SqlType) -> float:
    t = type(v)
    if t is float:
        return v
    if t is int or t is Decimal:
        return float(v)
    if t is str:
        try:
            return float(v.strip())
        except ValueError:
            raise _type_error(f"cannot cast the string {v!r} to {target}") from None
    if t is bool:
        return 1.0 if v else 0.0
    if isinstance(v, date):
        return float(to_epoch_ms(v))
    raise _type_error(f"cannot cast {type_name(v)} {v!r} to {target}")


def _to_decimal(v: Any, target: SqlType) -> Decimal:
    t = type(v)
    if t is Decimal:
        d = v
    elif t is int:
        d = Decimal(v)
    elif t is float:
        d = _float_to_decimal(v)
    elif t is str:
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            raise _type_error(f"cannot cast the string {v!r} to {target}") from None
        if not d.is_finite():
            raise _type_error(f"cannot cast the string {v!r} to {target}")
    elif t is bool:
        d = Decimal(1 if v else 0)
    else:
        raise _type_error(f"cannot cast {type_name(v)} {v!r} to {target}")
    if target.scale is not None:
        d = round_half_up(d, target.scale)
    if target.precision is not None and not d.is_zero():
        int_digits = d.adjusted() + 1
        if int_digits > target.precision - (target.scale or 0):
            raise _type_error(f"{format(d, 'f')} does not fit {target}")
    return d


_TRUE_TEXT = frozenset(("true", "t", "yes", "y", "1"))
_FALSE_TEXT = frozenset(("false", "f", "no", "n", "0"))


def _to_bool(v: Any, target: SqlType) -> bool:
    t = type(v)
    if t is bool:
        return v
    if t is str:
        low = v.strip().lower()
        if low in _TRUE_TEXT:
            return True
        if low in _FALSE_TEXT:
            return False
        raise _type_error(f"cannot cast the string {v!r} to BOOLEAN")
    if t is int or t is float or t is Decimal:
        return v != 0
    raise _type_error(f"cannot cast {type_name(v)} {v!r} to {target}")


def _to_date(v: Any) -> date:
    if type(v) is date:
        return v
    if type(v) is str:
        text = v.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    return to_datetime(v).date()


def cast(value: Any, target: SqlType | str) -> Any:
    """``CAST(value AS target)``; NULL stays NULL; bad input raises SqlError(kind="type")."""
    if value is None:
        return None
    if type(target) is str:
        target = parse_type(target)
    name = target.name  # type: ignore[union-attr]
    if name == "BIGINT" or name == "INTEGER":
        return _to_int(value, target)  # type: ignore[arg-type]
    if name == "DOUBLE":
        return _to_float(value, target)  # type: ignore[arg-type]
    if name == "DECIMAL":
        return _to_decimal(value, target)  # type: ignore[arg-type]
    if name == "STRING":
        return to_string(value)
    if name == "BOOLEAN":
        return _to_bool(value, target)  # type: ignore[arg-type]
    if name == "TIMESTAMP":
        return to_datetime(value)
    if name == "DATE":
        return _to_date(value)
    if name == "ARRAY":
        if type(value) is list:
            return value
        if type(value) is tuple:
            return list(value)
    if name == "MAP" and type(value) is dict:
        return value
    if (name == "ARRAY" or name == "MAP") and type(value) is str:
        import orjson

        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            parsed = None
        if (name == "ARRAY" and type(parsed) is list) or (name == "MAP" and type(parsed) is dict):
            return parsed
    raise _type_error(f"cannot cast {type_name(value)} {value!r} to {target}")
