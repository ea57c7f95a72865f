"""What the pages show, computed from views the API already filtered for the viewer.

Nothing here decides who may see what: callers pass the output of :mod:`rofr.api.views`
(``visible_offers``, ``visible_placements``, ``requirement_view``...), so a page can never show
more than the API would to the same key. These functions only shape it: timelines in words,
offer outcomes, chart series and the commitment burn-down.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from rofr.api.auth import Principal, Role
from rofr.api.models import EventRow, PlacementView
from rofr.engine import State
from rofr.ledger import Book, burn_down, commitment_status, commitments_of
from rofr.ledger.commitments import CommitmentStatus
from rofr.web.charts import Marker, Series, by_label, line_chart

__all__ = [
    "BurnDown",
    "Step",
    "burn_downs",
    "offer_outcome",
    "provider_charts",
    "sees_commitments",
    "timeline",
]


@dataclass(frozen=True, slots=True)
class Step:
    """One event of a requirement's timeline, in words."""

    at: str
    kind: str
    what: str
    reason: str
    position: int


def _money(x: Any) -> str:
    return f"${Decimal(str(x)):,.2f}"


def _when(x: Any) -> str:
    return str(x).replace("T", " ")[:16] + " UTC" if x else ""


def _what(kind: str, d: dict[str, Any]) -> str:
    """A one-line account of an event, in the contract's words."""
    match kind:
        case "RequirementSubmitted":
            r = d.get("requirement", {})
            return f"submitted: {r.get('gpus')} GPUs, judged under version {d.get('version_id')}"
        case "RequirementScreened":
            fr = d.get("first_refusal")
            ask = f"first refusal {fr} (holder {d.get('holder')}, {d.get('mode')})" if fr else ""
            return f"screened under {d.get('version_id')}: eligible {', '.join(d.get('eligible', []))}; {ask or 'no first refusal applies'}"
        case "OfferSent":
            return f"offer {d.get('offer_id')} to {d.get('holder')}: {d.get('gpus')} GPUs under {d.get('clause_id')} ({d.get('version_id')}), answer by {_when(d.get('deadline'))}"
        case "OfferAccepted":
            part = " (part)" if d.get("partial") else ""
            return f"{d.get('holder')} accepted {d.get('gpus')} GPUs{part} at {_money(d.get('unit_price'))}/GPU-h, {d.get('sku')} in {d.get('region')}"
        case "OfferDeclined":
            how = "deemed declined: the window expired" if d.get("deemed") else "declined"
            return f"{d.get('holder')} {how} ({d.get('offer_id')})"
        case "PlacementMade":
            p = d.get("placement", {})
            return f"placed {p.get('gpus')} GPUs with {p.get('provider')} at {_money(p.get('unit_price'))}/GPU-h, basis {p.get('basis')}, clause {d.get('clause_id') or '-'} ({d.get('version_id')})"
        case "QuotesRequested":
            return f"quotes asked ({d.get('purpose')}) from {', '.join(d.get('providers', []))} for {d.get('gpus')} GPUs"
        case "QuotesRecorded":
            return f"{len(d.get('quotes', []))} quote(s) recorded, {len(d.get('failures', []))} provider(s) failed"
        case "ReservationRequested":
            p = d.get("placement", {})
            return f"reserving {p.get('gpus')} GPUs with {p.get('provider')}"
        case "ShortfallRecorded":
            return f"shortfall of {d.get('gpus')} GPUs, retry at {_when(d.get('retry_at'))}"
        case "DeadlineSet":
            return f"deadline {d.get('purpose')} at {_when(d.get('due'))}"
        case "DeadlineReached":
            return f"deadline {d.get('purpose')} reached"
        case "RequirementUnmet":
            return f"unmet: {d.get('gpus')} GPUs never placed"
        case _:
            return kind


