"""The pipeline registry: a SQLite file under a project's `.velo/` folder.

Layout of a project folder (the current directory, `VELO_PROJECT`, or `--project DIR`):

    .velo/registry.db                     pipelines, notebook versions, runs
    .velo/notebooks/<sha256-16>.ipynb      every deployed notebook, named by its content hash
    .velo/pipelines/<name>/runs/<run id>/  one folder per run: executed notebook, log, result
    .velo/pipelines/<name>/state/          checkpoints of a continuous pipeline (kept across
                                           restarts, so a restarted run resumes from them)

The registry is shared by `velo deploy`, `velo pipelines`, `velo scheduler` and the server
handlers, possibly in several processes at once: every change is one short transaction.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

VELO_DIR = ".velo"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pipelines (
    name TEXT PRIMARY KEY,
    source TEXT NOT NULL,          -- the notebook deployed (as given)
    notebook_hash TEXT NOT NULL,   -- current version: .velo/notebooks/<hash>.ipynb
    workdir TEXT NOT NULL,         -- where runs execute (the notebook's folder)
    kind TEXT NOT NULL,            -- scheduled | continuous | manual
    schedule TEXT,
    parameters TEXT NOT NULL,      -- JSON object
    status TEXT NOT NULL,          -- active | stopped | crash-loop | completed
    retries INTEGER NOT NULL,
    retry_delay REAL NOT NULL,
    next_due REAL,                 -- scheduled: the next cron fire time (epoch s)
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status_reason TEXT,
    metrics_port INTEGER           -- the kernel serves Prometheus /metrics here (VELO_METRICS_PORT)
);
CREATE TABLE IF NOT EXISTS versions (
    pipeline TEXT NOT NULL,
    version INTEGER NOT NULL,
    notebook_hash TEXT NOT NULL,
    deployed_at REAL NOT NULL,
    PRIMARY KEY (pipeline, version)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline TEXT NOT NULL,
    attempt INTEGER NOT NULL,      -- 1 for a run, 2.. for its retries / restarts
    trigger TEXT NOT NULL,         -- schedule | retry | start | restart | manual
    scheduled_for REAL,
    started_at REAL NOT NULL,
    ended_at REAL,
    status TEXT NOT NULL,          -- running | succeeded | failed | timeout | crashed | stopped
    run_dir TEXT NOT NULL,
    output_path TEXT NOT NULL,
    notebook_hash TEXT NOT NULL,
    pid INTEGER,
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_pipeline ON runs (pipeline, id);
"""


class RegistryError(Exception):
    """Bad input to the registry (an unknown or duplicate pipeline name, ...)."""


@dataclass
class Pipeline:
    """One deployed pipeline."""

    name: str
    source: str
    notebook_hash: str
    workdir: str
    kind: str
    schedule: str | None
    parameters: dict[str, Any]
    status: str
    retries: int
    retry_delay: float
    next_due: float | None
    created_at: float
    updated_at: float
    status_reason: str | None = None
    metrics_port: int | None = None
    version: int = 1

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the server's pipeline object)."""
        return asdict(self)


@dataclass
class Run:
    """One execution of a pipeline (one attempt)."""

    id: int
    pipeline: str
    attempt: int
    trigger: str
    scheduled_for: float | None
    started_at: float
    ended_at: float | None
    status: str
    run_dir: str
    output_path: str
    notebook_hash: str
    pid: int | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        d = asdict(self)
        d.pop("extra")
        return d


def project_dir(project: str | os.PathLike | None = None) -> Path:
    """The project folder: the argument, else $VELO_PROJECT, else the current directory."""
    return Path(project or os.environ.get("VELO_PROJECT") or os.getcwd()).resolve()


