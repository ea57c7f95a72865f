"""The file and API form of a requirement (and of a batch of them), validated with pydantic."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rofr.contract.clauses import Ident, UtcDateTime, _to_decimal
from rofr.values import Kind, Requirement

__all__ = ["RequirementBatch", "RequirementSpec"]


class RequirementSpec(BaseModel):
    """What the buyer needs, as written in a YAML file or sent to the API."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Ident
    buyer: Ident | None = Field(default=None, description="defaults to the contract's buyer")
    skus: Annotated[tuple[str, ...], Field(min_length=1)]
    gpus: Annotated[int, Field(gt=0)]
    earliest_start: UtcDateTime
    latest_start: UtcDateTime
    duration_hours: Annotated[int, Field(gt=0)]
    max_unit_price: (
        Annotated[Decimal, BeforeValidator(_to_decimal), Field(ge=0, description="USD/GPU-h")]
        | None
    ) = None
    regions: tuple[str, ...] = ()
    workload_class: str = "training"
    product_surface: str | None = None
    kind: Kind = Kind.NEW
    splittable: bool = True
    customer_tags: tuple[str, ...] = ()
    min_chunk: Annotated[int, Field(ge=1)] = 1
    max_providers: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _window(self) -> RequirementSpec:
        if self.latest_start < self.earliest_start:
            raise ValueError("latest_start is before earliest_start")
        return self

    def to_requirement(self, default_buyer: str) -> Requirement:
        """The engine's value."""
        return Requirement(
            id=self.id,
            buyer=self.buyer or default_buyer,
            skus=self.skus,
            gpus=self.gpus,
            earliest_start=self.earliest_start,
            latest_start=self.latest_start,
            duration_hours=self.duration_hours,
            max_unit_price=self.max_unit_price,
            regions=self.regions,
            workload_class=self.workload_class,
            product_surface=self.product_surface,
            kind=self.kind,
            splittable=self.splittable,
            customer_tags=self.customer_tags,
            min_chunk=self.min_chunk,
            max_providers=self.max_providers,
        )

    @classmethod
    def from_requirement(cls, req: Requirement) -> RequirementSpec:
        """The spec of an engine value (for the API's responses)."""
        return cls.model_validate(
            {
                "id": req.id,
                "buyer": req.buyer,
                "skus": req.skus,
                "gpus": req.gpus,
                "earliest_start": req.earliest_start,
                "latest_start": req.latest_start,
                "duration_hours": req.duration_hours,
                "max_unit_price": req.max_unit_price,
                "regions": req.regions,
                "workload_class": req.workload_class,
                "product_surface": req.product_surface,
                "kind": req.kind,
                "splittable": req.splittable,
                "customer_tags": req.customer_tags,
                "min_chunk": req.min_chunk,
                "max_providers": req.max_providers,
            }
        )


class RequirementBatch(BaseModel):
    """A file of requirements (``rofr submit --file``, ``rofr plan``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requirements: Annotated[tuple[RequirementSpec, ...], Field(min_length=1)]
    at: UtcDateTime | None = Field(None, description="planning time (default: now)")

    def ids_unique(self) -> list[str]:
        """Ids that appear more than once."""
        seen: set[str] = set()
        dup = [r.id for r in self.requirements if r.id in seen or seen.add(r.id)]  # type: ignore[func-returns-value]
        return dup


_ = datetime
