"""Derived-field expressions (`price * random(0.995, 0.999)`), compiled by the engine's own
expression compiler, so a derived field computes exactly as the same SQL would in a query."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from velostream.errors import SqlError
from velostream.runtime.codegen import Compiler, Resolver, field_access


class ExpressionError(ValueError):
    """A derived expression that does not parse or compile."""


class _RowResolver(Resolver):
    """A column is a field of the record generated so far (`r`)."""

    def __init__(self, known: set[str] | None) -> None:
        self.known = known
        self.used: list[str] = []

    def column(self, col: exp.Column, compiler: Compiler) -> str:
        name = col.name
        if self.known is not None and name.lower() not in self.known:
            raise ExpressionError(
                f"unknown field {name!r} (known: {', '.join(sorted(self.known))})"
            )
        self.used.append(name)
        return field_access("r", name)


def _rewrite(node: exp.Expression, rng: random.Random) -> exp.Expression:
    """`random(a, b)` becomes a seeded draw; `min`/`max` of several values LEAST/GREATEST."""

    def repl(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Rand) or (
            isinstance(n, exp.Anonymous) and n.name.lower() in ("random", "rand")
        ):
            args = list(n.expressions) if isinstance(n, exp.Anonymous) else []
            if isinstance(n, exp.Rand):  # sqlglot reads random(a, b) as Rand(this=a, lower=b)
                args = [n.args[k] for k in ("this", "lower", "upper") if n.args.get(k) is not None]
            return exp.Anonymous(this="__VELO_RANDOM", expressions=args)
        if isinstance(n, exp.Min | exp.Max) and n.expressions:
            fn = exp.Least if isinstance(n, exp.Min) else exp.Greatest
            return fn(this=n.this, expressions=list(n.expressions))
        return n

    return node.transform(repl)


def compile_expression(
    text: str, rng: random.Random, known: set[str] | None = None
) -> tuple[Callable[[dict], Any], list[str]]:
    """Compile `text` into a function of a record dict; returns it and the fields it reads.

    `random(a, b)` draws uniformly from [a, b) with `rng` (so a seed repeats it), `random()`
    from [0, 1); every other function is the engine's.
    """
    from velostream.sql.parse import parse_statement

    try:
        stmt = parse_statement(f"SELECT {text}")
    except SqlError as e:
        raise ExpressionError(f"cannot parse {text!r}: {e.message}") from None
    items = stmt.query.expressions if stmt.query is not None else []
    if len(items) != 1 or stmt.query.args.get("from_") or stmt.query.args.get("from"):
        raise ExpressionError(f"expected one expression, got {text!r}")
    node = _rewrite(items[0], rng)
    resolver = _RowResolver(known)
    compiler = Compiler(resolver)

    def draw(*args: Any) -> float:
        if not args:
            return rng.random()
        if len(args) != 2 or any(a is None for a in args):
            raise ExpressionError("random(a, b) takes two numbers")
        lo, hi = float(args[0]), float(args[1])
        return lo + rng.random() * (hi - lo)

    orig_call = compiler._call

    def call(n: exp.Expression) -> str:
        if isinstance(n, exp.Anonymous) and n.name == "__VELO_RANDOM":
            args = ", ".join(compiler.compile(a) for a in n.expressions)
            return f"{compiler.fn('velo_random', draw)}({args})"
        return orig_call(n)

    compiler._call = call  # type: ignore[method-assign]
    try:
        fn = compiler.lambda_("r", node)
    except SqlError as e:
        raise ExpressionError(f"cannot compile {text!r}: {e.message}") from None
    return fn, list(dict.fromkeys(resolver.used))