def notebook_hash(data: bytes) -> str:
    """A notebook version's name: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(data).hexdigest()[:16]


class Registry:
    """The `.velo/registry.db` of one project."""

    def __init__(self, project: str | os.PathLike | None = None) -> None:
        self.project = project_dir(project)
        self.root = self.project / VELO_DIR
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "notebooks").mkdir(exist_ok=True)
        self.path = self.root / "registry.db"
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # readers never wait for the scheduler
            db.executescript(_SCHEMA)
        finally:
            db.close()

    # -- storage --------------------------------------------------------------------------

    @contextmanager
    def _db(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        # one connection per operation: the scheduler, the CLI and the server share the file
        # (WAL: a reader never waits for a writer)
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def pipeline_dir(self, name: str) -> Path:
        """The folder of a pipeline's runs and state."""
        return self.root / "pipelines" / name

    def state_dir(self, name: str) -> Path:
        """Where a continuous pipeline's checkpoints live (kept across restarts)."""
        return self.pipeline_dir(name) / "state"

    def notebook_path(self, digest: str) -> Path:
        """The stored copy of a notebook version."""
        return self.root / "notebooks" / f"{digest}.ipynb"

    def store_notebook(self, data: bytes) -> str:
        """Copy a notebook into the store (once per content); returns its hash."""
        digest = notebook_hash(data)
        path = self.notebook_path(digest)
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return digest

    # -- pipelines ------------------------------------------------------------------------

    def add(self, p: Pipeline, replace: bool = False) -> Pipeline:
        """Register a pipeline; a name that exists is an error unless `replace`."""
        now = time.time()
        with self._db() as db:
            old = db.execute("SELECT * FROM pipelines WHERE name = ?", (p.name,)).fetchone()
            if old is not None and not replace:
                raise RegistryError(
                    f"a pipeline named '{p.name}' already exists (deployed "
                    f"{_when(old['created_at'])}); choose another --name, or redeploy it "
                    "with --replace"
                )
            if old is not None:
                p.created_at = old["created_at"]
                db.execute("DELETE FROM pipelines WHERE name = ?", (p.name,))
            p.updated_at = now
            row = asdict(p)
            row.pop("version")
            row["parameters"] = json.dumps(p.parameters)
            cols = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            db.execute(f"INSERT INTO pipelines ({cols}) VALUES ({marks})", tuple(row.values()))
            last = db.execute(
                "SELECT MAX(version) AS v FROM versions WHERE pipeline = ?", (p.name,)
            ).fetchone()["v"]
            p.version = (last or 0) + 1
            db.execute(
                "INSERT INTO versions VALUES (?, ?, ?, ?)",
                (p.name, p.version, p.notebook_hash, now),
            )
        return p

    def get(self, name: str) -> Pipeline:
        """A pipeline by name; an unknown name is an error that lists the known ones."""
        with self._db(write=False) as db:
            row = db.execute("SELECT * FROM pipelines WHERE name = ?", (name,)).fetchone()
            if row is None:
                names = [r["name"] for r in db.execute("SELECT name FROM pipelines ORDER BY 1")]
                known = ", ".join(names) if names else "none deployed yet"
                raise RegistryError(f"no pipeline named '{name}' (known: {known})")
            return self._pipeline(db, row)

    def list(self) -> list[Pipeline]:
        """Every pipeline, by name."""
        with self._db(write=False) as db:
            rows = db.execute("SELECT * FROM pipelines ORDER BY name").fetchall()
            return [self._pipeline(db, r) for r in rows]

    def _pipeline(self, db: sqlite3.Connection, row: sqlite3.Row) -> Pipeline:
        d = dict(row)
        d["parameters"] = json.loads(d["parameters"])
        v = db.execute(
            "SELECT MAX(version) AS v FROM versions WHERE pipeline = ?", (d["name"],)
        ).fetchone()["v"]
        return Pipeline(**d, version=v or 1)

    def update(self, name: str, **changes: Any) -> None:
        """Change some columns of a pipeline."""
        if not changes:
            return
        changes["updated_at"] = time.time()
        sets = ", ".join(f"{k} = ?" for k in changes)
        with self._db() as db:
            db.execute(f"UPDATE pipelines SET {sets} WHERE name = ?", (*changes.values(), name))

    def remove(self, name: str) -> None:
        """Forget a pipeline: its rows and its folder (runs, state); stored notebooks stay."""
        self.get(name)
        with self._db() as db:
            db.execute("DELETE FROM pipelines WHERE name = ?", (name,))
            db.execute("DELETE FROM versions WHERE pipeline = ?", (name,))
            db.execute("DELETE FROM runs WHERE pipeline = ?", (name,))
        shutil.rmtree(self.pipeline_dir(name), ignore_errors=True)

    # -- runs -----------------------------------------------------------------------------

    def start_run(
        self,
        p: Pipeline,
        attempt: int,
        trigger: str,
        scheduled_for: float | None = None,
    ) -> Run:
        """Record a run that starts now, with its (new) run folder."""
        now = time.time()
        with self._db() as db:
            cur = db.execute(
                "INSERT INTO runs (pipeline, attempt, trigger, scheduled_for, started_at, "
                "status, run_dir, output_path, notebook_hash) VALUES (?, ?, ?, ?, ?, "
                "'running', '', '', ?)",
                (p.name, attempt, trigger, scheduled_for, now, p.notebook_hash),
            )
            run_id = int(cur.lastrowid)
            run_dir = self.pipeline_dir(p.name) / "runs" / f"{run_id:06d}"
            output = run_dir / "output.ipynb"
            db.execute(
                "UPDATE runs SET run_dir = ?, output_path = ? WHERE id = ?",
                (str(run_dir), str(output), run_id),
            )
        run_dir.mkdir(parents=True, exist_ok=True)
        return self.run(run_id)

    def set_run_pid(self, run_id: int, pid: int) -> None:
        """The process that executes a run (to stop it from another process)."""
        with self._db() as db:
            db.execute("UPDATE runs SET pid = ? WHERE id = ?", (pid, run_id))

    def end_run(self, run_id: int, status: str, error: str | None = None) -> None:
        """Record how a run ended."""
        with self._db() as db:
            db.execute(
                "UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE id = ?",
                (status, error, time.time(), run_id),
            )

    def run(self, run_id: int) -> Run:
        """One run by id."""
        with self._db(write=False) as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RegistryError(f"no run with id {run_id}")
        return Run(**dict(row))

    def runs(self, name: str | None = None, limit: int | None = None) -> list[Run]:
        """Runs, newest first (of one pipeline when `name` is given)."""
        q = "SELECT * FROM runs"
        args: tuple = ()
        if name is not None:
            q += " WHERE pipeline = ?"
            args = (name,)
        q += " ORDER BY id DESC"
        if limit is not None:
            q += f" LIMIT {int(limit)}"
        with self._db(write=False) as db:
            return [Run(**dict(r)) for r in db.execute(q, args).fetchall()]

    def last_run(self, name: str) -> Run | None:
        """The newest run of a pipeline, if any."""
        runs = self.runs(name, limit=1)
        return runs[0] if runs else None

    def running(self) -> list[Run]:
        """Runs recorded as running (by any scheduler)."""
        with self._db(write=False) as db:
            rows = db.execute("SELECT * FROM runs WHERE status = 'running' ORDER BY id").fetchall()
        return [Run(**dict(r)) for r in rows]


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))
