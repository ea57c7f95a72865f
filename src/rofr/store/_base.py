"""What every backend's :class:`~rofr.store.log.EventStore` says the same way: ``append`` is
``append_many`` with one batch, and the store is its own context manager (closed on exit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from rofr.store.chain import StoredEvent
from rofr.store.log import EventStore, NewEvent
from rofr.store.timers import TimerChange

__all__ = ["StoreBase"]


class StoreBase(EventStore):
    """The shape every backend shares. Subclassing the protocol (rather than matching it by
    structure only) makes mypy check each backend against it: one that misses ``append_many``,
    ``close`` or a read cannot be instantiated."""

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

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
