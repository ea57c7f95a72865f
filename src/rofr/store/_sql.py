"""What the two SQL backends (SQLite and PostgreSQL) share: the statements, the conversions
between table rows and :class:`StoredEvent` / :class:`Timer` / :class:`IdempotencyRecord`,
and the read methods that are nothing but a query and a conversion.

The backends differ in their placeholder (``?`` or ``%s``), in how a time is kept (SQLite:
fixed-width UTC text; PostgreSQL: ``TIMESTAMPTZ``), and in how a statement is run (each has
its own lock and transaction rules); each says so in its own file, which also keeps every
write transaction explicit (``append_many``).
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rofr.store._base import StoreBase
from rofr.store.chain import GENESIS, StoredEvent
from rofr.store.log import IdempotencyRecord, check_read_range
from rofr.store.timers import CancelTimer, ScheduleTimer, Timer, TimerChange
from rofr.values import canonical_json_bytes, to_jsonable, utc_text

__all__ = ["SqlLog", "Statements", "head_of", "statements"]

_PAGE_SIZE = 1000  # rows per query in read_all: bounded memory, few round trips
_COLUMNS = "position, stream, version, type, data, recorded_at, prev_hash, hash"
_TIMERS = "SELECT timer_id, due, stream, data FROM timers"


@dataclass(frozen=True, slots=True)
class Statements:
    """The SQL of a backend, in its placeholder style (constant strings: a driver that caches
    prepared statements by text compiles each once)."""

    head: str
    version: str
    insert: str
    stream: str
    page: str
    schedule: str
    cancel: str
    due: str
    pending: str
    keep: str
    answer: str


def statements(p: str) -> Statements:
    """The statements with ``p`` as the placeholder (``"?"`` or ``"%s"``)."""
    return Statements(
        head="SELECT position, hash FROM events ORDER BY position DESC LIMIT 1",
        version=f"SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = {p}",
        insert=(f"INSERT INTO events ({_COLUMNS}) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"),
        stream=f"SELECT {_COLUMNS} FROM events WHERE stream = {p} ORDER BY version",
        page=(
            f"SELECT {_COLUMNS} FROM events WHERE position > {p} AND position <= {p}"
            f" ORDER BY position LIMIT {p}"
        ),
        schedule=(
            f"INSERT INTO timers (timer_id, due, stream, data) VALUES ({p}, {p}, {p}, {p})"
            " ON CONFLICT (timer_id) DO UPDATE SET"
            " due = excluded.due, stream = excluded.stream, data = excluded.data"
        ),
        cancel=f"DELETE FROM timers WHERE timer_id = {p}",
        due=f"{_TIMERS} WHERE due <= {p} ORDER BY due, timer_id LIMIT {p}",
        pending=f"{_TIMERS} ORDER BY due, timer_id",
        # The idempotency table is portable SQL (migration 0003): created_at is fixed-width
        # UTC text in both backends (see ``utc_text``).
        keep=(
            "INSERT INTO idempotency (party, key, request_hash, status, body, created_at)"
            f" VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (party, key) DO NOTHING"
        ),
        answer=(
            "SELECT request_hash, status, body, created_at FROM idempotency"
            f" WHERE party = {p} AND key = {p}"
        ),
    )


def head_of(row: Sequence[Any] | None) -> tuple[int, str]:
    """``(position, hash)`` from a row of ``Statements.head``; ``(0, GENESIS)`` for none."""
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def _json(data: Any) -> str:
    # ``data`` is already plain JSON (to_jsonable output): no second walk.
    return canonical_json_bytes(data).decode("utf-8")


class SqlLog(StoreBase):
    """The shared half of an SQL :class:`~rofr.store.log.EventStore`. A subclass sets ``_sql``,
    says how a time is stored and read back, runs a read (``_query``), and writes
    (``append_many``, whose transaction and locking are its own) and closes (``close``)."""

    _sql: ClassVar[Statements]

    @abstractmethod
    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one read statement under the store's lock; all its rows."""

    @staticmethod
    @abstractmethod
    def _time_param(value: datetime) -> Any:
        """A time as a statement parameter (the column's form)."""

    @staticmethod
    @abstractmethod
    def _time_value(column: Any) -> datetime:
        """A time column as read back, as a tz-aware UTC datetime."""

    # --- writing: the parameters of a transaction's statements ---------------------------------

    def _insert_params(
        self, rows: Sequence[StoredEvent], at: datetime, texts: Sequence[str] | None = None
    ) -> list[tuple[Any, ...]]:
        """The ``Statements.insert`` parameters of ``rows`` (all recorded at ``at``); ``texts``
        are the rows' data as canonical JSON when the caller has them (``plan_rows``)."""
        at_column = self._time_param(at)
        data = texts if texts is not None else [_json(r.data) for r in rows]
        return [
            (r.position, r.stream, r.version, r.type, text, at_column, r.prev_hash, r.hash)
            for r, text in zip(rows, data, strict=True)
        ]

    def _encode_change(self, change: TimerChange) -> tuple[str, tuple[Any, ...]]:
        """A timer change as ``(sql, args)``. Called before the transaction, so a bad timer
        fails the append before it takes the lock."""
        if isinstance(change, ScheduleTimer):
            data = _json(to_jsonable(change.data))
            due = self._time_param(change.due)
            return self._sql.schedule, (change.timer_id, due, change.stream, data)
        if isinstance(change, CancelTimer):
            return self._sql.cancel, (change.timer_id,)
        raise TypeError(f"not a timer change: {change!r}")

    @staticmethod
    def _record_row(write: IdempotencyRecord) -> tuple[str, str, str, int, str, str]:
        """The ``Statements.keep`` parameters of an idempotency record."""
        return (write.party, write.key, write.request_hash, write.status, write.body,
                utc_text(write.created_at))  # fmt: skip

    # --- reading ----------------------------------------------------------------------------

    def stream_version(self, stream: str) -> int:
        """The stream's current version (0 when it has no events)."""
        return int(self._query(self._sql.version, (stream,))[0][0])

    def read_stream(self, stream: str) -> list[StoredEvent]:
        """All events of ``stream`` in version order."""
        event = self._event
        return [event(row) for row in self._query(self._sql.stream, (stream,))]

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Events with ``position > after``, at most ``limit``, as they were at the call."""
        check_read_range(after, limit)
        last, _ = self.head()
        stop = last if limit is None else min(last, after + limit)
        return self._pages(after, stop)

    def _pages(self, after: int, stop: int) -> Iterator[StoredEvent]:
        # Page by position so the lock is never held while the caller consumes rows.
        event = self._event
        while after < stop:
            page = self._query(self._sql.page, (after, stop, _PAGE_SIZE))
            if not page:
                return
            for row in page:
                yield event(row)
            after = int(page[-1][0])

    def head(self) -> tuple[int, str]:
        """The last position and its hash; ``(0, GENESIS)`` when empty."""
        rows = self._query(self._sql.head)
        return head_of(rows[0] if rows else None)

    def due_timers(self, now: datetime, limit: int = 1000) -> list[Timer]:
        """Pending timers with ``due <= now``, by due time then timer id."""
        check_read_range(0, limit)  # SQLite reads LIMIT -1 as "no limit"; refuse it instead
        rows = self._query(self._sql.due, (self._time_param(now), limit))
        return [self._timer(row) for row in rows]

    def pending_timers(self) -> list[Timer]:
        """Every pending timer, by due time then timer id."""
        return [self._timer(row) for row in self._query(self._sql.pending)]

    def idempotency(self, party: str, key: str) -> IdempotencyRecord | None:
        """The idempotency record kept for ``(party, key)``, if any."""
        rows = self._query(self._sql.answer, (party, key))
        if not rows:
            return None
        request_hash, status, body, created_at = rows[0]
        return IdempotencyRecord(
            party, key, str(request_hash), int(status), str(body),
            datetime.fromisoformat(str(created_at)),
        )  # fmt: skip

    def _event(self, row: tuple[Any, ...]) -> StoredEvent:
        position, stream, version, type_, data, recorded_at, prev_hash, digest = row
        return StoredEvent(
            int(position), stream, int(version), type_, json.loads(data),
            self._time_value(recorded_at), prev_hash, digest,
        )  # fmt: skip

    def _timer(self, row: tuple[Any, ...]) -> Timer:
        timer_id, due, stream, data = row
        return Timer(timer_id, self._time_value(due), stream, json.loads(data))
