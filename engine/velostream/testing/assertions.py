"""Assertions on a test run's output rows, inputs and metrics. Each failure says which rows
failed and why (a few samples with their row numbers, and how many in all)."""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

SAMPLES = 5  # failing rows shown per assertion


@dataclass
class Output:
    """What one statement emitted during the run."""

    name: str
    rows: list[dict]
    columns: list[str]
    emitted_at: list[int | None] = field(default_factory=list)  # simulated clock per row
    records_in: int = 0
    late: int = 0
    malformed: int = 0


@dataclass
class Context:
    """Everything an assertion may look at."""

    outputs: dict[str, Output]
    inputs: dict[str, list[dict]]
    base: Path = Path(".")
    metrics: Any = None  # a velostream.testing.metrics_view.MetricsView, when metrics exist


@dataclass
class Failure:
    """One failing row: its 1-based number in the output, the row, and why."""

    row: int | None
    reason: str
    values: dict[str, Any] | None = None


@dataclass
class Result:
    """The verdict of one assertion."""

    query: str
    sink: str
    type: str
    label: str
    passed: bool
    message: str
    expected: Any = None
    actual: Any = None
    failures: list[Failure] = field(default_factory=list)
    failing_count: int = 0
    error: bool = False  # the assertion could not be evaluated (bad field, no metrics, ...)


class AssertionError_(Exception):
    """An assertion that cannot be evaluated (its field is not in the output, ...)."""


# -- helpers -------------------------------------------------------------------------------


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, int | float | Decimal):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _same(a: Any, b: Any) -> bool:
    """Equal as values: numbers by value (a DECIMAL equals the same float), else ==."""
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None and not isinstance(a, str) and not isinstance(b, str):
        return math.isclose(na, nb, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, Decimal | int | float) and isinstance(b, str):
        return nb is not None and na is not None and math.isclose(na, nb, rel_tol=1e-9)
    return a == b


def _show(v: Any) -> str:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, float):
        return f"{v:.6g}"
    return repr(v)


_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
}


def _eval_arith(text: str) -> float:
    """Numbers and + - * / ( ): an expected value after its templates are filled in."""

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.operand))
        raise AssertionError_(f"cannot evaluate {text!r}: only numbers and + - * / ( )")

    try:
        return ev(ast.parse(text, mode="eval"))
    except SyntaxError:
        raise AssertionError_(f"cannot evaluate {text!r}") from None


_TEMPLATE = re.compile(r"\{\{\s*(inputs|outputs)\.([A-Za-z_][\w]*)\.count\s*\}\}")


def expected_value(v: Any, ctx: Context) -> Any:
    """An expected value; `{{inputs.src.count}}` / `{{outputs.name.count}}` and arithmetic on
    them are filled in from the run."""
    if not isinstance(v, str) or "{{" not in v:
        return v

    def fill(m: re.Match) -> str:
        kind, name = m.group(1), m.group(2).lower()
        if kind == "inputs":
            if name not in ctx.inputs:
                raise AssertionError_(f"no input {name!r} (inputs: {', '.join(ctx.inputs)})")
            return str(len(ctx.inputs[name]))
        if name not in ctx.outputs:
            raise AssertionError_(f"no output {name!r} (outputs: {', '.join(ctx.outputs)})")
        return str(len(ctx.outputs[name].rows))

    return _eval_arith(_TEMPLATE.sub(fill, v))


COUNT_KEYS = (
    "equals",
    "greater_than",
    "greater_than_or_equal",
    "less_than",
    "less_than_or_equal",
    "between",
    "expression",
)


def compare_count(n: float, p: dict, ctx: Context) -> tuple[bool, str]:
    """Checks a number against equals / greater_than / less_than / between / expression."""
    checks: list[tuple[bool, str]] = []
    if "equals" in p or "expression" in p:
        want = expected_value(p.get("equals", p.get("expression")), ctx)
        checks.append((_same(n, want), f"= {_show(want)}"))
    if "greater_than" in p:
        want = expected_value(p["greater_than"], ctx)
        checks.append((n > float(want), f"> {_show(want)}"))
    if "greater_than_or_equal" in p:
        want = expected_value(p["greater_than_or_equal"], ctx)
        checks.append((n >= float(want), f">= {_show(want)}"))
    if "less_than" in p:
        want = expected_value(p["less_than"], ctx)
        checks.append((n < float(want), f"< {_show(want)}"))
    if "less_than_or_equal" in p:
        want = expected_value(p["less_than_or_equal"], ctx)
        checks.append((n <= float(want), f"<= {_show(want)}"))
    if "between" in p:
        lo, hi = (expected_value(x, ctx) for x in p["between"])
        checks.append((float(lo) <= n <= float(hi), f"between {_show(lo)} and {_show(hi)}"))
    ok = all(c for c, _ in checks)
    return ok, " and ".join(w for _, w in checks)


