"""Builds a `QueryPlan` from a parsed statement: names, windows, emit mode, joins, properties."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp

from velostream.connectors.common import parse_duration_ms
from velostream.connectors.registry import split_properties, validate_job
from velostream.errors import ConfigError, SqlError, position_of
from velostream.plan.logical import JoinSpec, QueryPlan, SourceRef, WindowSpec
from velostream.runtime.codegen import contains_aggregate, interval_millis
from velostream.sql.ast import Duration, PrimaryKey, Statement, StreamWindow


@dataclass
class Catalog:
    """What the session knows by name: jobs' outputs (streams, tables) and in-memory data."""

    streams: dict[str, Statement] = field(default_factory=dict)  # CREATE STREAM name -> stmt
    tables: dict[str, Statement] = field(default_factory=dict)  # CREATE TABLE name -> stmt
    memory: dict[str, object] = field(default_factory=dict, repr=False)  # registered data
    columns: dict[str, list[str]] = field(default_factory=dict)  # known output columns


def parse_duration(text: str, key: str) -> int:
    """A duration property value ('30s', '5m', '0ms', '1d', or plain milliseconds) in ms."""
    try:
        return parse_duration_ms(text.strip().strip("'\""))
    except ValueError:
        raise ConfigError(
            f"property '{key}' has a bad duration {text!r}",
            kind="property",
            token=key,
            expected=["a duration such as '500ms', '30s', '5m', '1h' or '1d'"],
        ) from None


def output_name(item: exp.Expression, index: int, counter: list[int]) -> str:
    """The output column name of a select item (alias, column name, or expr_N)."""
    if isinstance(item, exp.Alias):
        return item.alias
    if isinstance(item, exp.Column):
        return item.name
    counter[0] += 1
    return f"expr_{counter[0]}"


def _table_name(t: exp.Expression) -> tuple[str, str]:
    if not isinstance(t, exp.Table):
        raise SqlError(
            "FROM and JOIN take a stream or table name", kind="syntax", token=t.sql()[:20]
        )
    name = t.name.lower()
    alias = (t.alias or t.name).lower()
    return name, alias


