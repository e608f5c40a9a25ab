"""`%ask <question>` in a Velostream SQL cell: the assistant's SQL goes into the next cell.

The explanation streams into the cell's output; a valid answer becomes the next cell through
the `set_next_input` payload; an answer the engine still rejects after the repair round is put
there too, but with the engine's error as comment lines above it and printed in the output, so
a broken cell is never silent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from velostream_kernel.assistant.assistant import Assistant, AssistantError

PREFIX = "%ask"


def is_ask(code: str) -> bool:
    """Whether a cell is an `%ask` line magic."""
    head = code.lstrip()
    return head.startswith(PREFIX) and (len(head) == len(PREFIX) or head[len(PREFIX)].isspace())


def question_of(code: str) -> str:
    """The question after `%ask` (the rest of the cell, lines joined)."""
    return " ".join(code.lstrip()[len(PREFIX) :].split())


def next_cell(sql: str, errors: list[str]) -> str:
    """The next cell's text: the SQL, with the engine's errors as comments when invalid."""
    if not errors:
        return sql
    notes = ["-- the engine rejected this SQL; fix it before running:"]
    for err in errors:
        notes += [f"-- {line}" for line in err.splitlines()]
    return "\n".join([*notes, sql])


async def run_ask(
    code: str,
    catalog: dict[str, Any],
    cells: list[str],
    stream: Callable[[str, str], None],
    assistant: Assistant | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """(payloads, error message or None) for an `%ask` cell; `stream(name, text)` prints."""
    question = question_of(code)
    if not question:
        return [], "usage: %ask <question>, e.g. %ask average trade size per symbol every minute"
    a = assistant or Assistant()

    def on_event(e: dict[str, Any]) -> None:
        if e["type"] == "text":
            stream("stdout", e["text"])
        elif e["type"] == "status":
            stream("stderr", f"\n({e['message']})\n")

    try:
        answer = await a.ask(question, catalog, cells, on_event)
    except AssistantError as e:
        return [], e.message
    stream("stdout", "\n")
    if not answer.sql:
        return [], "the model gave no SQL; rephrase the question"
    if answer.errors:
        stream("stderr", "the engine still rejects the SQL:\n" + "\n".join(answer.errors) + "\n")
    payload = {
        "source": "set_next_input",
        "text": next_cell(answer.sql, answer.errors),
        "replace": False,
    }
    return [payload], None
