"""Clocks to inject: the wall clock for the service, a virtual one for simulations and tests."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["SystemClock", "VirtualClock"]


class SystemClock:
    """The real time, in UTC."""

    def __call__(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """Time that moves only when told to (never backwards)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, at: datetime) -> None:
        """Move to ``at``; moving backwards is a bug in the caller."""
        if at < self.now:
            raise ValueError(f"the clock cannot go back from {self.now} to {at}")
        self.now = at
