"""Open windows of the vectorized aggregate kept as Polars partial aggregates.

Per batch, `VectorAggregateOp` groups the records by (window start, keys) into partial
aggregates (a count, an integer sum and its count, a MIN/MAX). Instead of folding each partial
row into accumulator objects, `PendingWindows` keeps the batches' partial frames as they are
and, when windows close, merges the partials of every closing window in one Polars group-by
(first-arrival order, as the row path creates its groups), computes each aggregate's result as
a column and builds the output rows in one generated loop: no per-group objects at all.

Only what merges exactly goes here: COUNT, integer SUM/AVG (with a bound that keeps the totals
within int64 / exact doubles) and integer or string MIN/MAX, every batch with the same column
types. Anything else, and anything that needs the groups as objects (a row-by-row batch, a
checkpoint, a window that also has row-path groups), first folds the pending partials into the
operator's ordinary state (`materialize`), in arrival order, so the two never disagree.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

import polars as pl

from velostream.functions.aggregates import AvgAcc

# Fold kinds (see VectorAggregateOp._partials) whose partials merge exactly in Polars.
_MERGEABLE = frozenset(("count", "sum_int", "minmax", "skip"))
_MINMAX_TYPES = (pl.Int64, pl.String)
SUM_LIMIT = 2**62  # an integer SUM's total must stay within int64
AVG_LIMIT = 2**52  # an integer AVG's total must be an exact double (int / n == float / n)


class PendingWindows:
    """The partial aggregates of windows not yet closed, as Polars frames (arrival order)."""

    def __init__(
        self,
        size: int,
        nkeys: int,
        slot_ops: list[str],
        factories: list[Callable[[], Any]],
        rows_fn: Callable[[list[list], Callable[[dict, int], Any]], int],
    ):
        self.size = size
        self.nkeys = nkeys
        self.slot_ops = slot_ops  # per slot: count_star | count | sum | min | max
        self.avg = [type(f()) is AvgAcc for f in factories]
        self.empty = [f().result() for f in factories]  # the result of a slot with no values
        self.rows_fn = rows_fn
        self.frames: list[pl.DataFrame] = []
        self.folds: list[tuple[str, ...]] | None = None
        self.open: set[int] = set()  # starts of the windows with pending partials

    def __bool__(self) -> bool:
        return bool(self.frames)

    def accepts(self, parts: pl.DataFrame, folds: list[tuple[str, ...]]) -> bool:
        """True when a batch's partials can join the pending ones (same folds and types)."""
        for f in folds:
            if f[0] not in _MERGEABLE:
                return False
            if f[0] == "minmax" and parts.schema[f[1]] not in _MINMAX_TYPES:
                return False
        if not self.frames:
            return True
        return folds == self.folds and parts.schema == self.frames[0].schema

    def add(self, parts: pl.DataFrame, folds: list[tuple[str, ...]], ends: list) -> None:
        """Keep a batch's partials (counted records only); new windows join the heap `ends`."""
        self.frames.append(parts)
        self.folds = folds
        size, opened = self.size, self.open
        for ws in parts["\x00ws"].unique(maintain_order=True).to_list():
            if ws not in opened:
                opened.add(ws)
                heapq.heappush(ends, (ws + size, ws))

    def take(self) -> tuple[pl.DataFrame, list[tuple[str, ...]]] | None:
        """All pending partials in arrival order (for folding into objects); clears them."""
        if not self.frames:
            return None
        frame = pl.concat(self.frames) if len(self.frames) > 1 else self.frames[0]
        folds = self.folds
        self.frames, self.folds = [], None
        self.open.clear()
        return frame, folds  # type: ignore[return-value]

    def results(self, upto: int | None) -> pl.DataFrame | None:
        """The closing windows (end <= `upto`; all when None) merged into one row per group
        with the aggregate results as columns, ordered by window start, groups within a window
        in first-arrival order; those windows leave the pending state. None (nothing changed)
        when a total could leave the exact range: the caller then folds into objects."""
        if not self.frames:
            return None
        frame = pl.concat(self.frames) if len(self.frames) > 1 else self.frames[0]
        ws = pl.col("\x00ws")
        if upto is None:
            closing, rest = frame, None
        else:
            due = ws + self.size <= upto
            closing = frame.filter(due)
            rest = frame.filter(~due)
        if not closing.height:
            return closing
        folds = self.folds or []
        keys = [ws, *(pl.col(f"\x00k{i}") for i in range(self.nkeys))]
        aggs: list[pl.Expr] = []
        outs: list[pl.Expr] = []
        checks: list[tuple[pl.Expr, int]] = []
        merged_cols: set[str] = set()  # slots may share a partial (SUM(x), AVG(x))
        for i, f in enumerate(folds):
            r = f"\x00r{i}"
            kind = f[0]
            fresh = not merged_cols.intersection(f[1:])
            merged_cols.update(f[1:])
            if kind == "skip":
                outs.append(pl.lit(self.empty[i]).alias(r))
            elif kind == "count":
                if fresh:
                    aggs.append(pl.col(f[1]).cast(pl.Int64).sum())
                outs.append(pl.col(f[1]).alias(r))
            elif kind == "sum_int":
                p, pn = pl.col(f[1]), pl.col(f[2])
                checks.append((p.abs().cast(pl.Float64).sum(), AVG_LIMIT if self.avg[i] else 0))
                if fresh:
                    aggs += [p.sum(), pn.cast(pl.Int64).sum()]
                total = p.cast(pl.Float64) / pn.cast(pl.Float64) if self.avg[i] else p
                outs.append(pl.when(pn > 0).then(total).alias(r))
            else:  # minmax
                p = pl.col(f[1])
                if fresh:
                    aggs.append(p.min() if self.slot_ops[i] == "min" else p.max())
                outs.append(p.alias(r))
        if checks:
            bounds = closing.select(c.alias(f"b{j}") for j, (c, _) in enumerate(checks)).row(0)
            for b, (_, avg_limit) in zip(bounds, checks, strict=True):
                if b >= (avg_limit or SUM_LIMIT):
                    return None
        merged = closing.group_by(keys, maintain_order=True).agg(*aggs, pl.len())
        out = merged.select(*keys, *outs)
        if not out["\x00ws"].is_sorted():
            out = out.sort("\x00ws", maintain_order=True)
        self.frames = [rest] if rest is not None and rest.height else []
        if not self.frames:
            self.folds = None
        for s in out["\x00ws"].unique().to_list():
            self.open.discard(s)
        return out

    def emit_rows(
        self, out: pl.DataFrame, emit: Callable[[dict, int], Any], start: int, stop: int
    ) -> int:
        """Hand the output rows `start:stop` of merged results (from `results`) to `emit`;
        returns the number of rows emitted (HAVING may reject some)."""
        if start != 0 or stop != out.height:
            out = out.slice(start, stop - start)
        cols = [s.to_list() for s in out.get_columns()]
        return self.rows_fn(cols, emit)
