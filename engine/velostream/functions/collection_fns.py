"""Array, map and struct functions: ARRAY, STRUCT, MAP, ARRAY_LENGTH, ARRAY_CONTAINS, MAP_KEYS..."""

from __future__ import annotations

from typing import Any

import orjson

from velostream.errors import SqlError
from velostream.functions.registry import register_scalar
from velostream.values import eq, to_string, type_name


def _as_list(v: Any, func: str) -> list[Any]:
    t = type(v)
    if t is list:
        return v
    if t is tuple:
        return list(v)
    if t is str:  # a JSON array held as text, as Velostream accepts
        try:
            parsed = orjson.loads(v)
        except orjson.JSONDecodeError:
            parsed = None
        if type(parsed) is list:
            return parsed
    raise SqlError(f"{func} needs an ARRAY, got {type_name(v)} {v!r}", kind="type")


def _as_map(v: Any, func: str) -> dict[Any, Any]:
    t = type(v)
    if t is dict:
        return v
    if t is str:
        try:
            parsed = orjson.loads(v)
        except orjson.JSONDecodeError:
            parsed = None
        if type(parsed) is dict:
            return parsed
    raise SqlError(f"{func} needs a MAP, got {type_name(v)} {v!r}", kind="type")


def array(*args: Any) -> list[Any]:
    """ARRAY(a, b, ...): an ARRAY of the arguments (NULLs kept)."""
    return list(args)


def struct(*args: Any) -> dict[str, Any]:
    """STRUCT('name', value, ...) with name/value pairs; otherwise fields field0, field1, ..."""
    if len(args) % 2 == 0 and all(type(args[i]) is str for i in range(0, len(args), 2)):
        return {args[i]: args[i + 1] for i in range(0, len(args), 2)}
    return {f"field{i}": v for i, v in enumerate(args)}


def map_(*args: Any) -> dict[str, Any]:
    """MAP(k1, v1, k2, v2, ...): keys are text (integer keys become their digits)."""
    if len(args) % 2:
        raise SqlError(f"MAP needs key/value pairs, got {len(args)} arguments", kind="type")
    out: dict[str, Any] = {}
    for i in range(0, len(args), 2):
        key = args[i]
        if key is None:
            raise SqlError("MAP keys must not be NULL", kind="runtime")
        out[key if type(key) is str else to_string(key)] = args[i + 1]
    return out


def array_length(a: Any) -> int:
    """ARRAY_LENGTH(arr): number of elements."""
    return len(_as_list(a, "ARRAY_LENGTH"))


def array_contains(a: Any, value: Any) -> bool | None:
    """ARRAY_CONTAINS(arr, v): TRUE if an element equals v; NULL if none does but one is NULL."""
    saw_null = False
    for item in _as_list(a, "ARRAY_CONTAINS"):
        if item is None:
            saw_null = True
            continue
        try:
            if eq(item, value) is True:
                return True
        except SqlError:
            continue  # an element of another type is simply not equal
    return None if saw_null else False


def map_keys(m: Any) -> list[Any]:
    """MAP_KEYS(m): the keys as an ARRAY."""
    return list(_as_map(m, "MAP_KEYS").keys())


def map_values(m: Any) -> list[Any]:
    """MAP_VALUES(m): the values as an ARRAY."""
    return list(_as_map(m, "MAP_VALUES").values())


register_scalar(
    "ARRAY", array, 0, None, "array", "An ARRAY of the arguments.", null_propagating=False
)
register_scalar(
    "STRUCT",
    struct,
    0,
    None,
    "array",
    "A STRUCT from name/value pairs: STRUCT('a', 1, 'b', 2).",
    null_propagating=False,
)
register_scalar(
    "MAP",
    map_,
    0,
    None,
    "array",
    "A MAP from key/value pairs: MAP('a', 1, 'b', 2).",
    null_propagating=False,
)
register_scalar("ARRAY_LENGTH", array_length, 1, 1, "array", "Number of elements of an ARRAY.")
register_scalar("ARRAY_CONTAINS", array_contains, 2, 2, "array", "Whether an ARRAY holds a value.")
register_scalar("MAP_KEYS", map_keys, 1, 1, "array", "Keys of a MAP as an ARRAY.")
register_scalar("MAP_VALUES", map_values, 1, 1, "array", "Values of a MAP as an ARRAY.")
