"""papermill support for Velostream SQL notebooks.

papermill has no entry point for parameter translators, but it imports every
`papermill.engine` entry point when it starts; importing this module (through `VeloEngine`)
registers `VeloTranslator` for the kernel's language, so `papermill in.ipynb out.ipynb
-p symbol AAPL` works from the command line and from Python. Parameters become
`SET name = <literal>;` statements: strings are quoted SQL literals, never SQL text.
"""

from __future__ import annotations

from typing import Any

from papermill.engines import NBClientEngine
from papermill.models import Parameter
from papermill.translators import Translator, papermill_translators

from velostream_kernel.kernel import LANGUAGE_INFO
from velostream_kernel.statements import split_cell, sql_literal

KERNEL_NAME = "velostream"


def _valid_name(name: str) -> bool:
    """A parameter name is a dotted identifier (nothing else can reach the SET text)."""
    parts = name.split(".")
    return all(
        p and (p[0].isalpha() or p[0] == "_") and p.replace("_", "a").isalnum() for p in parts
    )


class VeloTranslator(Translator):
    """Python values to `SET name = literal;` statements of the Velostream SQL kernel."""

    @classmethod
    def translate_str(cls, val: str) -> str:
        """A quoted SQL string literal ('' doubles a quote)."""
        return sql_literal(val)

    @classmethod
    def translate_none(cls, val: None) -> str:
        """NULL."""
        return "NULL"

    @classmethod
    def translate_bool(cls, val: bool) -> str:
        """TRUE or FALSE."""
        return sql_literal(val)

    @classmethod
    def translate_float(cls, val: float) -> str:
        """A numeric literal (NaN and infinities become NULL)."""
        return sql_literal(val)

    @classmethod
    def translate_escaped_str(cls, str_val: Any) -> str:
        """Anything else: its text as a quoted string literal."""
        return sql_literal(str(str_val))

    @classmethod
    def comment(cls, cmt_str: str) -> str:
        """An SQL line comment."""
        return f"-- {cmt_str}".strip()

    @classmethod
    def assign(cls, name: str, str_val: str) -> str:
        """`SET name = value;` (a name that is not a dotted identifier is refused)."""
        if not _valid_name(name):
            raise ValueError(f"parameter name {name!r} is not an identifier")
        return f"SET {name} = {str_val};"

    @classmethod
    def inspect(cls, parameters_cell: Any) -> list[Parameter]:
        """The `SET` statements of the parameters cell, for `--help-notebook` and checks."""
        try:
            chunks = split_cell(parameters_cell.source)
        except Exception:
            return []
        out = []
        for c in chunks:
            if c.kind == "set":
                typ = type(c.value).__name__ if c.value is not None else "NoneType"
                out.append(Parameter(c.key, typ, sql_literal(c.value), ""))
        return out


class VeloEngine(NBClientEngine):
    """papermill's default engine; being an entry point is what loads the translator."""


def register() -> None:
    """Register the translator under the kernel's language and kernel name."""
    papermill_translators.register(LANGUAGE_INFO["name"], VeloTranslator)
    papermill_translators.register(KERNEL_NAME, VeloTranslator)


register()
