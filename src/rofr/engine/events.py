"""Events: immutable facts, named in the past tense, each carrying the reason for its decision.

Every event belongs to a stream (``req:<id>``, ``contract``, ``waiver:<id>``, ``trigger:<name>``)
so the store can enforce one writer per stream with an expected version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from rofr.values import Basis, Placement, Quote, Requirement, quick_init

__all__ = [
    "ALL_EVENTS",
    "ContractAdopted",
    "ContractAmended",
    "DeadlineCancelled",
    "DeadlineReached",
    "DeadlineSet",
    "Event",
    "Exclusion",
    "OfferAccepted",
    "OfferDeclined",
    "OfferLine",
    "OfferSent",
    "OfferWithdrawn",
    "PlacementMade",
    "QuoteConsidered",
    "QuotesRecorded",
    "QuotesRequested",
    "RequirementCancelled",
    "RequirementFulfilled",
    "RequirementScreened",
    "RequirementSubmitted",
    "RequirementUnmet",
    "ReservationCancelled",
    "ReservationRefused",
    "ReservationRequested",
    "RevenueReported",
    "RightRevived",
    "ShortfallRecorded",
    "TriggerConfirmed",
    "TriggerDeclared",
    "TriggerTookEffect",
    "WaiverGranted",
    "WaiverRevoked",
]


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all events. ``at`` is the decision time (the injected clock, never the wall)."""

    at: datetime
    kind: ClassVar[str] = "event"

    @property
    def stream(self) -> str:
        """The stream this event is appended to."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _ReqEvent(Event):
    requirement_id: str

    @property
    def stream(self) -> str:
        return f"req:{self.requirement_id}"


# --- small values carried inside events ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A provider that may not serve a requirement, and why."""

    provider: str
    reason: str


@dataclass(frozen=True, slots=True)
class OfferLine:
    """Terms shown to the holder: in ``first_look`` the requirement itself (price = the cap),
    in ``match`` one line per rival allocation of the best plan."""

    gpus: int
    unit_price: Decimal | None
    sku: str | None
    region: str | None
    start: datetime | None
    provider: str | None = None  # the rival whose terms these are (match mode)
    quote_id: str | None = None


@dataclass(frozen=True, slots=True)
class QuoteConsidered:
    """Why a quote was or was not used."""

    quote_id: str
    provider: str
    gpus_used: int
    reason: str


# --- requirement lifecycle ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequirementSubmitted(_ReqEvent):
    """The buyer submitted a requirement; ``version_id`` is fixed for it from now on."""

    requirement: Requirement
    version_id: str
    kind: ClassVar[str] = "RequirementSubmitted"


@dataclass(frozen=True, slots=True)
class RequirementScreened(_ReqEvent):
    """Eligibility and first refusal were evaluated under the requirement's version."""

    version_id: str
    eligible: tuple[str, ...]
    excluded: tuple[Exclusion, ...]
    first_refusal: str | None  # clause id when the holder must be asked first
    holder: str | None
    mode: str | None
    basis: Basis  # basis for placements made without asking the holder
    reason: str
    kind: ClassVar[str] = "RequirementScreened"


@dataclass(frozen=True, slots=True)
class OfferSent(_ReqEvent):
    """The holder was offered the requirement (or the rival terms) with a deadline."""

    offer_id: str
    holder: str
    clause_id: str
    version_id: str
    mode: str
    round: int
    gpus: int
    lines: tuple[OfferLine, ...]
    deadline: datetime
    min_increment: int
    all_or_none: bool
    content_hash: str
    reason: str
    kind: ClassVar[str] = "OfferSent"


@dataclass(frozen=True, slots=True)
class OfferAccepted(_ReqEvent):
    """The holder took ``gpus`` (all or part) at the stated terms."""

    offer_id: str
    holder: str
    gpus: int
    unit_price: Decimal
    sku: str
    region: str
    start: datetime
    partial: bool
    kind: ClassVar[str] = "OfferAccepted"


