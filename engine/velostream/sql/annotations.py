"""`-- @key: value` comment lines, attached to the statement they stand directly above."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlglot.tokens import Token

from velostream.sql.ast import Annotation, Statement
from velostream.sql.source import SourceText


@dataclass
class LineComment:
    """A `--` comment: its 1-based line, text after `--`, and whether it is alone on its line."""

    line: int
    text: str
    own_line: bool
    offset: int  # where the `--` starts in the script


def _gaps(tokens: Sequence[Token], size: int) -> Iterator[tuple[int, int]]:
    prev_end = 0
    for token in tokens:
        yield prev_end, token.start
        prev_end = token.end + 1
    yield prev_end, size


def comments_in(src: SourceText, tokens: Sequence[Token]) -> list[LineComment]:
    """Every `--` comment of the script, in order (found between tokens, never inside strings)."""
    found: list[LineComment] = []
    for start, end in _gaps(tokens, len(src.text)):
        found.extend(_gap_comments(src, start, end))
    return found


def _gap_comments(src: SourceText, start: int, end: int) -> Iterator[LineComment]:
    text = src.text
    i = start
    while i < end:
        if text.startswith("--", i):
            stop = text.find("\n", i, end)
            stop = end if stop < 0 else stop
            line, _ = src.position(i)
            line_start = src.line_starts[line - 1]
            yield LineComment(line, text[i + 2 : stop], not text[line_start:i].strip(), i)
            i = stop
        elif text.startswith("/*", i):
            stop = text.find("*/", i + 2, end)
            i = end if stop < 0 else stop + 2
        else:
            i += 1


def parse_annotation(comment: LineComment) -> Annotation | None:
    """`@key: value` -> Annotation(key, value); None for an ordinary comment."""
    body = comment.text.strip()
    if not body.startswith("@") or len(body) < 2:
        return None
    key, sep, value = body[1:].partition(":")
    key = key.strip()
    if not key or " " in key:
        return None
    return Annotation(key=key, value=value.strip() if sep else "", line=comment.line)


def attach_annotations(
    src: SourceText, tokens: Sequence[Token], statements: Sequence[Statement]
) -> list[str]:
    """Attach annotation lines to the statement directly below; return warnings for the rest.

    A comment sits in a gap between two tokens, and a gap holds only white space and comments, so
    an annotation is "directly above" a statement exactly when the next token is the statement's
    first token.
    """
    if "--" not in src.text:
        return []
    starts = [t.start for t in tokens]
    by_first_token: dict[int, Statement] = {}
    for stmt in statements:
        by_first_token[src.line_starts[stmt.line - 1] + stmt.col - 1] = stmt

    warnings: list[str] = []
    block_target: int | None = -1  # the next-token offset of the current detached block
    for comment in comments_in(src, tokens):
        annotation = parse_annotation(comment)
        if annotation is None:
            continue
        if not comment.own_line:
            warnings.append(
                f"annotation at line {comment.line} is not on a line of its own; it is ignored"
            )
            continue
        i = bisect_right(starts, comment.offset)
        target = starts[i] if i < len(starts) else None
        stmt = by_first_token.get(target) if target is not None else None
        if stmt is not None:
            stmt.annotations.append(annotation)
            continue
        if target != block_target:
            block_target = target
            warnings.append(
                f"annotation block at line {comment.line} is not directly above a statement; "
                "it is ignored"
            )
    return warnings
