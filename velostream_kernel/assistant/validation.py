"""The engine's verdict on a candidate statement, against a kernel's catalog (never the kernel's
own engine: validation registers what it checks)."""

from __future__ import annotations

from typing import Any

from velostream.engine import Engine


def engine_for(catalog: dict[str, Any] | None) -> Engine:
    """A fresh engine that knows the catalog's streams, tables and data sets."""
    eng = Engine()
    for obj in (catalog or {}).get("objects") or []:
        name = obj.get("name")
        if not name:
            continue
        if obj.get("kind") == "data":
            rows = obj.get("sample") or [{c["name"]: None for c in obj.get("columns", [])}]
            eng.register(name, rows)
        elif obj.get("sql"):
            eng.validate(obj["sql"])  # registers the stream/table in this engine only
    return eng


def validate_sql(sql: str, catalog: dict[str, Any] | None = None) -> list[str]:
    """The errors (located, one per failing statement) of `sql`; [] when it is valid."""
    if not sql.strip():
        return ["the answer holds no SQL"]
    errors, _ = engine_for(catalog).validate(sql)
    return [str(e) for e in errors]
