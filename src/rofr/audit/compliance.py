"""The compliance report: every invariant of DESIGN.md over a log, and each requirement's evidence.

For each requirement the evidence a lawyer asks for is laid out from the log alone: the notice
the holder got (content hash, time, deadline, clause, version), its answer or the deemed
decline at the deadline, each rival deal compared field by field with what the holder saw,
whether the rival deal closed inside the post-decline window (or the right revived), and the
waivers and triggers that applied.

"No more favourable" to the rival, field by field, against the last notice before the deal:

* unit price: the rival's price is at most the price shown (a notice without a price showed
  the requirement uncapped, so any price is within it);
* start: in ``match`` mode the rival starts no later than the start shown, or than the moment
  the holder's right was released if that is later (nobody can start in the past); in
  ``first_look`` the holder was shown the requirement's whole window, so any start up to its
  latest start is within what it saw;
* region, sku: the one shown, or (when the notice left it open) one the requirement accepts;
* GPUs: no more than the notice offered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from rofr.contract import Exclusivity, FirstRefusal
from rofr.engine import State, Violation, check_invariants, evolve, final_states_complete
from rofr.engine import events as ev
from rofr.engine.rules import waivers_for
from rofr.values import Placement

__all__ = [
    "INVARIANTS",
    "ComplianceReport",
    "FieldCheck",
    "InvariantResult",
    "Notice",
    "RequirementEvidence",
    "RivalDeal",
    "compliance_report",
]

INVARIANTS: dict[int, str] = {
    1: "first refusal honoured before any rival placement",
    2: "match mode: rivals win only terms the holder saw and did not match",
    3: "exclusive workloads placed only with the exclusive provider",
    4: "nothing over-allocated",
    5: "deadlines fire once; replay gives the same state; one final state each",
    6: "a clause ended by a trigger stops applying from its effective time",
    7: "the audit log is an intact hash chain (verifier over the export)",
}


@dataclass(frozen=True, slots=True)
class FieldCheck:
    """One field of a rival deal against what the holder saw."""

    name: str
    rival: str
    shown: str
    ok: bool


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice sent to the holder and what became of it."""

    offer_id: str
    round: int
    holder: str
    clause_id: str
    version_id: str
    sent_at: datetime
    deadline: datetime
    content_hash: str
    gpus: int
    terms: str
    answer: str = "open"
    answered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RivalDeal:
    """A placement with a non-holder, judged against the last notice before it."""

    placement: Placement
    decided_at: datetime
    offer_id: str | None
    fields: tuple[FieldCheck, ...]
    window_due: datetime | None  # end of the post-decline window, if the clause has one

    @property
    def no_more_favourable(self) -> bool:
        return all(f.ok for f in self.fields)

    @property
    def closed_in_window(self) -> bool | None:
        return None if self.window_due is None else self.decided_at <= self.window_due


@dataclass
class RequirementEvidence:
    """Everything the log shows about one requirement's first refusal."""

    requirement_id: str
    kind: str
    gpus: int
    version_id: str
    clause_id: str | None = None
    holder: str | None = None
    screening: str = ""
    final: str = "open"
    notices: list[Notice] = field(default_factory=list)
    holder_placements: list[Placement] = field(default_factory=list)
    rival_deals: list[RivalDeal] = field(default_factory=list)
    other_placements: list[Placement] = field(default_factory=list)
    revivals: list[str] = field(default_factory=list)
    waivers: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        deals_ok = all(
            d.no_more_favourable and d.closed_in_window is not False for d in self.rival_deals
        )
        return deals_ok and not self.violations


@dataclass(frozen=True, slots=True)
class InvariantResult:
    """One invariant: held or not, with the violations found (None: not checked)."""

    number: int
    title: str
    ok: bool | None
    details: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    """The invariants and the per-requirement evidence."""

    events: int
    invariants: tuple[InvariantResult, ...]
    requirements: tuple[RequirementEvidence, ...]

    @property
    def ok(self) -> bool:
        return all(i.ok is not False for i in self.invariants) and all(
            r.ok for r in self.requirements
        )


