"""The clause model: scopes and the six clause types, as pydantic models.

These models are both the file format (``rofr schema`` prints their JSON Schema) and the
values the engine reads. They are frozen; amendments add versions instead of editing clauses.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rofr.contract.calendar import Window
from rofr.values import Basis, Kind, Requirement, parse_time

__all__ = [
    "Clause",
    "ClauseBase",
    "Commitment",
    "Entitlement",
    "Exclusivity",
    "FirstRefusal",
    "Milestone",
    "Money",
    "RevenueShare",
    "Scope",
    "Trigger",
    "UtcDateTime",
    "Waiver",
]


def _to_utc(value: Any) -> Any:
    # YAML gives dates, naive or aware datetimes, or strings; all become aware UTC.
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            return value  # let pydantic report it with its own message
    return value


def _to_decimal(value: Any) -> Any:
    # YAML reads 12.29 as a float; going through repr keeps the digits the user wrote.
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


UtcDateTime = Annotated[datetime, BeforeValidator(_to_utc)]
Money = Annotated[Decimal, BeforeValidator(_to_decimal), Field(ge=0)]
Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]+$", min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Strict):
    """A selector over requirement fields. An empty list means "any"; all given fields must
    match. ``customer_tags`` matches when the requirement carries any one of the tags."""

    skus: tuple[str, ...] = ()
    min_gpus: Annotated[int, Field(ge=1)] | None = None
    max_gpus: Annotated[int, Field(ge=1)] | None = None
    regions: tuple[str, ...] = ()
    workload_classes: tuple[str, ...] = ()
    product_surfaces: tuple[str, ...] = ()
    kinds: tuple[Kind, ...] = ()
    customer_tags: tuple[str, ...] = ()

    def matches(self, req: Requirement) -> bool:
        """True when ``req`` falls inside this scope."""
        if self.skus and not set(req.skus) & set(self.skus):
            return False
        if self.min_gpus is not None and req.gpus < self.min_gpus:
            return False
        if self.max_gpus is not None and req.gpus > self.max_gpus:
            return False
        if self.regions and req.regions and not set(req.regions) & set(self.regions):
            return False
        if self.workload_classes and req.workload_class not in self.workload_classes:
            return False
        if self.product_surfaces and req.product_surface not in self.product_surfaces:
            return False
        if self.kinds and req.kind not in self.kinds:
            return False
        return not (self.customer_tags and not set(req.customer_tags) & set(self.customer_tags))


class ClauseBase(_Strict):
    """What every clause has: an id, a scope with carve-outs, a period and ending triggers."""

    id: Ident
    scope: Scope = Scope()
    carve_outs: tuple[Scope, ...] = ()
    start: UtcDateTime | None = None
    end: UtcDateTime | None = None
    ends_on: tuple[Ident, ...] = Field(
        (), description="names of triggers that end this clause from their effective time"
    )

    def covers(self, req: Requirement) -> bool:
        """In scope and not carved out."""
        return self.scope.matches(req) and not any(c.matches(req) for c in self.carve_outs)

    def runs_at(self, at: datetime, ended_at: datetime | None = None) -> bool:
        """Whether the clause applies at ``at``; ``ended_at`` is when a trigger ended it."""
        if self.start is not None and at < self.start:
            return False
        if self.end is not None and at >= self.end:
            return False
        return ended_at is None or at < ended_at

    @model_validator(mode="after")
    def _period(self) -> ClauseBase:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class FirstRefusal(ClauseBase):
    """The holder is asked first. ``first_look``: it answers the requirement itself.
    ``match``: rivals are quoted first and it may match the best rival terms."""

    type: Literal["first_refusal"] = "first_refusal"
    holder: Ident
    mode: Literal["first_look", "match"] = "first_look"
    window: Window
    partial: Literal["any_portion", "all_or_none"] = "any_portion"
    min_increment: Annotated[int, Field(ge=1)] = 1
    post_decline_window: Window | None = Field(
        None,
        description="the rival deal must close within it on terms no more favourable to the "
        "rival than those the holder saw, or the right revives",
    )


class Exclusivity(ClauseBase):
    """Requirements in scope may be placed only with ``provider`` (and ``also_permitted``)."""

    type: Literal["exclusivity"] = "exclusivity"
    provider: Ident
    also_permitted: tuple[Ident, ...] = Field(
        (), description="providers the exclusive provider has consented to"
    )


class Milestone(_Strict):
    """Spend that must be reached by a date."""

    by: UtcDateTime
    amount: Money


class Commitment(ClauseBase):
    """A spend commitment to ``provider``; placements in ``scope`` with a basis in
    ``counts_bases`` (all when empty) count towards it."""

    type: Literal["commitment"] = "commitment"
    provider: Ident
    amount: Money
    start: UtcDateTime
    end: UtcDateTime
    milestones: tuple[Milestone, ...] = ()
    counts_bases: tuple[Basis, ...] = ()


class RevenueShare(ClauseBase):
    """``payer`` owes ``payee`` ``rate`` of reported revenue, up to ``cap`` in total."""

    type: Literal["revenue_share"] = "revenue_share"
    payer: Ident
    payee: Ident
    rate: Annotated[Decimal, BeforeValidator(_to_decimal), Field(gt=0, le=1)]
    cap: Money | None = None


class Entitlement(ClauseBase):
    """``grantee`` may use ``grantor``'s assets until ``end`` or a trigger, whichever first."""

    type: Literal["entitlement"] = "entitlement"
    grantee: Ident
    grantor: Ident
    assets: Annotated[tuple[Ident, ...], Field(min_length=1)]


class Trigger(ClauseBase):
    """A named event a party may declare; it takes effect on declaration, or once ``quorum``
    of ``confirm_by`` have confirmed it (effective from the declaration's stated time)."""

    type: Literal["trigger"] = "trigger"
    name: Ident
    declared_by: Annotated[tuple[Ident, ...], Field(min_length=1)]
    confirm_by: tuple[Ident, ...] = ()
    quorum: Annotated[int, Field(ge=0)] = 0
    effective: Literal["declaration", "confirmation"] = Field(
        "declaration",
        description="declaration: effective from the declared time once confirmed (earlier "
        "decisions stand); confirmation: effective from the confirming act",
    )

    @model_validator(mode="after")
    def _quorum(self) -> Trigger:
        if self.quorum > len(self.confirm_by):
            raise ValueError(f"quorum {self.quorum} exceeds the {len(self.confirm_by)} confirmers")
        if self.confirm_by and self.quorum == 0:
            raise ValueError("confirm_by is given, so quorum must be at least 1")
        return self


Clause = Annotated[
    FirstRefusal | Exclusivity | Commitment | RevenueShare | Entitlement | Trigger,
    Field(discriminator="type"),
]


class Waiver(_Strict):
    """Recorded consent by a clause's holder (or exclusive provider) to skip it for a scope,
    optionally for one rival provider only, within a period."""

    id: Ident
    clause: Ident
    granted_by: Ident
    provider: Ident | None = None
    scope: Scope = Scope()
    start: UtcDateTime | None = None
    end: UtcDateTime | None = None
    requirement_id: str | None = None
    note: str = ""

    def covers(self, req: Requirement, at: datetime) -> bool:
        """Whether this waiver applies to ``req`` at time ``at``."""
        if self.requirement_id is not None and self.requirement_id != req.id:
            return False
        if self.start is not None and at < self.start:
            return False
        if self.end is not None and at >= self.end:
            return False
        return self.scope.matches(req)
