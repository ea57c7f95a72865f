"""What a run's events say: per-requirement outcomes, placements, shares, holder answers, spend.

Everything is read from the events alone (the same log an auditor gets), never from the broker's
state, so a metric cannot disagree with the record. Money stays ``Decimal`` in the rows; the
summary figures are floats because they feed statistics and plots, rounded to cents.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from rofr.contract import Commitment, Contract
from rofr.engine import events as ev
from rofr.values import Placement, Requirement

__all__ = ["Outcome", "RunFacts", "burn_down", "daily_shares", "read_run", "summary"]

_DAY = timedelta(days=1)


@dataclass
class Outcome:
    """One requirement from submission to its final state."""

    requirement: Requirement
    submitted_at: datetime
    status: str = "open"
    final_at: datetime | None = None
    placed_gpus: int = 0
    unmet_gpus: int = 0
    cost: Decimal = Decimal(0)
    providers: Counter[str] = field(default_factory=Counter)

    @property
    def days_to_full(self) -> float | None:
        """Days from submission to full placement (None unless fulfilled)."""
        if self.status != "fulfilled" or self.final_at is None:
            return None
        return (self.final_at - self.submitted_at).total_seconds() / 86400

    @property
    def unmet_gpu_hours(self) -> int:
        """GPU-hours of the requirement that were never placed."""
        return self.unmet_gpus * self.requirement.duration_hours


@dataclass
class RunFacts:
    """The facts of a run, gathered in one pass over its events."""

    outcomes: dict[str, Outcome]
    placements: list[Placement]
    answers: Counter[str]  # accepted / partial / declined / expired, one per offer answered


def read_run(events: Sequence[ev.Event]) -> RunFacts:
    """One pass over the events."""
    outcomes: dict[str, Outcome] = {}
    placements: list[Placement] = []
    answers: Counter[str] = Counter()
    for e in events:
        if isinstance(e, ev.RequirementSubmitted):
            outcomes[e.requirement_id] = Outcome(e.requirement, e.at)
        elif isinstance(e, ev.PlacementMade):
            p = e.placement
            placements.append(p)
            o = outcomes[p.requirement_id]
            o.placed_gpus += p.gpus
            o.cost += p.cost
            o.providers[p.provider] += p.gpus
        elif isinstance(e, ev.OfferAccepted):
            answers["partial" if e.partial else "accepted"] += 1
        elif isinstance(e, ev.OfferDeclined):
            answers["expired" if e.deemed else "declined"] += 1
        elif isinstance(e, ev.RequirementFulfilled | ev.RequirementUnmet | ev.RequirementCancelled):
            o = outcomes[e.requirement_id]
            o.status = {"RequirementFulfilled": "fulfilled", "RequirementUnmet": "unmet"}.get(
                e.kind, "cancelled"
            )
            o.final_at = e.at
            if isinstance(e, ev.RequirementUnmet):
                o.unmet_gpus = e.gpus
    return RunFacts(outcomes, placements, answers)


def _gpu_hours(p: Placement) -> Decimal:
    return Decimal(p.gpus) * Decimal(int((p.end - p.start).total_seconds())) / Decimal(3600)


def daily_shares(
    placements: Sequence[Placement], start: date, end: date
) -> list[tuple[date, dict[str, int]]]:
    """GPUs in use per provider on each day of ``[start, end)`` (a placement counts on the days
    it overlaps). A difference array keeps it linear in placements plus days."""
    days = (end - start).days
    deltas: dict[str, list[int]] = defaultdict(lambda: [0] * (days + 1))
    for p in placements:
        a = max(0, (p.start.date() - start).days)
        b = min(
            days, (p.end.date() - start).days + (1 if p.end.time() != datetime.min.time() else 0)
        )
        if a < b:
            deltas[p.provider][a] += p.gpus
            deltas[p.provider][b] -= p.gpus
    out: list[tuple[date, dict[str, int]]] = []
    running = dict.fromkeys(sorted(deltas), 0)
    for i in range(days):
        for provider in running:
            running[provider] += deltas[provider][i]
        out.append((start + timedelta(days=i), dict(running)))
    return out


def burn_down(
    placements: Sequence[Placement], contract: Contract, start: date, end: date
) -> tuple[Commitment | None, list[tuple[date, Decimal]]]:
    """The version's first commitment and the cumulative spend accrued with its provider at the
    end of each day of ``[start, end)`` (spend accrues hour by hour over each placement)."""
    commitment = next(iter(contract.versions[0].of_type(Commitment)), None)
    provider = commitment.provider if commitment is not None else None
    days = (end - start).days
    per_day = [Decimal(0)] * (days + 1)
    for p in placements:
        if provider is not None and p.provider != provider:
            continue
        if provider is None and p.provider not in _holders(contract):
            continue
        hourly = p.unit_price * p.gpus
        t = p.start
        while t < p.end:
            day_end = datetime.combine(t.date() + _DAY, datetime.min.time(), t.tzinfo)
            upto = min(day_end, p.end)
            i = (t.date() - start).days
            if 0 <= i < days:
                per_day[i] += hourly * Decimal(int((upto - t).total_seconds())) / Decimal(3600)
            t = upto
    out: list[tuple[date, Decimal]] = []
    total = Decimal(0)
    for i in range(days):
        total += per_day[i]
        out.append((start + timedelta(days=i), total))
    return commitment, out


def _holders(contract: Contract) -> set[str]:
    # Without a commitment, burn-down follows the primary provider: the first party listed.
    return {contract.parties.providers[0].id}


def _quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(facts: RunFacts, contract: Contract, start: date, end: date) -> dict[str, float]:
    """The key figures of a run, by name (the keys of ``metrics.json`` and of sweeps)."""
    outs = list(facts.outcomes.values())
    waits = [d for o in outs if (d := o.days_to_full) is not None]
    statuses = Counter(o.status for o in outs)
    gpu_hours = sum((_gpu_hours(p) for p in facts.placements), Decimal(0))
    cost = sum((p.cost for p in facts.placements), Decimal(0))
    by_provider: Counter[str] = Counter()
    for p in facts.placements:
        by_provider[p.provider] += int(_gpu_hours(p))
    commitment, spend = burn_down(facts.placements, contract, start, end)
    metrics: dict[str, float] = {
        "requirements": float(len(outs)),
        "fulfilled": float(statuses["fulfilled"]),
        "unmet": float(statuses["unmet"]),
        "open": float(statuses["open"]),
        "days_to_full_mean": round(statistics.fmean(waits), 3) if waits else 0.0,
        "days_to_full_p50": round(_quantile(waits, 0.5), 3),
        "days_to_full_p90": round(_quantile(waits, 0.9), 3),
        "days_to_full_max": round(max(waits, default=0.0), 3),
        "unmet_gpu_hours": float(sum(o.unmet_gpu_hours for o in outs)),
        "placed_gpu_hours": float(round(gpu_hours)),
        "cost_usd": float(round(cost, 2)),
        "usd_per_gpu_hour": float(round(cost / gpu_hours, 4)) if gpu_hours else 0.0,
        **{
            f"offers_{k}": float(facts.answers[k])
            for k in ("accepted", "partial", "declined", "expired")
        },
    }
    total = sum(by_provider.values()) or 1
    for provider, hours in sorted(by_provider.items()):
        metrics[f"share_{provider}"] = round(hours / total, 4)
    if spend:
        metrics["spend_with_primary_usd"] = float(round(spend[-1][1], 2))
    if commitment is not None:
        for m in commitment.milestones:
            if m.by.date() < end:
                at = next((v for d, v in spend if d >= m.by.date()), spend[-1][1] if spend else 0)
                metrics[f"milestone_{m.by:%Y-%m-%d}_met"] = float(Decimal(at) >= m.amount)
    return metrics
