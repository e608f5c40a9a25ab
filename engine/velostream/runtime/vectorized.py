"""The vectorized fast path of windowed and grouped aggregation (Polars micro-batches).

`vectorize_aggregate(plan, emit, on_late)` returns a `VectorAggregateOp` for the plans it can
compute exactly (one source, no joins, no OVER, TUMBLING/SLIDING or no window, EMIT FINAL,
COUNT/SUM/AVG/MIN/MAX over columns, literals, arithmetic, comparisons and boolean logic), or
None. The operator IS an `AggregateOp`: it shares its state (the window dicts, the heap of open
windows, the accumulator objects), its output function (select list and HAVING) and its window
closing, so whatever a batch cannot do exactly (mixed value types, Python Decimals, a possible
integer overflow, a NaN where Polars and Python disagree, a tiny batch) simply runs row by row
through the inherited `push` and meets the same state.

Per batch (`ingest`): the watermark before each record is the running max of `_event_time -
delay` shifted by one record (as the row path sees it); records whose windows have all closed
are late; the rest are assigned to windows and grouped by (window start, keys) in first-arrival
order; the per-group partial aggregates are folded into the accumulators in that order, so
windows hold their groups in the order the row path would have created them.

`vectorize_project(plan, emit)` does the same for stateless WHERE + select lists on DataFrame
batches (record dicts keep the generated row loop, which is as fast for them). Batches smaller
than `min_rows` (frames) / `min_dict_rows` (dicts) always run row by row.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from sqlglot import exp

from velostream.functions.aggregates import (
    AvgAcc,
    CountAcc,
    CountStarAcc,
    MaxAcc,
    MinAcc,
    SumAcc,
)
from velostream.plan.logical import QueryPlan
from velostream.runtime.codegen import Compiler
from velostream.runtime.columnar import (
    BOOL,
    DEC,
    FLOAT,
    INT,
    INT64_LIMIT,
    NULL,
    STR,
    Columns,
    frame_to_columns,
    frame_to_rows,
    rows_to_columns,
)
from velostream.runtime.columnar_windows import PendingWindows
from velostream.runtime.compile import (
    RowResolver,
    ValueGroupResolver,
    build_group_rows,
    inline_aliases,
    key_sql,
)
from velostream.runtime.operators import AggregateOp, Emit, OutputStage, ProjectOp, _Group
from velostream.values import DEC_CTX

FLOAT_EXACT = 2**53  # ints up to this magnitude convert to DOUBLE exactly
DEC_LIMIT = 10**38  # Polars Decimal(38, s) holds scaled values below this
# Smaller batches run row by row: the Polars path costs about 1 ms per batch. Measured
# crossovers (tumbling COUNT/SUM/AVG, 100 keys): DataFrame slices ~256-512 rows (the row path
# must first turn them into dicts), record dicts ~1000 rows (they must become columns first).
MIN_ROWS = 512
MIN_DICT_ROWS = 1024

_AGG_KIND = {
    CountStarAcc: "count_star",
    CountAcc: "count",
    SumAcc: "sum",
    AvgAcc: "sum",
    MinAcc: "min",
    MaxAcc: "max",
}
_NODES = (
    exp.Column,
    exp.Paren,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Neg,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.EQ,
    exp.NEQ,
    exp.LT,
    exp.LTE,
    exp.GT,
    exp.GTE,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Is,
    exp.Identifier,
)
_CMP = {
    exp.EQ: "__eq__",
    exp.NEQ: "__ne__",
    exp.LT: "__lt__",
    exp.LTE: "__le__",
    exp.GT: "__gt__",
    exp.GTE: "__ge__",
}


class Decline(Exception):
    """This batch cannot be computed exactly here: it runs row by row."""


@dataclass
class Val:
    """A compiled expression: its Polars form, its kind and (ints) a bound on |value|."""

    expr: pl.Expr
    kind: str
    bound: int = 0  # ints: max |value|; decimals: max |value| * 10**scale
    scalar: bool = True  # no column in it: Polars evaluates it once, as a unit-length value
    scale: int = 0  # decimals: every value has exactly this scale
    # Decimals: the row path may produce -0.00 here (0.00 * -3, -x), which Polars cannot
    # hold; fine inside SUM/AVG and comparisons, not as an output, a key or a MIN/MAX value.
    negzero: bool = False


def _supported(node: exp.Expression | None) -> bool:
    """True when every node of an expression is one the Polars compiler handles."""
    if node is None:
        return True
    for n in node.walk():
        if not isinstance(n, _NODES):
            return False
        if isinstance(n, exp.Is) and not isinstance(n.expression, exp.Null):
            return False
    return True


def columns_read(nodes: list[exp.Expression]) -> list[str]:
    """The field names the expressions read from the input row, in first-use order."""
    out: list[str] = []
    for node in nodes:
        for c in node.find_all(exp.Column):
            if c.name not in out:
                out.append(c.name)
    return out


class ExprCompiler:
    """SQL expression -> Polars expression with the row path's exact semantics, for one batch
    (kinds and integer bounds come from the batch); raises `Decline` when they could differ."""

    def __init__(self, cols: Columns, bounds: dict[str, int]):
        self.cols = cols
        self.bounds = bounds
        self.guards: list[pl.Expr] = []  # scalar conditions that must all be False

    def compile(self, node: exp.Expression) -> Val:
        """The Polars form of `node`."""
        if isinstance(node, exp.Paren):
            return self.compile(node.this)
        if isinstance(node, exp.Column):
            kind = self.cols.kinds[node.name]
            if kind == NULL:
                return Val(pl.lit(None), NULL)
            scale = self.cols.scales.get(node.name, 0)
            bound = self.bounds.get(node.name, 0)
            return Val(pl.col(node.name), kind, bound, scalar=False, scale=scale)
        if isinstance(node, exp.Literal):
            return self._literal(node)
        if isinstance(node, exp.Boolean):
            return Val(pl.lit(bool(node.this), dtype=pl.Boolean), BOOL)
        if isinstance(node, exp.Null):
            return Val(pl.lit(None), NULL)
        if isinstance(node, exp.Neg):
            v = self.compile(node.this)
            if v.kind in (INT, FLOAT):
                return Val(-v.expr, v.kind, v.bound, v.scalar)
            if v.kind == DEC:
                return Val(-v.expr, DEC, v.bound, v.scalar, v.scale, negzero=True)
            if v.kind == NULL:
                return v
            raise Decline
        if isinstance(node, exp.Add | exp.Sub | exp.Mul):
            return self._arith(node)
        if isinstance(node, exp.Div | exp.IntDiv):
            return self._div(node)
        if isinstance(node, exp.Mod):
            return self._mod(node)
        op = _CMP.get(type(node))
        if op is not None:
            return self._compare(node, op)
        if isinstance(node, exp.And | exp.Or):
            a, b = self._logic(node.this), self._logic(node.expression)
            return Val(a & b if isinstance(node, exp.And) else a | b, BOOL, scalar=False)
        if isinstance(node, exp.Not):
            return Val(~self._logic(node.this), BOOL, scalar=False)
        if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
            v = self.compile(node.this)
            test = v.expr.is_not_null() if node.args.get("negate") else v.expr.is_null()
            return Val(test, BOOL, scalar=v.scalar)
        raise Decline

    def _literal(self, node: exp.Literal) -> Val:
        if node.is_string:
            return Val(pl.lit(node.this, dtype=pl.String), STR)
        text = node.this
        try:
            i = int(text)
        except ValueError:
            if "." in text and "e" not in text.lower():  # a DECIMAL literal, as the row path
                d = Decimal(text)
                scale = max(0, -d.as_tuple().exponent)  # type: ignore[operator]
                scaled = abs(int(d.scaleb(scale)))
                if scale > 38 or scaled >= DEC_LIMIT:
                    raise Decline from None
                lit = pl.lit(d, dtype=pl.Decimal(38, scale))
                return Val(lit, DEC, scaled, scale=scale)
            return Val(pl.lit(float(text), dtype=pl.Float64), FLOAT)
        if abs(i) >= INT64_LIMIT:
            raise Decline
        return Val(pl.lit(i, dtype=pl.Int64), INT, abs(i))

    def _pair(self, node: exp.Binary) -> tuple[Val, Val]:
        return self.compile(node.this), self.compile(node.expression)

    @staticmethod
    def _as_float(v: Val) -> pl.Expr:
        if v.kind == INT:
            if v.bound > FLOAT_EXACT:
                raise Decline
            return v.expr.cast(pl.Float64)
        return v.expr

    def _arith(self, node: exp.Expression) -> Val:
        a, b = self._pair(node)
        if a.kind == NULL or b.kind == NULL:
            if a.kind in (INT, FLOAT, NULL, DEC) and b.kind in (INT, FLOAT, NULL, DEC):
                return Val(pl.lit(None), NULL)
            raise Decline
        if DEC in (a.kind, b.kind):
            return self._dec_arith(node, a, b)
        if a.kind == INT and b.kind == INT:
            if isinstance(node, exp.Mul):
                bound = a.bound * b.bound
            else:
                bound = a.bound + b.bound
            if bound >= INT64_LIMIT:
                raise Decline
            ea, eb = a.expr, b.expr
        elif a.kind in (INT, FLOAT) and b.kind in (INT, FLOAT):
            ea, eb, bound = self._as_float(a), self._as_float(b), 0
        else:
            raise Decline
        kind = INT if a.kind == INT and b.kind == INT else FLOAT
        scalar = a.scalar and b.scalar
        if isinstance(node, exp.Add):
            return Val(ea + eb, kind, bound, scalar)
        if isinstance(node, exp.Sub):
            return Val(ea - eb, kind, bound, scalar)
        return Val(ea * eb, kind, bound, scalar)

    def _dec_arith(self, node: exp.Expression, a: Val, b: Val) -> Val:
        """DECIMAL + - with DECIMAL or BIGINT, and DECIMAL * BIGINT: exact in Polars with the
        row path's natural scale (the larger scale; the decimal's scale for * BIGINT)."""
        if a.kind not in (DEC, INT) or b.kind not in (DEC, INT):
            raise Decline  # with a DOUBLE the row path converts exactly; Polars may not
        scalar = a.scalar and b.scalar
        negzero = a.negzero or b.negzero
        if isinstance(node, exp.Mul):
            if a.kind == DEC and b.kind == DEC:
                raise Decline  # Polars rounds the product to the larger scale
            d, i = (a, b) if a.kind == DEC else (b, a)
            bound = d.bound * i.bound
            if bound >= DEC_LIMIT:
                raise Decline
            expr = d.expr * i.expr
            return Val(expr, DEC, bound, scalar, d.scale, negzero=True)
        scale = max(a.scale if a.kind == DEC else 0, b.scale if b.kind == DEC else 0)
        bound = 0
        exprs = []
        for v in (a, b):
            vs = v.scale if v.kind == DEC else 0
            bound += v.bound * 10 ** (scale - vs)
            exprs.append(v.expr if v.kind == DEC else v.expr.cast(pl.Decimal(38, 0)))
        if bound >= DEC_LIMIT:
            raise Decline
        expr = exprs[0] + exprs[1] if isinstance(node, exp.Add) else exprs[0] - exprs[1]
        return Val(expr, DEC, bound, scalar, scale, negzero)

    def _div(self, node: exp.Expression) -> Val:
        a, b = self._pair(node)
        if a.kind == NULL or b.kind == NULL:
            if a.kind in (INT, FLOAT, NULL) and b.kind in (INT, FLOAT, NULL):
                return Val(pl.lit(None), NULL)
            raise Decline
        if a.kind not in (INT, FLOAT) or b.kind not in (INT, FLOAT):
            raise Decline
        ea, eb = self._as_float(a), self._as_float(b)
        if b.scalar:
            # Polars divides a column by a scalar through its reciprocal, which can differ
            # from IEEE division in the last bit; a full-length divisor divides exactly.
            eb = eb + pl.col("_event_time") * 0
        out = pl.when(eb == 0).then(None).otherwise(ea / eb)
        return Val(out, FLOAT, scalar=a.scalar and b.scalar)

    def _mod(self, node: exp.Mod) -> Val:
        a, b = self._pair(node)
        if a.kind == NULL or b.kind == NULL:
            if a.kind in (INT, FLOAT, NULL) and b.kind in (INT, FLOAT, NULL):
                return Val(pl.lit(None), NULL)
            raise Decline
        if a.kind != INT or b.kind != INT:
            raise Decline
        r = a.expr.abs() % b.expr.abs()  # SQL MOD: the sign follows the dividend
        out = pl.when(b.expr == 0).then(None).when(a.expr < 0).then(-r).otherwise(r)
        return Val(out, INT, a.bound, a.scalar and b.scalar)

    def _compare(self, node: exp.Expression, op: str) -> Val:
        a, b = self._pair(node)
        if a.kind == NULL or b.kind == NULL:
            return Val(pl.lit(None, dtype=pl.Boolean), BOOL)
        ka, kb = a.kind, b.kind
        if ka == kb and ka in (INT, STR, BOOL, DEC):
            ea, eb = a.expr, b.expr
        elif {ka, kb} == {DEC, INT}:
            d, i = (a, b) if ka == DEC else (b, a)
            if i.bound * 10**d.scale >= DEC_LIMIT:
                raise Decline
            ea, eb = a.expr, b.expr
        elif ka in (INT, FLOAT) and kb in (INT, FLOAT):
            ea, eb = self._as_float(a), self._as_float(b)
            # Polars orders NaN as a number; Python's comparisons with NaN are all False.
            for v, e in ((a, ea), (b, eb)):
                if v.kind == FLOAT:
                    self.guards.append(e.is_nan().any())
        else:
            raise Decline
        return Val(getattr(ea, op)(eb), BOOL, scalar=a.scalar and b.scalar)

    def _logic(self, node: exp.Expression) -> pl.Expr:
        v = self.compile(node)
        if v.kind == BOOL:
            return v.expr
        if v.kind == NULL:
            return pl.lit(None, dtype=pl.Boolean)
        raise Decline  # AND/OR/NOT of a non-boolean: the row path raises the type error


def _per_row(v: Val) -> pl.Expr:
    """The expression with one value per row: a constant (COUNT(1), SUM(2)) is otherwise a
    single value in a Polars group and would be counted or summed once."""
    if not v.scalar:
        return v.expr
    return pl.when(pl.col("_event_time").is_not_null()).then(v.expr)  # never null: checked


def batch_bounds(cols: Columns) -> dict[str, int]:
    """max |value| of every integer column, and of every decimal column scaled to an
    integer (its value times 10**scale), in this batch; and the largest event time."""
    out = {}
    frame = cols.frame
    for n, kind in cols.kinds.items():
        if kind != INT and kind != DEC:
            continue
        s = frame[n]
        hi, lo = s.max(), s.min()
        if hi is None:
            out[n] = 0
            continue
        big = max(abs(hi), abs(lo))  # type: ignore[arg-type]
        if kind == DEC:
            big = int(big.scaleb(cols.scales[n]))  # type: ignore[union-attr]
        out[n] = big
        if n == "_event_time":
            out["_event_time\x00max"] = hi  # type: ignore[assignment]
    return out


@dataclass
class _SlotPlan:
    """How one aggregate slot is computed per batch."""

    op: str  # count_star | count | sum | min | max
    arg: exp.Expression | None


class VectorAggregateOp(AggregateOp):
    """`AggregateOp` with a Polars path for whole batches (see the module docstring)."""

    min_rows = MIN_ROWS  # DataFrame batches
    min_dict_rows = MIN_DICT_ROWS  # record-dict batches

    def __init__(self, plan: QueryPlan, emit: Emit, on_late: Callable[[dict, str], None] | None):
        super().__init__(plan, emit, False, on_late)
        slots = _slot_plans(self)
        self.eligible = slots is not None and not self.needs_last
        slots = slots or []
        self.slot_plans = slots
        self.key_nodes = [inline_aliases(g, plan) for g in plan.group_by]
        self.where_node = plan.where
        nodes = [*self.key_nodes, *(s.arg for s in slots if s.arg is not None)]
        if plan.where is not None:
            nodes.append(plan.where)
        names = columns_read(nodes)
        self.names = ["_event_time", *[n for n in names if n != "_event_time"]]
        self.dead_letter = plan.late_strategy == "dead_letter"
        self._merge_cache: dict[tuple, Callable[..., None]] = {}
        self.batches_vectorized = 0
        self.batches_row = 0
        # Windows keep their partials as frames until they close (columnar_windows.py).
        self.pending = self._pending_windows() if self.eligible else None

    def _pending_windows(self) -> PendingWindows | None:
        w = self.window
        if w is None or w.kind not in ("TUMBLING", "SLIDING"):
            return None
        row = RowResolver(self.plan, False)
        comp = Compiler(row)
        group = ValueGroupResolver(self.plan, row, windowed=True)
        gcomp = Compiler(group)
        gcomp.env = comp.env
        gcomp._consts = comp._consts
        try:
            rows_fn = build_group_rows(self.plan, gcomp, group, len(self.key_nodes), w.size_ms)
        except ValueError:
            return None
        if [key_sql(s.node) for s in group.slots] != [key_sql(s.node) for s in self.slots]:
            return None  # the slots must be the row path's, in its order
        ops = [s.op for s in self.slot_plans]
        return PendingWindows(w.size_ms, len(self.key_nodes), ops, self.factories, rows_fn)

    @property
    def read_columns(self) -> list[str] | None:
        """The input fields this operator reads (None: all, to hand late records on whole)."""
        return None if self.dead_letter else self.names

    # -- entry point -------------------------------------------------------------------

    def ingest(self, batch: Any, delay: int) -> int:
        """Process a whole batch (record dicts or a Polars DataFrame), advancing the
        watermark record by record as the row path does; returns the new watermark."""
        n = len(batch)
        if n == 0:
            return self.wm
        is_frame = isinstance(batch, pl.DataFrame)
        if n >= (self.min_rows if is_frame else self.min_dict_rows):
            cols = (
                frame_to_columns(batch, self.names)
                if is_frame
                else rows_to_columns(batch, self.names)
            )
            if cols is not None:
                try:
                    self._vector(cols, delay, batch)
                    self.batches_vectorized += 1
                    return self.wm
                except (Decline, pl.exceptions.PolarsError):
                    # Polars can only fail before the fold, which is the one step that
                    # changes state, so the batch can still run row by row.
                    pass
        self.batches_row += 1
        return self._ingest_rows(frame_to_rows(batch) if is_frame else batch, delay)

    def _ingest_rows(self, rows: list[dict], delay: int) -> int:
        self.materialize()  # the row path works on group objects, after the pending partials
        self.push_batch_wm(rows, delay)  # the row path, watermark advanced per record
        return self.wm

    # -- the vectorized batch ----------------------------------------------------------

    def _vector(self, cols: Columns, delay: int, batch: Any) -> None:
        df = cols.frame
        if cols.kinds["_event_time"] != INT or df["_event_time"].null_count():
            raise Decline
        bounds = batch_bounds(cols)
        if bounds["_event_time"] >= 2**62 or abs(delay) >= 2**62:
            raise Decline
        comp = ExprCompiler(cols, bounds)
        et = pl.col("_event_time")
        t = et - delay if delay else et
        wm_before = pl.max_horizontal(pl.lit(self.wm, dtype=pl.Int64), t.cum_max().shift(1))
        keep: pl.Expr | None = None
        if self.where_node is not None:
            w = comp.compile(self.where_node)
            if w.kind == NULL:
                keep = pl.lit(False)
            elif w.kind == BOOL:
                keep = w.expr.fill_null(False)
            else:
                raise Decline
        keys = []
        for i, node in enumerate(self.key_nodes):
            v = comp.compile(node)
            if v.kind == FLOAT or v.negzero:
                raise Decline  # NaN and -0.0 group differently in Polars and in a dict
            keys.append(_per_row(v).alias(f"\x00k{i}"))
        aggs, folds = self._partials(comp, df.height)
        if comp.guards and any(
            df.select(g.alias(f"g{i}") for i, g in enumerate(comp.guards)).row(0)
        ):
            raise Decline
        # Eager steps: measured about twice as fast per batch as one optimized lazy query.
        w = self.window
        late_mask: pl.Series | None = None
        late = 0
        status = False
        if w is None:
            aggs.append(et.last().alias("\x00ts"))
            rows = df if keep is None else df.filter(keep)
            parts = rows.group_by(keys or [pl.lit(0).alias("\x00g")], maintain_order=True).agg(aggs)
        elif w.kind == "TUMBLING" and keep is None and self._in_order(df, w.size_ms, delay):
            # Nothing late (see _in_order) and no WHERE: every record counts.
            ws = et - et % w.size_ms
            parts = df.group_by([ws.alias("\x00ws"), *keys], maintain_order=True).agg(aggs)
        elif (
            w.kind == "SLIDING"
            and keep is None
            and w.size_ms % w.advance_ms == 0
            and self._in_order(df, w.advance_ms, delay)
        ):
            # Nothing late, no WHERE, and each record in size/advance windows: the partials of
            # each pane (one advance long) go to each window holding the pane. Panes come in
            # time order, so a window's groups keep their first-arrival order.
            adv, per = w.advance_ms, w.size_ms // w.advance_ms
            panes = df.group_by([(et - et % adv).alias("\x00pane"), *keys], maintain_order=True)
            parts = (
                panes.agg(aggs)
                .with_columns(pl.int_ranges(0, per).alias("\x00j"))
                .explode("\x00j")
                .with_columns((pl.col("\x00pane") - pl.col("\x00j") * adv).alias("\x00ws"))
            )
        elif w.kind == "TUMBLING" and not self.dead_letter:
            # One pass: a status key (1 counted, 2 late, 0 filtered out) groups the records.
            # A window, once closed, stays closed, so a group's counted records come before
            # its late ones and the counted groups keep the row path's first-arrival order.
            size = w.size_ms
            ws = et - et % size
            ok = ws + size > wm_before
            st = pl.when(ok).then(1).otherwise(2)
            if keep is not None:
                st = pl.when(keep).then(st).otherwise(0)
            parts = df.group_by(
                [ws.alias("\x00ws"), *keys, st.cast(pl.Int8).alias("\x00st")],
                maintain_order=True,
            ).agg([*aggs, pl.len().alias("\x00n")])
            status = True
        elif not self.dead_letter:
            # SLIDING in one pass: each record repeated once per window it could be in; the
            # status marks the live windows (1), the record's first row when it is late (2),
            # and everything else (0: filtered out, a closed window, no window at all).
            size, adv = w.size_ms, w.advance_ms
            last = et - et % adv
            wmb, j = pl.col("\x00wmb"), pl.col("\x00j")
            ws = last - j * adv
            in_some = last > et - size
            late_first = (j == 0) & in_some & (last + size <= wmb)
            st = pl.when((ws > et - size) & (ws + size > wmb)).then(1).when(late_first).then(2)
            st = st.otherwise(0)
            if keep is not None:
                st = pl.when(keep).then(st).otherwise(0)
            rows = df.with_columns(
                wm_before.alias("\x00wmb"), pl.int_ranges(0, -(-size // adv) + 1).alias("\x00j")
            ).explode("\x00j")
            parts = rows.group_by(
                [ws.alias("\x00ws"), *keys, st.cast(pl.Int8).alias("\x00st")],
                maintain_order=True,
            ).agg([*aggs, pl.len().alias("\x00n")])
            status = True
        else:  # dead letters need the late records themselves: mask first, then aggregate
            if w.kind == "TUMBLING":
                size = w.size_ms
                ws = et - et % size
                ok = ws + size > wm_before
                closed = ~ok
            else:
                size, adv = w.size_ms, w.advance_ms
                last = et - et % adv
                # The latest window of a record ends last: a record is late when that window
                # is closed; a record in a gap between windows is in none and not late.
                in_some = last > et - size
                ok = in_some & (last + size > wm_before)
                closed = in_some & ~ok
            m = df.select(
                (ok if keep is None else keep & ok).alias("ok"),
                (closed if keep is None else keep & closed).alias("late"),
                wm_before.alias("wmb"),
            )
            late = int(m["late"].sum())
            n_ok = int(m["ok"].sum())
            rows = df if n_ok == df.height else df.filter(m["ok"])
            if w.kind != "TUMBLING":
                wmb = m["wmb"] if n_ok == df.height else m["wmb"].filter(m["ok"])
                ws = pl.col("\x00last") - pl.col("\x00j") * adv
                rows = (
                    rows.with_columns(
                        last.alias("\x00last"),
                        wmb.alias("\x00wmb"),
                        pl.int_ranges(0, -(-size // adv) + 1).alias("\x00j"),
                    )
                    .explode("\x00j")
                    .filter((ws > et - size) & (ws + size > pl.col("\x00wmb")))
                )
            late_mask = m["late"]
            parts = rows.group_by([ws.alias("\x00ws"), *keys], maintain_order=True).agg(aggs)
        if late and self.dead_letter:  # before the fold: nothing after it may fail in Polars
            self._report_late(batch, df, late_mask)
        if parts.height:
            late += self._keep(parts, len(keys), folds, status)
        if late:
            self.counters.late += late
        tmax = bounds["_event_time\x00max"] - delay
        if tmax > self.wm:
            self.wm = tmax

    def _in_order(self, df: pl.DataFrame, step: int, delay: int) -> bool:
        """True when no record of the batch can be late in any of its windows: event times
        never decrease and the first record's earliest window is still open. The earliest
        window of a record ends at the end of its `step` (tumbling: the window; sliding: the
        advance) and record i's watermark is at most max(wm, its own time - delay), before
        that end; later records' earliest windows end no earlier."""
        et = df["_event_time"]
        first = et[0]
        return (
            delay >= 0
            and first >= 0  # (Python's and Polars' % agree on non-negative times)
            and first - first % step + step > self.wm
            and et.is_sorted()
        )

    def _partials(
        self, comp: ExprCompiler, nrows: int
    ) -> tuple[list[pl.Expr], list[tuple[str, ...]]]:
        """Per-group partial aggregates of each slot, and how each folds into its
        accumulator: (fold kind, result column names...)."""
        aggs: list[pl.Expr] = []
        folds: list[tuple[str, ...]] = []
        same: dict[tuple[str, str], tuple[str, ...]] = {}  # SUM(x) and AVG(x): one partial
        for i, s in enumerate(self.slot_plans):
            p = f"\x00p{i}"
            if s.op == "count_star":
                aggs.append(pl.len().alias(p))
                folds.append(("count", p))
                continue
            sig = (s.op, s.arg.sql())  # type: ignore[union-attr]
            if sig in same:
                folds.append(same[sig])
                continue
            v = comp.compile(s.arg)  # type: ignore[arg-type]
            if v.kind == NULL:
                folds.append(("skip",))
                continue
            col = _per_row(v)
            if s.op == "count":
                aggs.append(col.count().alias(p))
                folds.append(("count", p))
            elif s.op == "sum":
                if v.kind == INT:
                    if nrows * v.bound >= INT64_LIMIT:
                        raise Decline
                    aggs += [col.sum().alias(p), col.count().alias(p + "n")]
                    folds.append(("sum_int", p, p + "n"))
                elif v.kind == FLOAT:
                    # a DOUBLE sum must add in record order to round as the row path does
                    aggs.append(col.drop_nulls().alias(p))
                    folds.append(("sum_float", p))
                elif v.kind == DEC:
                    if nrows * v.bound >= DEC_LIMIT:
                        raise Decline
                    aggs += [col.sum().alias(p), col.count().alias(p + "n")]
                    folds.append(("sum_dec", p, p + "n"))
                else:
                    raise Decline
            else:
                if v.kind == FLOAT:
                    # NaN and -0.0 make Polars' MIN/MAX differ from the row path's first-wins
                    comp.guards.append(col.is_nan().any())
                    comp.guards.append(((col == 0.0) & (1.0 / col < 0.0)).any())
                elif v.kind not in (INT, STR) and not (v.kind == DEC and not v.negzero):
                    raise Decline
                aggs.append((col.min() if s.op == "min" else col.max()).alias(p))
                folds.append(("minmax", p))
            same[sig] = folds[-1]
        return aggs, folds

    # -- pending partials (columnar window state) -----------------------------------------

    def _keep(
        self, parts: pl.DataFrame, nkeys: int, folds: list[tuple[str, ...]], status: bool
    ) -> int:
        """Keep a batch's partials pending when they merge exactly in Polars, else fold them
        into the accumulators; returns the late records they count."""
        pending = self.pending
        if pending is None:
            return self._fold(parts, nkeys, folds, status)
        late = 0
        if status:
            st = parts["\x00st"]
            if (st == 2).any():
                late = int(parts.filter(st == 2)["\x00n"].sum())
            parts = parts.filter(st == 1)
            if not parts.height:
                return late
        names = ["\x00ws", *(f"\x00k{i}" for i in range(nkeys))]
        for f in folds:
            names += f[1:]
        parts = parts.select(list(dict.fromkeys(names)))  # (slots may share a partial)
        if pending.accepts(parts, folds):
            pending.add(parts, folds, self.ends)
        else:
            self.materialize()
            self._fold(parts, nkeys, folds, False)
        return late

    def materialize(self) -> None:
        """Fold the pending partials into the accumulators (arrival order), so that the
        windows' groups exist as objects (row-by-row batches, checkpoints)."""
        taken = self.pending.take() if self.pending is not None else None
        if taken is not None:
            frame, folds = taken
            self._fold(frame, len(self.key_nodes), folds, False)

    def close_due(self) -> None:
        """Close the windows whose end the watermark has reached (see AggregateOp)."""
        if not self.pending:
            super().close_due()
            return
        self._close_pending(self.wm)

    def finish(self) -> None:
        """End of a bounded input: close every window."""
        if not self.pending:
            super().finish()
            return
        self._close_pending(None)
        self.ends.clear()

    def snapshot(self) -> dict:
        """The state as plain data: pending partials are folded into groups first."""
        self.materialize()
        return super().snapshot()

    def restore(self, snap: dict) -> None:
        """Take over the state of `snapshot()`."""
        if self.pending is not None:
            self.pending.take()
        super().restore(snap)

    def _close_pending(self, upto: int | None) -> None:
        """Close the windows ending at or before `upto` (None: all), pending or not, in the
        row path's order (by end, then start)."""
        ends = self.ends
        due: list[tuple[int, int]] = []
        while ends and (upto is None or ends[0][0] <= upto):
            due.append(heapq.heappop(ends))
        if not due:
            return
        pending = self.pending
        assert pending is not None
        cols = [(e, s) for e, s in due if s in pending.open]
        out = None
        if cols and not any((s, e) in self.windows for e, s in cols):
            out = pending.results(upto)
        if out is None:  # groups of a window on both sides, or a total out of range
            self.materialize()
            for e, s in due:
                self._close((s, e))
            return
        emit = self.emit
        stage = emit if type(emit) is OutputStage else None
        plain = stage is not None and not stage.distinct and stage.limit is None
        if plain:
            emit = stage.sink  # no DISTINCT, no LIMIT: the stage would only count the rows
        paused = gc.isenabled()
        if paused:
            gc.disable()  # one output dict per group, no cycles: skip needless collections
        n = 0
        try:
            if len(cols) == len(due):
                n = pending.emit_rows(out, emit, 0, out.height)
            else:  # row-path windows among them: each window in turn
                starts = out["\x00ws"].to_list()
                pending_starts = {s for _, s in cols}
                at = 0
                for e, s in due:
                    if s not in pending_starts:
                        self._close((s, e))
                        continue
                    stop = at
                    while stop < len(starts) and starts[stop] == s:
                        stop += 1
                    if stop > at:
                        n += pending.emit_rows(out, emit, at, stop)
                    at = stop
        finally:
            if paused:
                gc.enable()
        if plain:
            stage.count += n

    # -- folding partial aggregates into the accumulators ----------------------------------

    def _fold(
        self, parts: pl.DataFrame, nkeys: int, folds: list[tuple[str, ...]], status: bool
    ) -> int:
        """Fold the partials into the accumulators; returns the late records they count."""
        sig = (tuple(f[0] for f in folds), nkeys, status)
        merge = self._merge_cache.get(sig)
        if merge is None:
            merge = self._merge_cache[sig] = self._build_merge(folds, nkeys, status)
        names = ["\x00ws"] if self.window is not None else ["\x00ts"]
        names += [f"\x00k{i}" for i in range(nkeys)]
        for f in folds:
            names += f[1:]
        if status:
            names += ["\x00st", "\x00n"]
        cols = [parts[n].to_list() for n in names]
        paused = gc.isenabled()
        if paused:
            gc.disable()  # thousands of small acyclic objects: skip needless collections
        try:
            return merge(cols, self.windows, self.groups, self.ends)
        finally:
            if paused:
                gc.enable()

    def _close(self, win: tuple[int, int]) -> None:
        """Emit a closed window's groups (the row path's `_close` with less per-row work)."""
        groups = self.windows.pop(win, None)
        if not groups or self.changes:
            return
        output, emit = self.output, self.emit
        stage = emit if type(emit) is OutputStage else None
        plain = stage is not None and not stage.distinct and stage.limit is None
        if plain:
            emit = stage.sink  # no DISTINCT, no LIMIT: the stage would only count the rows
        ws, we = win
        empty: dict = {}
        n = 0
        paused = gc.isenabled()
        if paused:
            gc.disable()  # one output dict per group, no cycles: skip needless collections
        try:
            for g in groups.values():
                row = output(g.key, g.accs, g.last or empty, ws, we)
                if row is not None:
                    emit(row, we)
                    n += 1
        finally:
            if paused:
                gc.enable()
        if plain:
            stage.count += n

    def _build_merge(
        self, folds: list[tuple[str, ...]], nkeys: int, status: bool = False
    ) -> Callable[..., int]:
        """Generate the loop that folds one batch's partials into the group state."""
        windowed = self.window is not None
        lead = "ws" if windowed else "ts"
        keys = [f"k{i}" for i in range(nkeys)]
        vals: list[str] = []
        body: list[str] = []
        for i, f in enumerate(folds):
            kind = f[0]
            names = [f"p{i}_{j}" for j in range(len(f) - 1)]
            vals += names
            if kind == "count":
                body.append(f"a[{i}].n += {names[0]}")
            elif kind == "sum_int":
                body += [f"x = a[{i}]", f"x.i += {names[0]}", f"x.n += {names[1]}"]
            elif kind == "sum_float":
                body += [
                    f"if {names[0]}:",
                    f"    x = a[{i}]",
                    "    f = x.f",
                    f"    for v in {names[0]}:",
                    "        f += v",
                    "    x.f = f",
                    f"    x.n += len({names[0]})",
                    "    x.has_f = True",
                ]
            elif kind == "sum_dec":
                body += [
                    f"if {names[1]}:",
                    f"    x = a[{i}]",
                    f"    x.d = _dec_add(x.d, {names[0]})",
                    "    x.has_d = True",
                    f"    x.n += {names[1]}",
                ]
            elif kind == "minmax":
                body += [f"if {names[0]} is not None:", f"    a[{i}].add({names[0]})"]
        key = "(" + "".join(k + ", " for k in keys) + ")"
        row = ", ".join([lead, *keys, *vals, *(["st", "ln"] if status else [])])
        lines = [
            "def _merge(cols, windows, groups, ends):",
            "    cur = None",
            "    late = 0",
            f"    for {row}, in zip(*cols):",
        ]
        if status:
            lines += [
                "        if st != 1:",
                "            if st == 2:",
                "                late += ln",
                "            continue",
            ]
        lines.append(f"        key = {key}")
        if windowed:
            # partials come grouped by window first: look the window up once per run
            lines += [
                "        if ws != cur:",
                "            cur = ws",
                "            we = ws + size",
                "            groups = windows.get((ws, we))",
                "            if groups is None:",
                "                groups = windows[(ws, we)] = {}",
                "                heappush(ends, (we, ws))",
                "        g = groups.get(key)",
                "        if g is None:",
                "            g = groups[key] = Group(key, [NEW], None, we)",
            ]
        else:
            lines += [
                "        g = groups.get(key)",
                "        if g is None:",
                "            g = groups[key] = Group(key, [NEW], None, ts)",
                "        g.ts = ts",
            ]
        new = ", ".join(f"F{i}()" for i in range(len(self.factories)))
        lines = [ln.replace("[NEW]", f"[{new}]") for ln in lines]
        lines.append("        a = g.accs")
        lines += ["        " + b for b in body]
        lines.append("    return late")
        env = {
            "heappush": heapq.heappush,
            "Group": _Group,
            **{f"F{i}": f for i, f in enumerate(self.factories)},
            "size": self.window.size_ms if windowed else 0,
            "_dec_add": DEC_CTX.add,
        }
        exec("\n".join(lines), env)  # generated from the plan's shape, not from user text
        return env["_merge"]

    def _report_late(self, batch: Any, df: pl.DataFrame, late_mask: pl.Series | None) -> None:
        """Hand the late records to the dead-letter callback, in input order."""
        if late_mask is None:
            return
        idx = late_mask.arg_true().to_list()
        rows = frame_to_rows(batch[idx]) if isinstance(batch, pl.DataFrame) else batch
        picked = rows if isinstance(batch, pl.DataFrame) else [rows[i] for i in idx]
        for r in picked:
            self.on_late(r, "late: its windows have closed")


