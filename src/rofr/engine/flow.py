"""The flow of one requirement: screening, offers to the holder, the market step, closing.

Helpers here append events to an ``Out`` that folds each one into a working state as it goes,
so later steps of the same decision see the earlier ones. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from rofr.contract import FirstRefusal
from rofr.engine import events as ev
from rofr.engine.placing import plan_single
from rofr.engine.rules import clause_end, clause_runs, eligibility
from rofr.engine.state import RequirementState, State, evolve
from rofr.values import Basis, Placement, Quote, canonical_bytes

__all__ = ["RETRY_AFTER", "Out", "close_unmet", "place_on_quotes", "send_offer", "to_market"]

# How long a shortfall waits before the market is asked again (bounded by the latest start).
RETRY_AFTER = timedelta(hours=24)


@dataclass
class Out:
    """Events decided so far and the state they lead to (local to one decision)."""

    state: State
    now: datetime
    events: list[ev.Event] = field(default_factory=list)

    def emit(self, event: ev.Event) -> None:
        """Record ``event`` and fold it into the working state."""
        self.events.append(event)
        self.state = evolve(self.state, event)

    def req(self, requirement_id: str) -> RequirementState:
        """The working state of a requirement."""
        rs: RequirementState = self.state.requirements[requirement_id]
        return rs


def clause_of(state: State, rs: RequirementState) -> FirstRefusal:
    """The first refusal clause that governs ``rs`` (it must have one)."""
    assert rs.clause_id is not None
    clause = state.version_of(rs).clause(rs.clause_id)
    assert isinstance(clause, FirstRefusal)
    return clause


def fr_running(state: State, rs: RequirementState, at: datetime) -> bool:
    """Whether the requirement's first refusal clause still applies at ``at``: a trigger that
    ends it (or the end of its period) stops offers and revivals from then on (invariant 6)."""
    return rs.clause_id is not None and clause_runs(state, clause_of(state, rs), at)


def available_quotes(rs: RequirementState) -> tuple[Quote, ...]:
    """The recorded quotes less the GPUs this requirement already holds or reserves on them.

    Match mode re-plans on the same book after a refusal or a partial acceptance; without
    this a quote would be counted again for GPUs it has already given (invariant 4).
    """
    used: dict[str, int] = {}
    for p in (*rs.placed, *rs.pending):
        if p.quote_id is not None:
            used[p.quote_id] = used.get(p.quote_id, 0) + p.gpus
    return tuple(
        replace(q, gpus=max(0, q.gpus - used[q.id])) if q.id in used else q for q in rs.quotes
    )


def set_timer(out: Out, rs: RequirementState, name: str, due: datetime, purpose: str) -> None:
    """Schedule a deadline for the requirement."""
    out.emit(
        ev.DeadlineSet(
            at=out.now,
            requirement_id=rs.requirement.id,
            timer_id=f"{rs.requirement.id}/{name}",
            due=due,
            purpose=purpose,
        )
    )


def cancel_timers(out: Out, requirement_id: str, purposes: set[str] | None = None) -> None:
    """Cancel the requirement's pending timers (all, or those with the given purposes)."""
    for timer in out.req(requirement_id).timers:
        if purposes is None or timer.purpose in purposes:
            out.emit(
                ev.DeadlineCancelled(
                    at=out.now, requirement_id=requirement_id, timer_id=timer.timer_id
                )
            )


def cancel_pending(out: Out, requirement_id: str, reason: str) -> None:
    """Withdraw every reservation still in flight (the shell cancels them with providers)."""
    for p in out.req(requirement_id).pending:
        out.emit(
            ev.ReservationCancelled(
                at=out.now,
                requirement_id=requirement_id,
                placement_id=p.id,
                provider=p.provider,
                reason=reason,
            )
        )


def first_look_lines(rs: RequirementState, gpus: int) -> tuple[ev.OfferLine, ...]:
    """In ``first_look`` the holder sees the requirement itself, priced at its cap."""
    req = rs.requirement
    return (
        ev.OfferLine(
            gpus=gpus,
            unit_price=req.max_unit_price,
            sku=None if len(req.skus) > 1 else req.skus[0],
            region=None if len(req.regions) != 1 else req.regions[0],
            start=req.earliest_start,
        ),
    )


