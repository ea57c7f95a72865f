"""Durable timers: deadlines written in the same transaction as the events that set them.

A timer is a row keyed by ``timer_id``. Scheduling an id that already exists replaces it
(a deadline moved); cancelling an id that does not exist is a no-op, so "fire" (append the
fire event and cancel the timer in one transaction) is safe to retry. Timers stay pending
until cancelled: reading ``due_timers`` changes nothing, and two workers that both see a due
timer race on the stream's expected version, which lets exactly one of them fire it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["CancelTimer", "ScheduleTimer", "Timer", "TimerChange"]


@dataclass(frozen=True, slots=True)
class ScheduleTimer:
    """Create (or move) timer ``timer_id`` to fire at ``due`` for ``stream``.

    ``data`` is plain JSON-able data handed back with the timer when it is due.
    """

    timer_id: str
    due: datetime
    stream: str
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Remove timer ``timer_id`` (no-op when it does not exist)."""

    timer_id: str


TimerChange = ScheduleTimer | CancelTimer


@dataclass(frozen=True, slots=True)
class Timer:
    """A pending timer as read back from a store (``due`` in UTC, ``data`` as plain JSON data)."""

    timer_id: str
    due: datetime
    stream: str
    data: Mapping[str, Any]
