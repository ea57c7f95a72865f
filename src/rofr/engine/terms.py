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
    best = min(
        (line for line in offer.lines if line.unit_price is not None),
        key=lambda line: line.unit_price or Decimal(0),
        default=None,
    )
    cap = max(
        (line.unit_price for line in offer.lines if line.unit_price is not None), default=None
    )
    if c.unit_price is None and cap is None:
        raise Rejected("price_required", "state the unit price (--price) you accept at", "price")
    price = c.unit_price if c.unit_price is not None else (cap if cap is not None else Decimal(0))
    if price < 0:
        raise Rejected("bad_price", "price must not be negative", "price")
    if offer.mode == "match" and best is not None and best.provider is not None:
        # Matching means meeting the rival terms: no dearer than the rival line it displaces.
        matched = [
            line for line in offer.lines if line.unit_price is not None and price <= line.unit_price
        ]
        if not matched:
            raise Rejected(
                "does_not_match",
                f"price {price} does not match the rival terms (best rival price {best.unit_price})",
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
