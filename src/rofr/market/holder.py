"""How a simulated first-refusal holder answers the offers it is sent.

The engine sends the holder an offer (the requirement, and in ``match`` mode the rival terms)
with a deadline. A real holder answers late, partly, or not at all; this module models that
with a small policy: how long it takes to answer, what share of offers it ignores, how much
it accepts (what it has free, in whole increments) and a price floor.

Answers are deterministic: each offer draws from its own ``random.Random`` seeded by a SHA-256
of ``(seed, offer_id)``, so the same run gives the same answers whatever order offers come in
(Python's ``hash()`` is salted per process, hence hashlib).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rofr.market.yamlmarks import load_yaml_model
from rofr.values import Requirement, quick_init

__all__ = [
    "CapacityView",
    "ExponentialDelay",
    "FixedDelay",
    "HolderAnswer",
    "HolderBehaviour",
    "HolderPolicy",
    "OfferView",
    "UniformDelay",
    "load_holder_policy",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FixedDelay(_Strict):
    """Always answers ``hours`` after the offer."""

    kind: Literal["fixed"]
    hours: Annotated[float, Field(ge=0)]


class UniformDelay(_Strict):
    """Answers uniformly between ``min_hours`` and ``max_hours`` after the offer."""

    kind: Literal["uniform"]
    min_hours: Annotated[float, Field(ge=0)]
    max_hours: Annotated[float, Field(ge=0)]

    @model_validator(mode="after")
    def _ordered(self) -> UniformDelay:
        if self.max_hours < self.min_hours:
            raise ValueError("max_hours is below min_hours")
        return self


class ExponentialDelay(_Strict):
    """Answers after an exponentially distributed delay with mean ``mean_hours``."""

    kind: Literal["exponential"]
    mean_hours: Annotated[float, Field(gt=0)]


ResponseDelay = Annotated[FixedDelay | UniformDelay | ExponentialDelay, Field(discriminator="kind")]


class HolderPolicy(_Strict):
    """The holder's habits. ``ignore_share`` is the probability an offer is left to expire."""

    response_delay: ResponseDelay = FixedDelay(kind="fixed", hours=24)
    ignore_share: Annotated[float, Field(ge=0, le=1)] = 0.0
    accept_rule: Literal["from_free_capacity"] = "from_free_capacity"
    price_floor: Annotated[Decimal, Field(ge=0)] | None = None


def load_holder_policy(path_or_text: str | Path, source_name: str | None = None) -> HolderPolicy:
    """Read a holder policy from YAML; raises ``InputError`` with file, line and field."""
    return load_yaml_model(path_or_text, HolderPolicy, source_name)


class CapacityView(Protocol):
    """What the holder can see of its own fleet (``SimulatedProvider`` provides it)."""

    def free(self, sku: str, region: str, start: datetime, end: datetime) -> int:
        """GPUs free in every hour of ``[start, end)``."""
        ...

    def list_price(self, sku: str, region: str, at: datetime) -> Decimal | None:
        """The list price in force at ``at``; None if the sku is not sold there."""
        ...

    def regions(self, sku: str) -> list[str]:
        """Regions where the sku exists, in a stable order."""
        ...


@quick_init
@dataclass(frozen=True, slots=True)
class OfferView:
    """An offer as the holder sees it. In ``match`` mode ``unit_price``, ``start``, ``region``
    (and ``sku``) are the rival terms shown; in ``first_look`` they are None."""

    offer_id: str
    requirement: Requirement
    gpus: int
    unit_price: Decimal | None
    start: datetime | None
    region: str | None
    deadline: datetime
    min_increment: int = 1
    all_or_none: bool = False
    sku: str | None = None

    def __post_init__(self) -> None:
        if self.gpus <= 0:
            raise ValueError("an offer must offer a positive number of GPUs")
        if self.min_increment <= 0:
            raise ValueError("min_increment must be positive")


@quick_init
@dataclass(frozen=True, slots=True)
class HolderAnswer:
    """The holder's answer; ``accept_gpus == 0`` is a decline, with ``reason`` saying why."""

    respond_at: datetime
    accept_gpus: int
    unit_price: Decimal | None
    start: datetime | None
    region: str | None
    reason: str
    sku: str | None = None


def offer_rng(seed: int, offer_id: str) -> random.Random:
    """A random stream private to one offer, stable across processes and runs."""
    digest = hashlib.sha256(f"{seed}|{offer_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


class HolderBehaviour:
    """A simulated holder: ``answer`` is a pure function of (policy, seed, offer, now, fleet)."""

    def __init__(self, policy: HolderPolicy, capacity: CapacityView, seed: int = 0) -> None:
        self.policy = policy
        self.capacity = capacity
        self.seed = seed

    def _delay(self, rng: random.Random) -> timedelta:
        delay = self.policy.response_delay
        if isinstance(delay, FixedDelay):
            hours = delay.hours
        elif isinstance(delay, UniformDelay):
            hours = rng.uniform(delay.min_hours, delay.max_hours)
        else:
            hours = rng.expovariate(1.0 / delay.mean_hours)
        return timedelta(seconds=round(hours * 3600))  # whole seconds keep logs readable

    def answer(self, offer: OfferView, now: datetime) -> HolderAnswer | None:
        """Answer ``offer`` received at ``now``; None if the holder lets the deadline pass
        (it ignores the offer, or would answer only after the deadline)."""
        rng = offer_rng(self.seed, offer.offer_id)
        # Draw both numbers every time so one policy knob does not shift the other's stream.
        ignored = rng.random() < self.policy.ignore_share
        respond_at = now + self._delay(rng)
        if ignored or respond_at > offer.deadline:
            return None
        req = offer.requirement
        start = offer.start or max(respond_at, req.earliest_start)

        def decline(reason: str) -> HolderAnswer:
            return HolderAnswer(respond_at, 0, None, start, offer.region, reason, offer.sku)

        if offer.start is None and start > req.latest_start:
            return decline("cannot start before the requirement's latest start")
        end = start + req.duration
        best: tuple[int, str, str] | None = None
        for sku in [offer.sku] if offer.sku else list(req.skus):
            regions = (
                [offer.region]
                if offer.region
                else (list(req.regions) or self.capacity.regions(sku))
            )
            for region in regions:
                free = self.capacity.free(sku, region, start, end)
                if best is None or free > best[0]:
                    best = (free, sku, region)
        if best is None or best[0] <= 0:
            return decline("no free capacity for the offered skus and regions")
        free, sku, region = best
        accept = min(offer.gpus, free)
        accept -= accept % offer.min_increment
        if offer.all_or_none and accept < offer.gpus:
            return decline(f"all or none: only {free} of {offer.gpus} GPUs free")
        if accept == 0:
            return decline(f"only {free} GPUs free, below the increment {offer.min_increment}")
        floor = self.policy.price_floor
        if offer.unit_price is not None:  # match mode: the rival's price or nothing
            if floor is not None and offer.unit_price < floor:
                return decline(f"rival price {offer.unit_price} is below the floor {floor}")
            price = offer.unit_price
        else:
            listed = self.capacity.list_price(sku, region, start)
            if listed is None:
                return decline(f"no list price for {sku} in {region}")
            price = max(listed, floor) if floor is not None else listed
            if req.max_unit_price is not None and price > req.max_unit_price:
                return decline(f"price {price} is above the buyer's maximum {req.max_unit_price}")
        reason = f"accepted {accept} of {offer.gpus} GPUs from free capacity"
        return HolderAnswer(respond_at, accept, price, start, region, reason, sku)
