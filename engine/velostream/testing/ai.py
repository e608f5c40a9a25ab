"""`velo test --ai`: Claude explains a failing test from the SQL, the spec and the failing rows.

Only called when asked for (`--ai`); it sends the SQL text, the spec text and, per failed
assertion, its message and at most a few failing rows. Settings from the environment, as the
studio's assistant reads them: ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, VELO_AI_MODEL (else
VELO_ASSISTANT_MODEL).
"""

from __future__ import annotations

import os
from typing import Any

from velostream.testing.report import result_dict
from velostream.testing.runner import TestReport

DEFAULT_MODEL = "claude-sonnet-5-5"  # the studio assistant's default
MAX_TOKENS = 1500
SYSTEM = (
    "You are an expert in streaming SQL (the Velostream dialect: WINDOW TUMBLING/SLIDING/"
    "SESSION, EMIT CHANGES/FINAL, event time and watermarks, WITH properties). A test of a "
    "SQL app failed. From the SQL, the test spec and the failing assertions with sample rows, "
    "explain the failure. Answer in Markdown with the sections ## Summary, ## Root cause, "
    "## Suggestions (a fix to the SQL or to the spec, concrete), ## Confidence (low, medium "
    "or high). Be brief."
)


class AiError(RuntimeError):
    """The analysis could not be made (no key, the API failed)."""


def model_name() -> str:
    """The model `--ai` asks."""
    return (
        os.environ.get("VELO_AI_MODEL") or os.environ.get("VELO_ASSISTANT_MODEL") or DEFAULT_MODEL
    )


def build_prompt(report: TestReport, sql: str, spec_text: str) -> str:
    """The user message: the SQL, the spec and every failed assertion with its rows."""
    import orjson

    failed = [result_dict(r) for r in report.failed]
    parts = [
        "## SQL\n```sql\n" + sql.strip() + "\n```",
        "## Test spec\n```yaml\n" + spec_text.strip() + "\n```",
        f"## Run\nseed {report.seed}; records fed per source: {report.inputs}; "
        f"rows per output: { {k: len(v.rows) for k, v in report.outputs.items()} }",
    ]
    if report.error:
        parts.append(f"## The run failed\n{report.error}")
    if failed:
        parts.append(
            "## Failed assertions (with up to 5 failing rows each)\n```json\n"
            + orjson.dumps(failed, option=orjson.OPT_INDENT_2).decode()
            + "\n```"
        )
    return "\n\n".join(parts)


def explain(report: TestReport, sql: str, spec_text: str, client: Any = None) -> str:
    """Claude's explanation of the failures of `report` (Markdown)."""
    key = os.environ.get("ANTHROPIC_API_KEY")
    if client is None:
        if not key:
            raise AiError("--ai needs ANTHROPIC_API_KEY in the environment")
        import anthropic

        base = os.environ.get("ANTHROPIC_BASE_URL") or None
        client = anthropic.Anthropic(api_key=key, base_url=base, max_retries=1, timeout=120)
    try:
        msg = client.messages.create(
            model=model_name(),
            max_tokens=MAX_TOKENS,
            system=SYSTEM,
            messages=[{"role": "user", "content": build_prompt(report, sql, spec_text)}],
        )
    except Exception as e:  # the SDK's errors: say which, never the key
        raise AiError(f"the AI analysis failed: {type(e).__name__}: {_short(e)}") from None
    text = "".join(getattr(b, "text", "") for b in msg.content)
    return text.strip() or "(the model gave no text)"


def _short(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return text[:300]
