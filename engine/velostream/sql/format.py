"""Print a parsed statement back as canonical Velostream SQL."""

from __future__ import annotations

from sqlglot import exp

from velostream.sql.ast import Statement
from velostream.sql.dialect import Velostream

_DIALECT = Velostream()


def to_sql(statement: exp.Expr | Statement, pretty: bool = False, comments: bool = False) -> str:
    """Canonical Velostream SQL: WINDOW after FROM/WHERE/GROUP BY, then EMIT, then WITH last.

    SQL comments are left out unless asked for: annotations live on `Statement.annotations`,
    and sqlglot would print `-- @metric: x` back as a block comment that is no annotation.
    """
    expression = statement.expression if isinstance(statement, Statement) else statement
    return _DIALECT.generate(expression, pretty=pretty, comments=comments)
