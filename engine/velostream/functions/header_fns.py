"""Message header functions: HEADER('name') reads a header of the input record (Kafka)."""

from __future__ import annotations

from typing import Any

from velostream.functions.registry import register_scalar


def _header(headers: Any, name: Any = None) -> Any:
    """The header's value as text, or NULL when the record has no such header."""
    if not isinstance(headers, dict) or name is None:
        return None
    return headers.get(str(name))


register_scalar(
    "HEADER",
    _header,
    1,
    1,
    "header",
    "HEADER('name'): the value of a message header as text (NULL when absent).",
    null_propagating=False,
    row_column="_headers",
)
