"""The broker's state and ``evolve``: state changes only by folding events.

``State`` is immutable. Its maps are HAMTs (``immutables.Map``), so ``evolve`` shares all
untouched requirements with the previous state: O(log n) per event instead of copying a dict of
every requirement, which is what lets the simulator fold a million events in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

import immutables

from rofr.contract import Contract, Version, Waiver
from rofr.contract.document import parse_contract_data
from rofr.engine import events as ev
from rofr.values import Basis, Placement, Quote, Requirement, quick_init


def _make_replacer(cls: type[Any], keys: tuple[str, ...]) -> Any:
    # ``dataclasses.replace`` inspects the class on every call (about 10 us for these wide
    # records) and evolve calls it for every event. This builds, once per class and set of
    # changed fields, the plain constructor call it would make (positional: every field of
    # these records is an init field): inlined for performance reasons, same result.
    fs = fields(cls)
    assert all(f.init and not f.kw_only for f in fs)
    namespace: dict[str, Any] = {"cls": cls, "new": object.__new__}
    if hasattr(cls, "__post_init__") or not hasattr(cls, "__slots__"):
        args = ", ".join(f"kw[{f.name!r}]" if f.name in keys else f"obj.{f.name}" for f in fs)
        exec(f"def replacer(obj, kw):\n    return cls({args})\n", namespace)
        return namespace["replacer"]
    # Slotted records without __post_init__: fill the slots directly. A frozen dataclass's
    # __init__ sets each field through object.__setattr__; the slot descriptors do the same
    # store for about three quarters of the cost. Every field is set, so the record is equal
    # to the one __init__ would build.
    body = ["def replacer(obj, kw):", "    out = new(cls)"]
    for i, f in enumerate(fs):
        namespace[f"set{i}"] = cls.__dict__[f.name].__set__
        value = f"kw[{f.name!r}]" if f.name in keys else f"obj.{f.name}"
        body.append(f"    set{i}(out, {value})")
    body.append("    return out")
    exec("\n".join(body), namespace)
    return namespace["replacer"]


_REPLACERS: dict[tuple[type[Any], tuple[str, ...]], Any] = {}


_T = TypeVar("_T")


def replace(obj: _T, **changes: Any) -> _T:
    """``dataclasses.replace`` for the state's records, without per-call introspection."""
    return _replaced(obj, changes)


def _replaced(obj: _T, changes: dict[str, Any]) -> _T:
    # ``replace`` with the changes already in a dict (evolve builds one per event).
    key = (type(obj), tuple(changes))
    replacer = _REPLACERS.get(key)
    if replacer is None:
        replacer = _REPLACERS[key] = _make_replacer(type(obj), key[1])
    new: _T = replacer(obj, changes)
    return new


__all__ = [
    "REQUIREMENT_EVENTS",
    "RequirementState",
    "State",
    "Status",
    "Timer",
    "TriggerState",
    "WaiverState",
    "evolve",
]

REQ_STREAM = "req:"  # a requirement's stream is ``req:`` + its id (``events._ReqEvent.stream``)


class Status(StrEnum):
    """Where a requirement is in its flow. The last three are final."""

    SCREENING = "screening"
    OFFERED = "offered"  # waiting on the holder
    QUOTING = "quoting"  # waiting on rival quotes
    RESERVING = "reserving"  # waiting on providers to confirm reservations
    SHORTFALL = "shortfall"  # open, part unplaced, retry pending
    FULFILLED = "fulfilled"
    UNMET = "unmet"
    CANCELLED = "cancelled"


FINAL = frozenset({Status.FULFILLED, Status.UNMET, Status.CANCELLED})


@quick_init
@dataclass(frozen=True, slots=True)
class Timer:
    """A pending deadline of a requirement."""

    timer_id: str
    due: datetime
    purpose: str