def _terms(lines: Sequence[ev.OfferLine]) -> str:
    parts = []
    for ln in lines:
        price = f"{ln.unit_price} USD/GPU-h" if ln.unit_price is not None else "no price cap"
        start = f"{ln.start:%Y-%m-%d}" if ln.start else "any start"
        who = f" ({ln.provider})" if ln.provider else ""
        parts.append(
            f"{ln.gpus} x {ln.sku or 'any sku'} in {ln.region or 'any region'}, {price}, "
            f"from {start}{who}"
        )
    return "; ".join(parts)


def _compare(
    p: Placement,
    offer: ev.OfferSent,
    released: datetime | None,
    skus: tuple[str, ...],
    latest_start: datetime,
) -> tuple[FieldCheck, ...]:
    line = next((ln for ln in offer.lines if ln.provider == p.provider), offer.lines[0])
    price_ok = line.unit_price is None or p.unit_price <= line.unit_price
    if line.provider is None:
        # first_look: the holder was shown the requirement itself, whose start window runs to
        # its latest start; a rival starting inside that window is on terms the holder saw.
        latest_ok_start = latest_start
    else:
        latest_ok_start = max(line.start or p.start, released or p.start)
    return (
        FieldCheck(
            "unit price", f"{p.unit_price}",
            f"{line.unit_price}" if line.unit_price is not None else "no cap", price_ok,
        ),
        FieldCheck(
            "start", f"{p.start:%Y-%m-%d %H:%M}",
            f"{line.start:%Y-%m-%d %H:%M}" if line.start else "any", p.start <= latest_ok_start,
        ),
        FieldCheck(
            "region", p.region, line.region or "any", line.region in (None, p.region),
        ),
        FieldCheck(
            "sku", p.sku, line.sku or "/".join(skus),
            p.sku == line.sku if line.sku else p.sku in skus,
        ),
        FieldCheck("GPUs", str(p.gpus), str(offer.gpus), p.gpus <= offer.gpus),
    )  # fmt: skip


