"""Velostream: an embedded streaming SQL engine in the Velostream dialect."""

from velostream.engine import Engine, Result
from velostream.errors import ConfigError, RecordError, SqlError

__version__ = "0.1.0"

__all__ = ["ConfigError", "Engine", "RecordError", "Result", "SqlError", "__version__"]
