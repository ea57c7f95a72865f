"""Who may see what, and the views built from the broker's state.

Rules (a forbidden read is a 404, so a key cannot learn that an object exists):
- a buyer sees its own requirements, their offers, quotes and placements;
- a provider sees the offers it holds and its own quotes and placements, never a rival's
  quote nor another holder's offer; offer lines carry rival terms only in ``match`` mode,
  which is exactly what the clause entitles the holder to;
- auditors and admins see everything.
"""

from __future__ import annotations

from collections.abc import Iterable

from rofr.api.auth import Principal, Role
from rofr.api.errors import not_found
from rofr.api.models import (
    EventRow,
    OfferLineView,
    OfferView,
    PlacementView,
    QuoteView,
    RequirementView,
)
from rofr.contract.requirement import RequirementSpec
from rofr.engine import RequirementState, State
from rofr.engine import events as ev
from rofr.store import StoredEvent
from rofr.values import Placement, Quote, to_jsonable

__all__ = [
    "event_row", "offer_view", "placement_view", "quote_view", "requirement_view",
    "sees_offer", "sees_requirement", "visible_offers", "visible_placements", "visible_quotes",
]  # fmt: skip


def sees_requirement(who: Principal, rs: RequirementState) -> bool:
    """The requirement's buyer, auditors and admins."""
    return who.sees_all or (who.role == Role.BUYER and rs.requirement.buyer == who.party)


def sees_offer(who: Principal, rs: RequirementState, offer: ev.OfferSent) -> bool:
    """The offer's holder, the requirement's buyer, auditors and admins."""
    if who.role == Role.PROVIDER:
        return offer.holder == who.party
    return sees_requirement(who, rs)


def requirement_for(state: State, who: Principal, requirement_id: str) -> RequirementState:
    """The requirement, or a 404 if it does not exist or ``who`` may not see it."""
    rs = state.requirements.get(requirement_id)
    if rs is None or not sees_requirement(who, rs):
        raise not_found("requirement", requirement_id)
    return rs


def offer_for(state: State, who: Principal, offer_id: str) -> tuple[RequirementState, ev.OfferSent]:
    """The requirement and the latest offer with this id, or a 404."""
    rid = state.offers.get(offer_id)
    rs = state.requirements.get(rid) if rid is not None else None
    offer = rs.last_offer if rs is not None else None
    if rs is None or offer is None or offer.offer_id != offer_id or not sees_offer(who, rs, offer):
        raise not_found("offer", offer_id)
    return rs, offer


def offer_view(rs: RequirementState, offer: ev.OfferSent) -> OfferView:
    """The holder's view of an offer (rival terms only where the mode puts them in lines)."""
    is_open = rs.offer is not None and rs.offer.offer_id == offer.offer_id
    lines = [
        OfferLineView(
            gpus=line.gpus, unit_price=line.unit_price, sku=line.sku, region=line.region,
            start=line.start, provider=line.provider if offer.mode == "match" else None,
        )
        for line in offer.lines
    ]  # fmt: skip
    spec = RequirementSpec.from_requirement(rs.requirement).model_dump(mode="json")
    return OfferView(
        offer_id=offer.offer_id, requirement_id=offer.requirement_id, holder=offer.holder,
        mode=offer.mode, round=offer.round, gpus=offer.gpus, deadline=offer.deadline,
        open=is_open, min_increment=offer.min_increment, all_or_none=offer.all_or_none,
        lines=lines, requirement=spec, reason=offer.reason,
    )  # fmt: skip


def visible_offers(state: State, who: Principal, only_open: bool) -> list[OfferView]:
    """The offers ``who`` may see (its inbox, for a holder), newest deadline last."""
    found: list[OfferView] = []
    for rs in state.requirements.values():
        offer = rs.offer if only_open else rs.last_offer
        if offer is not None and sees_offer(who, rs, offer):
            found.append(offer_view(rs, offer))
    return sorted(found, key=lambda o: (o.deadline, o.offer_id))


def placement_view(p: Placement) -> PlacementView:
    """A placement as JSON."""
    return PlacementView.model_validate(to_jsonable(p))


def quote_view(q: Quote) -> QuoteView:
    """A quote as JSON."""
    return QuoteView.model_validate({k: v for k, v in to_jsonable(q).items() if k != "reserved"})


def _own(who: Principal, rs: RequirementState, provider: str) -> bool:
    if who.role == Role.PROVIDER:
        return provider == who.party
    return sees_requirement(who, rs)


def visible_placements(state: State, who: Principal) -> list[PlacementView]:
    """Placements on ``who``'s requirements, or with ``who`` as provider."""
    return [
        placement_view(p)
        for rs in state.requirements.values()
        for p in rs.placed
        if _own(who, rs, p.provider)
    ]


def visible_quotes(state: State, who: Principal) -> list[QuoteView]:
    """Recorded quotes: a provider sees only its own, never a rival's."""
    return [
        quote_view(q) for rs in state.requirements.values() for q in rs.quotes
        if _own(who, rs, q.provider)
    ]  # fmt: skip


def event_row(row: StoredEvent) -> EventRow:
    """A stored row as JSON."""
    # Built without validation: a stored row's fields already have these types and its data
    # is plain JSON (the stores return ``to_jsonable`` data), so validating it (and walking
    # the data to make it plain again) only cost time: a sixth of a submission's answer.
    return EventRow.model_construct(
        position=row.position, stream=row.stream, version=row.version, type=row.type,
        data=dict(row.data), recorded_at=row.recorded_at, prev_hash=row.prev_hash,
        hash=row.hash,
    )  # fmt: skip


def requirement_view(rs: RequirementState, rows: Iterable[StoredEvent]) -> RequirementView:
    """Status, placements and the reasons (the requirement's events)."""
    return RequirementView(
        id=rs.requirement.id, buyer=rs.requirement.buyer, status=rs.status.value,
        gpus=rs.requirement.gpus, placed_gpus=rs.placed_gpus, holder=rs.holder, mode=rs.mode,
        offer=offer_view(rs, rs.offer) if rs.offer is not None else None,
        placements=[placement_view(p) for p in rs.placed],
        events=[event_row(r) for r in rows],
    )  # fmt: skip
