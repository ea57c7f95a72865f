"""The in-memory event log: what the simulator runs on (about a million events per run).

Kept lean on purpose: events live once in a global list (position ``p`` at index ``p - 1``)
and are shared, not copied, by the per-stream lists; reads hand out the stored objects, so
callers must treat them as read-only (they are frozen dataclasses over plain JSON data).

The chain is computed lazily. ``append_events`` (the simulator's single-writer path) checks
versions and assigns positions at once but keeps the caller's objects and an encoder; the
JSON data, canonical bytes and hashes of those rows are computed, strictly in position order,
the first time anything reads the log (``read_all``, ``read_stream``, ``head``, or a plain
``append``). The rows are therefore byte for byte those an eager append would have written.
A simulation that never reads its log back never pays for encoding and hashing it.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from rofr.store._base import StoreBase
from rofr.store._plan import plan_rows
from rofr.store.chain import GENESIS, StoredEvent, chain_hash, record_bytes_plain
from rofr.store.log import (
    Batch,
    IdempotencyRecord,
    Side,
    VersionConflict,
    check_read_range,
    side_writes,
)
from rofr.store.timers import CancelTimer, ScheduleTimer, Timer, TimerChange
from rofr.values import as_utc, time_text, to_jsonable

__all__ = ["Encoder", "MemoryStore"]

Encoder = Callable[[Any], tuple[str, Mapping[str, Any]]]
"""Turns an appended object into ``(type, data)``, ``data`` as plain JSON (``to_jsonable``)."""

# One ``append_events`` call whose rows have positions but no data or hashes yet:
# (its batches as given, the encoder, recorded_at, recorded_at as text). One entry per
# append, not per row: the simulator leaves a million rows pending.
_Pending = tuple[Sequence[tuple[str, int, Sequence[Any]]], Encoder, datetime, str]


class MemoryStore(StoreBase):
    """An :class:`~rofr.store.log.EventStore` held in process memory (thread-safe)."""

    def __init__(self) -> None:
        self._events: list[StoredEvent] = []
        self._streams: dict[str, list[StoredEvent]] = {}
        # Appends by ``append_events`` not yet encoded and hashed (``_pending_rows`` rows), in
        # position order after ``_events``; ``_versions`` counts both kinds per stream.
        self._pending: list[_Pending] = []
        self._pending_rows = 0
        self._versions: dict[str, int] = {}
        self._timers: dict[str, Timer] = {}
        # (due, timer_id) kept sorted so due_timers reads a prefix instead of scanning or
        # sorting every pending timer on each tick of the clock.
        self._due_index: list[tuple[datetime, str]] = []
        # Timer changes from ``append_events``, applied (in order) on the next timer read or
        # plain append: the simulator keeps its own agenda and never asks, so it never pays
        # for this index; whoever reads sees exactly what applying them eagerly would give.
        self._timer_backlog: list[TimerChange] = []
        self._answers: dict[tuple[str, str], IdempotencyRecord] = {}
        # One lock makes check-version-then-write atomic if a caller uses threads; uncontended
        # it costs well under a microsecond per append.
        self._lock = threading.Lock()

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
        """Append to several streams at once (all or nothing); see ``EventStore.append_many``."""
        at = as_utc(recorded_at)
        at_text = to_jsonable(at)  # hashed as text once, not re-encoded per event
        changes = [_encode_change(change) for change in timers]
        with self._lock:
            self._flush()
            self._apply_backlog()
            events = self._events
            head = (len(events), events[-1].hash) if events else (0, GENESIS)
            rows = plan_rows(batches, head, self.stream_version, at, at_text, expect_head)
            writes = side_writes(side, rows)
            # Nothing above touched the store, so a conflict or an unencodable value (a float
            # in data) has left it exactly as it was: that is the whole transaction.
            self._events.extend(rows)
            streams = self._streams
            versions = self._versions
            for row in rows:
                stream_rows = streams.get(row.stream)
                if stream_rows is None:
                    streams[row.stream] = [row]
                else:
                    stream_rows.append(row)
                versions[row.stream] = row.version
            for change in changes:
                self._apply(change)
            for write in writes:
                self._answers.setdefault((write.party, write.key), write)
        return rows

    def append_events(
        self,
        batches: Sequence[tuple[str, int, Sequence[Any]]],
        recorded_at: datetime,
        encode: Encoder,
        timers: Sequence[TimerChange] = (),
    ) -> int:
        """Append like ``append_many`` (same version checks, all or nothing) but keep the
        objects and ``encode`` them only when the log is first read; returns the last position.

        ``encode(obj)`` must give the ``(type, data)`` the caller would have put in a
        ``NewEvent``, with ``data`` already plain JSON (``to_jsonable`` output, which is what
        is stored and hashed), and must not fail (an unencodable value would surface on the
        first read, not here). Meant for a single writer that already holds the state, such
        as the simulator's broker. ``timers`` are likewise applied on the next read of the
        timers; like ``encode``, they must not fail. The store keeps ``batches`` as given
        until then: the caller must not change them."""
        at = as_utc(recorded_at)
        with self._lock:
            versions = self._versions
            planned: dict[str, int] = {}
            rows = 0
            for stream, expected, objects in batches:
                actual = planned.get(stream)
                if actual is None:
                    actual = versions.get(stream, 0)
                if actual != expected:
                    raise VersionConflict(stream, expected, actual)
                planned[stream] = actual + len(objects)
                rows += len(objects)
            if rows:
                self._pending.append((batches, encode, at, time_text(at)))
                self._pending_rows += rows
            versions.update(planned)
            self._timer_backlog.extend(timers)
            return len(self._events) + self._pending_rows

    def _flush(self) -> None:
        # Encode and hash the pending rows in position order (the caller holds the lock).
        pending = self._pending
        if not pending:
            return
        events = self._events
        streams = self._streams
        position = len(events)
        prev = events[-1].hash if events else GENESIS
        for batches, encode, at, at_text in pending:
            for stream, version, objects in batches:
                if not objects:
                    continue
                stream_rows = streams.get(stream)
                if stream_rows is None:
                    stream_rows = streams[stream] = []
                for obj in objects:
                    position += 1
                    version += 1
                    type_, data = encode(obj)
                    body = record_bytes_plain(position, stream, version, type_, data, at_text)
                    digest = chain_hash(prev, body)
                    row = StoredEvent(position, stream, version, type_, data, at, prev, digest)
                    events.append(row)
                    stream_rows.append(row)
                    prev = digest
        pending.clear()
        self._pending_rows = 0

    def _apply_backlog(self) -> None:
        # The caller holds the lock.
        if self._timer_backlog:
            for change in self._timer_backlog:
                self._apply(_encode_change(change))
            self._timer_backlog.clear()

    def _apply(self, change: Timer | CancelTimer) -> None:
        old = self._timers.pop(change.timer_id, None)
        if old is not None:
            index = self._due_index
            del index[bisect_left(index, (old.due, old.timer_id))]
        if isinstance(change, Timer):
            self._timers[change.timer_id] = change
            insort(self._due_index, (change.due, change.timer_id))

    # --- reading ----------------------------------------------------------------------------

    def stream_version(self, stream: str) -> int:
        """The stream's current version (0 when it has no events)."""
        return self._versions.get(stream, 0)

    def read_stream(self, stream: str) -> list[StoredEvent]:
        """All events of ``stream`` in version order."""
        with self._lock:
            self._flush()
        return list(self._streams.get(stream, ()))

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Events with ``position > after``, at most ``limit``, as they were at the call."""
        check_read_range(after, limit)
        if self._pending:
            with self._lock:
                self._flush()
        stop = len(self._events) if limit is None else min(len(self._events), after + limit)
        # A slice, not islice: islice would walk the first ``after`` rows on every call, and
        # the broker reads the tail after each command (quadratic over a long simulation).
        return iter(self._events[after:stop])

    def head(self) -> tuple[int, str]:
        """The last position and its hash; ``(0, GENESIS)`` when empty."""
        if self._pending:
            with self._lock:
                self._flush()
        events = self._events
        return (len(events), events[-1].hash) if events else (0, GENESIS)

    def due_timers(self, now: datetime, limit: int = 1000) -> list[Timer]:
        """Pending timers with ``due <= now``, by due time then timer id."""
        now = as_utc(now)
        check_read_range(0, limit)
        due: list[Timer] = []
        with self._lock:
            self._apply_backlog()
            for when, timer_id in self._due_index:
                if when > now or len(due) >= limit:
                    break
                due.append(self._timers[timer_id])
        return due

    def pending_timers(self) -> list[Timer]:
        """Every pending timer, by due time then timer id."""
        with self._lock:
            self._apply_backlog()
            return [self._timers[timer_id] for _, timer_id in self._due_index]

    def idempotency(self, party: str, key: str) -> IdempotencyRecord | None:
        """The idempotency record kept for ``(party, key)``, if any."""
        return self._answers.get((party, key))

    # --- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Nothing to release; present for the interface."""


def _encode_change(change: TimerChange) -> Timer | CancelTimer:
    # Normalise before taking the lock, so a bad timer fails the append before anything is written.
    if isinstance(change, ScheduleTimer):
        return Timer(change.timer_id, as_utc(change.due), change.stream, to_jsonable(change.data))
    if isinstance(change, CancelTimer):
        return change
    raise TypeError(f"not a timer change: {change!r}")
