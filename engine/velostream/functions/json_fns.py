"""JSON functions: JSON_EXTRACT, JSON_VALUE, JSON_QUERY, JSON_EXISTS.

The document is JSON text (or an already decoded MAP/ARRAY). Paths: ``$`` is the document,
``.name`` or ``['name']`` a member, ``[0]`` or ``.0`` an array element (``.0`` is a member
named "0" when the value is an object). Malformed JSON text gives NULL (FALSE for JSON_EXISTS);
a malformed path is an error.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from velostream.errors import SqlError
from velostream.functions.registry import register_scalar
from velostream.values import to_string

_MISSING = object()
_STEP = re.compile(r"\.([^.\[\]]+)|\[\s*(\d+)\s*\]|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]")
_PATH_CACHE: dict[str, tuple[Any, ...]] = {}


def _parse_path(path: str) -> tuple[Any, ...]:
    """Steps of a JSONPath: str for a member (or a digit step), int for ``[n]``."""
    cached = _PATH_CACHE.get(path)
    if cached is not None:
        return cached
    text = path.strip()
    if not text.startswith("$"):
        raise SqlError(f"JSON path must start with '$': {path!r}", kind="runtime")
    steps: list[Any] = []
    pos = 1
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            raise SqlError(f"bad JSON path {path!r} at position {pos + 1}", kind="runtime")
        name, index, quoted1, quoted2 = m.groups()
        if index is not None:
            steps.append(int(index))
        else:
            steps.append(
                name if name is not None else (quoted1 if quoted1 is not None else quoted2)
            )
        pos = m.end()
    result = tuple(steps)
    if len(_PATH_CACHE) > 1000:
        _PATH_CACHE.clear()
    _PATH_CACHE[path] = result
    return result


def _document(doc: Any) -> Any:
    t = type(doc)
    if t is dict or t is list:
        return doc
    if t is str or t is bytes:
        try:
            return orjson.loads(doc)
        except orjson.JSONDecodeError:
            return _MISSING
    return _MISSING


def _walk(doc: Any, path: Any) -> Any:
    node = _document(doc)
    if node is _MISSING:
        return _MISSING
    for step in _parse_path(path if type(path) is str else to_string(path)):
        t = type(node)
        if t is dict:
            node = node.get(str(step), _MISSING)
        elif t is list:
            if type(step) is str:
                if not step.isdigit():
                    return _MISSING
                step = int(step)
            node = node[step] if step < len(node) else _MISSING
        else:
            return _MISSING
        if node is _MISSING:
            return _MISSING
    return node


def _json_text(v: Any) -> str:
    return orjson.dumps(v).decode()


def json_extract(doc: Any, path: Any) -> Any:
    """JSON_EXTRACT(json, path): the value at path (objects as MAP, arrays as ARRAY), else NULL."""
    node = _walk(doc, path)
    return None if node is _MISSING else node


def json_value(doc: Any, path: Any) -> Any:
    """JSON_VALUE(json, path): a scalar as is; an object or array as JSON text."""
    node = _walk(doc, path)
    if node is _MISSING:
        return None
    t = type(node)
    return _json_text(node) if t is dict or t is list else node


def json_query(doc: Any, path: Any) -> str | None:
    """JSON_QUERY(json, path): an object or array as JSON text; NULL for scalars."""
    node = _walk(doc, path)
    t = type(node)
    return _json_text(node) if t is dict or t is list else None


def json_exists(doc: Any, path: Any) -> bool:
    """JSON_EXISTS(json, path): whether path names a member (even one holding null)."""
    return _walk(doc, path) is not _MISSING


register_scalar(
    "JSON_EXTRACT",
    json_extract,
    2,
    2,
    "json",
    "Value at a JSON path ('$.a.b', '$.arr[0]'); objects and arrays as MAP/ARRAY.",
)
register_scalar(
    "JSON_VALUE",
    json_value,
    2,
    2,
    "json",
    "Scalar at a JSON path; objects and arrays as JSON text.",
)
register_scalar(
    "JSON_QUERY",
    json_query,
    2,
    2,
    "json",
    "Object or array at a JSON path as JSON text; NULL for scalars.",
)
register_scalar(
    "JSON_EXISTS", json_exists, 2, 2, "json", "Whether a JSON path exists in the document."
)
