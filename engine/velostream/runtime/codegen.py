"""Compiles SQL expressions (sqlglot trees) to Python source, exec'd once per query.

The hot path never walks the AST per record: each expression becomes a Python expression string
over local names, with SQL NULL semantics inlined or delegated to `velostream.values` helpers.
A `Resolver` decides what a column reference means in the scope being compiled (a field of the
input row, a group key, an accumulator result, an earlier select alias, ...).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlglot import exp

from velostream import values as V
from velostream.errors import SqlError, position_of
from velostream.functions import registry as F
from velostream.sql.ast import Duration
from velostream.sql.durations import LONG_UNIT_NAMES, to_millis


def interval_millis(node: exp.Expression) -> int:
    """The length of an INTERVAL literal or a `Duration` in milliseconds."""
    if isinstance(node, Duration):
        return node.millis
    if isinstance(node, exp.Interval):
        value = node.this.name if node.this is not None else "0"
        unit = node.text("unit")
        parts = value.split()
        if not unit and len(parts) == 2:  # INTERVAL '5 MINUTE'
            value, unit = parts
        ms = to_millis(value, unit)
        if ms is None:
            raise SqlError(f"bad interval {node.sql()!r}", kind="type", expected=LONG_UNIT_NAMES)
        return ms
    raise SqlError(f"expected an interval, got {node.sql()}", kind="type")


class Resolver:
    """Maps a column reference to Python source in the scope being compiled."""

    def column(self, col: exp.Column, compiler: Compiler) -> str:
        """Python source that yields the column's value."""
        raise NotImplementedError

    def aggregate(self, node: exp.Expression, compiler: Compiler) -> str:
        """Python source for an aggregate call (only in aggregate scopes)."""
        raise SqlError(f"aggregate {node.sql(dialect='postgres')} is not allowed here", kind="name")

    def window_function(self, node: exp.Window, compiler: Compiler) -> str:
        """Python source for an OVER (...) call (only in projection scopes)."""
        raise SqlError(f"{node.sql(dialect='postgres')} is not allowed here", kind="name")


def _ci_get(row: dict, name: str) -> Any:
    """Case-insensitive field lookup, used only when the exact name is absent."""
    low = name.lower()
    for k, v in row.items():
        if k.lower() == low:
            return v
    return None


def field_access(row_var: str, name: str) -> str:
    """Python source reading field `name` from dict `row_var` (NULL when absent)."""
    return f"({row_var}[{name!r}] if {name!r} in {row_var} else _ci_get({row_var}, {name!r}))"


