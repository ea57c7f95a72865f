"""What every backend's :class:`~rofr.store.log.EventStore` says the same way: ``append`` is
``append_many`` with one batch, and the store is its own context manager (closed on exit)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from rofr.store.chain import StoredEvent
from rofr.store.log import Batch, NewEvent, Side
from rofr.store.timers import TimerChange

__all__ = ["StoreBase"]


class StoreBase(ABC):
    """A backend implements ``append_many`` and ``close``; this gives the rest of the shape."""

    @abstractmethod
    def append_many(
        self,
        batches: Sequence[Batch],
        recorded_at: datetime,
        timers: Sequence[TimerChange] = (),
        *,
        side: Side = (),
    ) -> list[StoredEvent]:
        """Append to several streams in one transaction; see ``EventStore.append_many``."""

    @abstractmethod
    def close(self) -> None:
        """Release the store's resources (idempotent)."""

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
