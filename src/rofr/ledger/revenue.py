"""Revenue share: the share owed per reported period, the cap, and the end at term or trigger.

Rules (each is a choice the contract text leaves open; they are written down here):

* The clause that governs a period is the ``revenue_share`` clause of the payer and payee in
  the contract version in force at the period's *start*; its rate and cap apply to the whole
  period. No clause there: nothing is owed for that period.
* The latest report of a period counts (a correction replaces the earlier figure).
* The share ends at the clause's ``end`` or at the effective time of a trigger in its
  ``ends_on``, whichever comes first. A period that straddles the end is prorated by days:
  ``owed = rate x revenue x (days before the end / days in the period)``, counting the end's
  day as a fraction when the trigger takes effect mid-day (seconds, not calendar days).
  Likewise a clause ``start`` inside a period prorates it from the start.
* The cap is on the cumulative share under a clause id (over every period, in period order):
  once reached, later periods owe nothing; the period that crosses it owes the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from rofr.contract import RevenueShare
from rofr.engine import events as ev
from rofr.engine.revenue import parse_period
from rofr.engine.rules import clause_end
from rofr.ledger.book import Book

__all__ = ["RevenueLine", "Statement", "latest_reports", "statement"]

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class RevenueLine:
    """One period of a statement."""

    period: str
    start: datetime
    end: datetime
    revenue: Decimal
    clause_id: str | None
    version_id: str | None
    rate: Decimal
    in_force: Decimal  # fraction of the period the share ran (1 unless prorated)
    share: Decimal  # rate x revenue x in_force
    owed: Decimal  # after the cap
    cumulative: Decimal  # owed under this clause up to and including this period
    note: str
    corrected: bool = False


@dataclass(frozen=True, slots=True)
class Statement:
    """What ``payer`` owes ``payee``, period by period."""

    payer: str
    payee: str
    lines: tuple[RevenueLine, ...]

    @property
    def total_revenue(self) -> Decimal:
        return sum((ln.revenue for ln in self.lines), Decimal(0))

    @property
    def total_owed(self) -> Decimal:
        return sum((ln.owed for ln in self.lines), Decimal(0))


def latest_reports(
    reports: Sequence[ev.RevenueReported], payer: str
) -> dict[str, ev.RevenueReported]:
    """The report that counts for each period of ``payer`` (the last one, corrections win)."""
    out: dict[str, ev.RevenueReported] = {}
    for r in reports:
        if r.by == payer:
            out[r.period] = r
    return out


def _fraction(start: datetime, end: datetime, lo: datetime | None, hi: datetime | None) -> Decimal:
    """Share of ``[start, end)`` that lies inside ``[lo, hi)``, by seconds."""
    a = max(start, lo) if lo is not None else start
    b = min(end, hi) if hi is not None else end
    if b <= a:
        return Decimal(0)
    return Decimal(int((b - a).total_seconds())) / Decimal(int((end - start).total_seconds()))


def statement(book: Book, payee: str, payer: str | None = None) -> Statement:
    """The statement of what ``payer`` (default: the buyer) owes ``payee``."""
    contract = book.state.contract
    if contract is None:
        raise ValueError("the log has no contract")
    payer = payer or contract.parties.buyer.id
    reports = latest_reports(book.state.revenue, payer)
    periods = sorted(reports, key=lambda p: parse_period(p)[0])
    cumulative: dict[str, Decimal] = {}
    lines: list[RevenueLine] = []
    for period in periods:
        report = reports[period]
        start, end = parse_period(period)
        version = contract.version_at(start)
        clause = None
        if version is not None:
            clause = next(
                (c for c in version.of_type(RevenueShare) if c.payer == payer and c.payee == payee),
                None,
            )
        if clause is None or version is None:
            lines.append(
                RevenueLine(
                    period, start, end, report.amount, None, None, Decimal(0), Decimal(0),
                    Decimal(0), Decimal(0), Decimal(0),
                    f"no revenue share from {payer} to {payee} in force on {start:%Y-%m-%d}",
                    report.correction,
                )
            )  # fmt: skip
            continue
        trig = clause_end(book.state, clause)
        ends = [t for t in (clause.end, trig) if t is not None]
        hi = min(ends) if ends else None
        fraction = _fraction(start, end, clause.start, hi)
        share = (clause.rate * report.amount * fraction).quantize(_CENT)
        before = cumulative.get(clause.id, Decimal(0))
        owed = share
        notes: list[str] = []
        if fraction < 1:
            why = (
                f"trigger effective {trig:%Y-%m-%d %H:%M}Z"
                if trig is not None and hi == trig
                else f"term end {hi:%Y-%m-%d}"
                if hi is not None and hi < end
                else f"clause start {clause.start:%Y-%m-%d}"
            )
            notes.append(f"prorated {fraction:.4f} of the period ({why})")
        if clause.cap is not None and before + share > clause.cap:
            owed = max(Decimal(0), clause.cap - before)
            notes.append(f"cap {clause.cap:,.0f} reached")
        cumulative[clause.id] = before + owed
        lines.append(
            RevenueLine(
                period, start, end, report.amount, clause.id, version.id, clause.rate,
                fraction, share, owed, before + owed, "; ".join(notes), report.correction,
            )
        )  # fmt: skip
    return Statement(payer, payee, tuple(lines))