class VectorProjectOp(ProjectOp):
    """`ProjectOp` (WHERE + select list, no OVER, no `*`) with a Polars path for whole batches;
    a batch it cannot compute exactly runs through the generated row loop."""

    min_rows = MIN_ROWS
    takes_frames = True  # the job may hand it DataFrame slices of a columnar source
    vectorize_rows = False  # tests turn it on to check dict batches on this path too

    def __init__(self, plan: QueryPlan, emit: Emit, items: list[tuple[str, exp.Expression]]):
        super().__init__(plan, emit, False)
        self.items = items
        nodes = [e for _, e in items] + ([plan.where] if plan.where is not None else [])
        names = columns_read(nodes)
        self.names = ["_event_time", *[n for n in names if n != "_event_time"]]
        self.batches_vectorized = 0
        self.batches_row = 0

    @property
    def read_columns(self) -> list[str]:
        """The input fields this operator reads."""
        return self.names

    def push_batch(self, rows: Any, append: Callable[[tuple], None] | None = None) -> None:
        """Process a batch (record dicts or a DataFrame); with `append`, output (row, ts)
        pairs go straight to it, else through `emit`."""
        is_frame = isinstance(rows, pl.DataFrame)
        # Record dicts go through the generated row loop: converting them to columns and the
        # output back to dicts costs as much as the loop itself (measured); frames gain 2-3x.
        if (is_frame or self.vectorize_rows) and len(rows) >= self.min_rows:
            cols = (
                frame_to_columns(rows, self.names)
                if is_frame
                else rows_to_columns(rows, self.names)
            )
            if cols is not None:
                try:
                    out, ts = self._vector(cols)
                except (Decline, pl.exceptions.PolarsError):
                    pass
                else:
                    self.batches_vectorized += 1
                    if append is not None:
                        for pair in zip(out, ts, strict=True):
                            append(pair)
                    else:
                        emit = self.emit
                        for row, t in zip(out, ts, strict=True):
                            emit(row, t)
                    return
        self.batches_row += 1
        super().push_batch(frame_to_rows(rows) if is_frame else rows, append)

    def _vector(self, cols: Columns) -> tuple[list[dict], list[int]]:
        df = cols.frame
        if cols.kinds["_event_time"] != INT:
            raise Decline
        bounds = batch_bounds(cols)
        comp = ExprCompiler(cols, bounds)
        exprs = []
        for name, node in self.items:
            v = comp.compile(node)
            if v.negzero:
                raise Decline  # the row path may output -0.00 here
            exprs.append(v.expr.alias(name))
        if self.plan.where is not None:
            w = comp.compile(self.plan.where)
            if w.kind == NULL:
                return [], []
            if w.kind != BOOL:
                raise Decline
            df = df.filter(w.expr.fill_null(False))
        if comp.guards and any(
            cols.frame.select(g.alias(f"g{i}") for i, g in enumerate(comp.guards)).row(0)
        ):
            raise Decline
        out = df.select(*exprs, pl.col("_event_time").alias("\x00ts"))
        return out.drop("\x00ts").to_dicts(), out["\x00ts"].to_list()


