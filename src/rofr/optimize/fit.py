"""Which quote may serve which requirement, at what price to the optimizer, and why not.

These scalar rules are the reference: the vectorised pair builder in ``problem.py`` must agree
with ``unfit_reason`` (a property test checks it).

Two pricing choices, made here once:

* A ``reserved`` quote is already paid for, so its marginal price is 0. That makes "reserved
  first" hold (it is never dearer than buying) and it passes any price cap, since using it
  costs nothing more. Its capacity is still respected.
* ``commitment_credit[provider]`` (USD per GPU-hour) is subtracted from the price of buying
  from that provider when choosing, because money spent there reduces a projected commitment
  shortfall penalty. It never applies to reserved capacity (no new money is spent) and never
  to the price cap (the cap is about the price actually paid).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from rofr.values import Quote, Requirement, time_text

__all__ = [
    "effective_price",
    "ineligible_reason",
    "lower_chunk",
    "side_rules",
    "unfit_reason",
]


def ineligible_reason(eligible: frozenset[str] | None, provider: str) -> str | None:
    """Why ``provider`` may not serve, given the contract's eligible set (None = anyone)."""
    if eligible is None or provider in eligible:
        return None
    if len(eligible) == 1:
        return f"provider not eligible: exclusive to {next(iter(eligible))}"
    if not eligible:
        return "provider not eligible: no provider is eligible"
    return f"provider not eligible: only {', '.join(sorted(eligible))}"


def unfit_reason(
    req: Requirement, quote: Quote, eligible: frozenset[str] | None, now: datetime
) -> str | None:
    """Return why ``quote`` cannot serve ``req`` at all, or None if it can.

    The checks run in a fixed order so that the first failing rule is the one reported.
    """
    if quote.valid_until < now:
        return f"stale: valid until {time_text(quote.valid_until)}"
    if quote.requirement_id is not None and quote.requirement_id != req.id:
        return f"quoted for requirement {quote.requirement_id}"
    reason = ineligible_reason(eligible, quote.provider)
    if reason is not None:
        return reason
    if quote.sku not in req.skus:
        return f"sku {quote.sku} not accepted"
    if req.regions and quote.region not in req.regions:
        return f"region {quote.region} not in [{', '.join(req.regions)}]"
    if quote.earliest_start > req.latest_start:
        return "starts after latest start"
    if (
        not quote.reserved
        and req.max_unit_price is not None
        and quote.unit_price > req.max_unit_price
    ):
        return f"price {quote.unit_price:.2f} above cap {req.max_unit_price:.2f}"
    return None


def effective_price(quote: Quote, credit: Mapping[str, Decimal] | None) -> Decimal:
    """The per-GPU-hour price the optimizer minimises (see the module docstring)."""
    if quote.reserved:
        return Decimal(0)
    if credit is None:
        return quote.unit_price
    return quote.unit_price - credit.get(quote.provider, Decimal(0))


def lower_chunk(req: Requirement, remaining: int) -> int:
    """Smallest allowed allocation: ``min_chunk``, unless the whole remainder is smaller."""
    return min(req.min_chunk, remaining)


def side_rules(req: Requirement, remaining: int, providers: int) -> tuple[str, ...]:
    """The rules beyond the plain transportation problem that can bind for ``req``.

    ``providers`` is the number of distinct providers among the quotes that can serve it: a
    ``max_providers`` at or above it cannot bind. A remainder of one GPU binds nothing.
    """
    rules: list[str] = []
    if remaining <= 1:
        return ()
    if not req.splittable:
        rules.append("not splittable")
    elif lower_chunk(req, remaining) > 1:
        rules.append(f"min chunk {req.min_chunk}")
    if req.max_providers is not None and req.max_providers < providers and req.splittable:
        rules.append(f"max providers {req.max_providers}")
    return tuple(rules)
