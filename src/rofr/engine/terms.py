"""Checking a holder's acceptance against what it was offered and the clause's partial rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from rofr.engine.commands import Rejected, RespondToOffer
from rofr.engine.events import OfferSent
from rofr.engine.state import RequirementState

__all__ = ["AcceptedTerms", "check_acceptance"]


@dataclass(frozen=True, slots=True)
class AcceptedTerms:
    """The terms of an acceptance, with defaults filled from the offer and requirement."""

    unit_price: Decimal
    sku: str
    region: str
    start: datetime


def _match_limit(offer: OfferSent, gpus: int, requirement_cap: Decimal | None) -> Decimal | None:
    """The highest price at which the holder matches ``gpus`` GPUs of a match-mode offer.

    The buyer keeps the cheapest rival lines, so the holder's GPUs displace the dearest ones
    first (after any part no rival quoted). Matching means meeting the terms of every rival
    line it displaces, so the price may not exceed the cheapest of those lines.
    """
    unquoted = sum(line.gpus for line in offer.lines if line.provider is None)
    left = gpus - unquoted
    limit = requirement_cap if left <= 0 else None
    priced = sorted(
        (line for line in offer.lines if line.provider is not None),
        key=lambda line: line.unit_price or Decimal(0),
        reverse=True,
    )
    for line in priced:
        if left <= 0:
            break
        if line.unit_price is not None:
            limit = line.unit_price if limit is None else min(limit, line.unit_price)
        left -= line.gpus
    return limit


def check_acceptance(
    rs: RequirementState, offer: OfferSent, c: RespondToOffer, now: datetime
) -> AcceptedTerms:
    """Validate an acceptance; raises ``Rejected`` naming the field that is wrong."""
    req = rs.requirement
    n = c.accept_gpus
    if n > offer.gpus:
        raise Rejected(
            "too_many", f"offer {offer.offer_id} is for {offer.gpus} GPUs, not {n}", "gpus"
        )
    if offer.all_or_none and n != offer.gpus:
        raise Rejected(
            "all_or_none",
            f"the clause is all-or-none: accept all {offer.gpus} GPUs or decline",
            "gpus",
        )
    if n != offer.gpus and n % offer.min_increment != 0:
        raise Rejected(
            "below_increment",
            f"a partial acceptance must be a multiple of {offer.min_increment} GPUs (got {n})",
            "gpus",
        )
    cap = max(
        (line.unit_price for line in offer.lines if line.unit_price is not None), default=None
    )
    rival_lines = [line for line in offer.lines if line.provider is not None]
    limit = _match_limit(offer, n, req.max_unit_price) if rival_lines else None
    if c.unit_price is None and cap is None and limit is None:
        raise Rejected("price_required", "state the unit price (--price) you accept at", "price")
    default = limit if limit is not None else cap
    price = c.unit_price if c.unit_price is not None else (default or Decimal(0))
    if price < 0:
        raise Rejected("bad_price", "price must not be negative", "price")
    if rival_lines:
        if limit is not None and price > limit:
            raise Rejected(
                "does_not_match",
                f"price {price} does not match the rival terms: {n} GPUs displace rival lines "
                f"priced down to {limit}, so the holder must offer {limit} or less",
                "price",
            )
    elif cap is not None and price > cap:
        raise Rejected("above_cap", f"price {price} is above the requirement's cap {cap}", "price")
    sku = c.sku or (offer.lines[0].sku if offer.lines[0].sku else req.skus[0])
    if sku not in req.skus:
        raise Rejected(
            "bad_sku",
            f"sku {sku} is not one the requirement accepts ({', '.join(req.skus)})",
            "sku",
        )
    region = c.region or offer.lines[0].region or (req.regions[0] if req.regions else "any")
    if req.regions and region not in req.regions:
        raise Rejected(
            "bad_region", f"region {region} is not one of {', '.join(req.regions)}", "region"
        )
    start = c.start or max(req.earliest_start, now)
    if start > req.latest_start or start < req.earliest_start:
        raise Rejected(
            "bad_start",
            f"start {start:%Y-%m-%d} is outside {req.earliest_start:%Y-%m-%d}..{req.latest_start:%Y-%m-%d}",
            "start",
        )
    return AcceptedTerms(price, sku, region, start)
