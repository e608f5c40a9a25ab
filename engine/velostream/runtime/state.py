"""State stores: where a job keeps its operator state and the source offsets that state covers.

One interface, two stores. `MemoryStateStore` lives and dies with the process (the default);
`SqliteStateStore` is a file that survives a restart. Writes (`put`, `delete`) are pending until
`commit(offsets)`, which makes them durable together with the source offsets they cover, in one
transaction: after a crash the store holds the last committed pair, never state of one point in
the input with offsets of another.

Keys are strings inside a namespace (a string); values are any picklable Python data. A value
is pickled when it is `put`, so it is a copy: later changes to the object do not reach the store.
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

_PROTOCOL = pickle.HIGHEST_PROTOCOL
_DELETED = None  # marks a pending delete (pickled values are never None)


@runtime_checkable
class StateStore(Protocol):
    """What the runtime needs from a state store."""

    def get(self, namespace: str, key: str, default: Any = None) -> Any:
        """The value under (namespace, key), pending writes included, else `default`."""
        ...

    def put(self, namespace: str, key: str, value: Any) -> None:
        """Set a value (pending until `commit`)."""
        ...

    def delete(self, namespace: str, key: str) -> None:
        """Remove a value (pending until `commit`); no error when it is absent."""
        ...

    def scan(self, namespace: str, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """(key, value) pairs of a namespace whose key starts with `prefix`, in key order."""
        ...

    def commit(self, offsets: dict[str, int]) -> None:
        """Make pending writes and these source offsets durable together, atomically."""
        ...

    def offsets(self) -> dict[str, int]:
        """Source offsets as last committed (empty when nothing was ever committed)."""
        ...

    def close(self) -> None:
        """Release the store; pending (uncommitted) writes are dropped."""
        ...


class _Pending:
    """Writes not yet committed, shared by both stores: (namespace, key) -> pickle or delete."""

    def __init__(self) -> None:
        self.writes: dict[tuple[str, str], bytes | None] = {}

    def put(self, namespace: str, key: str, value: Any) -> None:
        self.writes[(namespace, key)] = pickle.dumps(value, _PROTOCOL)

    def delete(self, namespace: str, key: str) -> None:
        self.writes[(namespace, key)] = _DELETED

    def overlay(self, namespace: str, prefix: str, committed: dict[str, bytes]) -> dict[str, bytes]:
        """Committed pickles of a namespace with the pending writes applied."""
        out = dict(committed)
        for (ns, key), blob in self.writes.items():
            if ns != namespace or not key.startswith(prefix):
                continue
            if blob is _DELETED:
                out.pop(key, None)
            else:
                out[key] = blob
        return out


def _check_key(namespace: str, key: str) -> None:
    if not isinstance(namespace, str) or not isinstance(key, str):
        raise TypeError("state namespaces and keys are strings")


class MemoryStateStore:
    """A state store in this process's memory (lost when the process ends)."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, bytes]] = {}
        self._offsets: dict[str, int] = {}
        self._pending = _Pending()

    def get(self, namespace: str, key: str, default: Any = None) -> Any:
        """The value under (namespace, key), pending writes included, else `default`."""
        _check_key(namespace, key)
        if (namespace, key) in self._pending.writes:
            blob = self._pending.writes[(namespace, key)]
        else:
            blob = self._data.get(namespace, {}).get(key)
        return default if blob is None else pickle.loads(blob)

    def put(self, namespace: str, key: str, value: Any) -> None:
        """Set a value (pending until `commit`)."""
        _check_key(namespace, key)
        self._pending.put(namespace, key, value)

    def delete(self, namespace: str, key: str) -> None:
        """Remove a value (pending until `commit`)."""
        _check_key(namespace, key)
        self._pending.delete(namespace, key)

    def scan(self, namespace: str, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """(key, value) pairs of a namespace whose key starts with `prefix`, in key order."""
        committed = {k: v for k, v in self._data.get(namespace, {}).items() if k.startswith(prefix)}
        merged = self._pending.overlay(namespace, prefix, committed)
        for key in sorted(merged):
            yield key, pickle.loads(merged[key])

    def commit(self, offsets: dict[str, int]) -> None:
        """Apply pending writes and record the offsets."""
        checked = _checked_offsets(offsets)
        for (ns, key), blob in self._pending.writes.items():
            if blob is _DELETED:
                self._data.get(ns, {}).pop(key, None)
            else:
                self._data.setdefault(ns, {})[key] = blob
        self._offsets.update(checked)
        self._pending = _Pending()

    def offsets(self) -> dict[str, int]:
        """Source offsets as last committed."""
        return dict(self._offsets)

    def close(self) -> None:
        """Drop pending writes (committed data stays readable until the object is gone)."""
        self._pending = _Pending()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offsets (
    source TEXT PRIMARY KEY,
    last_offset INTEGER NOT NULL
) WITHOUT ROWID;
"""


class SqliteStateStore:
    """A state store in one SQLite file (WAL journal), durable across restarts."""

    def __init__(self, path: str | Path, synchronous: str = "FULL"):
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are opened explicitly, so `commit` controls
        # exactly what one transaction holds.
        self._db = sqlite3.connect(str(self.path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed checkpoint survives a power loss too, not only a process crash.
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)
        self._pending = _Pending()

    def get(self, namespace: str, key: str, default: Any = None) -> Any:
        """The value under (namespace, key), pending writes included, else `default`."""
        _check_key(namespace, key)
        if (namespace, key) in self._pending.writes:
            blob = self._pending.writes[(namespace, key)]
        else:
            row = self._db.execute(
                "SELECT value FROM state WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
            blob = row[0] if row else None
        return default if blob is None else pickle.loads(blob)

    def put(self, namespace: str, key: str, value: Any) -> None:
        """Set a value (pending until `commit`)."""
        _check_key(namespace, key)
        self._pending.put(namespace, key, value)

    def delete(self, namespace: str, key: str) -> None:
        """Remove a value (pending until `commit`)."""
        _check_key(namespace, key)
        self._pending.delete(namespace, key)

    def scan(self, namespace: str, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """(key, value) pairs of a namespace whose key starts with `prefix`, in key order."""
        rows = self._db.execute(
            "SELECT key, value FROM state WHERE namespace = ? AND substr(key, 1, ?) = ?",
            (namespace, len(prefix), prefix),
        ).fetchall()
        merged = self._pending.overlay(namespace, prefix, dict(rows))
        for key in sorted(merged):
            yield key, pickle.loads(merged[key])

    def commit(self, offsets: dict[str, int]) -> None:
        """Write pending state and the offsets in one transaction (all or nothing)."""
        checked = _checked_offsets(offsets)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            self._write_state(db)
            self._write_offsets(db, checked)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._pending = _Pending()

    def _write_state(self, db: sqlite3.Connection) -> None:
        puts = [(ns, k, b) for (ns, k), b in self._pending.writes.items() if b is not _DELETED]
        dels = [(ns, k) for (ns, k), b in self._pending.writes.items() if b is _DELETED]
        if dels:
            db.executemany("DELETE FROM state WHERE namespace = ? AND key = ?", dels)
        if puts:
            db.executemany(
                "INSERT INTO state (namespace, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value",
                puts,
            )

    def _write_offsets(self, db: sqlite3.Connection, offsets: dict[str, int]) -> None:
        if offsets:
            db.executemany(
                "INSERT INTO offsets (source, last_offset) VALUES (?, ?) "
                "ON CONFLICT (source) DO UPDATE SET last_offset = excluded.last_offset",
                list(offsets.items()),
            )

    def offsets(self) -> dict[str, int]:
        """Source offsets as last committed."""
        return dict(self._db.execute("SELECT source, last_offset FROM offsets").fetchall())

    def close(self) -> None:
        """Close the file; pending writes are dropped."""
        self._pending = _Pending()
        self._db.close()


def _checked_offsets(offsets: dict[str, int]) -> dict[str, int]:
    out = {}
    for name, off in offsets.items():
        if not isinstance(name, str) or type(off) is not int:
            raise TypeError(f"offsets map source names to ints, got {name!r}: {off!r}")
        out[name] = off
    return out


def open_store(kind: str, path: str | None = None) -> StateStore:
    """A store by its `'state.store'` name: `memory`, or `sqlite` (needs a path)."""
    kind = kind.strip().lower()
    if kind == "memory":
        return MemoryStateStore()
    if kind == "sqlite":
        if not path:
            raise ValueError("'state.store' = 'sqlite' needs 'state.path'")
        return SqliteStateStore(path)
    raise ValueError(f"unknown state store '{kind}' (memory, sqlite)")