@dataclass(frozen=True, slots=True)
class OfferDeclined(_ReqEvent):
    """The holder declined, or (``deemed``) let the deadline pass: silence is a decline."""

    offer_id: str
    holder: str
    deemed: bool
    reason: str
    kind: ClassVar[str] = "OfferDeclined"


@dataclass(frozen=True, slots=True)
class OfferWithdrawn(_ReqEvent):
    """An open offer was closed without an answer (cancellation, trigger, latest start)."""

    offer_id: str
    reason: str
    kind: ClassVar[str] = "OfferWithdrawn"


@dataclass(frozen=True, slots=True)
class RightRevived(_ReqEvent):
    """The rival deal did not close within the post-decline window on the terms the holder
    saw (or the rival terms changed), so the holder must be asked again."""

    clause_id: str
    reason: str
    kind: ClassVar[str] = "RightRevived"


@dataclass(frozen=True, slots=True)
class QuotesRequested(_ReqEvent):
    """The shell must ask these providers for quotes and answer with RecordQuotes."""

    round: int
    gpus: int
    providers: tuple[str, ...]
    purpose: str  # "match" (rival terms for the holder) or "market" (placement)
    kind: ClassVar[str] = "QuotesRequested"


@dataclass(frozen=True, slots=True)
class QuotesRecorded(_ReqEvent):
    """Quotes came back; providers that failed are listed with their reason."""

    round: int
    quotes: tuple[Quote, ...]
    failures: tuple[Exclusion, ...]
    kind: ClassVar[str] = "QuotesRecorded"


@dataclass(frozen=True, slots=True)
class ReservationRequested(_ReqEvent):
    """The shell must reserve this placement with its provider and confirm or refuse it."""

    placement: Placement
    considered: tuple[QuoteConsidered, ...]
    reason: str
    kind: ClassVar[str] = "ReservationRequested"


@dataclass(frozen=True, slots=True)
class ReservationRefused(_ReqEvent):
    """The provider refused (stale quote, capacity gone); the GPUs return to the remainder."""

    placement_id: str
    provider: str
    reason: str
    kind: ClassVar[str] = "ReservationRefused"


@dataclass(frozen=True, slots=True)
class ReservationCancelled(_ReqEvent):
    """A pending reservation was withdrawn by rofr; the shell cancels it with the provider."""

    placement_id: str
    provider: str
    reason: str
    kind: ClassVar[str] = "ReservationCancelled"


@dataclass(frozen=True, slots=True)
class PlacementMade(_ReqEvent):
    """Capacity bought: with the holder on acceptance, with a rival on confirmation."""

    placement: Placement
    clause_id: str | None
    version_id: str
    reason: str
    kind: ClassVar[str] = "PlacementMade"


@dataclass(frozen=True, slots=True)
class ShortfallRecorded(_ReqEvent):
    """Part of the requirement could not be placed now; it is retried at ``retry_at``."""

    gpus: int
    cause: str
    retry_at: datetime | None
    kind: ClassVar[str] = "ShortfallRecorded"


@dataclass(frozen=True, slots=True)
class RequirementFulfilled(_ReqEvent):
    """Final: every GPU is placed."""

    kind: ClassVar[str] = "RequirementFulfilled"


@dataclass(frozen=True, slots=True)
class RequirementUnmet(_ReqEvent):
    """Final: the latest start passed with ``gpus`` still unplaced."""

    gpus: int
    cause: str
    kind: ClassVar[str] = "RequirementUnmet"


@dataclass(frozen=True, slots=True)
class RequirementCancelled(_ReqEvent):
    """Final: the buyer withdrew it; confirmed placements stand."""

    by: str
    reason: str
    kind: ClassVar[str] = "RequirementCancelled"


# --- deadlines (durable timers live in the log) -------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadlineSet(_ReqEvent):
    """A timer: the shell fires it with FireDeadline once ``due`` has passed."""

    timer_id: str
    due: datetime
    purpose: str  # offer | post_decline | retry | close
    kind: ClassVar[str] = "DeadlineSet"


@dataclass(frozen=True, slots=True)
class DeadlineReached(_ReqEvent):
    """A timer fired (exactly once: a second fire finds it gone and is rejected)."""

    timer_id: str
    purpose: str
    kind: ClassVar[str] = "DeadlineReached"


