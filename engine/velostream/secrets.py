"""Masking secrets (passwords, tokens, keys) in connector properties, tool arguments and SQL,
so that nothing an agent sends or reads ends up in a log or a result in clear."""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
# a key is secret when one of its dot/underscore-separated words is one of these
_SECRET_WORDS = {"password", "passwd", "secret", "token", "credentials", "apikey", "jaas"}
_SECRET_PAIRS = (("api", "key"), ("private", "key"), ("sasl", "password"), ("ssl", "key"))
# 'x.password' = '...' inside SQL text (WITH clauses)
_SQL_SECRET = re.compile(
    r"('(?:[^'\s]*[._])?(?:password|passwd|secret|token|api[._]?key|jaas[^']*|credentials)'"
    r"\s*=\s*)'(?:[^']|'')*'",
    re.IGNORECASE,
)
# user:password@ in a DSN or URL
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+(@)")


def is_secret_key(key: str) -> bool:
    """True when a property or argument name holds a secret."""
    words = [w for w in re.split(r"[._\-\s]+", key.lower()) if w]
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(a in words and b in words for a, b in _SECRET_PAIRS)


def mask_text(text: str) -> str:
    """SQL or a DSN with the values of secret WITH keys and URL passwords masked."""
    text = _SQL_SECRET.sub(lambda m: f"{m.group(1)}'{MASK}'", text)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(2)}", text)


def mask_text_keep_width(text: str) -> str:
    """Like `mask_text`, but each masked character becomes one `*` (a caret under a later
    token of the line still points at it)."""
    text = _SQL_SECRET.sub(
        lambda m: m.group(1) + "'" + "*" * (len(m.group(0)) - len(m.group(1)) - 2) + "'", text
    )
    return _URL_PASSWORD.sub(
        lambda m: m.group(1) + "*" * (len(m.group(0)) - len(m.group(1)) - 1) + m.group(2), text
    )


def mask_props(props: dict[str, Any]) -> dict[str, Any]:
    """Connector properties with secret values masked."""
    return {k: (MASK if is_secret_key(k) else mask_value(v)) for k, v in props.items()}


def mask_value(value: Any) -> Any:
    """Any argument value with secrets masked (nested dicts and lists, text)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return mask_props(value)
    if isinstance(value, list | tuple):
        return [mask_value(v) for v in value]
    return value
