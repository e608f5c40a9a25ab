"""Compiles a `QueryPlan`'s expressions into Python functions: row filters, projections,
group keys, accumulator updates and group outputs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from velostream.connectors.base import SYSTEM_COLUMNS
from velostream.errors import SqlError
from velostream.plan.logical import QueryPlan
from velostream.runtime.codegen import (
    Compiler,
    Resolver,
    define,
    field_access,
    function_args,
    function_name,
    is_aggregate,
    literal_value,
)
from velostream.runtime.joins import SIDES, star_of_joined

_SYSTEM = frozenset(SYSTEM_COLUMNS)


def key_sql(node: exp.Expression) -> str:
    """A normalised text of an expression, for matching GROUP BY keys and aggregates."""
    return node.sql(dialect="postgres", normalize=True).lower()


@dataclass
class AggSlot:
    """One distinct aggregate call of a query."""

    name: str
    node: exp.Expression
    args: list[exp.Expression]  # per-row value arguments
    constants: list[Any]  # constant trailing arguments for the factory
    distinct: bool = False
    factory: Callable[[], Any] = field(default=lambda: None)


@dataclass
class OverSlot:
    """One window-function call `f(...) OVER (...)` of a projection."""

    func: str
    args: list[Callable[[dict], Any]]
    constants: list[Any]
    partition: Callable[[dict], Any] | None
    order: Callable[[dict], Any] | None
    frame: int | None  # at most this many rows before the current one; None = unbounded


class RowResolver(Resolver):
    """Columns of the input row `r`: plain fields, joined fields and earlier select aliases."""

    def __init__(
        self,
        plan: QueryPlan,
        joined: bool,
        aliases: dict[str, str] | None = None,
        var: str = "r",
    ):
        self.plan = plan
        self.joined = joined
        self.var = var
        self.aliases = aliases if aliases is not None else {}  # lower name -> local var
        self.qualifiers: dict[str, str] = {}
        for s in plan.sources:
            self.qualifiers[s.alias] = s.alias
            self.qualifiers.setdefault(s.name, s.alias)
        self.over: list[OverSlot] = []
        self.allow_over = False

    def column(self, col: exp.Column, compiler: Compiler) -> str:
        name = col.name
        table = col.table.lower()
        if not table and name.lower() in self.aliases:
            return self.aliases[name.lower()]
        if table and self.joined:
            q = self.qualifiers.get(table)
            if q is None:
                raise SqlError(
                    f"unknown source '{col.table}' in {col.sql()}",
                    kind="name",
                    token=col.table,
                    expected=sorted(self.qualifiers),
                )
            return field_access(self.var, f"{q}.{name}")
        if table and table not in self.qualifiers:
            raise SqlError(
                f"unknown source '{col.table}' in {col.sql()}",
                kind="name",
                token=col.table,
                expected=sorted(self.qualifiers),
            )
        return field_access(self.var, name)

    def window_function(self, node: exp.Window, compiler: Compiler) -> str:
        if not self.allow_over:
            return super().window_function(node, compiler)
        slot = compile_over(node, self, compiler)
        self.over.append(slot)
        return f"w[{len(self.over) - 1}]"


class GroupResolver(Resolver):
    """The scope of a group's output row: keys, accumulator results, window bounds, aliases."""

    def __init__(self, plan: QueryPlan, row: RowResolver, windowed: bool):
        self.plan = plan
        self.row = row
        self.last = RowResolver(plan, row.joined, aliases={}, var="last")
        self.windowed = windowed
        self.keys = {key_sql(g): i for i, g in enumerate(plan.group_by)}
        self.aliases: dict[str, str] = {}
        self.slots: list[AggSlot] = []
        self._slot_index: dict[str, int] = {}
        self.needs_last = False

    def substitute(self, node: exp.Expression) -> str | None:
        """Whole sub-expressions equal to a GROUP BY key read the key."""
        if not self.keys or isinstance(node, exp.Literal):
            return None
        i = self.keys.get(key_sql(node))
        return None if i is None else f"k[{i}]"

    def column(self, col: exp.Column, compiler: Compiler) -> str:
        name = col.name.lower()
        if not col.table and name in self.aliases:
            return self.aliases[name]
        if self.windowed and not col.table:
            if name == "_window_start":
                return "ws"
            if name == "_window_end" or name == "_event_time":
                return "we"
        self.needs_last = True
        return self.last.column(col, compiler)

    def aggregate(self, node: exp.Expression, compiler: Compiler) -> str:
        k = key_sql(node)
        i = self._slot_index.get(k)
        if i is None:
            i = len(self.slots)
            self._slot_index[k] = i
            self.slots.append(make_slot(node))
        return self.slot_value(i)

    def slot_value(self, i: int) -> str:
        """The Python expression of aggregate slot `i`'s result."""
        return f"a[{i}].result()"