def send_offer(out: Out, rs: RequirementState, lines: tuple[ev.OfferLine, ...], why: str) -> None:
    """Offer ``lines`` to the holder with a deadline from the clause's window."""
    clause = clause_of(out.state, rs)
    gpus = sum(line.gpus for line in lines)
    round_ = rs.round + 1
    deadline = clause.window.deadline(out.now)
    if deadline > rs.requirement.latest_start:
        # The window may not outlive the requirement; the holder still gets the full notice.
        why += f"; note: window ends after the latest start {rs.requirement.latest_start:%Y-%m-%d}"
    offer_id = f"{rs.requirement.id}/offer-{round_}"
    content = canonical_bytes({"requirement": rs.requirement, "lines": lines, "deadline": deadline})
    out.emit(
        ev.OfferSent(
            at=out.now,
            requirement_id=rs.requirement.id,
            offer_id=offer_id,
            holder=clause.holder,
            clause_id=clause.id,
            version_id=rs.version_id,
            mode=clause.mode,
            round=round_,
            gpus=gpus,
            lines=lines,
            deadline=deadline,
            min_increment=clause.min_increment,
            all_or_none=clause.partial == "all_or_none",
            content_hash=hashlib.sha256(content).hexdigest(),
            reason=why,
        )
    )
    set_timer(out, out.req(rs.requirement.id), f"offer-{round_}", deadline, "offer")
    ends = [t for t in (clause.end, clause_end(out.state, clause)) if t is not None]
    if ends and out.now < min(ends) < deadline:
        # The clause stops applying inside the window: the offer is withdrawn at that moment.
        set_timer(out, out.req(rs.requirement.id), f"clause-end-{round_}", min(ends), "clause_end")


def withdraw_for_clause_end(out: Out, requirement_id: str, why: str) -> None:
    """The first refusal no longer applies: close the open offer and go to the market."""
    rs = out.req(requirement_id)
    if rs.offer is None:
        return
    out.emit(
        ev.OfferWithdrawn(
            at=out.now, requirement_id=requirement_id, offer_id=rs.offer.offer_id, reason=why
        )
    )
    cancel_timers(out, requirement_id, {"offer", "post_decline"})
    to_market(out, requirement_id)


def market_providers(out: Out, rs: RequirementState) -> tuple[str, ...]:
    """Providers the market step may use now: eligibility is re-evaluated at this time (a
    trigger may have ended an exclusivity), minus the holder once it has answered."""
    state = out.state
    version = state.version_of(rs)
    now_eligible = eligibility(state, version, rs.requirement, out.now).eligible
    # A provider-specific waiver narrowed the field at screening; keep it narrowed.
    allowed = [p for p in now_eligible if rs.basis != Basis.WAIVED or p in rs.eligible]
    if rs.holder is not None and rs.holder_answer is not None:
        allowed = [p for p in allowed if p != rs.holder]
    return tuple(sorted(set(allowed)))


def request_quotes(
    out: Out, rs: RequirementState, purpose: str, providers: tuple[str, ...]
) -> None:
    """Ask the shell for quotes from ``providers``."""
    out.emit(
        ev.QuotesRequested(
            at=out.now,
            requirement_id=rs.requirement.id,
            round=rs.quote_round + 1,
            gpus=rs.remaining,
            providers=providers,
            purpose=purpose,
        )
    )


def to_market(out: Out, requirement_id: str) -> None:
    """Send the remainder to the market (or finish, if nothing remains)."""
    rs = out.req(requirement_id)
    if rs.remaining <= 0:
        maybe_fulfilled(out, requirement_id)
        return
    matching = rs.mode == "match" and rs.holder_answer is not None
    shown = rs.last_offer if matching and fr_running(out.state, rs, out.now) else None
    if shown is not None and rs.quotes and all(q.valid_until >= out.now for q in rs.quotes):
        # Match mode: the rivals win exactly the terms the holder saw and did not match.
        place_on_quotes(out, requirement_id)
        return
    providers = market_providers(out, rs)
    if not providers:
        record_shortfall(out, requirement_id, rs.remaining, "no eligible provider")
        return
    request_quotes(out, rs, "market", providers)


def placement_basis(rs: RequirementState) -> Basis:
    """The contractual ground for a rival placement of this requirement now."""
    if rs.clause_id is not None and rs.holder_answer is not None:
        return rs.holder_answer
    return rs.basis


def terms_shown(
    rs: RequirementState, quote_provider: str, sku: str, region: str, price: object
) -> bool:
    """Match mode: were these exact terms among those the holder saw?"""
    if rs.last_offer is None:
        return False
    return any(
        line.provider == quote_provider
        and line.sku == sku
        and line.region == region
        and line.unit_price == price
        for line in rs.last_offer.lines
    )


