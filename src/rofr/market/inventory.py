"""The inventory file: who sells what, where, from when, and at what price.

One YAML file lists the providers of a scenario. Capacity is written as additions over time
(a new site adds GPUs from its date on; a negative number retires some), so a build-out such
as a campus that grows in phases is a few lines. Prices may be per region or for every region
(``"*"``) and may change on a date. ``reserved`` blocks are capacity the buyer has already
paid for; they are quoted separately, at their sunk unit price, and never sold to anyone else.

Validation is strict (unknown keys are errors) and every error names file, line and field.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, field_validator, model_validator

from rofr.market.holder import HolderPolicy
from rofr.market.yamlmarks import load_yaml_model

__all__ = [
    "CapacityChange",
    "Inventory",
    "PriceEntry",
    "ProviderSpec",
    "ReservedBlock",
    "load_inventory",
]

_ID = r"^[a-z0-9][a-z0-9_.-]*$"
Name = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CapacityChange(_Strict):
    """``gpus`` more (or fewer, if negative) of ``sku`` in ``region`` from ``from`` on."""

    sku: Name
    region: Name
    gpus: int
    from_: date = Field(alias="from")


class PriceEntry(_Strict):
    """List price in USD per GPU-hour; ``region: "*"`` applies wherever no exact entry does."""

    sku: Name
    region: Name = "*"
    unit_price: Annotated[Decimal, Field(ge=0)]
    from_: date | None = Field(default=None, alias="from")


class ReservedBlock(_Strict):
    """Capacity already paid for by the buyer over ``[start, end)`` (dates, midnight UTC)."""

    sku: Name
    region: Name
    gpus: PositiveInt
    start: date
    end: date
    unit_price: Annotated[Decimal, Field(ge=0)] = Decimal(0)

    @model_validator(mode="after")
    def _ordered(self) -> ReservedBlock:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ProviderSpec(_Strict):
    """One provider: capacity over time, prices, reserved blocks, and how it answers offers."""

    id: Annotated[str, Field(pattern=_ID)]
    name: Name
    quote_validity_hours: PositiveInt
    capacity: list[CapacityChange] = Field(default_factory=list)
    prices: list[PriceEntry] = Field(default_factory=list)
    reserved: list[ReservedBlock] = Field(default_factory=list)
    holder: HolderPolicy | None = None

    @field_validator("capacity")
    @classmethod
    def _never_negative(cls, changes: list[CapacityChange]) -> list[CapacityChange]:
        by_pool: dict[tuple[str, str], list[CapacityChange]] = defaultdict(list)
        for change in changes:
            by_pool[(change.sku, change.region)].append(change)
        for (sku, region), pool in by_pool.items():
            total = 0
            for change in sorted(pool, key=lambda c: c.from_):
                total += change.gpus
                if total < 0:
                    raise ValueError(
                        f"{sku} in {region} falls to {total} GPUs on {change.from_}; "
                        "retirements cannot exceed what was added before"
                    )
        return changes


class Inventory(_Strict):
    """The providers of a scenario, each id once."""

    providers: list[ProviderSpec]

    @field_validator("providers")
    @classmethod
    def _unique(cls, providers: list[ProviderSpec]) -> list[ProviderSpec]:
        seen: set[str] = set()
        for spec in providers:
            if spec.id in seen:
                raise ValueError(f"provider id {spec.id!r} appears twice")
            seen.add(spec.id)
        return providers

    def provider(self, provider_id: str) -> ProviderSpec:
        """The provider with this id; ``KeyError`` naming the known ids if there is none."""
        for spec in self.providers:
            if spec.id == provider_id:
                return spec
        known = ", ".join(spec.id for spec in self.providers)
        raise KeyError(f"no provider {provider_id!r} in the inventory (known: {known})")


def load_inventory(path_or_text: str | Path, source_name: str | None = None) -> Inventory:
    """Read and validate an inventory file; raises ``InputError`` with file, line and field."""
    return load_yaml_model(path_or_text, Inventory, source_name)
