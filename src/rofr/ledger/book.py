"""The ledger's view of a log: the state it folds to and every placement with its context.

Everything the ledger computes is a pure function of a ``Book``; building one folds the events
once. Placements carry the requirement they serve and the time they were decided, because the
counting rules of a commitment look at both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from rofr.engine import State, evolve
from rofr.engine import events as ev
from rofr.values import Placement, Requirement

__all__ = ["Book", "PlacedRecord", "accrued", "book_of", "hours_between"]

_HOUR = Decimal(3600)


@dataclass(frozen=True, slots=True)
class PlacedRecord:
    """A placement as the log recorded it: decided at ``decided_at`` under ``version_id``."""

    placement: Placement
    requirement: Requirement
    decided_at: datetime
    version_id: str
    clause_id: str | None = None

    @property
    def committed(self) -> Decimal:
        """The whole cost, owed from the decision on (price x GPUs x hours)."""
        return self.placement.cost

    def consumed(self, at: datetime) -> Decimal:
        """Cost accrued by ``at``: the hours already run, at the placement's unit price."""
        return accrued(self.placement, self.placement.start, at)


@dataclass(frozen=True, slots=True)
class Book:
    """The folded state (contract, triggers, revenue reports) and the placements, in order."""

    state: State
    placements: tuple[PlacedRecord, ...]


def hours_between(start: datetime, end: datetime) -> Decimal:
    """Whole seconds from ``start`` to ``end`` in hours (0 when ``end`` is not later)."""
    if end <= start:
        return Decimal(0)
    return Decimal(int((end - start).total_seconds())) / _HOUR


def accrued(p: Placement, since: datetime, until: datetime) -> Decimal:
    """Cost of ``p`` running between ``since`` and ``until`` (clipped to its own period)."""
    lo, hi = max(p.start, since), min(p.end, until)
    return p.unit_price * p.gpus * hours_between(lo, hi)


def book_of(events: Iterable[ev.Event]) -> Book:
    """Fold ``events`` (log order) into a ``Book``."""
    state = State()
    placed: list[PlacedRecord] = []
    for e in events:
        state = evolve(state, e)
        if isinstance(e, ev.PlacementMade):
            req = state.requirements[e.requirement_id].requirement
            placed.append(PlacedRecord(e.placement, req, e.at, e.version_id, e.clause_id))
    return Book(state, tuple(placed))
