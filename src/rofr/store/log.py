"""The event log's interface: what a backend must do, and the values it takes and returns.

Every backend (in memory, SQLite, later PostgreSQL) implements :class:`EventStore` with the
same meaning: optimistic concurrency on ``(stream, version)``, a gap-free global ``position``,
the hash chain of :mod:`rofr.store.chain`, and timer changes committed atomically with the
events that cause them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from rofr.store.chain import ChainBreak, StoredEvent, first_break
from rofr.store.timers import Timer, TimerChange

__all__ = [
    "Batch",
    "EventStore",
    "HeadMoved",
    "IdempotencyRecord",
    "NewEvent",
    "SchemaError",
    "Side",
    "SideWrite",
    "StoreError",
    "VersionConflict",
    "verify_chain",
]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. ``data`` is plain JSON-able data (Decimal and datetime allowed,
    floats refused); stores keep it as canonical JSON and return it as ``to_jsonable`` data."""

    stream: str
    type: str
    data: Mapping[str, Any]
    # True when ``data`` is already ``to_jsonable`` output (the broker's encoded events):
    # the store then does not walk it again before hashing and writing it.
    plain: bool = False


Batch = tuple[str, int, Sequence[NewEvent]]
"""``(stream, expected_version, events)``: one stream's part of an ``append_many``."""


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """The answer to an HTTP request with an ``Idempotency-Key``, kept in the ``idempotency``
    table (migration 0003). Written as a side write of the append that records the request's
    events, it cannot be lost between the events and the answer. First writer wins: a record
    for a ``(party, key)`` that already has one is ignored."""

    party: str
    key: str
    request_hash: str
    status: int
    body: str
    created_at: datetime


SideWrite = IdempotencyRecord
"""A row a store writes in the same transaction as an append's events (one kind so far)."""

Side = Sequence[SideWrite] | Callable[[list[StoredEvent]], Sequence[SideWrite]]
"""An append's side writes, or a function of the rows being appended that returns them.

The function is called once the rows (positions, hashes) are fixed and before the commit,
inside the transaction and under the store's lock: it must be quick, must not use the store,
and if it raises, nothing is written."""


class StoreError(Exception):
    """Base class of the errors a store raises on purpose."""


class VersionConflict(StoreError):
    """The stream moved on since the caller read it; nothing was written."""

    def __init__(self, stream: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream!r} is at version {actual}, not {expected}; re-read it and retry"
        )
        self.stream = stream
        self.expected = expected
        self.actual = actual


class HeadMoved(StoreError):
    """The log grew past the position the caller decided on; nothing was written.

    Raised by ``append_many(expect_head=...)``: a broker that decided on the state folded up
    to position P asks to append only if nobody appended after P, so that a decision is never
    made on a stale contract, waiver or commitment held by another process's events."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"the log is at position {actual}, not {expected}; catch up and retry")
        self.expected = expected
        self.actual = actual


class SchemaError(StoreError):
    """The database's schema is not one this code can use (e.g. written by a newer rofr)."""


@runtime_checkable
class EventStore(Protocol):
    """An append-only, hash-chained event log with durable timers."""

    def append(
        self,
        stream: str,
        expected_version: int,
        events: Sequence[NewEvent],
        recorded_at: datetime,
        timers: Sequence[TimerChange] = (),
    ) -> list[StoredEvent]:
        """Append ``events`` to ``stream`` if it is at ``expected_version`` (0 when new).

        Events and timer changes are written in one transaction: on :class:`VersionConflict`
        (or any error) nothing is written. Returns the stored rows.
        """
        ...

    def append_many(
        self,
        batches: Sequence[Batch],
        recorded_at: datetime,
        timers: Sequence[TimerChange] = (),
        *,
        side: Side = (),
        expect_head: int | None = None,
    ) -> list[StoredEvent]:
        """Append to several streams in one transaction: all batches or none.

        A stream may appear twice; its second batch expects the version the first left it at.
        ``side`` rows (see :data:`Side`) are written in the same transaction. With
        ``expect_head``, the append also requires the log's last position to be that one
        (else :class:`HeadMoved`, nothing written).
        """
        ...

    def idempotency(self, party: str, key: str) -> IdempotencyRecord | None:
        """The idempotency record kept for ``(party, key)``, if any."""
        ...

    def stream_version(self, stream: str) -> int:
        """The stream's current version (0 when it has no events)."""
        ...

    def read_stream(self, stream: str) -> list[StoredEvent]:
        """All events of ``stream`` in version order."""
        ...

    def read_all(self, after: int = 0, limit: int | None = None) -> Iterator[StoredEvent]:
        """Events with ``position > after`` in position order, at most ``limit`` of them.

        Yields the rows that existed when it was called; later appends are not included.
        """
        ...

    def head(self) -> tuple[int, str]:
        """The last position and its hash; ``(0, GENESIS)`` when the log is empty."""
        ...

    def due_timers(self, now: datetime, limit: int = 1000) -> list[Timer]:
        """Pending timers with ``due <= now``, ordered by due time then timer id."""
        ...

    def pending_timers(self) -> list[Timer]:
        """Every pending timer, ordered by due time then timer id."""
        ...

    def close(self) -> None:
        """Release the store's resources; the store must not be used afterwards."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def verify_chain(store: EventStore) -> ChainBreak | None:
    """Check the whole log against the hash chain; the first break, or ``None`` if intact."""
    return first_break(event.to_record() for event in store.read_all())


def check_read_range(after: int, limit: int | None) -> None:
    """Refuse a negative ``after`` or ``limit`` (shared by the backends' ``read_all``)."""
    if after < 0:
        raise ValueError(f"after must be >= 0, not {after}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")


def side_writes(side: Side, rows: list[StoredEvent]) -> Sequence[SideWrite]:
    """The side writes of an append whose rows are ``rows`` (shared by the backends)."""
    writes = side(rows) if callable(side) else side
    for write in writes:
        if not isinstance(write, IdempotencyRecord):
            raise TypeError(f"not a side write: {write!r}")
    return writes
