"""Placing one requirement's remainder on quotes at minimum cost (the engine's market step).

The optimizer's ``place_one`` is exact for one requirement: cheapest-first when splittable,
and a small exact search (or a tiny MILP) when side rules bind (not splittable, at most K
providers, a minimum chunk). This module adapts its plan to the engine's events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rofr.engine.events import QuoteConsidered
from rofr.optimize import place_one
from rofr.values import Quote, Requirement

__all__ = ["SinglePlan", "plan_single"]


@dataclass(frozen=True, slots=True)
class SinglePlan:
    """Allocations for one requirement, why each quote was (not) used, and any shortfall."""

    allocations: tuple[tuple[Quote, int], ...]
    considered: tuple[QuoteConsidered, ...]
    shortfall: int
    cause: str


def plan_single(
    req: Requirement, need: int, quotes: Sequence[Quote], eligible: Iterable[str], now: datetime
) -> SinglePlan:
    """The cheapest placement of ``need`` GPUs of ``req`` on ``quotes`` within its rules.

    Delegates to the optimizer's exact single-requirement path, so the engine's market step
    and ``rofr plan`` share one definition of "cheapest within the rules"."""
    plan = place_one(req, need, quotes, frozenset(eligible), now)
    by_id = {q.id: q for q in quotes}
    allocations = tuple((by_id[a.quote_id], a.gpus) for a in plan.allocations)
    considered = tuple(
        QuoteConsidered(c.quote_id, c.provider, c.used_gpus, c.reason)
        for c in plan.considered.get(req.id, ())
    )
    shortfall = sum(s.gpus for s in plan.shortfalls)
    cause = "; ".join(s.cause for s in plan.shortfalls)
    return SinglePlan(allocations, considered, shortfall, cause)