@dataclass(frozen=True, slots=True)
class DeadlineCancelled(_ReqEvent):
    """A timer is no longer needed (the offer was answered, the requirement closed)."""

    timer_id: str
    kind: ClassVar[str] = "DeadlineCancelled"


# --- contract, waivers, triggers ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContractAdopted(Event):
    """The contract document this log runs under (its JSON form), adopted once."""

    contract: dict[str, Any]
    by: str
    kind: ClassVar[str] = "ContractAdopted"

    @property
    def stream(self) -> str:
        return "contract"


@dataclass(frozen=True, slots=True)
class ContractAmended(Event):
    """A new version was added; it governs requirements submitted from its effective time."""

    version: dict[str, Any]
    by: str
    kind: ClassVar[str] = "ContractAmended"

    @property
    def stream(self) -> str:
        return "contract"


@dataclass(frozen=True, slots=True)
class WaiverGranted(Event):
    """The holder consented to skip a clause for a scope (its JSON form)."""

    waiver: dict[str, Any]
    by: str
    kind: ClassVar[str] = "WaiverGranted"

    @property
    def stream(self) -> str:
        return f"waiver:{self.waiver['id']}"


@dataclass(frozen=True, slots=True)
class WaiverRevoked(Event):
    """A waiver stops covering requirements screened after now."""

    waiver_id: str
    by: str
    kind: ClassVar[str] = "WaiverRevoked"

    @property
    def stream(self) -> str:
        return f"waiver:{self.waiver_id}"


@dataclass(frozen=True, slots=True)
class _TriggerEvent(Event):
    name: str

    @property
    def stream(self) -> str:
        return f"trigger:{self.name}"


@dataclass(frozen=True, slots=True)
class TriggerDeclared(_TriggerEvent):
    """A party declared a named event, effective (once confirmed) from ``effective_at``."""

    by: str
    effective_at: datetime
    version_id: str
    kind: ClassVar[str] = "TriggerDeclared"


@dataclass(frozen=True, slots=True)
class TriggerConfirmed(_TriggerEvent):
    """One confirmer confirmed a declared trigger."""

    by: str
    kind: ClassVar[str] = "TriggerConfirmed"


@dataclass(frozen=True, slots=True)
class TriggerTookEffect(_TriggerEvent):
    """The trigger is in effect: clauses bound to it stop applying from ``effective_at``."""

    effective_at: datetime
    ends: tuple[str, ...]  # clause ids it ends, in the declaring version
    kind: ClassVar[str] = "TriggerTookEffect"


# --- revenue reports (read by the ledger; the broker's decisions do not depend on them) ------


@dataclass(frozen=True, slots=True)
class RevenueReported(Event):
    """``by`` (a revenue-share payer) reported ``amount`` of revenue for ``period``
    (``YYYY-Qn`` or ``YYYY-MM``); ``correction`` replaces an earlier report of that period."""

    period: str
    amount: Decimal
    by: str
    correction: bool = False
    kind: ClassVar[str] = "RevenueReported"

    @property
    def stream(self) -> str:
        return f"revenue:{self.by}"


ALL_EVENTS: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        RequirementSubmitted,
        RequirementScreened,
        OfferSent,
        OfferAccepted,
        OfferDeclined,
        OfferWithdrawn,
        RightRevived,
        QuotesRequested,
        QuotesRecorded,
        ReservationRequested,
        ReservationRefused,
        ReservationCancelled,
        PlacementMade,
        ShortfallRecorded,
        RequirementFulfilled,
        RequirementUnmet,
        RequirementCancelled,
        DeadlineSet,
        DeadlineReached,
        DeadlineCancelled,
        ContractAdopted,
        ContractAmended,
        WaiverGranted,
        WaiverRevoked,
        TriggerDeclared,
        TriggerConfirmed,
        TriggerTookEffect,
        RevenueReported,
    )
}

# Every decision builds several events and values (see ``quick_init``).
for _record in (*ALL_EVENTS.values(), Exclusion, OfferLine, QuoteConsidered):
    quick_init(_record)