def _need_columns(out: Output, names: list[str]) -> None:
    cols = {c.lower() for c in out.columns} | {k.lower() for r in out.rows[:1] for k in r}
    missing = [n for n in names if n.lower() not in cols]
    if missing and out.rows:
        raise AssertionError_(
            f"{', '.join(repr(m) for m in missing)} not in the output of {out.name} "
            f"(columns: {', '.join(out.columns)})"
        )


def _get(row: dict, name: str) -> Any:
    if name in row:
        return row[name]
    low = name.lower()
    for k, v in row.items():
        if k.lower() == low:
            return v
    return None


def _fail_rows(
    rows: list[dict], bad: Callable[[dict], str | None], fields: list[str] | None = None
) -> tuple[list[Failure], int]:
    """Rows for which `bad` gives a reason: the first few as samples, and the count."""
    samples: list[Failure] = []
    count = 0
    for i, r in enumerate(rows, 1):
        why = bad(r)
        if why is None:
            continue
        count += 1
        if len(samples) < SAMPLES:
            vals = {f: _get(r, f) for f in fields} if fields else dict(r)
            samples.append(Failure(i, why, vals))
    return samples, count


# -- the assertions ------------------------------------------------------------------------


def _record_count(p: dict, out: Output, ctx: Context) -> tuple:
    n = len(out.rows)
    ok, want = compare_count(n, p, ctx)
    return ok, f"{n} rows, expected {want}", want, n, []


def _schema_contains(p: dict, out: Output, ctx: Context) -> tuple:
    fields = list(p.get("fields") or [])
    cols = {c.lower() for c in out.columns} | {k.lower() for r in out.rows for k in r}
    missing = [f for f in fields if f.lower() not in cols]
    if missing:
        return (
            False,
            f"missing field(s) {', '.join(missing)}; the output has {', '.join(out.columns)}",
            fields,
            out.columns,
            [],
        )
    return True, f"all of {', '.join(fields)} present", fields, out.columns, []


def _no_nulls(p: dict, out: Output, ctx: Context) -> tuple:
    fields = list(p.get("fields") or []) or list(out.columns)
    _need_columns(out, fields)

    def bad(r: dict) -> str | None:
        nulls = [f for f in fields if _get(r, f) is None]
        return f"NULL in {', '.join(nulls)}" if nulls else None

    samples, n = _fail_rows(out.rows, bad, fields)
    msg = f"{n} of {len(out.rows)} rows have NULLs" if n else f"no NULLs in {', '.join(fields)}"
    return n == 0, msg, "no NULLs", f"{n} rows with NULLs", samples


def _unique(p: dict, out: Output, ctx: Context) -> tuple:
    fields = p.get("key_fields") or p.get("fields") or ([p["field"]] if p.get("field") else [])
    fields = [fields] if isinstance(fields, str) else list(fields)
    _need_columns(out, fields)
    seen: dict[tuple, int] = {}

    def bad(r: dict) -> str | None:
        key = tuple(repr(_get(r, f)) for f in fields)
        first = seen.get(key)
        if first is None:
            seen[key] = len(seen) + 1
            return None
        return f"duplicate of an earlier row with the same {', '.join(fields)}"

    samples, n = _fail_rows(out.rows, bad, fields)
    msg = f"{n} duplicate(s) of ({', '.join(fields)})" if n else f"({', '.join(fields)}) unique"
    return n == 0, msg, "unique", f"{n} duplicates", samples


