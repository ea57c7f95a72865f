"""The SQLite event log: the default store of the service and the CLI (stdlib ``sqlite3``).

Concurrency, in short: every write runs in ``BEGIN IMMEDIATE``, so the version check, the
read of the chain head and the inserts happen under SQLite's single write lock; a unique
index on ``(stream, version)`` backs that up. One ``SqliteStore`` may be shared by threads
(a lock serialises its connection); several processes may open the same file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from rofr.store.chain import GENESIS, StoredEvent, chain_hash, record_bytes_plain
from rofr.store.log import (
    Batch,
    IdempotencyRecord,
    NewEvent,
    Side,
    VersionConflict,
    check_read_range,
    side_writes,
)
from rofr.store.migrations import migrate_sqlite
from rofr.store.timers import CancelTimer, ScheduleTimer, Timer, TimerChange
from rofr.values import as_utc, canonical_bytes, to_jsonable

__all__ = ["SqliteStore"]

# sqlite3 keeps a per-connection cache of prepared statements keyed by SQL text; using these
# constant strings means each is compiled once and reused on every append.
_HEAD = "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
_VERSION = "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?"
_INSERT = (
    "INSERT INTO events (position, stream, version, type, data, recorded_at, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_COLUMNS = "position, stream, version, type, data, recorded_at, prev_hash, hash"
_STREAM = f"SELECT {_COLUMNS} FROM events WHERE stream = ? ORDER BY version"
_PAGE = (
    f"SELECT {_COLUMNS} FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?"
)
_SCHEDULE = (
    "INSERT INTO timers (timer_id, due, stream, data) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (timer_id) DO UPDATE SET"
    " due = excluded.due, stream = excluded.stream, data = excluded.data"
)
_CANCEL = "DELETE FROM timers WHERE timer_id = ?"
_TIMERS = "SELECT timer_id, due, stream, data FROM timers"
_DUE = f"{_TIMERS} WHERE due <= ? ORDER BY due, timer_id LIMIT ?"
_PENDING = f"{_TIMERS} ORDER BY due, timer_id"
_KEEP = (
    "INSERT INTO idempotency (party, key, request_hash, status, body, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (party, key) DO NOTHING"
)
_ANSWER = (
    "SELECT request_hash, status, body, created_at FROM idempotency WHERE party = ? AND key = ?"
)
_PAGE_SIZE = 1000  # rows per query in read_all: bounded memory, few round trips

_Row = tuple[int, str, int, str, str, str, str, str]


class SqliteStore:
    """An :class:`~rofr.store.log.EventStore` in one SQLite file (``":memory:"`` for tests)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode (isolation_level=None): transactions are opened explicitly below,
        # never implicitly by the driver. timeout is SQLite's busy wait for the write lock.
        self._conn = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        try:
            # WAL: readers never block the writer nor each other, and a commit is one append
            # to the log file rather than a rewrite of pages.
            self._conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode fsyncs at checkpoints, not on every commit: a crash of the
            # process loses nothing, a power cut may lose the last commits but never corrupts
            # the file or the chain. FULL would cap appends at the disk's fsync rate.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            migrate_sqlite(self._conn)
        except BaseException:
            self._conn.close()
            raise

    # --- writing ----------------------------------------------------------------------------

    def append(
        self,
        stream: str,
        expected_version: int,
        events: Sequence[NewEvent],
        recorded_at: datetime,
        timers: Sequence[TimerChange] = (),
    ) -> list[StoredEvent]:
        """Append ``events`` to ``stream`` at ``expected_version``; see ``EventStore.append``."""
        return self.append_many(((stream, expected_version, events),), recorded_at, timers)

    def append_many(
        self,
        batches: Sequence[Batch],
        recorded_at: datetime,
        timers: Sequence[TimerChange] = (),
        *,
        side: Side = (),
    ) -> list[StoredEvent]:
        """Append to several streams in one transaction; see ``EventStore.append_many``."""
        at = as_utc(recorded_at)
        at_text = to_jsonable(at)
        at_column = _utc_text(at)
        changes = [_encode_change(change) for change in timers]
        conn = self._conn
        with self._lock:
            # IMMEDIATE takes the write lock now. A plain (deferred) BEGIN would read the
            # version and the head as a reader; two writers could both read version N, and
            # in WAL mode the loser's upgrade to writer fails at once with SQLITE_BUSY instead
            # of waiting. With IMMEDIATE the second writer waits (busy timeout), then reads the
            # first one's result, so its version check is decided on fresh data.
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows, params = self._plan(batches, at, at_text, at_column)
                conn.executemany(_INSERT, params)
                for sql, args in changes:
                    conn.execute(sql, args)
                keep = [_record_row(write) for write in side_writes(side, rows)]
                if keep:
                    conn.executemany(_KEEP, keep)
                conn.execute("COMMIT")
            except sqlite3.IntegrityError as error:
                conn.execute("ROLLBACK")
                # The unique (stream, version) index fired: only reachable if some writer
                # bypassed BEGIN IMMEDIATE. Report it as the conflict it is.
                for stream, expected, _ in batches:
                    actual = int(conn.execute(_VERSION, (stream,)).fetchone()[0])
                    if actual != expected:
                        raise VersionConflict(stream, expected, actual) from error
                raise
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return rows

    def _plan(
        self, batches: Sequence[Batch], at: datetime, at_text: str, at_column: str
    ) -> tuple[list[StoredEvent], list[tuple[Any, ...]]]:
        conn = self._conn
        head = conn.execute(_HEAD).fetchone()
        position, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS)
        versions: dict[str, int] = {}
        rows: list[StoredEvent] = []
        params: list[tuple[Any, ...]] = []
        for stream, expected, events in batches:
            actual = versions.get(stream)
            if actual is None:
                actual = int(conn.execute(_VERSION, (stream,)).fetchone()[0])
            if actual != expected:
                raise VersionConflict(stream, expected, actual)
            for event in events:
                if event.stream != stream:
                    raise ValueError(f"event for {event.stream!r} in a batch for {stream!r}")
                position += 1
                actual += 1
                data = to_jsonable(event.data)
                digest = chain_hash(
                    prev, record_bytes_plain(position, stream, actual, event.type, data, at_text)
                )
                rows.append(
                    StoredEvent(position, stream, actual, event.type, data, at, prev, digest)
                )
                params.append(
                    (position, stream, actual, event.type, _json(data), at_column, prev, digest)
                )
                prev = digest
            versions[stream] = actual
        return rows, params

    # --- reading ----------------------------------------------------------------------------

    def stream_version(self, stream: str) -> int:
        """The stream's current version (0 when it has no events)."""
        with self._lock:
            return int(self._conn.execute(_VERSION, (stream,)).fetchone()[0])

    def read_stream(self, stream: str) -> list[StoredEvent]:
        """All events of ``stream`` in version order."""
        with self._lock:
            return [_event(row) for row in self._conn.execute(_STREAM, (stream,))]

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Events with ``position > after``, at most ``limit``, as they were at the call."""
        check_read_range(after, limit)
        last, _ = self.head()
        stop = last if limit is None else min(last, after + limit)
        return self._pages(after, stop)

    def _pages(self, after: int, stop: int) -> Iterator[StoredEvent]:
        # Page by position so the lock is never held while the caller consumes rows.
        while after < stop:
            with self._lock:
                page = self._conn.execute(_PAGE, (after, stop, _PAGE_SIZE)).fetchall()
            if not page:
                return
            for row in page:
                yield _event(row)
            after = int(page[-1][0])

    def head(self) -> tuple[int, str]:
        """The last position and its hash; ``(0, GENESIS)`` when empty."""
        with self._lock:
            row = self._conn.execute(_HEAD).fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def due_timers(self, now: datetime, limit: int = 1000) -> list[Timer]:
        """Pending timers with ``due <= now``, by due time then timer id."""
        check_read_range(0, limit)  # SQLite reads LIMIT -1 as "no limit"; refuse it instead
        with self._lock:
            return [_timer(row) for row in self._conn.execute(_DUE, (_utc_text(now), limit))]

    def pending_timers(self) -> list[Timer]:
        """Every pending timer, by due time then timer id."""
        with self._lock:
            return [_timer(row) for row in self._conn.execute(_PENDING)]

    def idempotency(self, party: str, key: str) -> IdempotencyRecord | None:
        """The idempotency record kept for ``(party, key)``, if any."""
        with self._lock:
            row = self._conn.execute(_ANSWER, (party, key)).fetchone()
        if row is None:
            return None
        request_hash, status, body, created_at = row
        return IdempotencyRecord(
            party, key, str(request_hash), int(status), str(body),
            datetime.fromisoformat(str(created_at)),
        )  # fmt: skip

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _utc_text(value: datetime) -> str:
    # Fixed width (always microseconds, always 'Z') so that comparing the text in SQL compares
    # the instants: '...:00Z' would otherwise sort after '...:00.5Z'.
    return as_utc(value).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _json(data: Any) -> str:
    return canonical_bytes(data).decode("utf-8")


def _event(row: _Row) -> StoredEvent:
    position, stream, version, type_, data, recorded_at, prev_hash, digest = row
    return StoredEvent(
        position,
        stream,
        version,
        type_,
        json.loads(data),
        datetime.fromisoformat(recorded_at),
        prev_hash,
        digest,
    )


def _record_row(write: IdempotencyRecord) -> tuple[str, str, str, int, str, str]:
    return (write.party, write.key, write.request_hash, write.status, write.body,
            _utc_text(write.created_at))  # fmt: skip


def _timer(row: tuple[str, str, str, str]) -> Timer:
    timer_id, due, stream, data = row
    return Timer(timer_id, datetime.fromisoformat(due), stream, json.loads(data))


def _encode_change(change: TimerChange) -> tuple[str, tuple[str, ...]]:
    # Encode before the transaction, so a bad timer fails the append before it takes the lock.
    if isinstance(change, ScheduleTimer):
        data = _json(to_jsonable(change.data))
        return _SCHEDULE, (change.timer_id, _utc_text(change.due), change.stream, data)
    if isinstance(change, CancelTimer):
        return _CANCEL, (change.timer_id,)
    raise TypeError(f"not a timer change: {change!r}")