def _null_safe(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        for a in args:
            if a is None:
                return None
        return fn(*args)

    call.__name__ = getattr(fn, "__name__", "fn")
    return call


def _coalesce(*args: Any) -> Any:
    for a in args:
        if a is not None:
            return a
    return None


# Binary operators and the `velostream.values` helpers that give them SQL semantics.
_BINARY: dict[type, str] = {
    exp.Add: "_add",
    exp.Sub: "_sub",
    exp.Mul: "_mul",
    exp.Div: "_div",
    exp.IntDiv: "_div",
    exp.Mod: "_mod",
    exp.DPipe: "_concat",
    exp.EQ: "_eq",
    exp.NEQ: "_ne",
    exp.LT: "_lt",
    exp.LTE: "_le",
    exp.GT: "_gt",
    exp.GTE: "_ge",
    exp.And: "_and",
    exp.Or: "_or",
}

# Velostream spellings of system columns as calls without arguments.
_NO_ARG_COLUMNS = {
    "TIMESTAMP": "_timestamp",
    "TUMBLE_START": "_window_start",
    "TUMBLE_END": "_window_end",
}

_INLINE_OPS = {
    "_add": "+",
    "_sub": "-",
    "_mul": "*",
    "_eq": "==",
    "_ne": "!=",
    "_lt": "<",
    "_le": "<=",
    "_gt": ">",
    "_ge": ">=",
}


def _is_int_literal(node: exp.Expression) -> bool:
    return (
        isinstance(node, exp.Literal)
        and not node.is_string
        and re.fullmatch(r"\d+", node.this) is not None
    )


def _lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _index(container: Any, idx: Any) -> Any:
    """`col[i]` on an array (0-based, as Velostream) or `col['k']` on a map; NULL when absent."""
    if container is None or idx is None:
        return None
    try:
        return container[idx]
    except (IndexError, KeyError, TypeError):
        return None


def _member(container: Any, name: str) -> Any:
    """`col.field` on a struct/map value."""
    return container.get(name) if isinstance(container, dict) else None


def _case_eq(a: Any, b: Any) -> bool:
    return V.eq(a, b) is True


# Names of sqlglot's typed function nodes that the Velostream registry spells differently.
_RENAMES = {
    "STR_POSITION": "POSITION",
    "REGEXP_LIKE": "REGEXP",
    "GROUP_CONCAT": "STRING_AGG",
    "ARRAY_SIZE": "ARRAY_LENGTH",
    "CURRENT_TIMESTAMP": "CURRENT_TIMESTAMP",
    "TIME_TO_STR": "DATE_FORMAT",
    "APPROX_DISTINCT": "APPROX_COUNT_DISTINCT",
    "VARIANCE_POP": "VAR_POP",
    "VAR_SAMP": "VARIANCE",
    "STDDEV_SAMP": "STDDEV",
    "ARRAY_AGG": "LISTAGG",
    "ARRAY_CONTAINS": "ARRAY_CONTAINS",
    "JSON_EXTRACT_SCALAR": "JSON_VALUE",
    "UNIX_TO_TIME": "FROM_UNIXTIME",
    "TIME_TO_UNIX": "UNIX_TIMESTAMP",
    "CEILING": "CEIL",
    "LEN": "LENGTH",
}


def function_name(node: exp.Expression) -> str:
    """The registry name of a function call node (upper case)."""
    if isinstance(node, exp.Anonymous):
        return node.name.upper()
    if isinstance(node, exp.Trim):
        pos = str(node.args.get("position") or "").upper()
        return {"LEADING": "LTRIM", "TRAILING": "RTRIM"}.get(pos, "TRIM")
    if isinstance(node, exp.JSONValue):
        return "JSON_VALUE"
    if isinstance(node, exp.WithinGroup):
        return function_name(node.this)
    name = node.sql_name().upper() if isinstance(node, exp.Func) else type(node).__name__.upper()
    return _RENAMES.get(name, name)


def function_args(node: exp.Expression) -> list[exp.Expression]:
    """The argument expressions of a function call node, in SQL order."""
    if isinstance(node, exp.Anonymous):
        return list(node.expressions)
    if isinstance(node, exp.StrPosition):  # POSITION(sub IN s): registry order is (sub, s)
        return [a for a in (node.args.get("substr"), node.this) if a is not None]
    if isinstance(node, exp.JSONValue):
        return [a for a in (node.this, node.args.get("path")) if a is not None]
    if isinstance(node, exp.WithinGroup):  # PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY x)
        return [node.expression.expressions[0].this, *function_args(node.this)]
    args: list[exp.Expression] = []
    for key in node.arg_types:
        val = node.args.get(key)
        if val is None or isinstance(val, bool):
            continue
        if isinstance(val, list):
            args.extend(val)
        elif isinstance(val, exp.Expression):
            args.append(val)
    return args


def is_aggregate(node: exp.Expression) -> bool:
    """True for an aggregate call (not one inside OVER)."""
    if isinstance(node, exp.Window):
        return False
    if isinstance(node, exp.WithinGroup):
        return True
    if isinstance(node.parent, exp.WithinGroup) and node is node.parent.this:
        return False  # the WITHIN GROUP node is the aggregate
    if isinstance(node, exp.AggFunc):
        return True
    if isinstance(node, exp.Anonymous | exp.Func):
        return function_name(node) in F.AGGREGATES and not isinstance(node.parent, exp.Window)
    return False


def contains_aggregate(node: exp.Expression) -> bool:
    """True when an aggregate call appears anywhere outside an OVER clause."""
    for n in node.walk():
        if is_aggregate(n) and not isinstance(n.parent, exp.Window):
            return True
    return False


class Compiler:
    """Turns expressions into Python source; collects the constants they reference."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.env: dict[str, Any] = {
            "_V": V,
            "_ci_get": _ci_get,
            "_coalesce": _coalesce,
            "_case_eq": _case_eq,
            "_add": V.add,
            "_sub": V.sub,
            "_mul": V.mul,
            "_div": V.div,
            "_mod": V.mod,
            "_neg": V.neg,
            "_eq": V.eq,
            "_ne": V.ne,
            "_lt": V.lt,
            "_le": V.le,
            "_gt": V.gt,
            "_ge": V.ge,
            "_and": V.and_,
            "_or": V.or_,
            "_not": V.not_,
            "_like": V.like,
            "_between": V.between,
            "_in": V.in_list,
            "_concat": V.concat_op,
            "_cast": V.cast,
            "Decimal": Decimal,
            "_lower": _lower,
            "_index": _index,
            "_member": _member,
        }
        self._consts: dict[Any, str] = {}
        self._temps = 0

    def const(self, value: Any) -> str:
        """A name bound to a constant value in the generated code's environment."""
        key = (type(value), value) if _hashable(value) else id(value)
        name = self._consts.get(key)
        if name is None:
            name = f"_c{len(self._consts)}"
            self._consts[key] = name
            self.env[name] = value
        return name

    def fn(self, name: str, func: Callable[..., Any]) -> str:
        """A name bound to a function in the generated code's environment."""
        var = "_f_" + re.sub(r"\W", "_", name)
        self.env.setdefault(var, func)
        return var

    # -- the compiler proper -------------------------------------------------------------

    def compile(self, node: exp.Expression) -> str:
        """Python source for `node`."""
        substitute = getattr(self.resolver, "substitute", None)
        if substitute is not None:
            replaced = substitute(node)
            if replaced is not None:
                return replaced
        helper = _BINARY.get(type(node))
        if helper is not None:
            return self._binary(helper, node)
        method = getattr(self, "_c_" + type(node).__name__, None)
        if method is not None:
            return method(node)
        if isinstance(node, exp.Window):
            return self.resolver.window_function(node, self)
        if is_aggregate(node):
            return self.resolver.aggregate(node, self)
        if isinstance(node, exp.Func):
            return self._call(node)
        raise SqlError(
            f"unsupported expression {node.sql(dialect='postgres')!r} ({type(node).__name__})",
            kind="name",
        )

    def _c_Column(self, node: exp.Column) -> str:
        return self.resolver.column(node, self)

    def _c_Paren(self, node: exp.Paren) -> str:
        return self.compile(node.this)

    def _c_Alias(self, node: exp.Alias) -> str:
        return self.compile(node.this)

    def _c_Literal(self, node: exp.Literal) -> str:
        if node.is_string:
            return repr(node.this)
        text = node.this
        if re.fullmatch(r"[+-]?\d+", text):
            return repr(int(text))
        if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)", text):
            return self.const(Decimal(text))
        return repr(float(text))

    def _c_Boolean(self, node: exp.Boolean) -> str:
        return repr(bool(node.this))

    def _c_Null(self, node: exp.Null) -> str:
        return "None"

    def _c_Interval(self, node: exp.Interval) -> str:
        return repr(interval_millis(node))

    def _c_Duration(self, node: Duration) -> str:
        return repr(node.millis)

    def _binary(self, helper: str, node: exp.Binary) -> str:
        left, right = self.compile(node.this), self.compile(node.expression)
        op = _INLINE_OPS.get(helper)
        if op is not None:
            # With an integer literal on one side, an int on the other needs no helper call.
            if _is_int_literal(node.expression):
                t = self._temp()
                return (
                    f"({t} {op} {right} if type({t} := {left}) is int else {helper}({t}, {right}))"
                )
            if _is_int_literal(node.this):
                t = self._temp()
                return (
                    f"({left} {op} {t} if type({t} := {right}) is int else {helper}({left}, {t}))"
                )
        return f"{helper}({left}, {right})"

    def _temp(self) -> str:
        self._temps += 1
        return f"_t{self._temps}"

    def _c_Neg(self, n: exp.Neg) -> str:
        return f"_neg({self.compile(n.this)})"

    def _c_Not(self, n: exp.Not) -> str:
        return f"_not({self.compile(n.this)})"

    def _c_Is(self, n: exp.Is) -> str:
        target = n.expression
        negate = bool(n.args.get("negate"))
        if isinstance(target, exp.Null):
            return f"({self.compile(n.this)} is {'not ' if negate else ''}None)"
        if isinstance(target, exp.Boolean):  # IS TRUE / IS FALSE: never NULL
            test = f"({self.compile(n.this)} is {bool(target.this)!r})"
            return f"(not {test})" if negate else test
        raise SqlError(f"unsupported IS {target.sql()}", kind="syntax")

    def _c_Like(self, n: exp.Like) -> str:
        out = self._binary("_like", n)
        return f"_not({out})" if n.args.get("negate") else out

    def _c_ILike(self, n: exp.ILike) -> str:
        a, b = self.compile(n.this), self.compile(n.expression)
        out = f"_like(_lower({a}), _lower({b}))"
        return f"_not({out})" if n.args.get("negate") else out

    def _c_Escape(self, n: exp.Escape) -> str:
        like = n.this
        return (
            f"_like({self.compile(like.this)}, {self.compile(like.expression)}, "
            f"{self.compile(n.expression)})"
        )

    def _c_Between(self, n: exp.Between) -> str:
        return (
            f"_between({self.compile(n.this)}, {self.compile(n.args['low'])}, "
            f"{self.compile(n.args['high'])})"
        )

    def _c_In(self, n: exp.In) -> str:
        if n.args.get("query") is not None:
            raise SqlError("IN (SELECT ...) subqueries are not supported yet", kind="name")
        items = ", ".join(self.compile(e) for e in n.expressions)
        out = f"_in({self.compile(n.this)}, ({items},))"
        return f"_not({out})" if n.args.get("negate") else out

    def _c_Case(self, n: exp.Case) -> str:
        default = self.compile(n.args["default"]) if n.args.get("default") else "None"
        subject = n.this
        out = default
        for when in reversed(n.args.get("ifs") or []):
            cond = when.this
            then = self.compile(when.args["true"])
            if subject is not None:
                test = f"_case_eq({self.compile(subject)}, {self.compile(cond)})"
            else:
                test = f"({self.compile(cond)} is True)"
            out = f"({then} if {test} else {out})"
        return out

    def _c_If(self, n: exp.If) -> str:
        false = self.compile(n.args["false"]) if n.args.get("false") else "None"
        return f"({self.compile(n.args['true'])} if ({self.compile(n.this)} is True) else {false})"

    def _c_Coalesce(self, n: exp.Coalesce) -> str:
        args = [self.compile(a) for a in [n.this, *n.expressions]]
        return f"_coalesce({', '.join(args)})"

    def _c_Cast(self, n: exp.Cast) -> str:
        typ = V.parse_type(n.args["to"])
        return f"_cast({self.compile(n.this)}, {self.const(typ)})"

    def _c_TryCast(self, n: exp.TryCast) -> str:
        return self._c_Cast(n)

    def _c_Extract(self, n: exp.Extract) -> str:
        part = n.this.name.upper() if isinstance(n.this, exp.Var | exp.Identifier) else n.this.sql()
        fn = self._lookup_scalar("EXTRACT", n)
        return f"{self.fn('EXTRACT', fn)}({part!r}, {self.compile(n.expression)})"

    def _c_Bracket(self, n: exp.Bracket) -> str:
        idx = ", ".join(self.compile(e) for e in n.expressions)
        return f"_index({self.compile(n.this)}, {idx})"

    def _c_Dot(self, n: exp.Dot) -> str:
        return f"_member({self.compile(n.this)}, {n.expression.name!r})"

    def _c_CurrentTimestamp(self, n: exp.CurrentTimestamp) -> str:
        return self._call(n)

    def _c_JSONValue(self, n: exp.JSONValue) -> str:
        return self._call(n)

    def _lookup_scalar(self, name: str, node: exp.Expression) -> Callable[..., Any]:
        entry = _scalar_entry(name, node)
        return _null_safe(entry.fn) if entry.null_propagating else entry.fn

    def _call(self, node: exp.Expression) -> str:
        name = function_name(node)
        args = function_args(node)
        if not args and name in _NO_ARG_COLUMNS:  # TIMESTAMP() is the record's _timestamp
            return self.resolver.column(exp.column(_NO_ARG_COLUMNS[name]), self)
        entry = _scalar_entry(name, node)
        if len(args) < entry.min_args or (
            entry.max_args is not None and len(args) > entry.max_args
        ):
            want = (
                f"{entry.min_args}"
                if entry.max_args == entry.min_args
                else f"{entry.min_args} to {entry.max_args if entry.max_args is not None else 'any'}"
            )
            raise SqlError(
                f"{name} takes {want} arguments, got {len(args)}",
                kind="name",
                token=name,
                **position_of(node),
            )
        fn = _null_safe(entry.fn) if entry.null_propagating else entry.fn
        compiled = ", ".join(self.compile(a) for a in args)
        if entry.row_column is not None:  # e.g. HEADER('k') reads the row's headers
            field = self.resolver.column(exp.column(entry.row_column), self)
            compiled = f"{field}, {compiled}" if compiled else field
        return f"{self.fn(name, fn)}({compiled})"

    def lambda_(self, params: str, node: exp.Expression) -> Callable[..., Any]:
        """Compile `node` into a Python function of `params`."""
        return self.function(params, self.compile(node))

    def function(self, params: str, body: str) -> Callable[..., Any]:
        """Exec `lambda params: body` in the compiled environment."""
        return define(f"_fn = lambda {params}: {body}", self.env, "_fn")