_FIELD_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": _same,
    "not_equals": lambda a, b: not _same(a, b),
    "greater_than": lambda a, b: _num(a) is not None and _num(a) > float(b),
    "less_than": lambda a, b: _num(a) is not None and _num(a) < float(b),
    "greater_than_or_equals": lambda a, b: _num(a) is not None and _num(a) >= float(b),
    "less_than_or_equals": lambda a, b: _num(a) is not None and _num(a) <= float(b),
    "greater_than_or_equal": lambda a, b: _num(a) is not None and _num(a) >= float(b),
    "less_than_or_equal": lambda a, b: _num(a) is not None and _num(a) <= float(b),
    "contains": lambda a, b: a is not None and str(b) in str(a),
    "starts_with": lambda a, b: a is not None and str(a).startswith(str(b)),
    "ends_with": lambda a, b: a is not None and str(a).endswith(str(b)),
    "matches": lambda a, b: a is not None and re.fullmatch(str(b), str(a)) is not None,
    "in": lambda a, b: any(_same(a, x) for x in b),
    "between": lambda a, b: _num(a) is not None and float(b[0]) <= _num(a) <= float(b[1]),
}


def _field_values(p: dict, out: Output, ctx: Context) -> tuple:
    f = p["field"]
    op = p.get("operator", "equals")
    value = p.get("value")
    if "values" in p:
        op, value = "in", p["values"]
    if p.get("pattern") is not None:
        op, value = "matches", p["pattern"]
    if "min" in p or "max" in p:
        op, value = "between", [p.get("min", -math.inf), p.get("max", math.inf)]
    value = expected_value(value, ctx) if op not in ("in", "between", "matches") else value
    _need_columns(out, [f])
    test = _FIELD_OPS[op]
    allow_null = bool(p.get("allow_null", False))

    def bad(r: dict) -> str | None:
        v = _get(r, f)
        if v is None and allow_null:
            return None
        if test(v, value):
            return None
        return f"{f} = {_show(v)} is not {op.replace('_', ' ')} {_show(value)}"

    samples, n = _fail_rows(out.rows, bad, [f])
    want = f"{f} {op.replace('_', ' ')} {_show(value)}"
    msg = f"{n} of {len(out.rows)} rows fail: {want}" if n else f"every row: {want}"
    return n == 0, msg, want, f"{n} rows fail", samples


def _aggregate(p: dict, out: Output, ctx: Context) -> tuple:
    fn = str(p["function"]).upper()
    f = p.get("field")
    if f:
        _need_columns(out, [f])
    vals = [_get(r, f) for r in out.rows] if f else [1] * len(out.rows)
    nums = [x for x in (_num(v) for v in vals) if x is not None]
    if fn == "COUNT":  # non-NULL values of any type, as SQL's COUNT(field)
        actual: float | None = float(sum(v is not None for v in vals))
    elif not nums:
        actual = None
    elif fn == "SUM":
        actual = math.fsum(nums)
    elif fn == "AVG":
        actual = math.fsum(nums) / len(nums)
    elif fn == "MIN":
        actual = min(nums)
    elif fn == "MAX":
        actual = max(nums)
    else:
        raise AssertionError_(f"function {fn!r}: expected SUM, COUNT, AVG, MIN or MAX")
    want = float(expected_value(p["expected"], ctx))
    tol = float(p.get("tolerance", 0.0))
    if p.get("tolerance_percent") is not None:
        tol = max(tol, abs(want) * float(p["tolerance_percent"]) / 100)
    ok = actual is not None and abs(actual - want) <= tol + 1e-9 * max(1.0, abs(want))
    label = f"{fn}({f or '*'})"
    msg = f"{label} = {_show(actual)}, expected {_show(want)} +- {_show(tol)}"
    return ok, msg, want, actual, []


def _join_coverage(p: dict, out: Output, ctx: Context) -> tuple:
    rate_min = float(p.get("min_match_rate", 1.0))
    if p.get("field"):  # output-based: a LEFT JOIN's right-side column is filled
        f = p["field"]
        _need_columns(out, [f])
        samples, n = _fail_rows(
            out.rows, lambda r: f"no match: {f} is NULL" if _get(r, f) is None else None
        )
        total = len(out.rows)
        rate = (total - n) / total if total else 0.0
    else:
        left, right = str(p["left_source"]).lower(), str(p["right_source"]).lower()
        lkey = p.get("left_key") or p.get("join_key") or p.get("key")
        rkey = p.get("right_key") or p.get("join_key") or p.get("key")
        for s in (left, right):
            if s not in ctx.inputs:
                raise AssertionError_(f"no input {s!r} (inputs: {', '.join(ctx.inputs)})")
        keys = {repr(_get(r, rkey)) for r in ctx.inputs[right]}
        samples, n = _fail_rows(
            ctx.inputs[left],
            lambda r: (
                None
                if repr(_get(r, lkey)) in keys
                else f"{left}.{lkey} = {_show(_get(r, lkey))} has no {right}.{rkey}"
            ),
            [lkey],
        )
        total = len(ctx.inputs[left])
        rate = (total - n) / total if total else 0.0
    ok = rate >= rate_min
    msg = f"match rate {rate:.1%} (min {rate_min:.1%}); {n} of {total} rows unmatched"
    return ok, msg, rate_min, round(rate, 6), samples


