"""Spend commitments: what counts, what is spent, and whether the amount will be reached.

Which placements count (the counting rules of a ``Commitment`` clause): the placement's
provider is the committed provider; its requirement is in the clause's scope (and not carved
out); its basis is in ``counts_bases`` when that list is given; and it was *decided* within the
commitment's period ``[start, end)``, cut short by any trigger that ends the clause.

When spend counts. Two figures are kept, because finance asks both questions:

* **committed**: at the decision, the whole cost of the placement that falls inside the
  commitment period (price x GPUs x hours) is locked in;
* **consumed**: the same cost accrued hour by hour as the capacity runs. A commitment is *met*
  by consumed spend (the provider bills usage), so milestones and shortfalls use consumption.

Projections at ``at`` (only placements decided by ``at`` are known):

* **run-rate**: consumed spend at ``at`` plus the accrual per day over the last ``window_days``
  days, extrapolated to the end (or a milestone date);
* **planned**: what the placements already made will have consumed by the end, with no new one.

Which definition of a clause: the latest version that defines the clause id (an amendment that
repeats a commitment supersedes it). A commitment is identified by its clause id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from rofr.contract import Commitment
from rofr.engine.rules import clause_end
from rofr.ledger.book import Book, PlacedRecord, accrued, hours_between
from rofr.values import Placement, Requirement

__all__ = [
    "BurnPoint",
    "CommitmentStatus",
    "CommitmentTerms",
    "MilestoneStatus",
    "WhatIf",
    "burn_down",
    "commitment_credit",
    "commitment_status",
    "commitments_of",
    "what_if",
    "why_not_counted",
]

_DAY = Decimal(24)
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class CommitmentTerms:
    """A commitment clause as it governs: its latest definition and its effective end."""

    clause: Commitment
    version_id: str
    ends_at: datetime  # the clause's end, or the earlier effective time of a trigger ending it

    @property
    def id(self) -> str:
        return self.clause.id


@dataclass(frozen=True, slots=True)
class MilestoneStatus:
    """A milestone: spend ``amount`` consumed by ``by``. ``met`` is None while not yet due."""

    by: datetime
    amount: Decimal
    consumed: Decimal  # by min(at, by)
    projected_planned: Decimal
    projected_run_rate: Decimal
    met: bool | None

    @property
    def shortfall_planned(self) -> Decimal:
        return max(Decimal(0), self.amount - self.projected_planned)

    @property
    def shortfall_run_rate(self) -> Decimal:
        return max(Decimal(0), self.amount - self.projected_run_rate)


@dataclass(frozen=True, slots=True)
class CommitmentStatus:
    """Where one commitment stands at ``at``. Money in USD, rounded to cents."""

    clause_id: str
    version_id: str
    provider: str
    amount: Decimal
    start: datetime
    end: datetime
    at: datetime
    committed: Decimal
    consumed: Decimal
    run_rate_per_day: Decimal
    projected_run_rate: Decimal
    projected_planned: Decimal
    milestones: tuple[MilestoneStatus, ...]
    counted: tuple[str, ...]  # placement ids

    @property
    def remaining(self) -> Decimal:
        return max(Decimal(0), self.amount - self.consumed)

    @property
    def shortfall_run_rate(self) -> Decimal:
        return max(Decimal(0), self.amount - self.projected_run_rate)

    @property
    def shortfall_planned(self) -> Decimal:
        return max(Decimal(0), self.amount - self.projected_planned)


@dataclass(frozen=True, slots=True)
class BurnPoint:
    """One day of the burn-down: ``planned`` is true past ``at`` (placements made so far)."""

    at: datetime
    committed: Decimal
    consumed: Decimal
    remaining: Decimal
    planned: bool


@dataclass(frozen=True, slots=True)
class WhatIf:
    """How a candidate placement would change a commitment's projection."""

    counts: bool
    reason: str
    before: CommitmentStatus
    after: CommitmentStatus

    @property
    def shortfall_reduction(self) -> Decimal:
        """By how much the planned shortfall falls (0 if the candidate does not count)."""
        return self.before.shortfall_planned - self.after.shortfall_planned


def commitments_of(book: Book) -> tuple[CommitmentTerms, ...]:
    """Every commitment clause of the contract, by id, in its latest definition."""
    contract = book.state.contract
    if contract is None:
        return ()
    latest: dict[str, CommitmentTerms] = {}
    for version in contract.versions:
        for clause in version.of_type(Commitment):
            trig = clause_end(book.state, clause)
            ends = min(clause.end, trig) if trig is not None else clause.end
            latest[clause.id] = CommitmentTerms(clause, version.id, ends)
    return tuple(latest.values())


def why_not_counted(terms: CommitmentTerms, rec: PlacedRecord) -> str | None:
    """None when ``rec`` counts towards the commitment, else the rule it fails."""
    c, p = terms.clause, rec.placement
    if p.provider != c.provider:
        return f"provider {p.provider} is not {c.provider}"
    if not c.covers(rec.requirement):
        return f"requirement {rec.requirement.id} is outside the scope of {c.id}"
    if c.counts_bases and p.basis not in c.counts_bases:
        return f"basis {p.basis.value} does not count towards {c.id}"
    if not c.start <= rec.decided_at < terms.ends_at:
        return f"decided {rec.decided_at:%Y-%m-%d}, outside {c.start:%Y-%m-%d}..{terms.ends_at:%Y-%m-%d}"
    return None