class Planner:
    """Turns statements into query plans, resolving names against the session catalog."""

    def __init__(self, catalog: Catalog, plan_table: Callable[[str], QueryPlan] | None = None):
        self.catalog = catalog
        self.plan_table = plan_table

    def plan(self, stmt: Statement) -> QueryPlan:
        """The plan of a SELECT / CREATE .. AS SELECT / INSERT INTO .. SELECT statement."""
        sel = stmt.query
        if sel is None:
            raise SqlError("statement has no query to run", kind="syntax")
        if not isinstance(sel, exp.Select):
            raise SqlError("only SELECT queries can run (UNION is not supported)", kind="syntax")
        frm = sel.args.get("from_")
        if frm is None:
            raise SqlError(
                "a streaming query needs FROM <source>", kind="syntax", expected=["FROM"]
            )
        name, alias = _table_name(frm.this)
        refs = [SourceRef(name=name, alias=alias, props={}, order=0)]
        join_nodes = list(sel.args.get("joins") or [])
        for i, j in enumerate(join_nodes, start=1):
            jname, jalias = _table_name(j.this)
            refs.append(SourceRef(name=jname, alias=jalias, props={}, order=i))
        names = sorted({r.name for r in refs} | ({stmt.name.lower()} if stmt.name else set()))
        per, job = split_properties(stmt.properties, names)
        for r in refs:
            r.props = dict(per.get(r.name, {}))
        default_delay = (
            parse_duration(job["watermark.max_out_of_orderness"], "watermark.max_out_of_orderness")
            if "watermark.max_out_of_orderness" in job
            else 0
        )
        for r in refs:
            key = "watermark.max_out_of_orderness"
            r.delay_ms = (
                parse_duration(r.props[key], f"{r.name}.{key}") if key in r.props else default_delay
            )
            # A source's event-time settings may also be given job-wide.
            for k in ("event.time.field", "event.time.format"):
                if k in job and k not in r.props:
                    r.props[k] = job[k]
            self._bind_source(r)

        joins = [self._join(j, refs[0], refs[i + 1]) for i, j in enumerate(join_nodes)]

        items: list[tuple[str, exp.Expression]] = []
        star: list[str | None] = []
        pk: list[str] = []
        counter = [0]
        for i, item in enumerate(sel.expressions):
            is_pk = isinstance(item, PrimaryKey)
            if is_pk:
                item = item.this
            if isinstance(item, exp.Star):
                items.append(("*", item))
                star.append("")
                continue
            if isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
                items.append(("*", item))
                star.append(item.table.lower())
                continue
            oname = output_name(item, i, counter)
            items.append((oname, item.this if isinstance(item, exp.Alias) else item))
            star.append(None)
            if is_pk:
                pk.append(oname)

        group_by = self._group_by(sel, items)
        window = self._window(sel, group_by)
        if window is not None and _is_event_time_field(window.time_column, refs[0]):
            window.time_column = None  # the same instants as _event_time: take the fast path
        having = sel.args.get("having").this if sel.args.get("having") else None
        where = sel.args.get("where").this if sel.args.get("where") else None
        if where is not None and contains_aggregate(where):
            raise SqlError(
                "aggregates are not allowed in WHERE (use HAVING)", kind="name", token="WHERE"
            )
        if where is not None:
            _check_where_aliases(where, items)
        aggregate = (
            bool(group_by)
            or window is not None
            or any(contains_aggregate(e) for _, e in items)
            or (having is not None and contains_aggregate(having))
        )
        emit_node = sel.args.get("emit")
        emit = str(emit_node.this).upper() if emit_node is not None else None
        if emit is None:
            emit = "FINAL" if window is not None else "CHANGES"
        limit = None
        if sel.args.get("limit") is not None:
            lim = sel.args["limit"].expression
            try:
                limit = int(lim.name)
            except (TypeError, ValueError):
                raise SqlError(
                    "LIMIT takes a whole number", kind="syntax", token=lim.sql()
                ) from None
        order_by = list(sel.args["order"].expressions) if sel.args.get("order") else []
        validate_job(job, names)
        late = job.get("late.data.strategy", "drop").lower()
        if late not in ("drop", "dead_letter"):
            raise ConfigError(
                f"'late.data.strategy' must be drop or dead_letter, not {late!r}",
                kind="property",
                token="late.data.strategy",
                expected=["drop", "dead_letter"],
            )
        dead_letter = (
            job.get("late.data.dead.letter.path")
            or job.get("late.data.dead_letter.path")
            or job.get("dead.letter.path")
        )
        if late == "dead_letter" and not dead_letter:
            # Nothing is lost: without a path, late records go next to where the job runs.
            dead_letter = f"{(stmt.name or 'query').lower()}.late.jsonl"
        return QueryPlan(
            select=sel,
            sources=refs,
            joins=joins,
            items=items,
            star=star,
            where=where,
            group_by=group_by,
            having=having,
            window=window,
            emit=emit,
            aggregate=aggregate,
            limit=limit,
            order_by=order_by,
            distinct=bool(sel.args.get("distinct")),
            primary_key=pk,
            job_props=job,
            late_strategy=late,
            dead_letter_path=dead_letter,
        )

    # -- pieces ---------------------------------------------------------------------------

    def _bind_source(self, r: SourceRef) -> None:
        """Decide where a source's records come from: its WITH type, a session table/stream."""
        if "type" in r.props:
            return
        if r.name in self.catalog.tables:
            r.role = "table"
            if self.plan_table is not None:
                r.table_plan = self.plan_table(r.name)
            return
        if r.name in self.catalog.streams:
            r.upstream = r.name
            return
        if r.name in self.catalog.memory:
            r.props["type"] = "memory"
            return
        raise ConfigError(
            f"source '{r.name}' has no '{r.name}.type' property and is not a stream, table or "
            "registered data of this session",
            kind="property",
            token=r.name,
            expected=[f"'{r.name}.type' = 'file_source' | 'synthetic' | 'memory' | ..."],
        )

    def _join(self, j: exp.Join, left: SourceRef, right: SourceRef) -> JoinSpec:
        side = (j.side or "").upper()
        kind = (j.kind or "").upper()
        if side in ("RIGHT", "FULL") or kind in ("FULL", "CROSS"):
            raise SqlError(
                f"{side or kind} JOIN is not supported: use JOIN or LEFT JOIN",
                kind="name",
                token=side or kind,
                expected=["JOIN", "LEFT JOIN"],
            )
        on = j.args.get("on")
        within = j.args.get("within")
        lkeys: list[exp.Expression] = []
        rkeys: list[exp.Expression] = []
        interval = None
        conjuncts = list(on.flatten()) if isinstance(on, exp.And) else ([on] if on else [])
        for c in conjuncts:
            if isinstance(c, exp.EQ):
                a, b = c.this, c.expression
                sa, sb = _side_of(a, left, right), _side_of(b, left, right)
                if sa == "l" and sb == "r":
                    lkeys.append(a)
                    rkeys.append(b)
                elif sa == "r" and sb == "l":
                    lkeys.append(b)
                    rkeys.append(a)
            elif isinstance(c, exp.Between):
                interval = _interval_bounds(c, left, right) or interval
        is_interval = within is not None or interval is not None
        if within is not None:
            w = within.millis if isinstance(within, Duration) else interval_millis(within)
            interval = (-w, w)
        if is_interval:
            right.role = "stream"
            if right.table_plan is not None:
                raise SqlError(
                    f"'{right.name}' is a table: a time-bounded join needs two streams",
                    kind="name",
                    token=right.name,
                )
        elif right.upstream is None and right.table_plan is None:
            right.role = "table"  # a plain source joined without time bounds is a lookup table
        elif right.upstream is not None:
            right.role = "table"
        if not lkeys:
            raise SqlError(
                "a JOIN needs an equality between the two sides in ON (a.k = b.k)",
                kind="name",
                token="ON",
                expected=["ON left.key = right.key"],
            )
        return JoinSpec(
            kind="LEFT" if side == "LEFT" else "INNER",
            right=right,
            on=on,
            left_keys=lkeys,
            right_keys=rkeys,
            interval=interval,
            within_ms=None if within is None else interval[1] if interval else None,
        )

    def _group_by(
        self, sel: exp.Select, items: list[tuple[str, exp.Expression]]
    ) -> list[exp.Expression]:
        group = sel.args.get("group")
        if group is None:
            return []
        out: list[exp.Expression] = []
        aliases = {n.lower(): e for n, e in items if n != "*"}
        for g in group.expressions:
            if isinstance(g, exp.Literal) and not g.is_string and g.this.isdigit():
                idx = int(g.this) - 1
                if not 0 <= idx < len(items) or items[idx][0] == "*":
                    raise SqlError(f"GROUP BY {g.this}: no such select item", kind="name")
                out.append(items[idx][1])
                continue
            if _is_tumble_call(g):
                continue  # Flink-style group window: becomes the window
            if isinstance(g, exp.Column) and not g.table and g.name.lower() in aliases:
                target = aliases[g.name.lower()]
                if not (isinstance(target, exp.Column) and target.name.lower() == g.name.lower()):
                    out.append(target)
                    continue
            out.append(g)
        return out

    def _window(self, sel: exp.Select, group_by: list[exp.Expression]) -> WindowSpec | None:
        w = sel.args.get("stream_window")
        if isinstance(w, StreamWindow):
            kind = w.kind
            size = w.args["size"]
            adv = w.args.get("advance")
            return WindowSpec(
                kind=kind,
                size_ms=size.millis if isinstance(size, Duration) else interval_millis(size),
                advance_ms=(
                    (adv.millis if isinstance(adv, Duration) else interval_millis(adv))
                    if adv
                    else 0
                ),
                time_column=w.args.get("time_column"),
            )
        group = sel.args.get("group")
        for g in group.expressions if group else []:
            if _is_tumble_call(g):
                args = g.expressions if isinstance(g, exp.Anonymous) else []
                fname = g.name.upper()
                if fname == "TUMBLE" and len(args) == 2:
                    return WindowSpec("TUMBLING", interval_millis(args[1]), 0, args[0])
                if fname == "HOP" and len(args) == 3:
                    return WindowSpec(
                        "SLIDING", interval_millis(args[2]), interval_millis(args[1]), args[0]
                    )
                if fname == "SESSION" and len(args) == 2:
                    return WindowSpec("SESSION", interval_millis(args[1]), 0, args[0])
        return None