@quick_init
@dataclass(frozen=True, slots=True)
class RequirementState:
    """Everything decided so far about one requirement."""

    requirement: Requirement
    version_id: str
    submitted_at: datetime
    status: Status = Status.SCREENING
    eligible: tuple[str, ...] = ()
    basis: Basis = Basis.OUT_OF_SCOPE
    clause_id: str | None = None  # the first refusal clause that applies, if any
    holder: str | None = None
    mode: str | None = None
    round: int = 0  # offers sent so far
    offer: ev.OfferSent | None = None  # the open offer, if any
    last_offer: ev.OfferSent | None = None  # the latest offer, open or answered
    holder_answer: Basis | None = None  # basis for rival placements after the holder answered
    holder_gpus: int = 0
    quote_round: int = 0
    quote_purpose: str | None = None  # set while quotes are awaited
    quotes: tuple[Quote, ...] = ()
    placed: tuple[Placement, ...] = ()
    pending: tuple[Placement, ...] = ()
    timers: tuple[Timer, ...] = ()
    events: int = 0

    @property
    def final(self) -> bool:
        """True once fulfilled, unmet or cancelled."""
        return self.status in FINAL

    @property
    def placed_gpus(self) -> int:
        """GPUs confirmed, with any provider."""
        return sum(p.gpus for p in self.placed)

    @property
    def remaining(self) -> int:
        """GPUs neither placed nor in a pending reservation."""
        return self.requirement.gpus - self.placed_gpus - sum(p.gpus for p in self.pending)

    def timer(self, timer_id: str) -> Timer | None:
        """The pending timer with this id."""
        return next((t for t in self.timers if t.timer_id == timer_id), None)


@dataclass(frozen=True, slots=True)
class WaiverState:
    """A waiver and when it was granted and (maybe) revoked."""

    waiver: Waiver
    granted_at: datetime
    revoked_at: datetime | None = None

    def active(self, at: datetime) -> bool:
        """Granted before ``at`` and not revoked by then."""
        return self.granted_at <= at and (self.revoked_at is None or at < self.revoked_at)


@dataclass(frozen=True, slots=True)
class TriggerState:
    """A declared trigger, its confirmations and, once in effect, its effective time."""

    name: str
    declared_by: str
    declared_at: datetime
    stated_effective_at: datetime
    version_id: str
    confirmations: frozenset[str] = frozenset()
    effective_at: datetime | None = None


@quick_init  # evolve builds one per event
@dataclass(frozen=True, slots=True)
class State:
    """The whole broker: the contract, requirements, offers, waivers, triggers, streams."""

    contract: Contract | None = None
    requirements: immutables.Map[str, RequirementState] = immutables.Map()
    offers: immutables.Map[str, str] = immutables.Map()  # offer id -> requirement id
    waivers: immutables.Map[str, WaiverState] = immutables.Map()
    triggers: immutables.Map[str, TriggerState] = immutables.Map()
    # stream -> version, for every stream but the requirements' own (``req:ID``): a
    # requirement's record counts its events, which gives its stream's version (see
    # ``stream_version``) without a second map as large as ``requirements`` to update on
    # every event.
    streams: immutables.Map[str, int] = immutables.Map()
    revenue: tuple[ev.RevenueReported, ...] = ()  # every revenue report, corrections included

    def stream_version(self, stream: str) -> int:
        """Events recorded on ``stream`` so far (the expected version for the next append)."""
        if stream.startswith(REQ_STREAM):
            rs = self.requirements.get(stream[len(REQ_STREAM) :])
            # ``RequirementSubmitted`` opens the stream and the record (at 0 events); every
            # later event on it goes through ``_REQ_HANDLERS``, which counts it.
            return 0 if rs is None else rs.events + 1
        return self.streams.get(stream, 0)

    def trigger_end(self, name: str) -> datetime | None:
        """When the named trigger took effect, if it has."""
        trig = self.triggers.get(name)
        return trig.effective_at if trig is not None else None

    def version_of(self, rs: RequirementState) -> Version:
        """The contract version a requirement is judged under."""
        assert self.contract is not None
        return self.contract.version(rs.version_id)


