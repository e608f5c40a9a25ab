"""The assistant's settings: traitlets config (`c.AssistantConfig.model = ...`) over environment
variables over defaults. The API key is read only from ANTHROPIC_API_KEY, at call time."""

from __future__ import annotations

import os

from traitlets import Integer, Unicode, default
from traitlets.config import Configurable

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_MAX_TOKENS = 2048


class AssistantConfig(Configurable):
    """Model, max tokens, base URL and timeout of the NL->SQL assistant."""

    model = Unicode(help="Anthropic model (env VELO_ASSISTANT_MODEL)").tag(config=True)
    max_tokens = Integer(help="max tokens per answer (env VELO_ASSISTANT_MAX_TOKENS)").tag(
        config=True
    )
    base_url = Unicode(
        help="Messages API base URL (env ANTHROPIC_BASE_URL; empty: the SDK's default)"
    ).tag(config=True)
    timeout_s = Integer(120, help="seconds one model request may take").tag(config=True)

    @default("model")
    def _model(self) -> str:
        return os.environ.get("VELO_ASSISTANT_MODEL") or DEFAULT_MODEL

    @default("max_tokens")
    def _max_tokens(self) -> int:
        raw = os.environ.get("VELO_ASSISTANT_MAX_TOKENS", "")
        return int(raw) if raw.strip().isdigit() else DEFAULT_MAX_TOKENS

    @default("base_url")
    def _base_url(self) -> str:
        return os.environ.get("ANTHROPIC_BASE_URL", "")
