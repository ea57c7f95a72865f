"""Request and response bodies of the HTTP API (pydantic; they make the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from rofr.api.auth import Role

__all__ = [
    "AcceptBody", "CancelBody", "DeclareBody", "DeclineBody", "EventRow", "KeyBody",
    "KeyCreated", "OfferLineView", "OfferView", "PlacementView", "QuoteView",
    "RequirementView", "TickResult", "TriggerBody", "WebhookBody", "WebhookCreated",
]  # fmt: skip


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CancelBody(_Body):
    """Why the buyer withdraws the requirement."""

    reason: Annotated[str, Field(max_length=500)] = "cancelled by the buyer"


class AcceptBody(_Body):
    """The holder accepts all (``gpus`` omitted) or part of an offer, at stated terms."""

    gpus: Annotated[int, Field(gt=0)] | None = None
    unit_price: Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=6)] | None = None
    start: datetime | None = None
    region: Annotated[str, Field(max_length=100)] | None = None
    sku: Annotated[str, Field(max_length=100)] | None = None


class DeclineBody(_Body):
    """The holder declines an offer."""

    reason: Annotated[str, Field(max_length=500)] = ""


class DeclareBody(_Body):
    """A trigger declaration; ``effective_at`` defaults to now. ``by`` only for admins."""

    effective_at: datetime | None = None
    by: Annotated[str, Field(max_length=100)] | None = None


class TriggerBody(_Body):
    """A trigger confirmation. ``by`` only for admins acting for a party."""

    by: Annotated[str, Field(max_length=100)] | None = None


class KeyBody(_Body):
    """A key to create."""

    party: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]
    role: Role


class KeyCreated(BaseModel):
    """A new key: shown once, stored only hashed."""

    key_id: str
    party: str
    role: Role
    key: str


class WebhookBody(_Body):
    """Where a party's notices go; ``secret`` signs them (generated when omitted)."""

    url: Annotated[str, Field(pattern=r"^https?://", max_length=2000)]
    secret: Annotated[str, Field(min_length=16, max_length=200)] | None = None


class WebhookCreated(BaseModel):
    """A registered webhook and its signing secret."""

    party: str
    url: str
    secret: str


class TickResult(BaseModel):
    """Deadlines fired by a tick."""

    fired: int


class OfferLineView(BaseModel):
    """Terms in an offer; ``provider`` is the rival whose terms they are (match mode only)."""

    gpus: int
    unit_price: Decimal | None
    sku: str | None
    region: str | None
    start: datetime | None
    provider: str | None = None


class OfferView(BaseModel):
    """An offer as its holder (or the buyer, or an auditor) sees it."""

    offer_id: str
    requirement_id: str
    holder: str
    mode: str
    round: int
    gpus: int
    deadline: datetime
    open: bool
    min_increment: int
    all_or_none: bool
    lines: list[OfferLineView]
    requirement: dict[str, Any]
    reason: str


class PlacementView(BaseModel):
    """Capacity bought."""

    id: str
    requirement_id: str
    provider: str
    sku: str
    region: str
    gpus: int
    unit_price: Decimal
    start: datetime
    end: datetime
    basis: str


class QuoteView(BaseModel):
    """A provider's terms recorded for a requirement."""

    id: str
    requirement_id: str | None
    provider: str
    sku: str
    region: str
    gpus: int
    unit_price: Decimal
    earliest_start: datetime
    valid_until: datetime


class EventRow(BaseModel):
    """One row of the event log, hashes included (for projections and auditors)."""

    position: int
    stream: str
    version: int
    type: str
    data: dict[str, Any]
    recorded_at: datetime
    prev_hash: str
    hash: str


class RequirementView(BaseModel):
    """Where a requirement stands, where its GPUs went, and why (its events)."""

    id: str
    buyer: str
    status: str
    gpus: int
    placed_gpus: int
    holder: str | None
    mode: str | None
    offer: OfferView | None
    placements: list[PlacementView]
    events: list[EventRow]