def evolve(state: State, event: ev.Event) -> State:
    """The state after ``event``. Pure; unknown event types are an error."""
    kind = type(event)
    changes_of = _REQ_HANDLERS.get(kind)
    if changes_of is not None:
        # Most events change one requirement: build its record and the state once each.
        rs: RequirementState = state.requirements[event.requirement_id]  # type: ignore[attr-defined]
        changes = changes_of(rs, event)
        changes["events"] = rs.events + 1
        offers = state.offers
        if kind is ev.OfferSent:
            assert isinstance(event, ev.OfferSent)
            offers = offers.set(event.offer_id, event.requirement_id)
        return State(
            state.contract,
            state.requirements.set(rs.requirement.id, _replaced(rs, changes)),
            offers,
            state.waivers,
            state.triggers,
            state.streams,
            state.revenue,
        )
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise TypeError(f"no evolve rule for {kind.__name__}")
    new: State = handler(state, event)
    if kind is ev.RequirementSubmitted:
        return new  # its stream's version is counted by the new record
    streams = state.streams
    stream = event.stream
    return replace(new, streams=streams.set(stream, streams.get(stream, 0) + 1))


Changes = dict[str, Any]


def _submitted(state: State, e: ev.RequirementSubmitted) -> State:
    rs = RequirementState(requirement=e.requirement, version_id=e.version_id, submitted_at=e.at)
    return replace(state, requirements=state.requirements.set(e.requirement_id, rs))


def _screened(rs: RequirementState, e: ev.RequirementScreened) -> Changes:
    return {
        "eligible": e.eligible,
        "basis": e.basis,
        "clause_id": e.first_refusal,
        "holder": e.holder,
        "mode": e.mode,
    }


def _offer_sent(rs: RequirementState, e: ev.OfferSent) -> Changes:
    # An offer supersedes any quote round in flight: its quotes must not be placed while the
    # holder is deciding (a revival can open an offer while market quotes are awaited).
    # (evolve also files the offer id under the requirement.)
    return {
        "status": Status.OFFERED,
        "offer": e,
        "last_offer": e,
        "round": e.round,
        "quote_purpose": None,
    }


def _offer_accepted(rs: RequirementState, e: ev.OfferAccepted) -> Changes:
    answer = Basis.HOLDER_PARTIAL if e.partial else rs.holder_answer
    return {"offer": None, "holder_answer": answer, "holder_gpus": rs.holder_gpus + e.gpus}


def _offer_declined(rs: RequirementState, e: ev.OfferDeclined) -> Changes:
    answer = rs.holder_answer
    if answer != Basis.HOLDER_PARTIAL:
        answer = Basis.WINDOW_EXPIRED if e.deemed else Basis.HOLDER_DECLINED
    return {"offer": None, "holder_answer": answer}


def _offer_withdrawn(rs: RequirementState, e: ev.OfferWithdrawn) -> Changes:
    return {"offer": None}


def _quotes_requested(rs: RequirementState, e: ev.QuotesRequested) -> Changes:
    return {"status": Status.QUOTING, "quote_round": e.round, "quote_purpose": e.purpose}


def _quotes_recorded(rs: RequirementState, e: ev.QuotesRecorded) -> Changes:
    return {"quotes": e.quotes, "quote_purpose": None}


def _reservation_requested(rs: RequirementState, e: ev.ReservationRequested) -> Changes:
    return {"status": Status.RESERVING, "pending": (*rs.pending, e.placement)}


def _without_pending(rs: RequirementState, placement_id: str) -> tuple[Placement, ...]:
    return tuple(p for p in rs.pending if p.id != placement_id)


def _reservation_cancelled(rs: RequirementState, e: ev.ReservationCancelled) -> Changes:
    return {"pending": _without_pending(rs, e.placement_id)}


def _reservation_refused(rs: RequirementState, e: ev.ReservationRefused) -> Changes:
    # The refused quote is stale or its capacity gone: drop it from the book as well.
    quote_id = next((p.quote_id for p in rs.pending if p.id == e.placement_id), None)
    quotes = tuple(q for q in rs.quotes if q.id != quote_id)
    return {"pending": _without_pending(rs, e.placement_id), "quotes": quotes}


def _placement_made(rs: RequirementState, e: ev.PlacementMade) -> Changes:
    return {
        "placed": (*rs.placed, e.placement),
        "pending": _without_pending(rs, e.placement.id),
    }


def _shortfall(rs: RequirementState, e: ev.ShortfallRecorded) -> Changes:
    return {"status": Status.SHORTFALL}


def _final(status: Status) -> Any:
    def handler(rs: RequirementState, e: Any) -> Changes:
        return {"status": status, "offer": None, "quote_purpose": None}

    return handler