def place_on_quotes(out: Out, requirement_id: str) -> None:
    """Plan the remainder on the recorded quotes and request reservations."""
    rs = out.req(requirement_id)
    req = rs.requirement
    providers = market_providers(out, rs)
    plan = plan_single(req, rs.remaining, available_quotes(rs), providers, out.now)
    if (
        rs.mode == "match"
        and rs.holder_answer is not None
        and rs.last_offer is not None
        and fr_running(out.state, rs, out.now)
    ):
        changed = [
            q
            for q, _ in plan.allocations
            if not terms_shown(rs, q.provider, q.sku, q.region, q.unit_price)
        ]
        if changed:
            q = changed[0]
            revive(
                out,
                requirement_id,
                f"rival terms changed ({q.provider} {q.sku} {q.region} at {q.unit_price}) "
                "since the holder's offer; the holder must see the new terms",
                match_plan=True,
            )
            return
    basis = placement_basis(rs)
    reason = {
        Basis.HOLDER_DECLINED: "holder declined",
        Basis.WINDOW_EXPIRED: "holder's window expired (deemed decline)",
        Basis.HOLDER_PARTIAL: "remainder after the holder's partial acceptance",
        Basis.WAIVED: "first refusal waived",
        Basis.EXCLUSIVE: "exclusive provider",
        Basis.OUT_OF_SCOPE: "no first refusal applies",
        Basis.HOLDER_ACCEPTED: "holder",
    }[basis]
    for i, (quote, gpus) in enumerate(plan.allocations):
        start = max(quote.earliest_start, req.earliest_start, out.now)
        placement = Placement(
            id=f"{req.id}/p{rs.events}-{i}",
            requirement_id=req.id,
            provider=quote.provider,
            sku=quote.sku,
            region=quote.region,
            gpus=gpus,
            unit_price=quote.unit_price,
            start=start,
            end=start + req.duration,
            basis=basis,
            quote_id=quote.id,
        )
        out.emit(
            ev.ReservationRequested(
                at=out.now,
                requirement_id=req.id,
                placement=placement,
                considered=plan.considered,
                reason=f"{reason}; cheapest eligible terms",
            )
        )
    if plan.shortfall > 0:
        record_shortfall(out, requirement_id, plan.shortfall, plan.cause)


def record_shortfall(out: Out, requirement_id: str, gpus: int, cause: str) -> None:
    """Keep the remainder open and retry later (never past the latest start)."""
    rs = out.req(requirement_id)
    retry = out.now + RETRY_AFTER
    retry_at = retry if retry < rs.requirement.latest_start else None
    out.emit(
        ev.ShortfallRecorded(
            at=out.now, requirement_id=requirement_id, gpus=gpus, cause=cause, retry_at=retry_at
        )
    )
    if retry_at is not None:
        set_timer(out, out.req(requirement_id), f"retry-{rs.events}", retry_at, "retry")


def revive(out: Out, requirement_id: str, why: str, *, match_plan: bool = False) -> None:
    """The right revives: cancel what is in flight and ask the holder again."""
    rs = out.req(requirement_id)
    if not fr_running(out.state, rs, out.now):
        return  # the clause has ended (trigger or period): nothing left to revive
    assert rs.clause_id is not None
    out.emit(
        ev.RightRevived(
            at=out.now, requirement_id=requirement_id, clause_id=rs.clause_id, reason=why
        )
    )
    cancel_pending(out, requirement_id, why)
    cancel_timers(out, requirement_id, {"post_decline", "retry"})
    rs = out.req(requirement_id)
    if match_plan and rs.mode == "match":
        lines = match_lines(out, rs)
    else:
        lines = first_look_lines(rs, rs.remaining)
    send_offer(out, rs, lines, f"right revived: {why}")


def match_lines(out: Out, rs: RequirementState) -> tuple[ev.OfferLine, ...]:
    """The best rival plan for the remainder, as offer lines (match mode)."""
    rivals = tuple(p for p in market_providers_before_answer(out, rs) if p != rs.holder)
    plan = plan_single(rs.requirement, rs.remaining, available_quotes(rs), rivals, out.now)
    lines = tuple(
        ev.OfferLine(
            gpus=n,
            unit_price=q.unit_price,
            sku=q.sku,
            region=q.region,
            start=max(q.earliest_start, rs.requirement.earliest_start, out.now),
            provider=q.provider,
            quote_id=q.id,
        )
        for q, n in plan.allocations
    )
    if plan.shortfall > 0:
        # No rival quoted the rest: the holder is offered it as in first_look, so that every
        # GPU the rivals may later win was first put to the holder (invariants 1 and 2).
        lines += first_look_lines(rs, plan.shortfall)
    return lines


def market_providers_before_answer(out: Out, rs: RequirementState) -> tuple[str, ...]:
    """Eligible providers now, the holder included."""
    version = out.state.version_of(rs)
    return eligibility(out.state, version, rs.requirement, out.now).eligible


def maybe_fulfilled(out: Out, requirement_id: str) -> None:
    """Close the requirement as fulfilled once every GPU is placed."""
    rs = out.req(requirement_id)
    if not rs.final and rs.placed_gpus >= rs.requirement.gpus:
        cancel_timers(out, requirement_id)
        out.emit(ev.RequirementFulfilled(at=out.now, requirement_id=requirement_id))


def close_unmet(out: Out, requirement_id: str, cause: str) -> None:
    """The latest start has passed: withdraw what is open and close as unmet."""
    rs = out.req(requirement_id)
    if rs.offer is not None:
        out.emit(
            ev.OfferWithdrawn(
                at=out.now, requirement_id=requirement_id, offer_id=rs.offer.offer_id, reason=cause
            )
        )
    cancel_pending(out, requirement_id, cause)
    cancel_timers(out, requirement_id)
    rs = out.req(requirement_id)
    out.emit(
        ev.RequirementUnmet(
            at=out.now, requirement_id=requirement_id, gpus=rs.remaining, cause=cause
        )
    )
