"""Strings from a small regular-expression-like pattern: `ORD-[A-Z]{3}-[0-9]{6}`.

Literals, classes `[A-Z0-9_]`, `\\d`, `\\w`, `.`, and quantifiers `{n}`, `{n,m}`, `?`, `+`
(1 to 5), `*` (0 to 5). No alternation or groups: a pattern describes a key format.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable

_ESCAPES = {"d": string.digits, "w": string.ascii_letters + string.digits + "_"}
_ANY = string.ascii_letters + string.digits


def _class(text: str, i: int) -> tuple[str, int]:
    """The characters of `[...]` starting at `text[i] == '['`; returns them and the end."""
    end = text.find("]", i + 1)
    if end < 0:
        raise ValueError(f"unclosed '[' at position {i + 1}")
    body, chars, j = text[i + 1 : end], [], 0
    while j < len(body):
        if j + 2 < len(body) and body[j + 1] == "-":
            lo, hi = ord(body[j]), ord(body[j + 2])
            if lo > hi:
                raise ValueError(f"bad range {body[j : j + 3]!r}")
            chars.extend(chr(c) for c in range(lo, hi + 1))
            j += 3
        else:
            chars.append(body[j])
            j += 1
    if not chars:
        raise ValueError(f"empty class at position {i + 1}")
    return "".join(dict.fromkeys(chars)), end + 1


def compile_pattern(pattern: str) -> list[tuple[str, int, int]]:
    """The pattern as (alphabet, min repeat, max repeat) parts; ValueError when malformed."""
    parts: list[tuple[str, int, int]] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "[":
            chars, i = _class(pattern, i)
        elif ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            chars, i = _ESCAPES.get(nxt, nxt), i + 2
        elif ch == ".":
            chars, i = _ANY, i + 1
        elif ch in "{}?+*":
            raise ValueError(f"quantifier {ch!r} at position {i + 1} follows nothing")
        else:
            chars, i = ch, i + 1
        lo = hi = 1
        if i < len(pattern) and pattern[i] == "{":
            end = pattern.find("}", i)
            if end < 0:
                raise ValueError(f"unclosed '{{' at position {i + 1}")
            nums = pattern[i + 1 : end].split(",")
            try:
                lo = int(nums[0])
                hi = int(nums[1]) if len(nums) > 1 else lo
            except ValueError:
                raise ValueError(f"bad repeat {pattern[i : end + 1]!r}") from None
            if lo > hi or lo < 0:
                raise ValueError(f"bad repeat {pattern[i : end + 1]!r}")
            i = end + 1
        elif i < len(pattern) and pattern[i] in "?+*":
            lo, hi = {"?": (0, 1), "+": (1, 5), "*": (0, 5)}[pattern[i]]
            i += 1
        parts.append((chars, lo, hi))
    return parts


def pattern_generator(pattern: str, rng: random.Random) -> Callable[[], str]:
    """A function that draws a string matching `pattern` with `rng`."""
    parts = compile_pattern(pattern)
    rand = rng.random

    def draw() -> str:
        out = []
        for chars, lo, hi in parts:
            n = lo if lo == hi else lo + int(rand() * (hi - lo + 1))
            if len(chars) == 1:
                out.append(chars * n)
            else:
                k = len(chars)
                out.extend(chars[int(rand() * k)] for _ in range(n))
        return "".join(out)

    return draw