def timeline(rows: Iterable[EventRow]) -> list[Step]:
    """The requirement's events as a readable timeline, each with the reason recorded."""
    steps = []
    for r in rows:
        d = r.data
        reason = str(d.get("reason") or d.get("cause") or "")
        failures = "; ".join(f"{f['provider']}: {f['reason']}" for f in d.get("failures", []))
        steps.append(
            Step(
                at=_when(d.get("at") or r.recorded_at.isoformat()),
                kind=r.type,
                what=_what(r.type, d),
                reason="; ".join(x for x in (reason, failures) if x),
                position=r.position,
            )
        )
    return steps


def offer_outcome(rows: Iterable[EventRow], offer_id: str) -> str:
    """How an offer ended: accepted (how much), declined, deemed declined, withdrawn, or open."""
    for r in rows:
        if r.data.get("offer_id") != offer_id:
            continue
        if r.type == "OfferAccepted":
            part = "part: " if r.data.get("partial") else ""
            return f"accepted ({part}{r.data.get('gpus')} GPUs)"
        if r.type == "OfferDeclined":
            if r.data.get("deemed"):
                return "deemed declined (deadline passed)"
            return f"declined: {r.data.get('reason') or 'no reason given'}"
        if r.type == "OfferWithdrawn":
            return f"withdrawn: {r.data.get('reason')}"
    return "open"


def provider_charts(placements: Sequence[PlacementView]) -> tuple[Markup, Markup]:
    """GPUs running and cumulative spend per provider over time (from visible placements)."""
    changes: dict[str, list[tuple[datetime, int, Decimal]]] = defaultdict(list)
    for p in placements:
        rate = p.unit_price * p.gpus / Decimal(3600)  # USD per second while it runs
        changes[p.provider] += [(p.start, p.gpus, rate), (p.end, -p.gpus, -rate)]
    gpus: dict[str, list[tuple[datetime, float]]] = {}
    spend: dict[str, list[tuple[datetime, float]]] = {}
    times = sorted({t for cs in changes.values() for t, _, _ in cs})
    for provider, cs in changes.items():
        level, rate, total, last = 0, Decimal(0), Decimal(0), None
        g: list[tuple[datetime, float]] = [(times[0], 0.0)]  # from zero, not from the first level
        s: list[tuple[datetime, float]] = []
        for t in times:  # every provider gets every change time, so lines share an axis
            if last is not None:
                total += rate * Decimal((t - last).total_seconds())
            for when, dg, dr in cs:
                if when == t:
                    level, rate = level + dg, rate + dr
            g.append((t, float(level)))
            s.append((t, float(total)))
            last = t
        gpus[provider], spend[provider] = g, s
    return (
        line_chart(by_label(gpus, step=True), title="GPUs running per provider", y_label="GPUs"),
        line_chart(
            by_label(spend, step=False), title="Spend per provider (accrued)", y_label="USD"
        ),
    )


def sees_commitments(who: Principal, state: State) -> bool:
    """The contract's buyer, auditors and admins see its commitments (a rival never does)."""
    if who.sees_all:
        return True
    buyer = state.contract.parties.buyer.id if state.contract is not None else None
    return who.role == Role.BUYER and who.party == buyer


@dataclass(frozen=True, slots=True)
class BurnDown:
    """One commitment: its status figures and its burn-down chart."""

    status: CommitmentStatus
    chart: Markup


def burn_downs(book: Book, now: datetime) -> list[BurnDown]:
    """Commitments running at ``now`` (else all), each with its burn-down and milestones."""
    terms = commitments_of(book)
    running = [t for t in terms if t.clause.start <= now < t.ends_at] or list(terms)
    out = []
    for t in running:
        points = burn_down(book, t, now)
        status = commitment_status(book, t, now)
        remaining = Series(
            "remaining to spend",
            [(p.at, float(p.remaining)) for p in points],
            dashed_after=now,
        )
        markers = [
            Marker(
                m.by, float(t.clause.amount - m.amount), f"spend {m.amount:,} by {m.by:%Y-%m-%d}"
            )
            for m in t.clause.milestones
        ]
        chart = line_chart(
            [remaining], title=f"Burn-down of {t.id} ({t.clause.provider})", y_label="USD",
            markers=markers,
        )  # fmt: skip
        out.append(BurnDown(status, chart))
    return out