def _deadline_set(rs: RequirementState, e: ev.DeadlineSet) -> Changes:
    return {"timers": (*rs.timers, Timer(e.timer_id, e.due, e.purpose))}


def _deadline_gone(rs: RequirementState, e: ev.DeadlineReached | ev.DeadlineCancelled) -> Changes:
    return {"timers": tuple(t for t in rs.timers if t.timer_id != e.timer_id)}


def _noop_req(rs: RequirementState, e: Any) -> Changes:
    return {}


def _adopted(state: State, e: ev.ContractAdopted) -> State:
    return replace(state, contract=parse_contract_data(e.contract))


def _amended(state: State, e: ev.ContractAmended) -> State:
    assert state.contract is not None
    return replace(state, contract=state.contract.amended(Version.model_validate(e.version)))


def _waiver_granted(state: State, e: ev.WaiverGranted) -> State:
    ws = WaiverState(Waiver.model_validate(e.waiver), granted_at=e.at)
    return replace(state, waivers=state.waivers.set(ws.waiver.id, ws))


def _waiver_revoked(state: State, e: ev.WaiverRevoked) -> State:
    ws = state.waivers[e.waiver_id]
    return replace(state, waivers=state.waivers.set(e.waiver_id, replace(ws, revoked_at=e.at)))


def _trigger_declared(state: State, e: ev.TriggerDeclared) -> State:
    ts = TriggerState(e.name, e.by, e.at, e.effective_at, e.version_id)
    return replace(state, triggers=state.triggers.set(e.name, ts))


def _trigger_confirmed(state: State, e: ev.TriggerConfirmed) -> State:
    ts = state.triggers[e.name]
    new = replace(ts, confirmations=ts.confirmations | {e.by})
    return replace(state, triggers=state.triggers.set(e.name, new))


def _trigger_effective(state: State, e: ev.TriggerTookEffect) -> State:
    ts = replace(state.triggers[e.name], effective_at=e.effective_at)
    return replace(state, triggers=state.triggers.set(e.name, ts))


def _revenue_reported(state: State, e: ev.RevenueReported) -> State:
    return replace(state, revenue=(*state.revenue, e))


# Events about one requirement: each handler returns the changes to its record.
_REQ_HANDLERS: dict[type[ev.Event], Any] = {
    ev.RequirementScreened: _screened,
    ev.OfferSent: _offer_sent,
    ev.OfferAccepted: _offer_accepted,
    ev.OfferDeclined: _offer_declined,
    ev.OfferWithdrawn: _offer_withdrawn,
    ev.RightRevived: _noop_req,
    ev.QuotesRequested: _quotes_requested,
    ev.QuotesRecorded: _quotes_recorded,
    ev.ReservationRequested: _reservation_requested,
    ev.ReservationRefused: _reservation_refused,
    ev.ReservationCancelled: _reservation_cancelled,
    ev.PlacementMade: _placement_made,
    ev.ShortfallRecorded: _shortfall,
    ev.RequirementFulfilled: _final(Status.FULFILLED),
    ev.RequirementUnmet: _final(Status.UNMET),
    ev.RequirementCancelled: _final(Status.CANCELLED),
    ev.DeadlineSet: _deadline_set,
    ev.DeadlineReached: _deadline_gone,
    ev.DeadlineCancelled: _deadline_gone,
}

# Events about the state as a whole.
_HANDLERS: dict[type[ev.Event], Any] = {
    ev.RequirementSubmitted: _submitted,
    ev.ContractAdopted: _adopted,
    ev.ContractAmended: _amended,
    ev.WaiverGranted: _waiver_granted,
    ev.WaiverRevoked: _waiver_revoked,
    ev.TriggerDeclared: _trigger_declared,
    ev.TriggerConfirmed: _trigger_confirmed,
    ev.TriggerTookEffect: _trigger_effective,
    ev.RevenueReported: _revenue_reported,
}

REQUIREMENT_EVENTS: frozenset[type[ev.Event]] = frozenset((*_REQ_HANDLERS, ev.RequirementSubmitted))
"""The event types that change one requirement's record and nothing else shared: the contract,
waivers and triggers of a state folded without them are those of the full fold."""