class ValueGroupResolver(GroupResolver):
    """A group's scope where aggregate results are plain values `r0, r1, ...` (computed in
    bulk elsewhere) instead of accumulator objects."""

    def slot_value(self, i: int) -> str:
        """Slot `i`'s result is the loop variable `r<i>`."""
        return f"r{i}"

    def substitute(self, node: exp.Expression) -> str | None:
        """Whole sub-expressions equal to a GROUP BY key read the loop variable `k<i>`."""
        ref = super().substitute(node)
        return None if ref is None else f"k{ref[2:-1]}"


def make_slot(node: exp.Expression) -> AggSlot:
    """Describe one aggregate call: its registry entry, per-row and constant arguments."""
    from velostream.functions.aggregates import resolve_aggregate

    name = function_name(node)
    distinct = False
    star = False
    args = function_args(node)
    if isinstance(node, exp.Count):
        this = node.this
        if isinstance(this, exp.Star) or this is None:
            args, star = [], True
        elif isinstance(this, exp.Distinct):
            distinct = True
            args = list(this.expressions)

    if args and isinstance(args[0], exp.Distinct):
        distinct = True
        args = list(args[0].expressions) + args[1:]
    try:
        entry = resolve_aggregate(name, star=star, distinct=distinct)
    except KeyError:
        raise SqlError(f"unknown aggregate function {name}", kind="name", token=name) from None
    if not star and (
        len(args) < entry.min_args or (entry.max_args is not None and len(args) > entry.max_args)
    ):
        top = entry.max_args if entry.max_args is not None else "any"
        want = entry.min_args if entry.max_args == entry.min_args else f"{entry.min_args} to {top}"
        raise SqlError(f"{name} takes {want} argument(s), got {len(args)}", kind="name", token=name)
    values = args[: entry.value_args]
    consts = tuple(literal_value(a) for a in args[entry.value_args :])
    factory = entry.factory
    slot = AggSlot(name=name, node=node, args=values, constants=list(consts), distinct=distinct)
    slot.factory = (lambda f=factory, c=consts: f(*c)) if consts else factory
    return slot


_WINDOW_ONLY = {"LAG", "LEAD", "ROW_NUMBER", "RANK", "DENSE_RANK", "NTH_VALUE", "NTILE"}
_WINDOW_OK = _WINDOW_ONLY | {"FIRST_VALUE", "LAST_VALUE", "COUNT", "SUM", "AVG", "MIN", "MAX"}