def _ordering(p: dict, out: Output, ctx: Context) -> tuple:
    f = p["field"]
    desc = str(p.get("direction", "ascending")).lower().startswith("desc")
    strict = bool(p.get("strict", False))
    part = p.get("partition_by")
    _need_columns(out, [f] + ([part] if part else []))
    last: dict[Any, Any] = {}

    def bad(r: dict) -> str | None:
        v = _get(r, f)
        key = repr(_get(r, part)) if part else None
        prev = last.get(key)
        last[key] = v
        if prev is None or v is None:
            return None
        a, b = (_num(prev), _num(v)) if _num(v) is not None else (prev, v)
        wrong = (b > a if desc else b < a) or (strict and b == a)
        where = f" within {part} = {key}" if part else ""
        return f"{f} = {_show(v)} comes after {_show(prev)}{where}" if wrong else None

    samples, n = _fail_rows(out.rows, bad, [f] + ([part] if part else []))
    d = "descending" if desc else "ascending"
    msg = f"{n} rows out of {d} order by {f}" if n else f"{f} {d}"
    return n == 0, msg, d, f"{n} out of order", samples


def _windows(p: dict, out: Output, ctx: Context) -> tuple:
    start = p.get("window_start_field", "window_start")
    end = p.get("window_end_field")
    _need_columns(out, [start] + ([end] if end else []))
    size = p.get("window_size_ms")
    problems: list[Callable[[dict], str | None]] = []
    if size:
        size = int(size)

        def aligned(r: dict) -> str | None:
            s = _num(_get(r, start))
            if s is None:
                return f"{start} is NULL"
            if p.get("verify_alignment", True) and s % size:
                return f"{start} = {int(s)} is not a multiple of {size} ms"
            if end:
                e = _num(_get(r, end))
                if e is None or e - s != size:
                    return f"{end} - {start} = {None if e is None else int(e - s)}, not {size}"
            return None

        problems.append(aligned)
    ts = p.get("timestamp_field")
    if ts and end:
        _need_columns(out, [ts])

        def contained(r: dict) -> str | None:
            t, s, e = _num(_get(r, ts)), _num(_get(r, start)), _num(_get(r, end))
            if None in (t, s, e) or not (s <= t < e or (t == e and ts == end)):
                return f"{ts} = {_show(t)} is outside [{_show(s)}, {_show(e)})"
            return None

        problems.append(contained)
    samples, bad_n = _fail_rows(
        out.rows,
        lambda r: next((w for w in (c(r) for c in problems) if w), None),
        [start] + ([end] if end else []) + ([ts] if ts and ts not in (start, end) else []),
    )
    distinct = len({repr(_get(r, start)) for r in out.rows})
    ok = bad_n == 0
    parts = []
    counted = [k for k in COUNT_KEYS if k in p]
    if counted:
        cok, want = compare_count(distinct, p, ctx)
        ok = ok and cok
        parts.append(f"{distinct} windows, expected {want}")
    else:
        want = "well-formed windows"
        parts.append(f"{distinct} windows")
    if bad_n:
        parts.append(f"{bad_n} rows with bad window bounds")
    return ok, "; ".join(parts), want, distinct, samples


def _latency(p: dict, out: Output, ctx: Context) -> tuple:
    f = p.get("timestamp_field", "window_end")
    _need_columns(out, [f])
    lat: list[tuple[int, float]] = []
    for i, (r, at) in enumerate(zip(out.rows, out.emitted_at, strict=False), 1):
        t = _num(_get(r, f))
        if t is not None and at is not None:
            lat.append((i, at - t))
    if not lat:
        return True, "no rows to measure", None, None, []
    values = sorted(v for _, v in lat)

    def pct(q: float) -> float:
        return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]

    checks = []
    for key, q in (("p50_latency_ms", 0.5), ("p95_latency_ms", 0.95), ("p99_latency_ms", 0.99)):
        if key in p:
            checks.append((pct(q) <= float(p[key]), f"{key[:3]} {pct(q):.0f} ms <= {p[key]}"))
    bound = p.get("max_latency_ms")
    samples: list[Failure] = []
    n_bad = 0
    if bound is not None:
        for i, v in lat:
            if v > float(bound):
                n_bad += 1
                if len(samples) < SAMPLES:
                    samples.append(
                        Failure(
                            i, f"emitted {v:.0f} ms after its {f}", {f: _get(out.rows[i - 1], f)}
                        )
                    )
        checks.append((n_bad == 0, f"max {values[-1]:.0f} ms <= {bound}"))
    ok = all(c for c, _ in checks)
    msg = "; ".join(w for _, w in checks) or f"max {values[-1]:.0f} ms"
    if n_bad:
        msg = f"{n_bad} rows emitted later than {bound} ms after their {f}; " + msg
    return ok, msg, bound, values[-1], samples


