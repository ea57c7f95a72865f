"""``decide(state, command, now) -> events``: the pure decision core.

The contract in force is part of the state (adopted and amended by events), so a log replays
with nothing but itself. A rejected command raises ``Rejected`` and produces no events.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from rofr.contract import Waiver
from rofr.contract.document import parse_contract_data
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.engine.flow import (
    Out,
    cancel_pending,
    cancel_timers,
    clause_of,
    close_unmet,
    first_look_lines,
    fr_running,
    match_lines,
    maybe_fulfilled,
    place_on_quotes,
    request_quotes,
    revive,
    send_offer,
    set_timer,
    to_market,
    withdraw_for_clause_end,
)
from rofr.engine.governance import (
    amend,
    confirm_trigger,
    declare_trigger,
    grant_waiver,
    revoke_waiver,
)
from rofr.engine.revenue import report_revenue
from rofr.engine.rules import screen
from rofr.engine.state import RequirementState, State
from rofr.engine.terms import check_acceptance
from rofr.values import Basis, Placement

__all__ = ["decide", "step"]

Handler = Callable[[Out, Any], None]


def step(state: State, command: cmd.Command, now: Any) -> tuple[list[ev.Event], State]:
    """Decide and return both the events and the state they lead to (saves a second fold)."""
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise cmd.Rejected("unknown_command", f"unknown command {type(command).__name__}")
    out = Out(state, now)
    handler(out, command)
    return out.events, out.state


def decide(state: State, command: cmd.Command, now: Any) -> list[ev.Event]:
    """The events that ``command`` causes at ``now``; raises ``Rejected`` if it is refused."""
    return step(state, command, now)[0]


def _open(out: Out, requirement_id: str) -> RequirementState:
    rs = out.state.requirements.get(requirement_id)
    if rs is None:
        raise cmd.Rejected(
            "unknown_requirement", f"no requirement {requirement_id!r}", "requirement_id"
        )
    if rs.final:
        raise cmd.Rejected(
            "requirement_closed", f"requirement {requirement_id} is already {rs.status.value}"
        )
    return rs


# --- contract ------------------------------------------------------------------------------


def _adopt(out: Out, c: cmd.AdoptContract) -> None:
    if out.state.contract is not None:
        raise cmd.Rejected("contract_exists", "a contract is already adopted; amend it instead")
    try:
        parse_contract_data(c.contract)
    except (ValidationError, ValueError) as exc:
        raise cmd.Rejected("invalid_contract", f"invalid contract: {exc}") from None
    out.emit(ev.ContractAdopted(at=out.now, contract=c.contract, by=c.by))


def _amend(out: Out, c: cmd.AmendContract) -> None:
    amend(out, c)


# --- requirements ---------------------------------------------------------------------------


def _submit(out: Out, c: cmd.SubmitRequirement) -> None:
    req = c.requirement
    contract = out.state.contract
    if contract is None:
        raise cmd.Rejected("no_contract", "no contract adopted yet; run `rofr init` first")
    if req.id in out.state.requirements:
        raise cmd.Rejected("duplicate_requirement", f"requirement {req.id!r} exists", "id")
    if req.buyer != contract.parties.buyer.id:
        raise cmd.Rejected("not_buyer", f"{req.buyer!r} is not the buyer of this contract", "buyer")
    if req.latest_start < out.now:
        raise cmd.Rejected(
            "too_late", f"latest_start {req.latest_start:%Y-%m-%d} has passed", "latest_start"
        )
    version = contract.version_at(out.now)
    if version is None:
        raise cmd.Rejected("no_version", f"no contract version in force at {out.now:%Y-%m-%d}")
    out.emit(
        ev.RequirementSubmitted(
            at=out.now, requirement_id=req.id, requirement=req, version_id=version.id
        )
    )
    rs = out.req(req.id)
    set_timer(out, rs, "close", req.latest_start, "close")
    s = screen(out.state, version, req, out.now)
    clause = s.clause
    out.emit(
        ev.RequirementScreened(
            at=out.now,
            requirement_id=req.id,
            version_id=version.id,
            eligible=s.eligible,
            excluded=s.excluded,
            first_refusal=clause.id if clause else None,
            holder=clause.holder if clause else None,
            mode=clause.mode if clause else None,
            basis=s.basis,
            reason=s.reason,
        )
    )
    rs = out.req(req.id)
    if clause is None:
        to_market(out, req.id)
    elif clause.mode == "first_look":
        send_offer(out, rs, first_look_lines(rs, req.gpus), s.reason)
    else:
        rivals = tuple(p for p in s.eligible if p != clause.holder)
        if rivals:
            request_quotes(out, rs, "match", rivals)
        else:
            send_offer(out, rs, first_look_lines(rs, req.gpus), f"{s.reason}; no rival to quote")


def _cancel(out: Out, c: cmd.CancelRequirement) -> None:
    rs = _open(out, c.requirement_id)
    contract = out.state.contract
    assert contract is not None
    if c.by != contract.parties.buyer.id:
        raise cmd.Rejected(
            "forbidden", f"only the buyer may cancel; {c.by!r} is not the buyer", "by"
        )
    if rs.offer is not None:
        out.emit(
            ev.OfferWithdrawn(
                at=out.now,
                requirement_id=rs.requirement.id,
                offer_id=rs.offer.offer_id,
                reason=c.reason,
            )
        )
    cancel_pending(out, rs.requirement.id, c.reason)
    cancel_timers(out, rs.requirement.id)
    out.emit(
        ev.RequirementCancelled(
            at=out.now, requirement_id=rs.requirement.id, by=c.by, reason=c.reason
        )
    )


def _respond(out: Out, c: cmd.RespondToOffer) -> None:
    req_id = out.state.offers.get(c.offer_id)
    if req_id is None:
        raise cmd.Rejected(
            "unknown_offer", f"no offer {c.offer_id!r}; `rofr offers` lists open ones", "offer_id"
        )
    rs = _open(out, req_id)
    offer = rs.offer
    if offer is None or offer.offer_id != c.offer_id:
        raise cmd.Rejected(
            "offer_closed", f"offer {c.offer_id} is no longer open (already answered or withdrawn)"
        )
    if c.by != offer.holder:
        raise cmd.Rejected(
            "not_holder", f"only the holder {offer.holder} may answer offer {c.offer_id}", "by"
        )
    if out.now >= offer.deadline:
        raise cmd.Rejected(
            "after_deadline",
            f"offer {c.offer_id} closed at {offer.deadline:%Y-%m-%d %H:%M}Z; silence was a decline",
        )
    timer_id = f"{req_id}/offer-{offer.round}"
    if c.accept_gpus <= 0:
        out.emit(ev.DeadlineCancelled(at=out.now, requirement_id=req_id, timer_id=timer_id))
        _declined(out, offer, deemed=False, reason=c.reason or "declined by the holder")
        return
    terms = check_acceptance(rs, offer, c, out.now)
    out.emit(ev.DeadlineCancelled(at=out.now, requirement_id=req_id, timer_id=timer_id))
    partial = c.accept_gpus < offer.gpus
    out.emit(
        ev.OfferAccepted(
            at=out.now,
            requirement_id=req_id,
            offer_id=offer.offer_id,
            holder=offer.holder,
            gpus=c.accept_gpus,
            unit_price=terms.unit_price,
            sku=terms.sku,
            region=terms.region,
            start=terms.start,
            partial=partial,
        )
    )
    rs = out.req(req_id)
    placement = Placement(
        id=f"{req_id}/holder-{offer.round}",
        requirement_id=req_id,
        provider=offer.holder,
        sku=terms.sku,
        region=terms.region,
        gpus=c.accept_gpus,
        unit_price=terms.unit_price,
        start=terms.start,
        end=terms.start + rs.requirement.duration,
        basis=Basis.HOLDER_ACCEPTED,
    )
    out.emit(
        ev.PlacementMade(
            at=out.now,
            requirement_id=req_id,
            placement=placement,
            clause_id=offer.clause_id,
            version_id=rs.version_id,
            reason=f"holder accepted {c.accept_gpus} of {offer.gpus} GPUs",
        )
    )
    if out.req(req_id).remaining > 0:
        _after_decline(out, req_id)
    else:
        maybe_fulfilled(out, req_id)


def _declined(out: Out, offer: ev.OfferSent, *, deemed: bool, reason: str) -> None:
    """The holder declined (or, ``deemed``, stayed silent): record it and move on."""
    out.emit(
        ev.OfferDeclined(
            at=out.now,
            requirement_id=offer.requirement_id,
            offer_id=offer.offer_id,
            holder=offer.holder,
            deemed=deemed,
            reason=reason,
        )
    )
    _after_decline(out, offer.requirement_id)


def _after_decline(out: Out, req_id: str) -> None:
    rs = out.req(req_id)
    clause = clause_of(out.state, rs)
    if clause.post_decline_window is not None:
        due = clause.post_decline_window.deadline(out.now)
        set_timer(out, rs, f"post-decline-{rs.round}", due, "post_decline")
    to_market(out, req_id)


def _fire(out: Out, c: cmd.FireDeadline) -> None:
    rs = out.state.requirements.get(c.requirement_id)
    timer = rs.timer(c.timer_id) if rs is not None else None
    if rs is None or timer is None:
        raise cmd.Rejected(
            "timer_not_pending", f"timer {c.timer_id} is not pending (already fired or cancelled)"
        )
    if timer.due > out.now:
        raise cmd.Rejected(
            "timer_not_due", f"timer {c.timer_id} is due at {timer.due:%Y-%m-%d %H:%M}Z"
        )
    req_id = c.requirement_id
    out.emit(
        ev.DeadlineReached(
            at=out.now, requirement_id=req_id, timer_id=timer.timer_id, purpose=timer.purpose
        )
    )
    if timer.purpose == "offer" and rs.offer is not None:
        deadline = f"{rs.offer.deadline:%Y-%m-%d %H:%M}Z"
        _declined(
            out,
            rs.offer,
            deemed=True,
            reason=f"no answer by the deadline {deadline}: deemed decline",
        )
    elif timer.purpose == "retry":
        to_market(out, req_id)
    elif timer.purpose == "post_decline" and out.req(req_id).remaining > 0:
        revive(
            out,
            req_id,
            "the rival deal did not close within the post-decline window",
            match_plan=rs.mode == "match",
        )
    elif timer.purpose == "close":
        close_unmet(out, req_id, "latest start reached with GPUs unplaced")
    elif timer.purpose == "clause_end" and not fr_running(out.state, rs, out.now):
        withdraw_for_clause_end(
            out, req_id, f"first refusal {rs.clause_id} ended at {timer.due:%Y-%m-%d %H:%M}Z"
        )


def _quotes(out: Out, c: cmd.RecordQuotes) -> None:
    rs = _open(out, c.requirement_id)
    if rs.quote_purpose is None or c.round != rs.quote_round:
        raise cmd.Rejected(
            "quotes_not_requested",
            f"no quote round {c.round} is awaited for {c.requirement_id} (awaiting round "
            f"{rs.quote_round if rs.quote_purpose else 'none'})",
        )
    allowed = set(rs.eligible) | set(
        out.state.contract.parties.provider_ids() if out.state.contract else ()
    )
    stray = [q for q in c.quotes if q.provider not in allowed]
    if stray:
        raise cmd.Rejected("unknown_provider", f"quote from unknown provider {stray[0].provider!r}")
    purpose = rs.quote_purpose
    failures = tuple(ev.Exclusion(p, r) for p, r in c.failures)
    out.emit(
        ev.QuotesRecorded(
            at=out.now,
            requirement_id=rs.requirement.id,
            round=c.round,
            quotes=c.quotes,
            failures=failures,
        )
    )
    rs = out.req(rs.requirement.id)
    if purpose == "match" and fr_running(out.state, rs, out.now):
        send_offer(out, rs, match_lines(out, rs), "match: the holder may take the best rival terms")
    else:
        place_on_quotes(out, rs.requirement.id)


def _pending(
    out: Out, requirement_id: str, placement_id: str
) -> tuple[RequirementState, Placement]:
    rs = _open(out, requirement_id)
    placement = next((p for p in rs.pending if p.id == placement_id), None)
    if placement is None:
        raise cmd.Rejected(
            "unknown_reservation", f"no pending reservation {placement_id}", "placement_id"
        )
    return rs, placement


def _confirm(out: Out, c: cmd.ConfirmReservation) -> None:
    rs, placement = _pending(out, c.requirement_id, c.placement_id)
    out.emit(
        ev.PlacementMade(
            at=out.now,
            requirement_id=rs.requirement.id,
            placement=placement,
            clause_id=rs.clause_id,
            version_id=rs.version_id,
            reason=f"reservation confirmed by {placement.provider}",
        )
    )
    maybe_fulfilled(out, rs.requirement.id)


def _refuse(out: Out, c: cmd.RefuseReservation) -> None:
    rs, placement = _pending(out, c.requirement_id, c.placement_id)
    out.emit(
        ev.ReservationRefused(
            at=out.now,
            requirement_id=rs.requirement.id,
            placement_id=placement.id,
            provider=placement.provider,
            reason=c.reason,
        )
    )
    # The refused quote is dropped from the book (see evolve); re-plan the refused GPUs now.
    to_market(out, rs.requirement.id)


def _grant(out: Out, c: cmd.GrantWaiver) -> None:
    try:
        waiver = Waiver.model_validate(c.waiver)
    except ValidationError as exc:
        raise cmd.Rejected("invalid_waiver", f"invalid waiver: {exc.errors()[0]['msg']}") from None
    grant_waiver(out, waiver, c)


_HANDLERS: dict[type[cmd.Command], Handler] = {
    cmd.AdoptContract: _adopt,
    cmd.AmendContract: _amend,
    cmd.SubmitRequirement: _submit,
    cmd.CancelRequirement: _cancel,
    cmd.RespondToOffer: _respond,
    cmd.FireDeadline: _fire,
    cmd.RecordQuotes: _quotes,
    cmd.ConfirmReservation: _confirm,
    cmd.RefuseReservation: _refuse,
    cmd.GrantWaiver: _grant,
    cmd.RevokeWaiver: revoke_waiver,
    cmd.DeclareTrigger: declare_trigger,
    cmd.ConfirmTrigger: confirm_trigger,
    cmd.ReportRevenue: report_revenue,
}
