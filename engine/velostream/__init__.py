"""Velostream: an embedded streaming SQL engine in the Velostream dialect."""

__version__ = "0.1.0"