def _counted(book: Book, terms: CommitmentTerms, at: datetime) -> list[PlacedRecord]:
    return [r for r in book.placements if r.decided_at <= at and why_not_counted(terms, r) is None]


def _consumed(recs: list[PlacedRecord], terms: CommitmentTerms, until: datetime) -> Decimal:
    until = min(until, terms.ends_at)
    return sum((accrued(r.placement, terms.clause.start, until) for r in recs), Decimal(0))


def _cents(x: Decimal) -> Decimal:
    return x.quantize(_CENT)


def commitment_status(
    book: Book, terms: CommitmentTerms, at: datetime, *, window_days: int = 30
) -> CommitmentStatus:
    """The commitment at ``at``: committed, consumed, run rate, projections and milestones."""
    recs = _counted(book, terms, at)
    now = min(at, terms.ends_at)
    consumed = _consumed(recs, terms, now)
    since = max(terms.clause.start, now - timedelta(days=window_days))
    span_days = hours_between(since, now) / _DAY
    rate = (consumed - _consumed(recs, terms, since)) / span_days if span_days > 0 else Decimal(0)

    def run_rate_by(when: datetime) -> Decimal:
        when = min(when, terms.ends_at)
        return consumed + rate * hours_between(now, when) / _DAY

    milestones = tuple(
        MilestoneStatus(
            by=m.by,
            amount=m.amount,
            consumed=_cents(_consumed(recs, terms, min(at, m.by))),
            projected_planned=_cents(_consumed(recs, terms, m.by)),
            projected_run_rate=_cents(
                run_rate_by(m.by) if at < m.by else _consumed(recs, terms, m.by)
            ),
            met=(_consumed(recs, terms, m.by) >= m.amount) if at >= m.by else None,
        )
        for m in sorted(terms.clause.milestones, key=lambda m: m.by)
    )
    return CommitmentStatus(
        clause_id=terms.id,
        version_id=terms.version_id,
        provider=terms.clause.provider,
        amount=terms.clause.amount,
        start=terms.clause.start,
        end=terms.ends_at,
        at=at,
        committed=_cents(_consumed(recs, terms, terms.ends_at)),
        consumed=_cents(consumed),
        run_rate_per_day=_cents(rate),
        projected_run_rate=_cents(run_rate_by(terms.ends_at)),
        projected_planned=_cents(_consumed(recs, terms, terms.ends_at)),
        milestones=milestones,
        counted=tuple(r.placement.id for r in recs),
    )


def burn_down(
    book: Book, terms: CommitmentTerms, at: datetime, *, until: datetime | None = None
) -> tuple[BurnPoint, ...]:
    """Daily points from the commitment's start to ``until`` (default: its end), at most ~400
    (the step widens for long commitments). Past ``at`` the points show the planned placements."""
    start, stop = terms.clause.start, until or terms.ends_at
    step = max(timedelta(days=1), (stop - start) / 400)
    out: list[BurnPoint] = []
    t = start
    while True:
        known = _counted(book, terms, min(t, at))
        consumed = _consumed(known, terms, t)
        committed = _consumed(known, terms, terms.ends_at)
        out.append(
            BurnPoint(
                t,
                _cents(committed),
                _cents(consumed),
                _cents(terms.clause.amount - consumed),
                t > at,
            )
        )
        if t >= stop:
            break
        t = min(t + step, stop)
    return tuple(out)


def what_if(
    book: Book,
    terms: CommitmentTerms,
    candidate: Placement,
    requirement: Requirement,
    at: datetime,
) -> WhatIf:
    """The commitment at ``at`` without and with ``candidate`` (decided at ``at``)."""
    rec = PlacedRecord(candidate, requirement, at, "what-if")
    before = commitment_status(book, terms, at)
    why = why_not_counted(terms, rec)
    if why is not None:
        return WhatIf(False, why, before, before)
    after = commitment_status(replace(book, placements=(*book.placements, rec)), terms, at)
    added = after.projected_planned - before.projected_planned
    return WhatIf(True, f"adds {added:,.2f} USD within the commitment period", before, after)


def commitment_credit(
    statuses: list[CommitmentStatus] | tuple[CommitmentStatus, ...],
    expected_gpu_hours: Decimal,
    *,
    cap: Decimal | None = None,
) -> dict[str, Decimal]:
    """A per-provider credit (USD per GPU-hour) for ``rofr.optimize.place_batch``.

    Take-or-pay: a shortfall at the end is paid anyway, so a dollar spent with the committed
    provider before then saves a dollar of shortfall. Spreading each running commitment's
    planned shortfall over the GPU-hours the buyer expects to buy before its end gives the
    amount by which that provider's price is effectively lower. ``cap`` bounds the credit.
    """
    if expected_gpu_hours <= 0:
        raise ValueError("expected_gpu_hours must be positive")
    credit: dict[str, Decimal] = {}
    for s in statuses:
        if s.at >= s.end or s.shortfall_planned <= 0:
            continue
        credit[s.provider] = (
            credit.get(s.provider, Decimal(0)) + s.shortfall_planned / expected_gpu_hours
        )
    return {
        p: (min(v, cap) if cap is not None else v).quantize(Decimal("0.0001"))
        for p, v in credit.items()
    }