def compile_over(node: exp.Window, row: RowResolver, compiler: Compiler) -> OverSlot:
    """Describe a `f(x) OVER (PARTITION BY .. ORDER BY .. ROWS ..)` call."""
    fnode = node.this
    name = function_name(fnode)
    name = {"FIRST": "FIRST_VALUE", "LAST": "LAST_VALUE"}.get(name, name)
    if name not in _WINDOW_OK:
        raise SqlError(
            f"{name} is not supported in OVER (...)",
            kind="name",
            token=name,
            expected=sorted(_WINDOW_OK),
        )
    args = function_args(fnode)
    if isinstance(fnode, exp.Count) and (isinstance(fnode.this, exp.Star) or fnode.this is None):
        args = []
    nvals = 1 if name in ("LAG", "LEAD", "FIRST_VALUE", "LAST_VALUE", "NTH_VALUE") else len(args)
    if name in ("ROW_NUMBER", "RANK", "DENSE_RANK", "NTILE"):
        nvals = 0
    # OVER arguments, partitions and orders read the input row, never select aliases.
    sub = Compiler(RowResolver(row.plan, row.joined, aliases={}, var=row.var))
    sub.env = compiler.env
    sub._consts = compiler._consts
    arg_fns = [sub.lambda_("r", a) for a in args[:nvals]]
    consts = [literal_value(a) for a in args[nvals:]]
    parts = node.args.get("partition_by") or []
    partition = None
    if parts:
        body = "(" + ", ".join(sub.compile(p) for p in parts) + ",)"
        partition = sub.function("r", body)
    order = None
    if node.args.get("order") is not None:
        ords = node.args["order"].expressions
        body = "(" + ", ".join(sub.compile(o.this) for o in ords) + ",)"
        order = sub.function("r", body)
    frame = None
    spec = node.args.get("spec")
    if spec is not None and str(spec.args.get("kind", "")).upper() == "ROWS":
        start = spec.args.get("start")
        if isinstance(start, exp.Literal):
            frame = int(start.this)
        elif isinstance(start, str) and start.upper() == "CURRENT ROW":
            frame = 0
    return OverSlot(
        func=name, args=arg_fns, constants=consts, partition=partition, order=order, frame=frame
    )


def star_fields(row: dict, qualifier: str, joined: bool) -> dict:
    """The fields `*` (or `alias.*`) selects from a row: no system columns."""
    if joined and SIDES in row:
        return star_of_joined(row, qualifier)
    return {k: v for k, v in row.items() if k not in _SYSTEM}


def build_projection(
    plan: QueryPlan, compiler: Compiler, row: RowResolver, joined: bool
) -> tuple[Callable[..., dict], Callable[..., None] | None, list[str]]:
    """The projection with select-alias reuse: `proj(r, w) -> output row`, a batch loop
    `batch(rows, append)` that filters and projects a whole batch (None when the query has
    OVER functions), and the output column names."""
    body: list[str] = []
    names: list[str] = []
    simple = True  # a dict display of the outputs, when no `*` needs merging in
    row.allow_over = True
    for i, ((name, node), star) in enumerate(zip(plan.items, plan.star, strict=True)):
        if star is not None:
            body.append(f"o.update(_star(r, {star!r}, {joined!r}))")
            names.append("*")
            simple = False
            continue
        var = f"v{i}"
        body.append(f"{var} = {compiler.compile(node)}")
        row.aliases[name.lower()] = var
        names.append(name)
    row.allow_over = False
    row.aliases.clear()
    out_vars = [(n, f"v{i}") for i, (n, _) in enumerate(plan.items) if n != "*"]
    if simple:
        result = "{" + ", ".join(f"{n!r}: {v}" for n, v in out_vars) + "}"
        lines = [f"    {b}" for b in body]
    else:
        lines = ["    o = {}"]
        order = iter(out_vars)
        for b in body:
            lines.append(f"    {b}")
            if not b.startswith("o.update"):
                n, v = next(order)
                lines.append(f"    o[{n!r}] = {v}")
        result = "o"
    src = ["def _proj(r, w):", *lines, f"    return {result}"]
    compiler.env["_star"] = star_fields
    proj = define("\n".join(src), compiler.env, "_proj")
    if row.over:
        return proj, None, names
    where = compiler.compile(plan.where) if plan.where is not None else None
    loop = ["def _batch(rows, append):", "    for r in rows:"]
    pad = "        "
    if where is not None:
        loop.append(f"{pad}if ({where}) is not True:")
        loop.append(f"{pad}    continue")
    loop += [pad + line.strip() if line.startswith("    ") else line for line in lines]
    loop.append(f"{pad}append(({result}, r['_event_time']))")
    return proj, define("\n".join(loop), compiler.env, "_batch"), names


