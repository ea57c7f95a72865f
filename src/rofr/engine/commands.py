"""Commands (what a party asks for) and the typed errors that reject them.

A rejected command produces no events. Each error names what was wrong and, where it helps,
what to do instead; the CLI and the API print ``str(error)`` as the one-line message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from rofr.values import Quote, Requirement, quick_init

__all__ = [
    "AdoptContract",
    "AmendContract",
    "CancelRequirement",
    "Command",
    "ConfirmReservation",
    "ConfirmTrigger",
    "DeclareTrigger",
    "FireDeadline",
    "GrantWaiver",
    "RecordQuotes",
    "RefuseReservation",
    "Rejected",
    "ReportRevenue",
    "RespondToOffer",
    "RevokeWaiver",
    "SubmitRequirement",
]


class Rejected(Exception):
    """A command was refused; ``code`` is stable for programs, ``str()`` is for people."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


@dataclass(frozen=True, slots=True)
class Command:
    """Base of all commands."""


@dataclass(frozen=True, slots=True)
class AdoptContract(Command):
    """Start the log under a contract document (its JSON form)."""

    contract: dict[str, Any]
    by: str


@dataclass(frozen=True, slots=True)
class AmendContract(Command):
    """Add a version (JSON form); it governs requirements submitted from its effective time."""

    version: dict[str, Any]
    by: str


@dataclass(frozen=True, slots=True)
class SubmitRequirement(Command):
    """The buyer needs capacity."""

    requirement: Requirement


@dataclass(frozen=True, slots=True)
class CancelRequirement(Command):
    """The buyer withdraws a requirement that is not yet final."""

    requirement_id: str
    by: str
    reason: str = "cancelled by the buyer"


@dataclass(frozen=True, slots=True)
class RespondToOffer(Command):
    """The holder answers an offer: ``accept_gpus`` > 0 accepts (all or part), 0 declines."""

    offer_id: str
    by: str
    accept_gpus: int
    unit_price: Decimal | None = None
    start: datetime | None = None
    region: str | None = None
    sku: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FireDeadline(Command):
    """A timer is due. Firing the same timer twice is rejected (``timer_not_pending``)."""

    requirement_id: str
    timer_id: str


@dataclass(frozen=True, slots=True)
class RecordQuotes(Command):
    """Quotes gathered for a QuotesRequested round; ``failures`` are (provider, reason)."""

    requirement_id: str
    round: int
    quotes: tuple[Quote, ...]
    failures: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ConfirmReservation(Command):
    """The provider confirmed a reservation."""

    requirement_id: str
    placement_id: str


@dataclass(frozen=True, slots=True)
class RefuseReservation(Command):
    """The provider refused a reservation (stale quote, capacity gone)."""

    requirement_id: str
    placement_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class GrantWaiver(Command):
    """The holder (or exclusive provider) consents to skip one of its clauses."""

    waiver: dict[str, Any]
    by: str


@dataclass(frozen=True, slots=True)
class RevokeWaiver(Command):
    """The grantor withdraws a waiver."""

    waiver_id: str
    by: str


@dataclass(frozen=True, slots=True)
class DeclareTrigger(Command):
    """A party declares a named event; ``effective_at`` defaults to now."""

    name: str
    by: str
    effective_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConfirmTrigger(Command):
    """A confirmer (e.g. a panel member) confirms a declared trigger."""

    name: str
    by: str


@dataclass(frozen=True, slots=True)
class ReportRevenue(Command):
    """A revenue-share payer reports its revenue for a period (``YYYY-Qn`` or ``YYYY-MM``).

    A second report for the same period is refused unless ``correction`` is set; a correction
    replaces the earlier figure (the ledger uses the latest report of each period).
    """

    period: str
    amount: Decimal
    by: str
    correction: bool = False


# The simulator builds a couple of commands per requirement: see ``quick_init``.
for _command in (SubmitRequirement, RespondToOffer, FireDeadline, RecordQuotes,
                 ConfirmReservation, RefuseReservation, CancelRequirement):  # fmt: skip
    quick_init(_command)