def define(source: str, env: dict[str, Any], name: str) -> Any:
    """Exec generated source (built from the parsed AST, never pasted user text) in `env`
    and return the object it binds to `name`."""
    with warnings.catch_warnings():
        # `x is True` on a constant operand is intended (SQL truth); Python would warn.
        warnings.simplefilter("ignore", SyntaxWarning)
        code = compile(source, "<velostream>", "exec")
    exec(code, env)
    return env[name]


def _scalar_entry(name: str, node: exp.Expression) -> F.ScalarFunction:
    """The registry entry of a scalar function, or an error that names it and points at it."""
    entry = F.SCALARS.get(name)
    if entry is None:
        raise SqlError(
            f"unknown function {name}{_did_you_mean(name)}",
            kind="name",
            token=name,
            expected=["a function listed by SHOW FUNCTIONS"],
            **position_of(node),
        )
    return entry


def _did_you_mean(name: str) -> str:
    import difflib

    known = [*F.SCALARS, *F.AGGREGATES, *F.WINDOW_FUNCTIONS]
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def literal_value(node: exp.Expression) -> Any:
    """The Python value of a constant expression (for aggregate parameters and the like)."""
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        if re.fullmatch(r"[+-]?\d+", node.this):
            return int(node.this)
        if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)", node.this):
            return Decimal(node.this)
        return float(node.this)
    if isinstance(node, exp.Neg):
        return V.neg(literal_value(node.this))
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Interval | Duration):
        return interval_millis(node)
    if isinstance(node, exp.Paren):
        return literal_value(node.this)
    raise SqlError(f"expected a constant, got {node.sql(dialect='postgres')}", kind="type")