def _check_where_aliases(where: exp.Expression, items: list[tuple[str, exp.Expression]]) -> None:
    """WHERE runs before SELECT, so it cannot see the alias of a computed select item."""
    computed = {
        n.lower()
        for n, e in items
        if n != "*" and not (isinstance(e, exp.Column) and e.name.lower() == n.lower())
    }
    for col in where.find_all(exp.Column):
        if not col.table and col.name.lower() in computed:
            raise SqlError(
                f"WHERE cannot use the select alias '{col.name}': WHERE runs before SELECT; "
                "repeat the expression, or filter the result with HAVING",
                kind="name",
                token=col.name,
                **position_of(col),
            )


def _is_event_time_field(col: exp.Column | None, source: SourceRef) -> bool:
    """True when a window's time column is the field the source reads event time from."""
    field = source.props.get("event.time.field")
    if col is None or not field or col.name.lower() != field.lower():
        return False
    return not col.table or col.table.lower() in (source.alias, source.name)


def _is_tumble_call(g: exp.Expression) -> bool:
    return isinstance(g, exp.Anonymous) and g.name.upper() in ("TUMBLE", "HOP", "SESSION")


def _side_of(e: exp.Expression, left: SourceRef, right: SourceRef) -> str | None:
    """'l' or 'r' when every column of `e` is qualified by that side's alias or name."""
    sides = set()
    for c in e.find_all(exp.Column):
        t = c.table.lower()
        if t in (left.alias, left.name):
            sides.add("l")
        elif t in (right.alias, right.name):
            sides.add("r")
        else:
            sides.add("?")
    return sides.pop() if len(sides) == 1 and "?" not in sides else None


