"""The provider protocol, version 1: the JSON bodies exchanged with a provider over HTTP.

Both sides use these models, so the reference server and the broker's adapter cannot drift
apart. Money is a decimal string (``"12.29"``), times are ISO 8601 in UTC with ``Z``. Requests
forbid unknown keys (a typo should fail loudly); responses ignore them, so a provider may add
fields without breaking brokers that do not know them yet. See docs/provider-protocol.md.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    model_validator,
)

from rofr.market.port import Reservation
from rofr.values import Kind, Quote, Requirement, as_utc

__all__ = [
    "PROTOCOL_HEADER",
    "PROTOCOL_VERSION",
    "CancelResponse",
    "HealthResponse",
    "NotFoundResponse",
    "QuoteWire",
    "QuotesRequest",
    "QuotesResponse",
    "RequirementWire",
    "ReservationWire",
    "ReserveConfirmed",
    "ReserveRefused",
    "ReserveRequest",
]

PROTOCOL_VERSION = "1"
PROTOCOL_HEADER = "Rofr-Protocol"

UtcTime = Annotated[AwareDatetime, AfterValidator(as_utc)]
Money = Annotated[Decimal, Field(ge=0)]
Text = Annotated[str, Field(min_length=1)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RequirementWire(_Request):
    """A ``Requirement`` on the wire (same fields, lists for tuples)."""

    id: Text
    buyer: Text
    skus: Annotated[list[Text], Field(min_length=1)]
    gpus: PositiveInt
    earliest_start: UtcTime
    latest_start: UtcTime
    duration_hours: PositiveInt
    max_unit_price: Money | None = None
    regions: list[Text] = Field(default_factory=list)
    workload_class: str = "training"
    product_surface: str | None = None
    kind: Kind = Kind.NEW
    splittable: bool = True
    customer_tags: list[str] = Field(default_factory=list)
    min_chunk: PositiveInt = 1
    max_providers: PositiveInt | None = None

    @model_validator(mode="after")
    def _valid_requirement(self) -> RequirementWire:
        self.to_value()  # the value type's own checks (latest >= earliest, ...) become 422s
        return self

    @classmethod
    def of(cls, requirement: Requirement) -> RequirementWire:
        """Encode a requirement."""
        return cls(
            id=requirement.id,
            buyer=requirement.buyer,
            skus=list(requirement.skus),
            gpus=requirement.gpus,
            earliest_start=requirement.earliest_start,
            latest_start=requirement.latest_start,
            duration_hours=requirement.duration_hours,
            max_unit_price=requirement.max_unit_price,
            regions=list(requirement.regions),
            workload_class=requirement.workload_class,
            product_surface=requirement.product_surface,
            kind=requirement.kind,
            splittable=requirement.splittable,
            customer_tags=list(requirement.customer_tags),
            min_chunk=requirement.min_chunk,
            max_providers=requirement.max_providers,
        )

    def to_value(self) -> Requirement:
        """Decode into the shared value type."""
        return Requirement(
            id=self.id,
            buyer=self.buyer,
            skus=tuple(self.skus),
            gpus=self.gpus,
            earliest_start=self.earliest_start,
            latest_start=self.latest_start,
            duration_hours=self.duration_hours,
            max_unit_price=self.max_unit_price,
            regions=tuple(self.regions),
            workload_class=self.workload_class,
            product_surface=self.product_surface,
            kind=self.kind,
            splittable=self.splittable,
            customer_tags=tuple(self.customer_tags),
            min_chunk=self.min_chunk,
            max_providers=self.max_providers,
        )


class QuoteWire(_Response):
    """A ``Quote`` on the wire. Negative GPUs or prices are protocol errors."""

    id: Text
    provider: Text
    sku: Text
    region: Text
    gpus: NonNegativeInt
    unit_price: Money
    earliest_start: UtcTime
    valid_until: UtcTime
    requirement_id: str | None = None
    reserved: bool = False

    @classmethod
    def of(cls, quote: Quote) -> QuoteWire:
        """Encode a quote."""
        return cls(**{name: getattr(quote, name) for name in cls.model_fields})

    def to_value(self) -> Quote:
        """Decode into the shared value type."""
        return Quote(**{name: getattr(self, name) for name in type(self).model_fields})


class ReservationWire(_Response):
    """A ``Reservation`` on the wire."""

    id: Text
    provider: Text
    quote_id: Text
    requirement_id: Text
    sku: Text
    region: Text
    gpus: PositiveInt
    unit_price: Money
    start: UtcTime
    end: UtcTime
    reserved: bool = False

    @classmethod
    def of(cls, reservation: Reservation) -> ReservationWire:
        """Encode a reservation."""
        return cls(**{name: getattr(reservation, name) for name in cls.model_fields})

    def to_value(self) -> Reservation:
        """Decode into the market's value type."""
        return Reservation(**{name: getattr(self, name) for name in type(self).model_fields})


class QuotesRequest(_Request):
    """``POST /v1/quotes``: terms for this requirement, please."""

    requirement: RequirementWire


class QuotesResponse(_Response):
    """The quotes, possibly none. Every quote must carry the answering provider's id."""

    provider: Text
    quotes: list[QuoteWire]


class ReserveRequest(_Request):
    """``POST /v1/reservations``. ``reservation_id`` is the broker's idempotency key."""

    reservation_id: Text
    quote_id: Text
    gpus: PositiveInt
    requirement_id: Text
    start: UtcTime
    end: UtcTime


class ReserveConfirmed(_Response):
    """201: the capacity is set aside (also the answer to a repeat of the same request)."""

    status: Literal["confirmed"]
    reservation: ReservationWire


class ReserveRefused(_Response):
    """409: the provider says no (stale quote, capacity gone, id reused for other terms)."""

    status: Literal["refused"]
    reason: Text


class CancelResponse(_Response):
    """200 on ``DELETE /v1/reservations/{id}``, also when it was already cancelled."""

    status: Literal["cancelled"]
    reservation_id: Text


class NotFoundResponse(_Response):
    """404: no reservation with that id was ever made here."""

    status: Literal["not_found"]
    reason: Text


class HealthResponse(_Response):
    """``GET /v1/health``: alive, who it is, which protocol, and its clock."""

    status: Literal["ok"]
    provider: Text
    protocol: str
    time: datetime
