"""Joins: a stream looked up in a table (latest row per key), and stream-stream interval joins.

A joined row is one dict: every field under ``alias.field``, the unqualified field names too
(the left side wins a clash), ``_event_time`` of the join, and the sides themselves under
`SIDES` (for ``*`` and ``alias.*``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from velostream.connectors.base import SYSTEM_COLUMNS

SIDES = "\x00sides"
# Interval-join state is kept this long past its bound, so records that arrive out of order
# (later than the watermark) still find their matches; as ksqlDB's default grace period.
GRACE_MS = 24 * 3_600_000
_SYSTEM = frozenset(SYSTEM_COLUMNS)
KeyFn = Callable[[dict], tuple]


def combine(left: dict, left_alias: str, right: dict | None, right_alias: str, ts: int) -> dict:
    """The joined row of `left` (a record or an earlier joined row) and `right` (or None)."""
    if SIDES in left:
        d = dict(left)
        sides = [*left[SIDES]]
    else:
        d = {}
        for k, v in left.items():
            d[k] = v
            d[f"{left_alias}.{k}"] = v
        sides = [(left_alias, left)]
    if right is not None:
        for k, v in right.items():
            d[f"{right_alias}.{k}"] = v
            if k not in d:
                d[k] = v
    sides.append((right_alias, right or {}))
    d[SIDES] = sides
    d["_event_time"] = ts
    return d


def star_of_joined(row: dict, qualifier: str) -> dict:
    """The fields `*` or `alias.*` selects from a joined row."""
    sides = row[SIDES]
    if qualifier:
        for alias, side in sides:
            if alias == qualifier:
                return {k: v for k, v in side.items() if k not in _SYSTEM}
        return {}
    out: dict = {}
    for alias, side in sides:
        for k, v in side.items():
            if k in _SYSTEM:
                continue
            out[k if k not in out else f"{alias}.{k}"] = v
    return out


class TableState:
    """The latest row per primary key, indexed by the join key for lookups."""

    def __init__(self, join_key: KeyFn, primary_key: KeyFn | None):
        self.join_key = join_key
        self.primary_key = primary_key or join_key
        self.rows: dict[Any, dict] = {}
        self.index: dict[Any, dict[Any, dict]] = {}

    def upsert(self, row: dict, ts: int | None = None) -> None:
        """Apply one change: the row replaces the one with the same primary key."""
        pk = self.primary_key(row)
        old = self.rows.get(pk)
        if old is not None:
            bucket = self.index.get(self.join_key(old))
            if bucket is not None:
                bucket.pop(pk, None)
        self.rows[pk] = row
        jk = self.join_key(row)
        if None not in jk:
            self.index.setdefault(jk, {})[pk] = row

    def lookup(self, key: tuple) -> list[dict]:
        """Rows whose join key equals `key` (none for a NULL key)."""
        if None in key:
            return []
        bucket = self.index.get(key)
        return list(bucket.values()) if bucket else []

    def snapshot(self) -> dict:
        """Rows and index as plain data (pickled as one value, rows stay shared)."""
        return {"rows": self.rows, "index": self.index}

    def restore(self, snap: dict) -> None:
        """Take over the state of `snapshot()`."""
        self.rows = snap["rows"]
        self.index = snap["index"]


class StreamTableJoin:
    """Each stream row is looked up in the table; only the stream side produces output."""

    def __init__(
        self,
        kind: str,
        left_alias: str,
        right_alias: str,
        left_key: KeyFn,
        table: TableState,
        condition: Callable[[dict], Any] | None,
    ):
        self.left_outer = kind == "LEFT"
        self.left_alias = left_alias
        self.right_alias = right_alias
        self.left_key = left_key
        self.table = table
        self.condition = condition

    def probe(self, left: dict) -> list[dict]:
        """Joined rows for one stream row."""
        ts = left["_event_time"]
        out = []
        for right in self.table.lookup(self.left_key(left)):
            row = combine(left, self.left_alias, right, self.right_alias, ts)
            if self.condition is None or self.condition(row) is True:
                out.append(row)
        if not out and self.left_outer:
            out.append(combine(left, self.left_alias, None, self.right_alias, ts))
        return out


class IntervalJoin:
    """Stream-stream join: a match is emitted as soon as both sides have arrived; the
    output's event time is the later of the two. `lo`/`hi` bound right.t - left.t (ms)."""

    def __init__(
        self,
        kind: str,
        left_alias: str,
        right_alias: str,
        left_key: KeyFn,
        right_key: KeyFn,
        condition: Callable[[dict], Any] | None,
        bounds: tuple[int, int] | None,
        within: int | None = None,
    ):
        self.within = within  # WITHIN: |right.t - left.t| <= within (BETWEEN is in `condition`)
        self.left_outer = kind == "LEFT"
        self.left_alias = left_alias
        self.right_alias = right_alias
        self.left_key = left_key
        self.right_key = right_key
        self.condition = condition
        self.bounds = bounds
        self.left: dict[Any, deque] = {}
        self.right: dict[Any, deque] = {}
        self.unmatched: dict[int, dict] = {}  # id(left row) -> row, for LEFT joins
        self.padded: set[int] = set()  # LEFT rows already emitted null-padded
        self._expired_to = -(2**63)
        self.order: deque = deque()  # (time, side, key, row) for expiry

    def _emit(self, left: dict, right: dict) -> dict | None:
        lt, rt = left["_event_time"], right["_event_time"]
        if self.within is not None and not -self.within <= rt - lt <= self.within:
            return None
        if id(left) in self.padded:
            return None  # its null-padded row is already out: a LEFT row joins once or never
        ts = max(lt, rt)
        row = combine(left, self.left_alias, right, self.right_alias, ts)
        if self.condition is not None and self.condition(row) is not True:
            return None
        self.unmatched.pop(id(left), None)
        return row

    def push_left(self, left: dict) -> list[dict]:
        """A left record: join it with the buffered right records of its key."""
        key = self.left_key(left)
        if None in key:
            return [self._pad(left)] if self.left_outer else []
        out = []
        if self.left_outer:
            self.unmatched[id(left)] = left
        for right in self.right.get(key, ()):
            row = self._emit(left, right)
            if row is not None:
                out.append(row)
        self.left.setdefault(key, deque()).append(left)
        return out

    def push_right(self, right: dict) -> list[dict]:
        """A right record: join it with the buffered left records of its key."""
        key = self.right_key(right)
        if None in key:
            return []
        out = []
        for left in self.left.get(key, ()):
            row = self._emit(left, right)
            if row is not None:
                out.append(row)
        self.right.setdefault(key, deque()).append(right)
        return out

    def _pad(self, left: dict) -> dict:
        return combine(left, self.left_alias, None, self.right_alias, left["_event_time"])

    def expire(self, wm: int) -> list[dict]:
        """Drop records no future record can match, `GRACE_MS` after the watermark passed
        their bound (so out-of-order input still joins); a LEFT row that never matched comes
        out null-padded as soon as the watermark passes its bound."""
        if self.bounds is None:
            return []
        lo, hi = self.bounds
        out = []
        if self.left_outer:
            for lid, row in list(self.unmatched.items()):
                if row["_event_time"] + hi < wm:
                    del self.unmatched[lid]
                    self.padded.add(lid)
                    out.append(self._pad(row))
        if wm - GRACE_MS <= self._expired_to:
            return out
        horizon = wm - GRACE_MS
        self._expired_to = wm
        for key in list(self.left):
            q = self.left[key]
            while q and q[0]["_event_time"] + hi < horizon:
                self.padded.discard(id(q.popleft()))
            if not q:
                del self.left[key]
        for key in list(self.right):
            q = self.right[key]
            while q and q[0]["_event_time"] - lo < horizon:
                q.popleft()
            if not q:
                del self.right[key]
        return out

    def finish(self) -> list[dict]:
        """End of a bounded input: LEFT rows that never matched, in arrival order."""
        if not self.left_outer:
            return []
        rows = list(self.unmatched.values())
        self.unmatched.clear()
        return [self._pad(r) for r in rows]

    def snapshot(self) -> dict:
        """Buffered rows as plain data. Unmatched and padded LEFT rows are tracked by object
        identity, so they are listed as the row objects themselves: pickled as one value, they
        stay the same objects as those in the buffers."""
        padded = [r for q in self.left.values() for r in q if id(r) in self.padded]
        return {
            "left": list(self.left.items()),
            "right": list(self.right.items()),
            "unmatched": list(self.unmatched.values()),
            "padded": padded,
            "expired_to": self._expired_to,
        }

    def restore(self, snap: dict) -> None:
        """Take over the state of `snapshot()`."""
        self.left = {k: deque(q) for k, q in snap["left"]}
        self.right = {k: deque(q) for k, q in snap["right"]}
        self.unmatched = {id(r): r for r in snap["unmatched"]}
        self.padded = {id(r) for r in snap["padded"]}
        self._expired_to = snap["expired_to"]
