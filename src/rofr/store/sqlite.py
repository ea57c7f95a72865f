"""The SQLite event log: the default store of the service and the CLI (stdlib ``sqlite3``).

Concurrency, in short: every write runs in ``BEGIN IMMEDIATE``, so the version check, the
read of the chain head and the inserts happen under SQLite's single write lock; a unique
index on ``(stream, version)`` backs that up. One ``SqliteStore`` may be shared by threads
(a lock serialises its connection); several processes may open the same file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from rofr.store._plan import plan_rows
from rofr.store._sql import SqlLog, head_of, statements
from rofr.store.chain import StoredEvent
from rofr.store.log import Batch, Side, VersionConflict, side_writes
from rofr.store.migrations import migrate_sqlite
from rofr.store.timers import TimerChange
from rofr.values import as_utc, to_jsonable, utc_text

__all__ = ["SqliteStore"]

# sqlite3 keeps a per-connection cache of prepared statements keyed by SQL text; using these
# constant strings means each is compiled once and reused on every append.
_SQL = statements("?")


class SqliteStore(SqlLog):
    """An :class:`~rofr.store.log.EventStore` in one SQLite file (``":memory:"`` for tests)."""

    _sql = _SQL

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

    def append_many(
        self,
        batches: Sequence[Batch],
        recorded_at: datetime,
        timers: Sequence[TimerChange] = (),
        *,
        side: Side = (),
        expect_head: int | None = None,
    ) -> list[StoredEvent]:
        """Append to several streams in one transaction; see ``EventStore.append_many``."""
        at = as_utc(recorded_at)
        at_text = to_jsonable(at)
        changes = [self._encode_change(change) for change in timers]
        conn = self._conn
        with self._lock:
            # IMMEDIATE takes the write lock now. A plain (deferred) BEGIN would read the
            # version and the head as a reader; two writers could both read version N, and
            # in WAL mode the loser's upgrade to writer fails at once with SQLITE_BUSY instead
            # of waiting. With IMMEDIATE the second writer waits (busy timeout), then reads the
            # first one's result, so its version check is decided on fresh data.
            conn.execute("BEGIN IMMEDIATE")
            texts: list[str] = []
            try:
                head = head_of(conn.execute(_SQL.head).fetchone())
                rows = plan_rows(
                    batches, head, partial(_version, conn), at, at_text, expect_head, texts
                )
                conn.executemany(_SQL.insert, self._insert_params(rows, at, texts))
                for sql, args in changes:
                    conn.execute(sql, args)
                keep = [self._record_row(write) for write in side_writes(side, rows)]
                if keep:
                    conn.executemany(_SQL.keep, keep)
                conn.execute("COMMIT")
            except sqlite3.IntegrityError as error:
                conn.execute("ROLLBACK")
                # The unique (stream, version) index fired: only reachable if some writer
                # bypassed BEGIN IMMEDIATE. Report it as the conflict it is.
                for stream, expected, _ in batches:
                    actual = _version(conn, stream)
                    if actual != expected:
                        raise VersionConflict(stream, expected, actual) from error
                raise
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return rows

    # --- reading ----------------------------------------------------------------------------

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # Times are fixed-width UTC text (see utc_text), so that SQL compares them as instants.
    @staticmethod
    def _time_param(value: datetime) -> str:
        return utc_text(value)

    @staticmethod
    def _time_value(column: str) -> datetime:
        return datetime.fromisoformat(column)

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()


def _version(conn: sqlite3.Connection, stream: str) -> int:
    return int(conn.execute(_SQL.version, (stream,)).fetchone()[0])
