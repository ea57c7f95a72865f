"""Checking DESIGN.md invariants 1-6 over an event log, as far as a log can show them.

``check_invariants`` folds the events itself (with ``evolve``) so that it knows, at each point,
the contract, the version of each requirement, the waivers and the triggers in effect; the flow
of each requirement (offers, answers, reservations, placements, timers) it tracks on its own,
from the events, rather than trusting the engine's state. It is used by the tests, the audit
command and the simulator, so it is pure and reads nothing but the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rofr.contract import ClauseBase, Exclusivity, Version
from rofr.engine import events as ev
from rofr.engine.rules import clause_end, clause_runs, waivers_for
from rofr.engine.state import REQUIREMENT_EVENTS, State, evolve
from rofr.values import Basis, Placement, Requirement

__all__ = ["Violation", "check_invariants", "final_states_complete"]

_FINALS = (ev.RequirementFulfilled, ev.RequirementUnmet, ev.RequirementCancelled)


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken invariant (numbered as in DESIGN.md), for one requirement where it applies."""

    invariant: int
    requirement_id: str | None
    message: str


@dataclass
class _Timer:
    due: datetime
    status: str = "pending"  # pending | reached | cancelled


@dataclass
class _Req:
    """What the log has shown so far about one requirement."""

    requirement: Requirement
    version_id: str
    clause_id: str | None = None
    holder: str | None = None
    mode: str | None = None
    basis: Basis | None = None
    eligible: tuple[str, ...] = ()
    open_offer: ev.OfferSent | None = None
    last_offer: ev.OfferSent | None = None
    released: bool = False  # the holder declined, was deemed to, or took part of the last offer
    holder_taken: int = 0  # GPUs the holder accepted, over all offers
    holder_unplaced: int = 0  # accepted but not yet recorded as a placement
    taken_from_last: int = 0  # GPUs the holder accepted of the latest offer
    # placement id -> (placement, round of the latest offer when it was decided)
    pending: dict[str, tuple[Placement, int]] = field(default_factory=dict)
    placed: list[tuple[Placement, int]] = field(default_factory=list)
    final: str | None = None
    timers: dict[str, _Timer] = field(default_factory=dict)

    def rival_gpus(self, since_round: int | None = None) -> int:
        """GPUs pending or placed with providers other than the holder."""
        return sum(
            p.gpus
            for p, rnd in (*self.pending.values(), *self.placed)
            if p.provider != self.holder and (since_round is None or rnd == since_round)
        )


def check_invariants(events: Sequence[ev.Event]) -> list[Violation]:
    """Every violation of invariants 1-6 in ``events`` (log order); ``[]`` when all hold.

    Requirements still open at the end are not violations here (an open log is normal); use
    ``final_states_complete`` on a finished run.
    """
    checker = _Checker()
    for event in events:
        if not checker.see(event):
            break
    return checker.violations


def final_states_complete(events: Sequence[ev.Event]) -> list[Violation]:
    """Invariant 5 at the end of a finished run: every requirement has exactly one final event."""
    finals: dict[str, int] = {}
    for e in events:
        if isinstance(e, ev.RequirementSubmitted):
            finals.setdefault(e.requirement_id, 0)
        elif isinstance(e, _FINALS):
            finals[e.requirement_id] = finals.get(e.requirement_id, 0) + 1
    return [
        Violation(5, rid, f"{n} final events (expected exactly one)")
        for rid, n in finals.items()
        if n != 1
    ]


