"""The Velostream SQL front end: dialect, script parser, annotations and printer."""

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
