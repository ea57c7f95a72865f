"""What the optimizer returns: a plan of allocations, its shortfalls, and why each quote was
or was not used. All values are frozen; money is ``Decimal``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["Allocation", "Consideration", "Method", "Plan", "Shortfall"]

#: How a plan was computed: ``greedy-single`` (place_one's exact fast path), ``min-cost-flow``
#: (the transportation problem, exact), ``milp`` (HiGHS over everything that needed it) or
#: ``mixed`` (flow for the plain requirements, MILP for the side-rule ones).
Method = str


@dataclass(frozen=True, slots=True)
class Allocation:
    """``gpus`` GPUs of requirement ``requirement_id`` placed on quote ``quote_id``.

    ``unit_price`` is the quote's price (USD per GPU-hour). ``cost`` is the cash this placement
    adds: ``gpus * unit_price * duration_hours``, except on a ``reserved`` quote, whose capacity
    is already paid for: its marginal cost is 0 (the sunk price stays in ``unit_price``).
    """

    requirement_id: str
    quote_id: str
    provider: str
    gpus: int
    unit_price: Decimal
    cost: Decimal
    reserved: bool = False


@dataclass(frozen=True, slots=True)
class Shortfall:
    """``gpus`` GPUs of a requirement that could not be placed, and the reason in words."""

    requirement_id: str
    gpus: int
    cause: str


@dataclass(frozen=True, slots=True)
class Consideration:
    """One quote looked at for one requirement: GPUs taken from it and why (or why not)."""

    quote_id: str
    provider: str
    used_gpus: int
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The optimizer's answer for a set of requirements.

    The objective is lexicographic: first place as many GPUs as possible, then minimise cost.
    ``total_cost`` is the cash cost (sum of ``Allocation.cost``); commitment credits steer the
    choice but are not subtracted here. ``proven_optimal`` is True only when the solver proved
    that no plan places more GPUs, or the same GPUs for less (see ``place_batch``).
    ``considered`` maps each requirement id to one entry per quote, in quote-id order; it may be
    computed lazily on first access (it is a pure function of the inputs and the allocations).
    """

    allocations: tuple[Allocation, ...]
    total_cost: Decimal
    shortfalls: tuple[Shortfall, ...]
    considered: Mapping[str, tuple[Consideration, ...]]
    proven_optimal: bool
    method: Method

    @property
    def placed_gpus(self) -> int:
        """GPUs placed over all requirements."""
        return sum(a.gpus for a in self.allocations)

    def gpus_for(self, requirement_id: str) -> int:
        """GPUs placed for one requirement."""
        return sum(a.gpus for a in self.allocations if a.requirement_id == requirement_id)
