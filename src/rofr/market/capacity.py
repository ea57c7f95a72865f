"""Free GPUs over time for one pool (a sku in a region): a step function you can reserve from.

Time is cut into whole hours from the pool's first capacity date. Each hour holds the GPUs
still free in it. The two operations the market needs are "take/give back ``g`` GPUs over an
interval" (range add) and "how many are free over the whole interval" (range min).

Why blocks of hours and not a list of change points: with ~100k reservations over a year,
a sorted change-point list needs an O(n) insert per reservation and an O(n) prefix walk per
query. Here hours are grouped in blocks of ``BLOCK``; a whole block carries a pending ``lazy``
add and its cached minimum, so both operations touch at most two partial blocks plus one
number per full block in between (about 140 blocks for a year). It is the classic square-root
decomposition, chosen over a segment tree because it is short enough to read at a glance.
Blocks of 64 hours: most reservations last days, so the two partial blocks (copied and scanned
on every call) cost more than the blocks in between (one C-level ``min`` over them).

Reservations are rounded outwards to whole hours (start down, end up), so a pool never gives
away a partial hour twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from operator import add

__all__ = ["CapacityTimeline", "hour_span"]

BLOCK = 64
_HOUR = timedelta(hours=1)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def hour_span(origin: datetime, start: datetime, end: datetime) -> tuple[int, int]:
    """Hour indexes ``[a, b)`` covering ``[start, end)`` from ``origin`` (rounded outwards)."""
    a_seconds = (start - origin).total_seconds()
    b_seconds = (end - origin).total_seconds()
    a = int(a_seconds // 3600)
    b = -int(-b_seconds // 3600)  # ceiling division
    return a, b


class CapacityTimeline:
    """Free GPUs per hour; ``steps`` are ``(date, change)`` pairs (a new site, a retirement)."""

    def __init__(self, steps: list[tuple[date, int]]) -> None:
        ordered = sorted(steps)
        self.origin = _midnight(ordered[0][0]) if ordered else datetime(2000, 1, 1, tzinfo=UTC)
        self._values: list[int] = []  # free GPUs per hour, before the block's lazy add
        self._lazy: list[int] = []  # pending add for a whole block
        self._mins: list[int] = []  # min of the block's values (without lazy)
        # Hour index -> capacity change; the level after the last change lasts forever.
        self._changes: list[tuple[int, int]] = []
        for day, change in ordered:
            hour = int((_midnight(day) - self.origin).total_seconds() // 3600)
            self._changes.append((hour, change))
        self._final = sum(change for _, change in ordered)
        last = self._changes[-1][0] if self._changes else 0
        self._build(last + 1)

    def _build(self, hours: int) -> None:
        level = 0
        changes = iter(self._changes)
        pending = next(changes, None)
        values: list[int] = []
        for hour in range(-(-hours // BLOCK) * BLOCK):
            while pending is not None and pending[0] <= hour:
                level += pending[1]
                pending = next(changes, None)
            values.append(level)
        self._values = values
        self._lazy = [0] * (len(values) // BLOCK)
        self._mins = [min(values[k * BLOCK : (k + 1) * BLOCK]) for k in range(len(self._lazy))]

    def _ensure(self, hours: int) -> None:
        # Beyond the last change the capacity is flat, so new blocks start full and untouched.
        while len(self._values) < hours:
            self._values.extend([self._final] * BLOCK)
            self._lazy.append(0)
            self._mins.append(self._final)

    @property
    def hours(self) -> int:
        """How many hours are materialised (grows on demand)."""
        return len(self._values)

    def span(self, start: datetime, end: datetime) -> tuple[int, int]:
        """Hour indexes covering ``[start, end)`` in this timeline."""
        return hour_span(self.origin, start, end)

    def free(self, start: datetime, end: datetime) -> int:
        """GPUs free in every hour of ``[start, end)`` (0 before the first capacity date)."""
        a, b = self.span(start, end)
        return self.free_hours(a, b)

    def free_hours(self, a: int, b: int) -> int:
        """Minimum free GPUs over hour indexes ``[a, b)``."""
        if b <= a:
            raise ValueError("empty interval")
        if a < 0:
            return 0  # before the pool existed there was nothing
        self._ensure(b)
        values, lazy, mins = self._values, self._lazy, self._mins
        first, last = a // BLOCK, (b - 1) // BLOCK
        if first == last:
            return min(values[a:b]) + lazy[first]
        best = min(values[a : (first + 1) * BLOCK]) + lazy[first]
        best = min(best, min(values[last * BLOCK : b]) + lazy[last])
        if last - first > 1:
            best = min(best, min(map(add, mins[first + 1 : last], lazy[first + 1 : last])))
        return best

    def add(self, start: datetime, end: datetime, delta: int) -> None:
        """Add ``delta`` free GPUs over ``[start, end)`` (negative to reserve)."""
        a, b = self.span(start, end)
        self.add_hours(a, b, delta)

    def add_hours(self, a: int, b: int, delta: int) -> None:
        """Add ``delta`` over hour indexes ``[a, b)``."""
        if a < 0 or b <= a:
            raise ValueError(f"cannot change capacity over hours [{a}, {b})")
        self._ensure(b)
        first, last = a // BLOCK, (b - 1) // BLOCK
        if first == last:
            self._add_partial(first, a, b, delta)
            return
        self._add_partial(first, a, (first + 1) * BLOCK, delta)
        self._add_partial(last, last * BLOCK, b, delta)
        lazy = self._lazy
        for k in range(first + 1, last):
            lazy[k] += delta

    def _add_partial(self, block: int, a: int, b: int, delta: int) -> None:
        values = self._values
        changed = [v + delta for v in values[a:b]]
        values[a:b] = changed
        if delta <= 0:
            # A reservation only lowers values: the block's minimum is the old one or the
            # lowest changed value, with no need to scan the rest of the block.
            self._mins[block] = min(self._mins[block], min(changed))
        else:
            self._mins[block] = min(values[block * BLOCK : (block + 1) * BLOCK])
