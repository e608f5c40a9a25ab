"""String functions: UPPER, LOWER, SUBSTRING, REPLACE, TRIM, ..., REGEXP_REPLACE, SPLIT_PART."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from velostream.errors import SqlError
from velostream.functions.registry import register_scalar
from velostream.values import to_string, type_name

_STR = str


def _text(v: Any) -> str:
    return v if type(v) is _STR else to_string(v)


def _int_arg(func: str, v: Any) -> int:
    t = type(v)
    if t is int:
        return v
    if t is Decimal and v.is_finite() and v == v.to_integral_value():
        return int(v)
    if t is float and math.isfinite(v) and v.is_integer():
        return int(v)
    raise SqlError(f"{func} needs an integer, got {type_name(v)} {v!r}", kind="type")


def upper(s: Any) -> str:
    """UPPER(s)."""
    return _text(s).upper()


def lower(s: Any) -> str:
    """LOWER(s)."""
    return _text(s).lower()


def substring(s: Any, start: Any, length: Any = None) -> str:
    """SUBSTRING(s, start[, len]): 1-based; positions before 1 count against the length (SQL)."""
    text = _text(s)
    first = _int_arg("SUBSTRING", start)
    if length is None:
        return text[max(first, 1) - 1 :]
    n = _int_arg("SUBSTRING", length)
    if n < 0:
        raise SqlError(f"SUBSTRING length must not be negative, got {n}", kind="runtime")
    end = first + n  # exclusive, 1-based
    begin = max(first, 1)
    return text[begin - 1 : end - 1] if end > begin else ""


def replace(s: Any, search: Any, replacement: Any) -> str:
    """REPLACE(s, search, replacement): every occurrence."""
    text, find = _text(s), _text(search)
    return text.replace(find, _text(replacement)) if find else text


def trim(s: Any, chars: Any = None) -> str:
    """TRIM(s[, chars]): strip whitespace (or the given characters) from both ends."""
    return _text(s).strip(None if chars is None else _text(chars))


def ltrim(s: Any, chars: Any = None) -> str:
    """LTRIM(s[, chars])."""
    return _text(s).lstrip(None if chars is None else _text(chars))


def rtrim(s: Any, chars: Any = None) -> str:
    """RTRIM(s[, chars])."""
    return _text(s).rstrip(None if chars is None else _text(chars))


def length(s: Any) -> int:
    """LENGTH(s): number of characters."""
    return len(_text(s))


def concat(*args: Any) -> str:
    """CONCAT(a, b, ...): NULL arguments are skipped (as Velostream and PostgreSQL do)."""
    return "".join(_text(v) for v in args if v is not None)


def split(s: Any, delimiter: Any) -> list[str]:
    """SPLIT(s, delim) -> ARRAY of strings (an empty delimiter splits into characters)."""
    text, delim = _text(s), _text(delimiter)
    return text.split(delim) if delim else list(text)


def join(*args: Any) -> str | None:
    """JOIN(delim, a, b, ...) as Velostream orders it; also JOIN(array, delim).

    ARRAY arguments are flattened; NULL values are skipped; a NULL delimiter gives NULL.
    """
    if len(args) == 2 and type(args[0]) is list and type(args[1]) is _STR:
        delimiter, values = args[1], [args[0]]
    else:
        delimiter, values = args[0], list(args[1:])
    if delimiter is None:
        return None
    parts: list[str] = []
    for v in values:
        if type(v) is list:
            parts.extend(_text(x) for x in v if x is not None)
        elif v is not None:
            parts.append(_text(v))
    return _text(delimiter).join(parts)


def left(s: Any, n: Any) -> str:
    """LEFT(s, n): the first n characters (all but the last |n| when n < 0)."""
    return _text(s)[: _int_arg("LEFT", n)]


def right(s: Any, n: Any) -> str:
    """RIGHT(s, n): the last n characters (all but the first |n| when n < 0)."""
    k = _int_arg("RIGHT", n)
    text = _text(s)
    return text[-k:] if k != 0 else ""


def position(sub: Any, s: Any, start: Any = None) -> int:
    """POSITION(sub, s[, start]): 1-based index of sub in s, 0 when absent."""
    begin = 1 if start is None else max(_int_arg("POSITION", start), 1)
    return _text(s).find(_text(sub), begin - 1) + 1


_REGEX_CACHE: dict[tuple[str, int], re.Pattern[str]] = {}


def _regex(pattern: str, flags: int = 0) -> re.Pattern[str]:
    key = (pattern, flags)
    compiled = _REGEX_CACHE.get(key)
    if compiled is None:
        try:
            compiled = re.compile(pattern, flags)
        except re.error as e:
            raise SqlError(f"invalid regular expression {pattern!r}: {e}", kind="runtime") from None
        if len(_REGEX_CACHE) > 1000:
            _REGEX_CACHE.clear()
        _REGEX_CACHE[key] = compiled
    return compiled


def regexp(s: Any, pattern: Any) -> bool:
    """REGEXP(s, pattern): whether the pattern matches anywhere in s."""
    return _regex(_text(pattern)).search(_text(s)) is not None


_REPL_TOKEN = re.compile(r"\$\{(\w+)\}|\$(\d+)|\\(\d)|(\\)")


def _python_template(replacement: str) -> str:
    """``$1``, ``${name}`` (Rust/Java style) and ``\\1`` (POSIX style) become Python groups."""

    def token(m: re.Match[str]) -> str:
        group = m.group(1) or m.group(2) or m.group(3)
        return f"\\g<{group}>" if group is not None else "\\\\"

    return _REPL_TOKEN.sub(token, replacement)


_FLAG_BITS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def regexp_replace(s: Any, pattern: Any, replacement: Any, flags: Any = None) -> str:
    """REGEXP_REPLACE(s, pattern, repl[, flags]): replace every match.

    ``repl`` may refer to groups as ``$1``, ``${name}`` or ``\\1``. Flags: ``i`` (ignore case),
    ``m``, ``s``, ``x``; ``g`` is accepted and changes nothing (every match is replaced, as
    Flink and ksqlDB do). An unknown flag is an error.
    """
    bits = 0
    for f in _text(flags) if flags is not None else "":
        if f == "g":
            continue
        if f not in _FLAG_BITS:
            raise SqlError(f"REGEXP_REPLACE: unknown flag {f!r}", kind="runtime")
        bits |= _FLAG_BITS[f]
    template = _python_template(_text(replacement))
    try:
        return _regex(_text(pattern), bits).sub(template, _text(s))
    except (re.error, IndexError) as e:
        raise SqlError(
            f"REGEXP_REPLACE: bad replacement {replacement!r}: {e}", kind="runtime"
        ) from None


def split_part(s: Any, delimiter: Any, n: Any) -> str:
    """SPLIT_PART(s, delim, n): the n-th field (1-based; negative counts from the end; '' if none)."""
    k = _int_arg("SPLIT_PART", n)
    if k == 0:
        raise SqlError("SPLIT_PART field position must not be zero", kind="runtime")
    text, delim = _text(s), _text(delimiter)
    parts = text.split(delim) if delim else [text]
    if abs(k) > len(parts):
        return ""
    return parts[k - 1] if k > 0 else parts[k]


register_scalar("UPPER", upper, 1, 1, "string", "Upper-case.")
register_scalar("LOWER", lower, 1, 1, "string", "Lower-case.")
register_scalar(
    "SUBSTRING", substring, 2, 3, "string", "SUBSTRING(s, start[, len]), 1-based positions."
)
register_scalar("REPLACE", replace, 3, 3, "string", "Replace every occurrence of a substring.")
register_scalar("TRIM", trim, 1, 2, "string", "Strip whitespace from both ends.")
register_scalar("LTRIM", ltrim, 1, 2, "string", "Strip whitespace from the start.")
register_scalar("RTRIM", rtrim, 1, 2, "string", "Strip whitespace from the end.")
register_scalar("LENGTH", length, 1, 1, "string", "Number of characters.", aliases=("LEN",))
register_scalar(
    "CONCAT",
    concat,
    1,
    None,
    "string",
    "Concatenate the arguments as text; NULL arguments are skipped.",
    null_propagating=False,
)
register_scalar("SPLIT", split, 2, 2, "string", "Split a string into an ARRAY by a delimiter.")
register_scalar(
    "JOIN",
    join,
    2,
    None,
    "string",
    "JOIN(delim, a, b, ...) or JOIN(array, delim): join values with a delimiter, skipping NULLs.",
    null_propagating=False,
)
register_scalar("LEFT", left, 2, 2, "string", "The first n characters.")
register_scalar("RIGHT", right, 2, 2, "string", "The last n characters.")
register_scalar(
    "POSITION", position, 2, 3, "string", "POSITION(sub, s[, start]): 1-based index, 0 if absent."
)
register_scalar("REGEXP", regexp, 2, 2, "string", "Whether s matches a regular expression.")
register_scalar(
    "REGEXP_REPLACE",
    regexp_replace,
    3,
    4,
    "string",
    "REGEXP_REPLACE(s, pattern, repl[, flags]): replace every match ($1 or \\1 for groups).",
)
register_scalar(
    "SPLIT_PART",
    split_part,
    3,
    3,
    "string",
    "SPLIT_PART(s, delim, n): the n-th field, 1-based (negative n counts from the end).",
)
