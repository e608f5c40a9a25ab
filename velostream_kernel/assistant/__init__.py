"""The NL -> SQL assistant: Claude writes Velostream SQL from the kernel's catalog and recent
cells; the engine checks it, and one repair round fixes what it rejects."""

from velostream_kernel.assistant.assistant import Answer, Assistant, AssistantError, api_key
from velostream_kernel.assistant.config import AssistantConfig

__all__ = ["Answer", "Assistant", "AssistantConfig", "AssistantError", "api_key"]
