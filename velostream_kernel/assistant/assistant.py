"""NL -> Velostream SQL with Claude: one streamed request, the engine's check, at most one repair.

    a = Assistant(AssistantConfig())
    answer = await a.ask("average trade size per symbol every minute", catalog, cells,
                         on_event=lambda e: ...)   # {"type": "text", "text": ...} while it streams
    answer.sql, answer.valid, answer.errors, answer.chart

The key comes from ANTHROPIC_API_KEY on the machine that runs this; it is never part of an
answer, an event or a log line.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from velostream_kernel.assistant.config import AssistantConfig
from velostream_kernel.assistant.prompt import ANSWER_TOOL, TOOL_NAME, repair_text, system_prompt
from velostream_kernel.assistant.validation import validate_sql

if TYPE_CHECKING:
    import anthropic

log = logging.getLogger("velostream.assistant")
EventFn = Callable[[dict[str, Any]], Any]
_SQL_BLOCK = re.compile(r"```(?:sql)?\s*\n(.*?)```", re.S | re.I)


class AssistantError(Exception):
    """A request that could not be answered: `kind` (no_key, auth, network, model) and what to do."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Answer:
    """The final answer: the SQL, whether the engine accepted it, and the model's notes."""

    sql: str
    explanation: str = ""
    chart: dict[str, Any] = field(default_factory=dict)
    valid: bool = False
    errors: list[str] = field(default_factory=list)
    repaired: bool = False  # a second round fixed (or tried to fix) the first SQL
    rounds: int = 1

    def to_json(self) -> dict[str, Any]:
        """The answer as the server sends it to the browser."""
        return asdict(self)


def api_key() -> str:
    """The key from ANTHROPIC_API_KEY, or a clear AssistantError saying how to set it."""
    key = os.environ.get("ANTHROPIC_API_KEY", "").strip()
    if not key:
        raise AssistantError(
            "no_key",
            "ANTHROPIC_API_KEY is not set for the Jupyter server. Set it in the environment "
            "that starts JupyterLab (export ANTHROPIC_API_KEY=...) and restart JupyterLab.",
        )
    return key


class Assistant:
    """Asks the model, validates its SQL with the engine, repairs once."""

    def __init__(
        self,
        config: AssistantConfig | None = None,
        validator: Callable[[str, dict[str, Any] | None], list[str]] = validate_sql,
    ) -> None:
        self.config = config or AssistantConfig()
        self.validator = validator

    def _client(self) -> anthropic.AsyncAnthropic:
        import anthropic  # slow to import (seconds): only when a question is asked

        kwargs: dict[str, Any] = {"api_key": api_key(), "max_retries": 1}
        kwargs["timeout"] = float(self.config.timeout_s)
        if self.config.base_url:
            kwargs["base_url"] = self.config.base_url
        return anthropic.AsyncAnthropic(**kwargs)

    async def ask(
        self,
        question: str,
        catalog: dict[str, Any] | None = None,
        cells: list[str] | None = None,
        on_event: EventFn | None = None,
    ) -> Answer:
        """The SQL for `question`; streams {"type": "text"|"status", ...} events to `on_event`."""
        import anthropic

        emit = on_event or (lambda e: None)
        if not question.strip():
            raise AssistantError("input", "Type a question first.")
        client = self._client()
        system = system_prompt(catalog, cells)
        messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
        try:
            content, answer = await self._round(client, system, messages, emit)
            answer.errors = self.validator(answer.sql, catalog)
            if answer.errors:
                # One repair round with the engine's error; then the user sees what we have.
                emit({"type": "status", "message": "the engine rejected the SQL; asking for a fix"})
                emit({"type": "repair", "errors": answer.errors, "sql": answer.sql})
                messages += [{"role": "assistant", "content": content}, _repair(content, answer)]
                _, second = await self._round(client, system, messages, emit)
                second.errors = self.validator(second.sql, catalog)
                second.repaired, second.rounds = True, 2
                answer = second
        except anthropic.AuthenticationError:
            raise AssistantError(
                "auth", "The Anthropic API rejected the key in ANTHROPIC_API_KEY (401): check it."
            ) from None
        except anthropic.APIConnectionError as e:
            where = self.config.base_url or "the Anthropic API"
            raise AssistantError(
                "network", f"Could not reach {where}: {type(e).__name__}. Check the network."
            ) from None
        except anthropic.APIStatusError as e:
            raise AssistantError(
                "model", f"The model request failed ({e.status_code}): {_api_message(e)}"
            ) from None
        finally:
            await client.close()
        answer.valid = not answer.errors
        log.info(
            "assistant answer: %s, %d round(s), model %s",
            "valid" if answer.valid else "invalid",
            answer.rounds,
            self.config.model,
        )
        return answer

    async def _round(
        self, client: anthropic.AsyncAnthropic, system: str, messages: list, emit: EventFn
    ) -> tuple[list[dict[str, Any]], Answer]:
        """One streamed request: text deltas go out as events; the tool call is the answer."""
        async with client.messages.stream(
            model=self.config.model,
            max_tokens=self.config.max_tokens,
            system=system,
            messages=messages,
            tools=[ANSWER_TOOL],
            tool_choice={"type": "auto"},
        ) as stream:
            async for event in stream:
                if event.type == "text":
                    emit({"type": "text", "text": event.text})
            final = await stream.get_final_message()
        content = [b.model_dump(exclude_none=True) for b in final.content]
        text = "".join(b.get("text", "") for b in content if b.get("type") == "text")
        tool = next(
            (b for b in content if b.get("type") == "tool_use" and b.get("name") == TOOL_NAME), None
        )
        if tool is not None:
            args = tool.get("input") or {}
            chart = args.get("chart") if isinstance(args.get("chart"), dict) else {}
            sql = str(args.get("sql") or "").strip()
            return content, Answer(sql, str(args.get("explanation") or text).strip(), chart)
        # No tool call: take a ```sql block from the text, so the answer is not lost.
        m = _SQL_BLOCK.search(text)
        return content, Answer((m.group(1) if m else "").strip(), text.strip())


def _repair(content: list[dict[str, Any]], answer: Answer) -> dict[str, Any]:
    """The user turn that carries the engine's errors back to the model."""
    tool = next((b for b in content if b.get("type") == "tool_use"), None)
    if tool is None:
        return {"role": "user", "content": repair_text(answer.errors)}
    return {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": tool["id"],
                "is_error": True,
                "content": repair_text(answer.errors),
            }
        ],
    }


def _api_message(e: anthropic.APIStatusError) -> str:
    body = e.body if isinstance(e.body, dict) else {}
    err = body.get("error") if isinstance(body.get("error"), dict) else {}
    return str(err.get("message") or e.message)
