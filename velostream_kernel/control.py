"""The kernel's answers to the studio (jobs panel, assistant): catalog, jobs, stop, validate.

The Jupyter server asks with a custom `velo_request` message on the kernel's **control**
channel (content `{"op": "catalog" | "jobs" | "stop" | "validate", ...}`) and gets a
`velo_reply` (`{"status": "ok", "result": ...}` or `{"status": "error", "message": ...}`).
The control channel is served while a cell runs, so the panel sees (and stops) a live query.
Handlers run on the control thread: they only read the session, and hand anything that changes
it (stopping a job) to the kernel's event loop.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from velostream.runtime.job import Job
from velostream_kernel.display.status import status_fields
from velostream_kernel.session import VeloSession

SAMPLE_ROWS = 3
RECENT_QUERIES = 20  # ad-hoc queries remembered for the jobs panel


def track_queries(session: VeloSession) -> dict[str, Job]:
    """Remember the ad-hoc (foreground SELECT) jobs a session builds; returns the live dict.

    The session keeps a foreground query only in a local variable; the engine builds it with
    `sink=False` (validation and CREATE build with sinks), which is how it is recognised here.
    """
    queries: dict[str, Job] = {}
    engine = session.engine
    build = engine.build_job

    def build_job(stmt: Any, outputs: Any = None, sink: bool = True) -> Job:
        job = build(stmt, outputs, sink)
        if not sink and stmt.kind == "select":
            for name in [n for n, j in queries.items() if j.state != "running"][:-RECENT_QUERIES]:
                queries.pop(name, None)
            # The cell's status line calls it select_N (the session numbers it right after
            # this build): the panel uses the same name.
            n = getattr(session, "_selects", None)
            queries[f"select_{n + 1}" if isinstance(n, int) else job.name] = job
        return job

    engine.build_job = build_job  # type: ignore[method-assign]
    return queries


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _sample(session: VeloSession, name: str) -> list[dict]:
    data = session.engine.catalog.memory.get(name)
    rows: list[dict] = []
    if isinstance(data, list):
        rows = data[:SAMPLE_ROWS]
    elif data is not None:
        head = getattr(data, "slice", None)
        part = head(0, SAMPLE_ROWS) if head else data
        to_rows = getattr(part, "to_pylist", None) or getattr(part, "to_dicts", None)
        rows = to_rows()[:SAMPLE_ROWS] if to_rows else []
    bg = session.background.get(name)
    if not rows and bg is not None and bg.live.table is not None:
        rows = list(bg.live.table.rows())[:SAMPLE_ROWS]
    return _jsonable(rows)


def catalog(session: VeloSession) -> dict[str, Any]:
    """Streams, tables and registered data with their columns, definitions and a few rows."""
    from velostream_kernel.completion import columns_of

    engine = session.engine
    objects = []
    kinds = (
        ("stream", list(engine.catalog.streams.items())),
        ("table", list(engine.catalog.tables.items())),
        ("data", [(n, None) for n in list(engine.catalog.memory)]),
    )
    for kind, items in kinds:
        for name, stmt in items:
            job = engine.jobs.get(name)
            objects.append(
                {
                    "name": name,
                    "kind": kind,
                    # DESCRIBE gives a stream's column expression; a bare column name says nothing
                    "columns": [
                        {"name": c, "type": "" if t.lower() == c.lower() else t}
                        for c, t in columns_of(engine, name)
                    ],
                    "sql": getattr(stmt, "sql", None),
                    "sample": _sample(session, name),
                    "state": job.state if job is not None else None,
                }
            )
    return {"objects": objects, "parameters": _jsonable(dict(session.params))}


def jobs(session: VeloSession, queries: dict[str, Job]) -> list[dict[str, Any]]:
    """Background jobs and ad-hoc queries with their live numbers (running ones first)."""
    out = []
    seen = set()
    for kind, items in (
        ("job", list(session.engine.jobs.items())),
        ("query", list(queries.items())),
    ):
        for name, job in items:
            if name in seen or job.state == "created":
                continue
            seen.add(name)
            f = status_fields(job)
            out.append(
                {
                    "name": name,
                    "kind": kind,
                    "state": job.state,
                    "records_in": f["records_in"],
                    "rows_out": f["rows_out"],
                    "records_per_s": f["rate"],
                    "watermark": f["watermark"],
                    "lag_s": f["lag_s"],
                    "late": f["late"],
                    "malformed": f["malformed"],
                    "started_at": job.stats.started_at,
                }
            )
    out.sort(key=lambda j: (j["state"] != "running", -j["started_at"]))
    return out


def validate(session: VeloSession, sql: str) -> list[str]:
    """Errors of `sql` against a copy of the session's catalog (the session is untouched)."""
    from velostream_kernel.assistant.validation import validate_sql

    return validate_sql(sql, catalog(session))


def stop(
    session: VeloSession, queries: dict[str, Job], loop: asyncio.AbstractEventLoop | None, name: str
) -> str:
    """Stop a job or the running query by name (on the kernel's loop); what happened."""
    if loop is None:
        raise LookupError("the kernel has not run a cell yet: nothing to stop")
    if name in session.engine.jobs:
        fut = asyncio.run_coroutine_threadsafe(session.stop_job(name), loop)
        fut.result(timeout=10)
        return f"stopped job {name}"
    job = queries.get(name)
    if job is None or job.state != "running":
        raise LookupError(f"no running job or query named '{name}'")
    # The foreground query stops like the notebook's Stop button: the cell keeps its result.
    loop.call_soon_threadsafe(session.interrupt)
    deadline = time.monotonic() + 5
    while job.state == "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    return f"stopped query {name}"


def handle(
    session: VeloSession,
    queries: dict[str, Job],
    loop: asyncio.AbstractEventLoop | None,
    content: dict[str, Any],
) -> dict[str, Any]:
    """The reply content for one `velo_request`."""
    op = content.get("op")
    try:
        if op == "catalog":
            result: Any = catalog(session)
        elif op == "jobs":
            result = jobs(session, queries)
        elif op == "stop":
            result = stop(session, queries, loop, str(content.get("name", "")))
        elif op == "validate":
            result = {"errors": validate(session, str(content.get("sql", "")))}
        else:
            return {"status": "error", "message": f"unknown op {op!r}"}
    except Exception as e:  # the reply says what went wrong; the kernel keeps running
        return {"status": "error", "message": str(e) or type(e).__name__}
    return {"status": "ok", "result": result}
