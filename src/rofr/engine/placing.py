"""Placing one requirement's remainder on quotes at minimum cost.

For a single requirement the cheapest-first rule is exact when it is splittable: every GPU is
interchangeable, so taking the cheapest eligible GPUs first minimises cost. Side rules (not
splittable, at most K providers, a minimum chunk) are handled exactly by a small search over
provider subsets, which stays cheap because one requirement sees a handful of providers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import combinations

from rofr.engine.events import QuoteConsidered
from rofr.values import Quote, Requirement

__all__ = ["SinglePlan", "plan_single", "quote_fit"]


@dataclass(frozen=True, slots=True)
class SinglePlan:
    """Allocations for one requirement, why each quote was (not) used, and any shortfall."""

    allocations: tuple[tuple[Quote, int], ...]
    considered: tuple[QuoteConsidered, ...]
    shortfall: int
    cause: str

    @property
    def cost_rate(self) -> Decimal:
        """Cost per hour of the allocations."""
        return sum((q.unit_price * n for q, n in self.allocations), Decimal(0))


def quote_fit(req: Requirement, quote: Quote, eligible: Iterable[str], now: datetime) -> str | None:
    """``None`` if ``quote`` may serve ``req``, else the reason it may not."""
    if quote.provider not in eligible:
        return f"provider {quote.provider} not eligible"
    if quote.requirement_id is not None and quote.requirement_id != req.id:
        return "quoted for another requirement"
    if quote.sku not in req.skus:
        return f"sku {quote.sku} not accepted"
    if req.regions and quote.region not in req.regions:
        return f"region {quote.region} not in {list(req.regions)}"
    if quote.valid_until < now:
        return f"stale: valid until {quote.valid_until:%Y-%m-%d %H:%M}Z"
    if quote.earliest_start > req.latest_start:
        return "starts after the latest start"
    if req.max_unit_price is not None and quote.unit_price > req.max_unit_price:
        return f"price {quote.unit_price} above cap {req.max_unit_price}"
    if quote.gpus <= 0:
        return "no GPUs offered"
    return None


def _order(quotes: Sequence[Quote]) -> list[Quote]:
    # Reserved (sunk-cost) capacity first, then price, then the earliest start, then the id,
    # so ties break the same way in every run.
    return sorted(quotes, key=lambda q: (not q.reserved, q.unit_price, q.earliest_start, q.id))


def _greedy(req: Requirement, need: int, quotes: list[Quote]) -> list[tuple[Quote, int]]:
    out: list[tuple[Quote, int]] = []
    for q in quotes:
        if need <= 0:
            break
        take = min(q.gpus, need)
        if take < req.min_chunk and take < need:
            continue  # below the minimum chunk and not the whole remainder
        out.append((q, take))
        need -= take
    return out


def _cost(allocs: Sequence[tuple[Quote, int]]) -> tuple[int, Decimal]:
    placed = sum(n for _, n in allocs)
    return (-placed, sum((q.unit_price * n for q, n in allocs), Decimal(0)))


def plan_single(
    req: Requirement, need: int, quotes: Sequence[Quote], eligible: Iterable[str], now: datetime
) -> SinglePlan:
    """The cheapest placement of ``need`` GPUs of ``req`` on ``quotes`` within its rules."""
    eligible = set(eligible)
    usable: list[Quote] = []
    rejected: list[QuoteConsidered] = []
    for q in quotes:
        why = quote_fit(req, q, eligible, now)
        if why is None:
            usable.append(q)
        else:
            rejected.append(QuoteConsidered(q.id, q.provider, 0, why))
    usable = _order(usable)
    best: list[tuple[Quote, int]]
    if not req.splittable:
        whole = [q for q in usable if q.gpus >= need]
        best = [(whole[0], need)] if whole else []
    elif req.max_providers is None:
        best = _greedy(req, need, usable)
    else:
        providers = sorted({q.provider for q in usable})
        best = []
        for k in range(1, min(req.max_providers, len(providers)) + 1):
            for subset in combinations(providers, k):
                allocs = _greedy(req, need, [q for q in usable if q.provider in subset])
                if not best or _cost(allocs) < _cost(best):
                    best = allocs
    used = {q.id: n for q, n in best}
    considered = [
        QuoteConsidered(
            q.id,
            q.provider,
            used.get(q.id, 0),
            f"used {used[q.id]} GPUs at {q.unit_price}"
            if q.id in used
            else "cheaper quotes sufficed",
        )
        for q in usable
    ]
    placed = sum(used.values())
    shortfall = need - placed
    cause = ""
    if shortfall > 0:
        cause = _cause(req, need, usable, rejected)
    return SinglePlan(tuple(best), tuple(considered + rejected), shortfall, cause)


def _cause(
    req: Requirement, need: int, usable: list[Quote], rejected: list[QuoteConsidered]
) -> str:
    if not usable:
        if not rejected:
            return "no quotes from eligible providers"
        reasons = sorted({r.reason.split(":")[0] for r in rejected})
        return "no usable quote (" + "; ".join(reasons[:3]) + ")"
    capacity = sum(q.gpus for q in usable)
    if not req.splittable and all(q.gpus < need for q in usable):
        return f"not splittable and no single quote has {need} GPUs"
    return f"eligible capacity {capacity} < {need} needed"
