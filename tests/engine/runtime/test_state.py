"""State stores: the same semantics in memory and in SQLite; SQLite survives a reopen and
commits state and offsets atomically."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from velostream.runtime import state as state_module
from velostream.runtime.state import (
    MemoryStateStore,
    SqliteStateStore,
    StateStore,
    open_store,
)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StateStore]:
    s: StateStore = (
        MemoryStateStore() if request.param == "memory" else SqliteStateStore(tmp_path / "state.db")
    )
    yield s
    s.close()


# -- semantics shared by both stores -------------------------------------------------------


def test_both_satisfy_the_protocol(tmp_path: Path) -> None:
    assert isinstance(MemoryStateStore(), StateStore)
    s = SqliteStateStore(tmp_path / "s.db")
    assert isinstance(s, StateStore)
    s.close()


def test_get_of_a_missing_key_is_the_default(store: StateStore) -> None:
    assert store.get("ns", "nope") is None
    assert store.get("ns", "nope", 7) == 7
    assert store.offsets() == {}


def test_put_is_visible_before_commit_and_after(store: StateStore) -> None:
    value = {"wm": 5000, "acc": [Decimal("1.10"), None, (1, "a")]}
    store.put("ops", "core", value)
    assert store.get("ops", "core") == value
    store.commit({"src": 3})
    assert store.get("ops", "core") == value
    assert store.offsets() == {"src": 3}


def test_a_put_value_is_a_copy(store: StateStore) -> None:
    value = {"n": [1, 2]}
    store.put("ops", "k", value)
    value["n"].append(3)  # the store holds the value as it was when put
    assert store.get("ops", "k") == {"n": [1, 2]}
    got = store.get("ops", "k")
    got["n"].append(9)  # nor does changing what get returned change the store
    assert store.get("ops", "k") == {"n": [1, 2]}


def test_delete_pending_and_committed(store: StateStore) -> None:
    store.put("ns", "a", 1)
    store.put("ns", "b", 2)
    store.commit({})
    store.delete("ns", "a")
    assert store.get("ns", "a") is None  # pending delete already hides it
    store.commit({})
    assert store.get("ns", "a") is None
    assert store.get("ns", "b") == 2
    store.delete("ns", "never-there")  # no error
    store.commit({})


def test_scan_is_in_key_order_by_namespace_and_prefix(store: StateStore) -> None:
    store.put("ops", "table1/core", "t1")
    store.put("ops", "core", "c")
    store.put("other", "core", "x")
    store.commit({})
    store.put("ops", "table0/core", "t0")  # pending, still scanned
    store.put("ops", "tableX", "tx")
    store.delete("ops", "table1/core")  # pending delete, not scanned
    assert list(store.scan("ops")) == [("core", "c"), ("table0/core", "t0"), ("tableX", "tx")]
    assert list(store.scan("ops", "table")) == [("table0/core", "t0"), ("tableX", "tx")]
    assert list(store.scan("ops", "table0/")) == [("table0/core", "t0")]
    assert list(store.scan("missing")) == []


def test_scan_prefix_is_literal_not_a_pattern(store: StateStore) -> None:
    store.put("ns", "a_1", 1)
    store.put("ns", "ab1", 2)
    store.put("ns", "a%", 3)
    store.commit({})
    assert list(store.scan("ns", "a_")) == [("a_1", 1)]
    assert list(store.scan("ns", "a%")) == [("a%", 3)]


def test_offsets_merge_across_commits(store: StateStore) -> None:
    store.commit({"a": 1, "b": 10})
    store.commit({"a": 2})
    assert store.offsets() == {"a": 2, "b": 10}
    got = store.offsets()
    got["a"] = 99  # a copy
    assert store.offsets()["a"] == 2


def test_keys_and_offsets_are_checked(store: StateStore) -> None:
    with pytest.raises(TypeError):
        store.put("ns", ("a", 1), 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        store.commit({"src": "12"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        store.commit({"src": True})  # a bool is not an offset


def test_close_drops_pending_writes(tmp_path: Path) -> None:
    s = SqliteStateStore(tmp_path / "s.db")
    s.put("ns", "kept", 1)
    s.commit({"src": 1})
    s.put("ns", "lost", 2)
    s.close()
    again = SqliteStateStore(tmp_path / "s.db")
    assert again.get("ns", "kept") == 1
    assert again.get("ns", "lost") is None
    assert again.offsets() == {"src": 1}
    again.close()


# -- SQLite specifics ----------------------------------------------------------------------


def test_sqlite_survives_a_reopen_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.db"  # the folder is created
    s = SqliteStateStore(path)
    s.put("ops", "core", {"wm": 42})
    s.commit({"trades": 99})
    s.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    s2 = SqliteStateStore(path)
    assert s2.get("ops", "core") == {"wm": 42}
    assert s2.offsets() == {"trades": 99}
    s2.close()


def test_open_store_by_name(tmp_path: Path) -> None:
    assert isinstance(open_store("memory"), MemoryStateStore)
    s = open_store("SQLite", str(tmp_path / "x.db"))
    assert isinstance(s, SqliteStateStore)
    s.close()
    with pytest.raises(ValueError, match=r"state\.path"):
        open_store("sqlite")
    with pytest.raises(ValueError, match="unknown"):
        open_store("redis")


# -- atomicity -----------------------------------------------------------------------------


def _committed_pair(path: Path) -> tuple[object, dict[str, int]]:
    s = SqliteStateStore(path)
    try:
        return s.get("ops", "core"), s.offsets()
    finally:
        s.close()


def test_failure_between_state_and_offsets_keeps_the_previous_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    s = SqliteStateStore(path)
    s.put("ops", "core", "state@10")
    s.commit({"src": 10})
    s.put("ops", "core", "state@20")
    s.put("ops", "extra", "new")
    wrote_state: list[bool] = []
    real_state = SqliteStateStore._write_state

    def write_state(self: SqliteStateStore, db: sqlite3.Connection) -> None:
        real_state(self, db)
        wrote_state.append(True)

    def fail(self: SqliteStateStore, db: sqlite3.Connection, offsets: dict) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(SqliteStateStore, "_write_state", write_state)
    monkeypatch.setattr(SqliteStateStore, "_write_offsets", fail)
    with pytest.raises(OSError):
        s.commit({"src": 20})
    assert wrote_state == [True]  # the state rows were written inside the transaction
    # another connection sees the previous consistent pair
    assert _committed_pair(path) == ("state@10", {"src": 10})
    monkeypatch.undo()
    s.commit({"src": 20})  # the pending writes are still there: a retry commits both
    s.close()
    assert _committed_pair(path) == ("state@20", {"src": 20})
    again = SqliteStateStore(path)
    assert again.get("ops", "extra") == "new"
    again.close()


def test_process_killed_between_state_and_offsets_keeps_the_previous_pair(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    # A child process commits once, then dies (no cleanup, no rollback) while its second
    # commit is between writing state and writing offsets.
    # state.py is loaded on its own (stdlib only), so the child starts fast.
    script = textwrap.dedent(
        f"""
        import importlib.util, os, sys

        spec = importlib.util.spec_from_file_location("state", {str(state_module.__file__)!r})
        mod = importlib.util.module_from_spec(spec)
        sys.modules["state"] = mod
        spec.loader.exec_module(mod)
        SqliteStateStore = mod.SqliteStateStore

        s = SqliteStateStore({str(path)!r})
        s.put("ops", "core", "state@10")
        s.commit({{"src": 10}})
        s.put("ops", "core", "state@20")

        def die(self, db, offsets):
            os._exit(3)

        SqliteStateStore._write_offsets = die
        s.commit({{"src": 20}})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == 3, proc.stderr.decode()
    assert _committed_pair(path) == ("state@10", {"src": 10})


def _commit_and_read(make: Callable[[], StateStore]) -> tuple[object, dict[str, int]]:
    s = make()
    s.put("ops", "core", 1)
    s.commit({"a": 1})
    return s.get("ops", "core"), s.offsets()


def test_memory_and_sqlite_agree_on_a_simple_history(tmp_path: Path) -> None:
    assert _commit_and_read(MemoryStateStore) == _commit_and_read(
        lambda: SqliteStateStore(tmp_path / "s.db")
    )