def _late(p: dict, out: Output, ctx: Context) -> tuple:
    ok, want = compare_count(out.late, p, ctx)
    return ok, f"{out.late} late records dropped, expected {want}", want, out.late, []


def _file_matches(p: dict, out: Output, ctx: Context) -> tuple:
    from velostream.testing.data import read_rows

    path = p.get("expected_path") or p.get("file") or p.get("path")
    if not path:
        raise AssertionError_("needs expected_path (the file of expected rows)")
    fp = Path(path) if Path(path).is_absolute() else ctx.base / path
    expected = read_rows(fp, p.get("format"))
    ignore = {x.lower() for x in p.get("ignore_fields") or []}
    fields = p.get("compare_fields") or [
        k for k in dict.fromkeys(k for r in expected for k in r) if k.lower() not in ignore
    ]
    tol = float(p.get("numeric_tolerance", 0.0))

    def key(r: dict) -> tuple:
        return tuple(_canon(_get(r, f)) for f in fields)

    def close(a: dict, b: dict) -> bool:
        for f in fields:
            x, y = _get(a, f), _get(b, f)
            nx, ny = _num(x), _num(y)
            if nx is not None and ny is not None and not isinstance(x, str):
                if abs(nx - ny) > tol + 1e-9 * max(1.0, abs(ny)):
                    return False
            elif _canon(x) != _canon(y):
                return False
        return True

    actual = list(out.rows)
    samples: list[Failure] = []
    missing = extra = differ = 0
    if p.get("ignore_order", True):
        pool = sorted(range(len(actual)), key=lambda i: repr(key(actual[i])))
        used: set[int] = set()
        for e in sorted(expected, key=lambda r: repr(key(r))):
            hit = next((i for i in pool if i not in used and close(actual[i], e)), None)
            if hit is None:
                missing += 1
                if len(samples) < SAMPLES:
                    samples.append(
                        Failure(
                            None, "expected row not in the output", {f: _get(e, f) for f in fields}
                        )
                    )
            else:
                used.add(hit)
        for i in range(len(actual)):
            if i not in used:
                extra += 1
                if len(samples) < SAMPLES:
                    samples.append(
                        Failure(
                            i + 1,
                            "output row not expected",
                            {f: _get(actual[i], f) for f in fields},
                        )
                    )
    else:
        for i in range(max(len(actual), len(expected))):
            a = actual[i] if i < len(actual) else None
            e = expected[i] if i < len(expected) else None
            if a is not None and e is not None and close(a, e):
                continue
            if e is None:
                extra += 1
                why = "output row not expected (past the end of the file)"
            elif a is None:
                missing += 1
                why = "missing: expected " + ", ".join(f"{f}={_cell(_get(e, f))}" for f in fields)
            else:
                differ += 1
                why = "expected " + ", ".join(f"{f}={_cell(_get(e, f))}" for f in fields)
            if len(samples) < SAMPLES:
                samples.append(Failure(i + 1, why, {f: _get(a, f) for f in fields} if a else None))
    ok = missing == 0 and extra == 0 and differ == 0
    counts = (
        (differ, "rows differ"),
        (missing, "expected rows missing"),
        (extra, "unexpected rows"),
    )
    parts = [f"{n} {what}" for n, what in counts if n]
    msg = (
        f"output matches {fp.name} ({len(expected)} rows)"
        if ok
        else f"{', '.join(parts)} (vs {fp.name}: {len(actual)} rows, {len(expected)} expected)"
    )
    return ok, msg, len(expected), len(actual), samples


def _cell(v: Any) -> str:
    return "NULL" if v is None else str(v)


