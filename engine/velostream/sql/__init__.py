"""The Velostream SQL front end: dialect, script parser, annotations and printer.

- `parse_script(text, path=None) -> Script`: every `;`-separated statement (split on tokens, so a
  `;` inside a string is safe), each with its own text, 1-based line/column in the script, kind,
  name, query, properties and `-- @key: value` annotations; detached annotation blocks become
  `Script.warnings`. Any syntax problem raises `velostream.errors.SqlError` (kind "syntax") with
  the script line/column of the offending token, the token, `expected` and the source line.
- `parse_statement(text)`: exactly one statement.
- `statement_of(expression)`: a `Statement` for a tree built or parsed elsewhere.
- `properties_dict(properties)`: a WITH (...) node as `dict[str, str]` (keys lower-cased).
- `to_sql(statement_or_expression)`: canonical Velostream SQL (parse -> print -> parse is stable).
- `Velostream`: the sqlglot dialect (`read="velostream"`); see `velostream.sql.dialect` for the
  tree shapes beyond `velostream.sql.ast`.
"""

from velostream.sql.dialect import Velostream
from velostream.sql.format import to_sql
from velostream.sql.parse import parse_script, parse_statement, properties_dict, statement_of

__all__ = [
    "Velostream",
    "parse_script",
    "parse_statement",
    "properties_dict",
    "statement_of",
    "to_sql",
]
