"""Expanding a scenario's demand generators into a trace of requirements.

The trace is a pure function of the scenario and its seed: each generator draws from its own
``random.Random`` seeded by a SHA-256 of ``(seed, generator name)``, so adding a generator does
not shift the others' draws, and the trace is the same in every process (``hash()`` is salted).
Renewals are not in the trace: they depend on what was fulfilled, so the run decides them
(``renewal_for``) from the same kind of private stream.
"""

from __future__ import annotations

import hashlib
import math
import random
from datetime import UTC, date, datetime, timedelta

from rofr.contract import Calendar
from rofr.sim.scenario import Choice, Distribution, Inference, Renewals, Scenario, Training
from rofr.values import Kind, Requirement

__all__ = ["Arrival", "demand_trace", "private_rng", "renewal_for"]

Arrival = tuple[datetime, Requirement]
_DAY = timedelta(days=1)


def private_rng(seed: int, name: str) -> random.Random:
    """A random stream private to ``name``, stable across processes and runs."""
    digest = hashlib.sha256(f"{seed}|{name}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _draw(rng: random.Random, dist: Distribution) -> int:
    if isinstance(dist, Choice):
        if dist.weights is None:
            return dist.values[rng.randrange(len(dist.values))]
        return rng.choices(dist.values, weights=dist.weights)[0]
    value = rng.randint(dist.min, dist.max)
    return max(dist.step, value - value % dist.step)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _business(at: datetime, calendar: Calendar | None) -> datetime:
    # Requests are filed on working days: move a weekend or holiday arrival to the next one.
    if calendar is None:
        return at
    while not calendar.is_business_day(at.date()):
        at = _midnight(at.date() + _DAY) + timedelta(hours=9)
    return at


def _requirement(
    gen: Training | Inference, rid: str, buyer: str, at: datetime, gpus: int, days: int, lead: int
) -> Requirement:
    earliest = at + timedelta(days=lead)
    return Requirement(
        id=rid,
        buyer=buyer,
        skus=gen.skus,
        gpus=gpus,
        earliest_start=earliest,
        latest_start=earliest + timedelta(days=gen.start_window_days),
        duration_hours=24 * days,
        max_unit_price=gen.max_unit_price,
        regions=gen.regions,
        workload_class=gen.workload_class,
        product_surface=gen.product_surface,
        kind=gen.kind,
        customer_tags=gen.customer_tags,
        min_chunk=min(gen.min_chunk, gpus),
    )


def _window(scenario: Scenario, gen: Training | Inference) -> tuple[datetime, datetime]:
    start = max(scenario.horizon.start, gen.start or scenario.horizon.start)
    end = min(scenario.horizon.end, gen.end or scenario.horizon.end)
    return _midnight(start), _midnight(end)


def _training(scenario: Scenario, gen: Training, seed: int) -> list[Arrival]:
    rng = private_rng(seed, f"training:{gen.name}")
    start, end = _window(scenario, gen)
    out: list[Arrival] = []
    t = start
    mean_hours = 168.0 / gen.per_week
    while True:
        # Whole seconds keep the log readable and the trace exact across platforms.
        t += timedelta(seconds=round(rng.expovariate(1.0) * mean_hours * 3600))
        if t >= end:
            return out
        at = _business(t, scenario.calendar)
        if at >= end:
            return out
        gpus, days, lead = (_draw(rng, d) for d in (gen.gpus, gen.duration_days, gen.lead_days))
        rid = f"{gen.name}-{len(out) + 1:05d}"
        out.append((at, _requirement(gen, rid, scenario.buyer, at, gpus, days, lead)))


def _inference(scenario: Scenario, gen: Inference, seed: int) -> list[Arrival]:
    rng = private_rng(seed, f"inference:{gen.name}")
    start, end = _window(scenario, gen)
    out: list[Arrival] = []
    t = start + timedelta(hours=9)
    monthly = 1.0 + gen.growth_per_month
    while t < end:
        at = _business(t, scenario.calendar)
        if at >= end:
            break
        months = (t - start).total_seconds() / (30.44 * 86400)
        size = gen.first_gpus * monthly**months
        gpus = max(gen.min_chunk, math.floor(size / gen.min_chunk) * gen.min_chunk)
        lead = _draw(rng, gen.lead_days)
        rid = f"{gen.name}-{len(out) + 1:05d}"
        out.append((at, _requirement(gen, rid, scenario.buyer, at, gpus, gen.duration_days, lead)))
        t += timedelta(days=gen.every_days)
    return out


def demand_trace(scenario: Scenario, seed: int | None = None) -> list[Arrival]:
    """Every generated requirement with its arrival time, in time order (ties by id)."""
    s = scenario.seed if seed is None else seed
    arrivals: list[Arrival] = []
    for training in scenario.demand.training:
        arrivals.extend(_training(scenario, training, s))
    for inference in scenario.demand.inference:
        arrivals.extend(_inference(scenario, inference, s))
    arrivals.sort(key=lambda a: (a[0], a[1].id))
    return arrivals


def renewal_for(
    req: Requirement, ends_at: datetime, policy: Renewals, seed: int, horizon_end: datetime
) -> Arrival | None:
    """The renewal of ``req`` (fulfilled, its capacity ending at ``ends_at``), or None when the
    draw says it is not renewed or it would be asked after the horizon."""
    if policy.share <= 0 or private_rng(seed, f"renewal:{req.id}").random() >= policy.share:
        return None
    ask_at = ends_at - timedelta(days=policy.lead_days)
    if ask_at >= horizon_end:
        return None
    base, _, previous = req.id.partition("~r")
    generation = int(previous or 0) + 1
    renewal = Requirement(
        id=f"{base}~r{generation}",
        buyer=req.buyer,
        skus=req.skus,
        gpus=req.gpus,
        earliest_start=ends_at,
        latest_start=ends_at + timedelta(days=policy.start_window_days),
        duration_hours=req.duration_hours,
        max_unit_price=req.max_unit_price,
        regions=req.regions,
        workload_class=req.workload_class,
        product_surface=req.product_surface,
        kind=Kind.RENEWAL,
        customer_tags=req.customer_tags,
        min_chunk=req.min_chunk,
        max_providers=req.max_providers,
    )
    return ask_at, renewal
