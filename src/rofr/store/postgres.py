"""The PostgreSQL event log (psycopg 3): the store of a service run by several processes.

Concurrency, in short. Every append takes ``pg_advisory_xact_lock`` on one key per schema
before it reads the stream versions and the chain head, and holds it until COMMIT. That
serialises appenders across all processes, which is what the log needs: positions are
``head + 1`` and each row's ``prev_hash`` is the previous row's hash, so two transactions that
both read the same head would either collide on the position or fork the chain. An advisory
lock (rather than ``LOCK TABLE events``) leaves readers untouched and costs one round trip.
Under READ COMMITTED every statement after the lock sees all transactions committed before
it, so the version check is made on fresh data; the unique (stream, version) index backs it
up. One ``PostgresStore`` may be shared by threads (a lock serialises its connection).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import psycopg

from rofr.store.chain import GENESIS, StoredEvent, chain_hash, record_bytes
from rofr.store.log import (
    Batch,
    IdempotencyRecord,
    NewEvent,
    Side,
    VersionConflict,
    check_read_range,
    side_writes,
)
from rofr.store.pg_migrate import migrate_postgres
from rofr.store.timers import CancelTimer, ScheduleTimer, Timer, TimerChange
from rofr.values import as_utc, canonical_bytes, to_jsonable

__all__ = ["PostgresStore"]

# One lock key per schema, so that stores in different schemas of one database (the tests run
# each in its own schema, in parallel) do not wait for each other.
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('rofr.events:' || current_schema()))"
_HEAD = "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
_VERSION = "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = %s"
_INSERT = (
    "INSERT INTO events (position, stream, version, type, data, recorded_at, prev_hash, hash)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)
_COLUMNS = "position, stream, version, type, data, recorded_at, prev_hash, hash"
_STREAM = f"SELECT {_COLUMNS} FROM events WHERE stream = %s ORDER BY version"
_PAGE = (
    f"SELECT {_COLUMNS} FROM events WHERE position > %s AND position <= %s"
    " ORDER BY position LIMIT %s"
)
_SCHEDULE = (
    "INSERT INTO timers (timer_id, due, stream, data) VALUES (%s, %s, %s, %s)"
    " ON CONFLICT (timer_id) DO UPDATE SET"
    " due = excluded.due, stream = excluded.stream, data = excluded.data"
)
_CANCEL = "DELETE FROM timers WHERE timer_id = %s"
_TIMERS = "SELECT timer_id, due, stream, data FROM timers"
# SKIP LOCKED: a timer whose row is locked is being fired right now by another process (its
# transaction deletes the row and has not committed yet). Skipping it means this worker does
# not decide the same deadline only to lose the version race on commit; without it a plain
# SELECT would still return the row (MVCC shows the pre-delete version). The row locks taken
# here are released when this read's transaction ends, at once.
_DUE = f"{_TIMERS} WHERE due <= %s ORDER BY due, timer_id LIMIT %s FOR UPDATE SKIP LOCKED"
_PENDING = f"{_TIMERS} ORDER BY due, timer_id"
# The idempotency table is portable SQL (migration 0003): created_at is fixed-width UTC text.
_KEEP = (
    "INSERT INTO idempotency (party, key, request_hash, status, body, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (party, key) DO NOTHING"
)
_ANSWER = (
    "SELECT request_hash, status, body, created_at FROM idempotency WHERE party = %s AND key = %s"
)
_PAGE_SIZE = 1000


class PostgresStore:
    """An :class:`~rofr.store.log.EventStore` in a PostgreSQL database (libpq URL)."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.Connection[Any] = psycopg.connect(conninfo, autocommit=False)
        self._lock = threading.Lock()
        try:
            # Timestamps come back in UTC whatever the server's default time zone is (set here,
            # not with a connect option, so as not to override options given in the URL).
            self._conn.execute("SET TIME ZONE 'UTC'")
            self._conn.commit()
            migrate_postgres(conninfo, self._conn)
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
        changes = [_encode_change(change) for change in timers]
        with self._lock:
            conn = self._conn
            try:
                with conn.cursor() as cur:
                    cur.execute(_LOCK)
                    rows, params = self._plan(cur, batches, at, at_text)
                    if params:
                        cur.executemany(_INSERT, params)
                    for sql, args in changes:
                        cur.execute(sql, args)
                    keep = [_record_row(write) for write in side_writes(side, rows)]
                    if keep:
                        cur.executemany(_KEEP, keep)
                conn.commit()
            except psycopg.errors.UniqueViolation as error:
                conn.rollback()
                # Only reachable if some writer bypassed the advisory lock.
                for stream, expected, _ in batches:
                    actual = self._version(stream)
                    if actual != expected:
                        raise VersionConflict(stream, expected, actual) from error
                raise
            except BaseException:
                conn.rollback()
                raise
        return rows

    def _plan(
        self, cur: psycopg.Cursor[Any], batches: Sequence[Batch], at: datetime, at_text: str
    ) -> tuple[list[StoredEvent], list[tuple[Any, ...]]]:
        head = cur.execute(_HEAD).fetchone()
        position, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS)
        versions: dict[str, int] = {}
        rows: list[StoredEvent] = []
        params: list[tuple[Any, ...]] = []
        for stream, expected, events in batches:
            actual = versions.get(stream)
            if actual is None:
                actual = int(cur.execute(_VERSION, (stream,)).fetchone()[0])  # type: ignore[index]
            if actual != expected:
                raise VersionConflict(stream, expected, actual)
            for event in events:
                if event.stream != stream:
                    raise ValueError(f"event for {event.stream!r} in a batch for {stream!r}")
                position += 1
                actual += 1
                data = to_jsonable(event.data)
                digest = chain_hash(
                    prev, record_bytes(position, stream, actual, event.type, data, at_text)
                )
                rows.append(
                    StoredEvent(position, stream, actual, event.type, data, at, prev, digest)
                )
                params.append((position, stream, actual, event.type, _json(data), at, prev, digest))
                prev = digest
            versions[stream] = actual
        return rows, params

    # --- reading ----------------------------------------------------------------------------

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        # Each read is its own short transaction: never leave one open (it would pin old rows
        # against VACUUM and, under SKIP LOCKED, hold row locks).
        with self._lock:
            try:
                rows = self._conn.execute(sql, args).fetchall()
            finally:
                self._conn.rollback()
        return rows

    def _version(self, stream: str) -> int:
        row = self._conn.execute(_VERSION, (stream,)).fetchone()
        self._conn.rollback()
        return int(row[0]) if row else 0

    def stream_version(self, stream: str) -> int:
        """The stream's current version (0 when it has no events)."""
        return int(self._query(_VERSION, (stream,))[0][0])

    def read_stream(self, stream: str) -> list[StoredEvent]:
        """All events of ``stream`` in version order."""
        return [_event(row) for row in self._query(_STREAM, (stream,))]

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Events with ``position > after``, at most ``limit``, as they were at the call."""
        check_read_range(after, limit)
        last, _ = self.head()
        stop = last if limit is None else min(last, after + limit)
        return self._pages(after, stop)

    def _pages(self, after: int, stop: int) -> Iterator[StoredEvent]:
        while after < stop:
            page = self._query(_PAGE, (after, stop, _PAGE_SIZE))
            if not page:
                return
            for row in page:
                yield _event(row)
            after = int(page[-1][0])

    def head(self) -> tuple[int, str]:
        """The last position and its hash; ``(0, GENESIS)`` when empty."""
        rows = self._query(_HEAD)
        return (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS)

    def due_timers(self, now: datetime, limit: int = 1000) -> list[Timer]:
        """Pending timers with ``due <= now``, by due time then timer id (see ``_DUE``)."""
        check_read_range(0, limit)
        return [_timer(row) for row in self._query(_DUE, (as_utc(now), limit))]

    def pending_timers(self) -> list[Timer]:
        """Every pending timer, by due time then timer id."""
        return [_timer(row) for row in self._query(_PENDING)]

    def idempotency(self, party: str, key: str) -> IdempotencyRecord | None:
        """The idempotency record kept for ``(party, key)``, if any."""
        rows = self._query(_ANSWER, (party, key))
        if not rows:
            return None
        request_hash, status, body, created_at = rows[0]
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


def _json(data: Any) -> str:
    return canonical_bytes(data).decode("utf-8")


def _event(row: tuple[Any, ...]) -> StoredEvent:
    position, stream, version, type_, data, recorded_at, prev_hash, digest = row
    return StoredEvent(
        int(position), stream, int(version), type_, json.loads(data), as_utc(recorded_at),
        prev_hash, digest,
    )  # fmt: skip


def _record_row(write: IdempotencyRecord) -> tuple[str, str, str, int, str, str]:
    # The same fixed-width text as the service tables' other writers (api/tables.py).
    text = as_utc(write.created_at).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return (write.party, write.key, write.request_hash, write.status, write.body, text)


def _timer(row: tuple[Any, ...]) -> Timer:
    timer_id, due, stream, data = row
    return Timer(timer_id, as_utc(due), stream, json.loads(data))


def _encode_change(change: TimerChange) -> tuple[str, tuple[Any, ...]]:
    # Encode before the transaction, so a bad timer fails the append before it takes the lock.
    if isinstance(change, ScheduleTimer):
        data = _json(to_jsonable(change.data))
        return _SCHEDULE, (change.timer_id, as_utc(change.due), change.stream, data)
    if isinstance(change, CancelTimer):
        return _CANCEL, (change.timer_id,)
    raise TypeError(f"not a timer change: {change!r}")
