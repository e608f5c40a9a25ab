"""The Velostream AST: sqlglot expressions plus the few nodes the streaming dialect adds.

The parser (`velostream.sql.dialect`) produces these; the planner consumes them. A parsed query is
an ordinary `sqlglot.exp.Select` whose extra clauses sit in these args:

- ``select.args["stream_window"]``: a `StreamWindow` (the ``WINDOW TUMBLING|SLIDING|SESSION`` clause)
- ``select.args["emit"]``: an `Emit` (``EMIT CHANGES|FINAL``)
- a select item followed by ``PRIMARY KEY`` is wrapped in `PrimaryKey` inside ``select.expressions``
- ``join.args["within"]``: a `Duration` (``JOIN .. ON .. WITHIN INTERVAL '5' MINUTE``)
- ``OVER (ROWS WINDOW BUFFER n ROWS ...)`` becomes an ordinary ``exp.Window`` whose ``spec`` is
  ``ROWS BETWEEN n PRECEDING AND CURRENT ROW``, with ``window.args["buffer"] = True``
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp


class Duration(exp.Expression):
    """A time span, normalised to milliseconds (``this`` is an int)."""

    arg_types = {"this": True}

    @property
    def millis(self) -> int:
        """The span in milliseconds."""
        return int(self.this)


class StreamWindow(exp.Expression):
    """``WINDOW TUMBLING(size)``, ``SLIDING(size, advance)`` / ``HOPPING``, ``SESSION(gap)``.

    ``this`` is the kind ("TUMBLING", "SLIDING" or "SESSION"; HOPPING is stored as SLIDING with
    ``hopping=True``), ``time_column`` an optional ``exp.Column``, ``size`` a `Duration` (the gap
    for SESSION), ``advance`` a `Duration` for SLIDING.
    """

    arg_types = {
        "this": True,
        "time_column": False,
        "size": True,
        "advance": False,
        "hopping": False,
    }

    @property
    def kind(self) -> str:
        """TUMBLING, SLIDING or SESSION."""
        return str(self.this).upper()


class Emit(exp.Expression):
    """``EMIT CHANGES`` or ``EMIT FINAL`` (``this`` is "CHANGES" or "FINAL")."""

    arg_types = {"this": True}


class PrimaryKey(exp.Expression):
    """A select item marked ``PRIMARY KEY``; ``this`` is the item (often an ``exp.Alias``)."""

    arg_types = {"this": True}


class Show(exp.Expression):
    """``SHOW STREAMS|TABLES|JOBS|FUNCTIONS`` (``this`` is the upper-case word)."""

    arg_types = {"this": True}


class Describe(exp.Expression):
    """``DESCRIBE name`` (``this`` is an ``exp.Table``)."""

    arg_types = {"this": True}


class Explain(exp.Expression):
    """``EXPLAIN <statement>`` (``this`` is the explained statement's expression)."""

    arg_types = {"this": True}


@dataclass
class Annotation:
    """One ``-- @key: value`` comment line."""

    key: str
    value: str
    line: int


@dataclass
class Statement:
    """One statement of a script, with what the engine needs to run it."""

    kind: str  # select | create_stream | create_table | insert | show | describe | explain
    expression: exp.Expression  # the whole sqlglot tree of the statement
    sql: str  # the statement's own text
    line: int  # 1-based line of its first token in the script
    col: int  # 1-based column of its first token
    query: exp.Select | None = None  # the SELECT it runs (None for SHOW/DESCRIBE)
    name: str | None = None  # the created stream/table, or the INSERT target
    properties: dict[str, str] = field(default_factory=dict)  # WITH (...), keys lower-cased
    annotations: list[Annotation] = field(default_factory=list)
    explained: Statement | None = None  # for EXPLAIN: the statement it explains
    path: str | None = None  # the file the script came from, when known

    def annotation(self, key: str) -> str | None:
        """The value of the first annotation with this key, if any."""
        for a in self.annotations:
            if a.key == key:
                return a.value
        return None


@dataclass
class Script:
    """A parsed script: its statements and any warnings (such as a detached annotation block)."""

    statements: list[Statement]
    warnings: list[str] = field(default_factory=list)
