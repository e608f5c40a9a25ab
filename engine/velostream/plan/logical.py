"""The logical plan of one streaming query: what it reads, how it joins, groups, windows, emits."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp


@dataclass
class SourceRef:
    """One input of a query, as named in FROM or JOIN."""

    name: str  # the stream/source name (lower case)
    alias: str  # the alias the query uses for it (lower case)
    props: dict[str, str]  # its connector properties, '<name>.' prefix stripped
    role: str = "stream"  # stream | table
    order: int = 0  # position in the statement (FROM = 0)
    delay_ms: int = 0  # watermark.max_out_of_orderness for this source
    table_plan: QueryPlan | None = None  # set when the source is a CREATE TABLE of the session
    upstream: str | None = None  # set when it reads another job's output in this session


@dataclass
class WindowSpec:
    """A time window of the WINDOW clause."""

    kind: str  # TUMBLING | SLIDING | SESSION
    size_ms: int  # size, or the gap for SESSION
    advance_ms: int = 0  # SLIDING only
    time_column: exp.Column | None = None  # None: the record's event time

    def describe(self) -> str:
        """One line for EXPLAIN."""
        col = self.time_column.sql() if self.time_column is not None else "_event_time"
        if self.kind == "SLIDING":
            return f"SLIDING(size={self.size_ms}ms, advance={self.advance_ms}ms) on {col}"
        if self.kind == "SESSION":
            return f"SESSION(gap={self.size_ms}ms) per key on {col}"
        return f"TUMBLING(size={self.size_ms}ms) on {col}"


@dataclass
class JoinSpec:
    """A JOIN of the FROM source with another input."""

    kind: str  # INNER | LEFT
    right: SourceRef
    on: exp.Expression | None
    left_keys: list[exp.Expression] = field(default_factory=list)  # equi-join keys, left side
    right_keys: list[exp.Expression] = field(default_factory=list)  # the same, right side
    interval: tuple[int, int] | None = None  # stream-stream: right.t - left.t in [lo, hi] (ms)
    within_ms: int | None = None  # WITHIN form (symmetric)

    @property
    def is_interval(self) -> bool:
        """True for a stream-stream interval join."""
        return self.right.role == "stream"


@dataclass
class QueryPlan:
    """Everything needed to build the operators of one query."""

    select: exp.Select
    sources: list[SourceRef]
    joins: list[JoinSpec]
    items: list[tuple[str, exp.Expression]]  # output name -> expression (aliases resolved later)
    star: list[str | None]  # per item: None, or the qualifier of a `*`/`t.*` ('' for bare *)
    where: exp.Expression | None
    group_by: list[exp.Expression]
    having: exp.Expression | None
    window: WindowSpec | None
    emit: str  # CHANGES | FINAL (resolved from the table in SEMANTICS.md)
    aggregate: bool  # True when the query aggregates (GROUP BY or an aggregate call)
    limit: int | None
    order_by: list[exp.Ordered]
    distinct: bool
    primary_key: list[str]  # output names marked PRIMARY KEY
    job_props: dict[str, str]  # unprefixed WITH keys
    late_strategy: str = "drop"
    dead_letter_path: str | None = None