class _Collector:
    def __init__(self) -> None:
        self.state = State()
        self.reqs: dict[str, RequirementEvidence] = {}
        self.released: dict[str, datetime] = {}
        self.window_due: dict[str, datetime] = {}

    def see(self, e: ev.Event) -> None:
        rid = getattr(e, "requirement_id", None)
        r = self.reqs.get(rid) if rid is not None else None
        if isinstance(e, ev.RequirementSubmitted):
            req = e.requirement
            self.reqs[req.id] = RequirementEvidence(req.id, req.kind.value, req.gpus, e.version_id)
        elif r is not None:
            self._req_event(e, r)
        elif isinstance(e, ev.TriggerTookEffect):
            for ev_r in self.reqs.values():
                if ev_r.final == "open":
                    ends = ", ".join(e.ends) or "no clause"
                    ev_r.triggers.append(
                        f"{e.name} took effect from {e.effective_at:%Y-%m-%d %H:%M}Z "
                        f"(ends {ends}), while this requirement was open"
                    )
        self.state = evolve(self.state, e)

    def _req_event(self, e: ev.Event, r: RequirementEvidence) -> None:
        if isinstance(e, ev.RequirementScreened):
            r.clause_id, r.holder, r.screening = e.first_refusal, e.holder, e.reason
            self._waivers(e, r)
        elif isinstance(e, ev.OfferSent):
            r.notices.append(
                Notice(
                    e.offer_id, e.round, e.holder, e.clause_id, e.version_id, e.at, e.deadline,
                    e.content_hash, e.gpus, _terms(e.lines),
                )
            )  # fmt: skip
        elif isinstance(e, ev.OfferAccepted | ev.OfferDeclined | ev.OfferWithdrawn):
            self._answer(e, r)
        elif isinstance(e, ev.DeadlineSet) and e.purpose == "post_decline":
            self.window_due[r.requirement_id] = e.due
        elif isinstance(e, ev.RightRevived):
            r.revivals.append(f"{e.at:%Y-%m-%d %H:%M}Z: {e.reason}")
        elif isinstance(e, ev.PlacementMade):
            self._placement(e, r)
        elif isinstance(e, ev.RequirementFulfilled | ev.RequirementUnmet | ev.RequirementCancelled):
            r.final = f"{e.kind.removeprefix('Requirement').lower()} {e.at:%Y-%m-%d %H:%M}Z"

    def _answer(
        self, e: ev.OfferAccepted | ev.OfferDeclined | ev.OfferWithdrawn, r: RequirementEvidence
    ) -> None:
        idx = next((i for i, n in enumerate(r.notices) if n.offer_id == e.offer_id), None)
        if idx is None:
            return
        n = r.notices[idx]
        if isinstance(e, ev.OfferAccepted):
            text = f"accepted {e.gpus} of {n.gpus} GPUs at {e.unit_price} USD/GPU-h"
            if e.partial:
                self.released[r.requirement_id] = e.at
        elif isinstance(e, ev.OfferDeclined):
            text = (
                f"deemed decline: no answer by the deadline {n.deadline:%Y-%m-%d %H:%M}Z"
                if e.deemed
                else f"declined ({e.reason})"
            )
            self.released[r.requirement_id] = e.at
        else:
            text = f"withdrawn ({e.reason})"
        r.notices[idx] = replace(n, answer=text, answered_at=e.at)

    def _placement(self, e: ev.PlacementMade, r: RequirementEvidence) -> None:
        p = e.placement
        if r.holder is None:
            r.other_placements.append(p)
        elif p.provider == r.holder:
            r.holder_placements.append(p)
        else:
            offer = self.state.requirements[r.requirement_id].last_offer
            if offer is None:  # waived, or placed after the clause ended: nothing was shown
                r.other_placements.append(p)
                return
            req = self.state.requirements[r.requirement_id].requirement
            released = self.released.get(r.requirement_id)
            r.rival_deals.append(
                RivalDeal(
                    p, e.at, offer.offer_id, _compare(p, offer, released, req.skus, req.latest_start),
                    self.window_due.get(r.requirement_id),
                )
            )  # fmt: skip

    def _waivers(self, e: ev.RequirementScreened, r: RequirementEvidence) -> None:
        contract = self.state.contract
        rs = self.state.requirements.get(r.requirement_id)
        if contract is None or rs is None:
            return
        version = contract.version(e.version_id)
        for clause in version.clauses:
            if isinstance(clause, FirstRefusal | Exclusivity):
                for w in waivers_for(self.state, version, clause.id, rs.requirement, e.at):
                    who = f" for {w.provider}" if w.provider else ""
                    r.waivers.append(f"{w.id}: {w.granted_by} waived {clause.id}{who}")


def compliance_report(
    events: Sequence[ev.Event], *, chain: tuple[bool, Sequence[str]] | None = None
) -> ComplianceReport:
    """Check invariants 1-6 over ``events`` (and 7 from ``chain``: the verifier's verdict and
    problems, when the caller verified an export) and gather each requirement's evidence."""
    violations = check_invariants(events) + final_states_complete(events)
    collector = _Collector()
    for e in events:
        collector.see(e)
    for v in violations:
        if v.requirement_id in collector.reqs:
            collector.reqs[v.requirement_id].violations.append(v)
    results = []
    for number in range(1, 7):
        found = tuple(
            f"{v.requirement_id or '-'}: {v.message}" for v in violations if v.invariant == number
        )
        results.append(InvariantResult(number, INVARIANTS[number], not found, found))
    if chain is None:
        results.append(InvariantResult(7, INVARIANTS[7], None, ("not checked",)))
    else:
        results.append(InvariantResult(7, INVARIANTS[7], chain[0], tuple(chain[1])))
    return ComplianceReport(len(events), tuple(results), tuple(collector.reqs.values()))