def build_group_output(
    plan: QueryPlan, compiler: Compiler, group: GroupResolver
) -> tuple[Callable[..., dict | None], list[str]]:
    """`out(k, a, last, ws, we) -> output row or None` (None when HAVING rejects it)."""
    lines = ["def _out(k, a, last, ws, we):", "    o = {}"]
    names = []
    for i, ((name, node), star) in enumerate(zip(plan.items, plan.star, strict=True)):
        if star is not None:
            group.needs_last = True
            lines.append(f"    o.update(_star(last, {star!r}, False))")
            names.append("*")
            continue
        var = f"v{i}"
        lines.append(f"    {var} = {compiler.compile(node)}")
        lines.append(f"    o[{name!r}] = {var}")
        group.aliases[name.lower()] = var
        names.append(name)
    if plan.having is not None:
        lines.append(f"    if ({compiler.compile(plan.having)}) is not True:")
        lines.append("        return None")
    lines.append("    return o")
    compiler.env["_star"] = star_fields
    return define("\n".join(lines), compiler.env, "_out"), names


def build_group_rows(
    plan: QueryPlan, compiler: Compiler, group: ValueGroupResolver, nkeys: int, size: int
) -> Callable[[list[list], Callable[[dict, int], Any]], int]:
    """`rows(cols, emit) -> rows emitted`: the output rows of closed window groups given as
    columns (window start, the GROUP BY keys, then each aggregate slot's result), in order,
    each handed to `emit(row, window end)` unless HAVING rejects it. The same select list and
    HAVING as `build_group_output`, in one loop instead of one call per group."""
    keys = [f"k{i}" for i in range(nkeys)]
    body: list[str] = []
    out_vars: list[tuple[str, str]] = []
    for i, ((name, node), star) in enumerate(zip(plan.items, plan.star, strict=True)):
        if star is not None:
            raise ValueError("a select list with * needs the group's last row")
        var = f"v{i}"
        body.append(f"{var} = {compiler.compile(node)}")
        group.aliases[name.lower()] = var
        out_vars.append((name, var))
    if plan.having is not None:
        body.append(f"if ({compiler.compile(plan.having)}) is not True:")
        body.append("    continue")
    nslots = len(group.slots)
    loop_vars = ["ws", *keys, *(f"r{i}" for i in range(nslots))]
    lines = [
        "def _rows(cols, emit):",
        "    n = 0",
        f"    for {', '.join(loop_vars)}, in zip(*cols):",
        f"        we = ws + {int(size)}",
        *("        " + b for b in body),
        "        emit({" + ", ".join(f"{n!r}: {v}" for n, v in out_vars) + "}, we)",
        "        n += 1" if plan.having is not None else "",
        "    return n" if plan.having is not None else "    return len(cols[0])",
    ]
    return define("\n".join(lines), compiler.env, "_rows")


def inline_aliases(
    node: exp.Expression, plan: QueryPlan, upto: int | None = None
) -> exp.Expression:
    """Replace references to earlier non-aggregate select aliases by their expressions."""
    defs = {}
    for i, (name, e) in enumerate(plan.items):
        if upto is not None and i >= upto:
            break
        if name != "*" and not any(is_aggregate(n) for n in e.walk()):
            defs[name.lower()] = e

    def repl(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Column) and not n.table and n.name.lower() in defs:
            target = defs[n.name.lower()]
            if isinstance(target, exp.Column) and target.name.lower() == n.name.lower():
                return n
            return exp.Paren(this=target.copy())
        return n

    return node.copy().transform(repl)