class _Checker:
    def __init__(self) -> None:
        self.state = State()
        self.reqs: dict[str, _Req] = {}
        self.quote_gpus: dict[str, int] = {}
        self.quote_used: dict[str, int] = {}
        self.violations: list[Violation] = []

    def flag(self, invariant: int, rid: str | None, message: str) -> None:
        self.violations.append(Violation(invariant, rid, message))

    def see(self, e: ev.Event) -> bool:
        """Check ``e`` against what came before, then fold it; False if the log cannot go on."""
        rid: str | None = getattr(e, "requirement_id", None)
        rq = self.reqs.get(rid) if rid is not None else None
        if rid is not None and not isinstance(e, ev.RequirementSubmitted):
            if rq is None:
                self.flag(5, rid, f"{e.kind} for a requirement never submitted")
                return False
            if rq.final is not None:
                self.flag(5, rid, f"{e.kind} after the final event {rq.final}")
        handler = getattr(self, f"_on_{e.kind}", None)
        if handler is not None:
            handler(e, rq)
        if type(e) in REQUIREMENT_EVENTS:
            # The state is kept for its contract, waivers and triggers, which these events do
            # not touch; each requirement's flow is tracked in ``reqs`` from the events. (Their
            # fold fails only for a requirement never submitted, flagged above.)
            return True
        try:
            self.state = evolve(self.state, e)
        except Exception as exc:  # a log that cannot be folded breaks replay (invariant 5)
            self.flag(5, rid, f"the log does not replay at {e.kind}: {exc!r}")
            return False
        return True

    # --- helpers -------------------------------------------------------------------------

    def _version(self, rq: _Req) -> Version | None:
        contract = self.state.contract
        if contract is None:
            return None
        try:
            return contract.version(rq.version_id)
        except KeyError:
            return None

    def _clause(self, rq: _Req, clause_id: str) -> ClauseBase | None:
        version = self._version(rq)
        if version is None:
            return None
        try:
            clause: ClauseBase = version.clause(clause_id)
        except KeyError:
            return None
        return clause

    def _permitted(self, rq: _Req, at: datetime) -> set[str] | None:
        """Providers the running exclusivity clauses allow at ``at`` (None: any provider)."""
        version = self._version(rq)
        if version is None:
            return None
        allowed: set[str] | None = None
        req = rq.requirement
        for clause in version.of_type(Exclusivity):
            if not (clause_runs(self.state, clause, at) and clause.covers(req)):
                continue
            waived = list(waivers_for(self.state, version, clause.id, req, at))
            if any(w.provider is None for w in waived):
                continue
            permitted = {clause.provider, *clause.also_permitted}
            permitted |= {w.provider for w in waived if w.provider is not None}
            allowed = permitted if allowed is None else allowed & permitted
        return allowed

    def _applies(self, rq: _Req, clause_id: str, at: datetime, rid: str, what: str) -> None:
        """Invariant 6: a decision under ``clause_id`` at ``at`` needs the clause running."""
        clause = self._clause(rq, clause_id)
        if clause is None:
            self.flag(6, rid, f"{what} under clause {clause_id}, absent from {rq.version_id}")
        elif not clause_runs(self.state, clause, at):
            end = clause_end(self.state, clause)
            why = f"ended by a trigger at {end:%Y-%m-%d %H:%M}Z" if end and at >= end else "ended"
            self.flag(6, rid, f"{what} under clause {clause_id} after it {why}")

    def _placement_rules(self, rq: _Req, p: Placement, at: datetime) -> None:
        """Invariants 1-3 for a placement decided at ``at``."""
        rid = p.requirement_id
        rival = p.provider != rq.holder
        clause = self._clause(rq, rq.clause_id) if rq.clause_id is not None else None
        if rival and clause is not None and clause_runs(self.state, clause, at):
            if rq.open_offer is not None:
                self.flag(1, rid, f"{p.provider} placed while offer {rq.open_offer.offer_id} open")
            elif not rq.released:
                self.flag(1, rid, f"{p.provider} placed before the holder declined or took part")
            left = rq.requirement.gpus - rq.holder_taken
            if rq.rival_gpus() + p.gpus > left:
                self.flag(1, rid, f"rivals would hold more than the {left} GPUs the holder left")
            if rq.mode == "match":
                self._shown(rq, p)
        if rival and rq.basis is Basis.WAIVED and p.provider not in rq.eligible:
            self.flag(1, rid, f"waiver covered {rq.eligible}, not {p.provider}")
        allowed = self._permitted(rq, at)
        if allowed is not None and p.provider not in allowed:
            self.flag(3, rid, f"{p.provider} placed; exclusivity allows only {sorted(allowed)}")

    def _shown(self, rq: _Req, p: Placement) -> None:
        """Invariant 2: a rival wins only terms the holder saw and did not take."""
        rid = p.requirement_id
        last = rq.last_offer
        terms = (p.provider, p.sku, p.region, p.unit_price)
        if last is None or not any(
            (line.provider, line.sku, line.region, line.unit_price) == terms for line in last.lines
        ):
            self.flag(2, rid, f"rival terms {terms} were not shown to the holder")
            return
        total = rq.rival_gpus(last.round) + p.gpus + rq.taken_from_last
        if total > last.gpus:
            self.flag(2, rid, f"rivals and holder share {total} GPUs of a {last.gpus}-GPU offer")

    # --- per event -----------------------------------------------------------------------

    def _on_RequirementSubmitted(self, e: ev.RequirementSubmitted, rq: _Req | None) -> None:
        if rq is not None:
            self.flag(5, e.requirement_id, "submitted twice")
        self.reqs[e.requirement_id] = _Req(e.requirement, e.version_id)

    def _on_RequirementScreened(self, e: ev.RequirementScreened, rq: _Req) -> None:
        rq.clause_id, rq.holder, rq.mode = e.first_refusal, e.holder, e.mode
        rq.basis, rq.eligible = e.basis, e.eligible
        rid = e.requirement_id
        if e.first_refusal is not None:
            self._applies(rq, e.first_refusal, e.at, rid, "screened for first refusal")
        allowed = self._permitted(rq, e.at)
        for p in e.eligible:
            if allowed is not None and p not in allowed:
                self.flag(3, rid, f"{p} eligible though exclusivity allows {sorted(allowed)}")
        for x in e.excluded:
            if allowed is None or x.provider in allowed:
                self.flag(6, rid, f"{x.provider} excluded by no running clause ({x.reason})")

    def _on_OfferSent(self, e: ev.OfferSent, rq: _Req) -> None:
        self._applies(rq, e.clause_id, e.at, e.requirement_id, f"offer {e.offer_id} sent")
        if rq.open_offer is not None:
            self.flag(1, e.requirement_id, f"{e.offer_id} sent while {rq.open_offer.offer_id} open")
        rq.open_offer = rq.last_offer = e
        rq.released, rq.taken_from_last = False, 0

    def _answered(self, e: ev.OfferAccepted | ev.OfferDeclined, rq: _Req, deemed: bool) -> None:
        offer = rq.open_offer
        if offer is None or offer.offer_id != e.offer_id:
            self.flag(1, e.requirement_id, f"answer to {e.offer_id}, which is not open")
        elif deemed and e.at < offer.deadline:
            self.flag(5, e.requirement_id, f"deemed decline of {e.offer_id} before its deadline")
        elif not deemed and e.at >= offer.deadline:
            self.flag(5, e.requirement_id, f"answer to {e.offer_id} after its deadline")
        rq.open_offer = None

    def _on_OfferAccepted(self, e: ev.OfferAccepted, rq: _Req) -> None:
        self._answered(e, rq, deemed=False)
        rq.holder_taken += e.gpus
        rq.holder_unplaced += e.gpus
        rq.taken_from_last += e.gpus
        rq.released = rq.released or e.partial

    def _on_OfferDeclined(self, e: ev.OfferDeclined, rq: _Req) -> None:
        self._answered(e, rq, deemed=e.deemed)
        rq.released = True

    def _on_OfferWithdrawn(self, e: ev.OfferWithdrawn, rq: _Req) -> None:
        rq.open_offer = None

    def _on_RightRevived(self, e: ev.RightRevived, rq: _Req) -> None:
        self._applies(rq, e.clause_id, e.at, e.requirement_id, "right revived")
        rq.released = False

    def _on_QuotesRecorded(self, e: ev.QuotesRecorded, rq: _Req) -> None:
        for q in e.quotes:
            self.quote_gpus[q.id] = q.gpus

    def _use_quote(self, p: Placement, sign: int) -> None:
        if p.quote_id is not None:
            self.quote_used[p.quote_id] = self.quote_used.get(p.quote_id, 0) + sign * p.gpus

    def _on_ReservationRequested(self, e: ev.ReservationRequested, rq: _Req) -> None:
        p, rid = e.placement, e.requirement_id
        self._placement_rules(rq, p, e.at)
        committed = sum(x.gpus for x, _ in (*rq.pending.values(), *rq.placed)) + p.gpus
        if committed > rq.requirement.gpus:
            self.flag(4, rid, f"{committed} GPUs reserved or placed of {rq.requirement.gpus}")
        if p.quote_id is not None:
            cap = self.quote_gpus.get(p.quote_id)
            used = self.quote_used.get(p.quote_id, 0) + p.gpus
            if cap is None:
                self.flag(4, rid, f"reservation on quote {p.quote_id}, never recorded")
            elif used > cap:
                self.flag(4, rid, f"quote {p.quote_id} has {cap} GPUs; {used} reserved on it")
        if p.id in rq.pending:
            self.flag(4, rid, f"reservation {p.id} requested twice")
        self._use_quote(p, +1)
        rq.pending[p.id] = (p, rq.last_offer.round if rq.last_offer else 0)

    def _drop_pending(self, rid: str, placement_id: str, rq: _Req) -> None:
        item = rq.pending.pop(placement_id, None)
        if item is None:
            self.flag(4, rid, f"reservation {placement_id} is not pending")
        else:
            self._use_quote(item[0], -1)

    def _on_ReservationRefused(self, e: ev.ReservationRefused, rq: _Req) -> None:
        self._drop_pending(e.requirement_id, e.placement_id, rq)

    def _on_ReservationCancelled(self, e: ev.ReservationCancelled, rq: _Req) -> None:
        self._drop_pending(e.requirement_id, e.placement_id, rq)

    def _on_PlacementMade(self, e: ev.PlacementMade, rq: _Req) -> None:
        p, rid = e.placement, e.requirement_id
        item = rq.pending.pop(p.id, None)
        if item is not None:
            if item[0] != p:
                self.flag(4, rid, f"placement {p.id} differs from its reservation")
            rq.placed.append(item)
        elif p.provider == rq.holder and p.basis is Basis.HOLDER_ACCEPTED:
            if p.gpus > rq.holder_unplaced:
                self.flag(1, rid, f"holder placement of {p.gpus} GPUs it did not accept")
            rq.holder_unplaced -= p.gpus
            allowed = self._permitted(rq, e.at)
            if allowed is not None and p.provider not in allowed:
                self.flag(3, rid, f"holder {p.provider} placed; exclusivity allows {allowed}")
            rq.placed.append((p, rq.last_offer.round if rq.last_offer else 0))
        else:
            self.flag(4, rid, f"placement {p.id} with {p.provider} has no pending reservation")
            rq.placed.append((p, 0))
        placed = sum(x.gpus for x, _ in rq.placed)
        if placed > rq.requirement.gpus:
            self.flag(4, rid, f"{placed} GPUs placed for a {rq.requirement.gpus}-GPU requirement")

    def _on_DeadlineSet(self, e: ev.DeadlineSet, rq: _Req) -> None:
        old = rq.timers.get(e.timer_id)
        if old is not None and old.status == "pending":
            self.flag(5, e.requirement_id, f"timer {e.timer_id} set again while pending")
        rq.timers[e.timer_id] = _Timer(e.due)

    def _on_DeadlineReached(self, e: ev.DeadlineReached, rq: _Req) -> None:
        timer, rid = rq.timers.get(e.timer_id), e.requirement_id
        if timer is None:
            self.flag(5, rid, f"timer {e.timer_id} reached but never set")
            return
        if timer.status != "pending":
            self.flag(5, rid, f"timer {e.timer_id} reached after it was {timer.status}")
        if e.at < timer.due:
            self.flag(5, rid, f"timer {e.timer_id} reached before it was due")
        timer.status = "reached"

    def _on_DeadlineCancelled(self, e: ev.DeadlineCancelled, rq: _Req) -> None:
        timer = rq.timers.get(e.timer_id)
        if timer is None or timer.status != "pending":
            self.flag(5, e.requirement_id, f"timer {e.timer_id} cancelled but not pending")
        else:
            timer.status = "cancelled"

    def _finish(self, e: ev.Event, rq: _Req, rid: str) -> None:
        rq.final = e.kind
        left = sorted(t for t, timer in rq.timers.items() if timer.status == "pending")
        if left:
            self.flag(5, rid, f"timers {left} still pending at {e.kind}")
        if rq.pending:
            self.flag(4, rid, f"reservations {sorted(rq.pending)} still pending at {e.kind}")

    def _on_RequirementFulfilled(self, e: ev.RequirementFulfilled, rq: _Req) -> None:
        placed = sum(p.gpus for p, _ in rq.placed)
        if placed != rq.requirement.gpus:
            self.flag(4, e.requirement_id, f"fulfilled with {placed} of {rq.requirement.gpus}")
        self._finish(e, rq, e.requirement_id)

    def _on_RequirementUnmet(self, e: ev.RequirementUnmet, rq: _Req) -> None:
        if e.at < rq.requirement.latest_start:
            self.flag(5, e.requirement_id, "closed as unmet before its latest start")
        self._finish(e, rq, e.requirement_id)

    def _on_RequirementCancelled(self, e: ev.RequirementCancelled, rq: _Req) -> None:
        self._finish(e, rq, e.requirement_id)