def _interval_bounds(b: exp.Between, left: SourceRef, right: SourceRef) -> tuple[int, int] | None:
    """`r.t BETWEEN l.t - X AND l.t + Y` -> (-X, Y) in ms (right time minus left time)."""
    subject = b.this
    low, high = b.args["low"], b.args["high"]
    s = _side_of(subject, left, right)

    def offset(e: exp.Expression, other: str) -> int | None:
        if isinstance(e, exp.Paren):
            e = e.this
        if isinstance(e, exp.Column) and _side_of(e, left, right) == other:
            return 0
        if isinstance(e, exp.Add | exp.Sub):
            base, delta = e.this, e.expression
            if _side_of(base, left, right) == other:
                try:
                    ms = (
                        interval_millis(delta)
                        if isinstance(delta, exp.Interval | Duration)
                        else None
                    )
                except SqlError:
                    ms = None
                if ms is None and isinstance(delta, exp.Literal) and not delta.is_string:
                    ms = int(delta.this)
                if ms is not None:
                    return ms if isinstance(e, exp.Add) else -ms
        return None

    if s == "r":
        lo, hi = offset(low, "l"), offset(high, "l")
        if lo is not None and hi is not None:
            return lo, hi
    if s == "l":  # l.t BETWEEN r.t - X AND r.t + Y  <=>  r.t - l.t in [-Y, X]
        lo, hi = offset(low, "r"), offset(high, "r")
        if lo is not None and hi is not None:
            return -hi, -lo
    return None
