"""The engine's verdict on a candidate statement, against a kernel's catalog (never the kernel's
own engine: validation registers what it checks)."""

from __future__ import annotations

from typing import Any

from velostream.engine import Engine


def validate_sql(sql: str, catalog: dict[str, Any] | None = None) -> list[str]:
    """The errors (located in `sql`, one per failing statement) of `sql`; [] when it is valid.

    The catalog's data sets are registered (their sample rows give the columns), and its streams'
    and tables' definitions are validated in one script with the candidate, so the candidate's
    columns are checked against theirs; errors inside the definitions are not the candidate's.
    """
    if not sql.strip():
        return ["the answer holds no SQL"]
    eng = Engine()
    defs: list[str] = []
    for obj in (catalog or {}).get("objects") or []:
        name = obj.get("name")
        if not name:
            continue
        if obj.get("kind") == "data":
            rows = obj.get("sample") or [{c["name"]: None for c in obj.get("columns", [])}]
            eng.register(name, rows)
        elif obj.get("sql"):
            defs.append(obj["sql"].strip().rstrip(";"))
    prefix = "".join(d + ";\n" for d in defs)
    offset = prefix.count("\n")
    errors, _ = eng.validate(prefix + sql)
    out = []
    for e in errors:
        if e.line is not None:
            if e.line <= offset:
                continue  # a definition the kernel already runs
            e.line -= offset
        out.append(str(e))
    return out