def _canon(v: Any) -> Any:
    n = _num(v)
    if n is not None and not isinstance(v, str):
        return round(n, 9)
    return v


CHECKS: dict[str, Callable[[dict, Output, Context], tuple]] = {
    "record_count": _record_count,
    "schema_contains": _schema_contains,
    "no_nulls": _no_nulls,
    "field_not_null": _no_nulls,
    "unique": _unique,
    "no_duplicates": _unique,
    "unique_values": _unique,
    "field_values": _field_values,
    "field_in_set": _field_values,
    "field_range": _field_values,
    "field_matches": _field_values,
    "aggregate_check": _aggregate,
    "join_coverage": _join_coverage,
    "ordering": _ordering,
    "window_count": _windows,
    "window_boundary": _windows,
    "latency": _latency,
    "late_records": _late,
    "file_matches": _file_matches,
    "matches_expected": _file_matches,
}

# Required keys, and keys of which at least one is needed, per type.
_REQUIRED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "record_count": ((), COUNT_KEYS),
    "schema_contains": (("fields",), ()),
    "unique": ((), ("key_fields", "fields", "field")),
    "no_duplicates": ((), ("key_fields", "fields", "field")),
    "unique_values": ((), ("key_fields", "fields", "field")),
    "field_values": (("field",), ("value", "values", "pattern", "min", "max")),
    "field_in_set": (("field", "values"), ()),
    "field_range": (("field",), ("min", "max")),
    "field_matches": (("field", "pattern"), ()),
    "aggregate_check": (("function", "expected"), ()),
    "join_coverage": ((), ("field", "left_source")),
    "ordering": (("field",), ()),
    "latency": ((), ("max_latency_ms", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms")),
    "late_records": ((), COUNT_KEYS),
    "file_matches": ((), ("expected_path", "file", "path")),
    "matches_expected": ((), ("expected_path", "file", "path")),
    "metric_exists": (("name",), ()),
    "metric_counter": (("name",), ("value", "equals", "between", "greater_than", "less_than")),
    "metric_gauge": (("name",), ("value", "equals", "between", "greater_than", "less_than")),
}


def check_params(kind: str, p: dict) -> None:
    """ValueError when an assertion lacks a key it needs, or has a bad operator."""
    required, one_of = _REQUIRED.get(kind, ((), ()))
    for k in required:
        if k not in p:
            raise ValueError(f"needs {k!r}")
    if one_of and not any(k in p for k in one_of):
        raise ValueError(f"needs one of {', '.join(one_of)}")
    if kind == "field_values" and p.get("operator", "equals") not in _FIELD_OPS:
        raise ValueError(
            f"operator {p.get('operator')!r}: expected one of {', '.join(sorted(_FIELD_OPS))}"
        )
    if kind == "aggregate_check" and str(p["function"]).upper() not in (
        "SUM",
        "COUNT",
        "AVG",
        "MIN",
        "MAX",
    ):
        raise ValueError(f"function {p['function']!r}: expected SUM, COUNT, AVG, MIN or MAX")
    if "between" in p and (not isinstance(p["between"], list) or len(p["between"]) != 2):
        raise ValueError("between: expected [low, high]")
    for k in ("pattern",):
        if k in p:
            try:
                re.compile(str(p[k]))
            except re.error as e:
                raise ValueError(f"pattern {p[k]!r} is not a regular expression: {e}") from None


def evaluate(query: str, sink: str, spec: Any, out: Output | None, ctx: Context) -> Result:
    """Run one assertion (an `AssertionSpec`) against an output."""
    label = spec.label
    if out is None:
        known = ", ".join(ctx.outputs) or "none"
        return Result(
            query,
            sink,
            spec.type,
            label,
            False,
            f"no output named {sink!r} (outputs: {known})",
            error=True,
        )
    try:
        ok, msg, want, actual, samples = CHECKS[spec.type](spec.params, out, ctx)
    except (AssertionError_, KeyError, ValueError, TypeError, OSError) as e:
        text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        return Result(query, sink, spec.type, label, False, f"cannot evaluate: {text}", error=True)
    failing = 0 if ok or not samples else max(len(samples), _count_from(msg))
    return Result(
        query, sink, spec.type, label, ok, msg, want, actual, samples if not ok else [], failing
    )


def _count_from(msg: str) -> int:
    m = re.match(r"(\d+)", msg)
    return int(m.group(1)) if m else 0
