"""Wire formats: JSON (exact decimals in and out), CSV (typed by inference), event time, and
an exact columnar JSON-lines decoder for the fast path."""