def vectorize_project(plan: QueryPlan, emit: Emit) -> VectorProjectOp | None:
    """A vectorized projection for `plan`, or None when it needs the row path."""
    if plan.aggregate or plan.joins or len(plan.sources) != 1:
        return None
    if any(s is not None for s in plan.star) or not _supported(plan.where):
        return None
    names = [n for n, _ in plan.items]
    if len(set(names)) != len(names):
        return None
    items = []
    for i, (name, node) in enumerate(plan.items):
        inlined = inline_aliases(node, plan, upto=i)
        if not _supported(inlined):
            return None
        items.append((name, inlined))
    return VectorProjectOp(plan, emit, items)


def _slot_plans(op: AggregateOp) -> list[_SlotPlan] | None:
    plans = []
    for s in op.slots:
        if s.distinct or s.constants:
            return None
        kind = _AGG_KIND.get(type(s.factory()))
        if kind is None:
            return None
        if kind == "count_star":
            plans.append(_SlotPlan(kind, None))
            continue
        if len(s.args) != 1:
            return None
        arg = inline_aliases(s.args[0], op.plan)
        if not _supported(arg):
            return None
        plans.append(_SlotPlan(kind, arg))
    return plans


def vectorize_aggregate(
    plan: QueryPlan, emit: Emit, on_late: Callable[[dict, str], None] | None = None
) -> VectorAggregateOp | None:
    """A vectorized aggregate operator for `plan`, or None when the plan needs the row path."""
    if not plan.aggregate or plan.joins or len(plan.sources) != 1 or plan.emit != "FINAL":
        return None
    w = plan.window
    if w is not None:
        if w.kind not in ("TUMBLING", "SLIDING"):
            return None
        if w.kind == "SLIDING" and w.advance_ms <= 0:
            return None
        col = w.time_column
        if col is not None and (col.name.lower() != "_event_time" or col.table):
            return None
    if not _supported(plan.where):
        return None
    if not all(_supported(inline_aliases(g, plan)) for g in plan.group_by):
        return None
    op = VectorAggregateOp(plan, emit, on_late)  # compiles the row path once, for both
    return op if op.eligible else None
