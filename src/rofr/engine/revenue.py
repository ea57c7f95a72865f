"""Revenue reports: the one command that records figures for the ledger rather than decisions.

A revenue-share payer reports its revenue per period; the ledger (``rofr.ledger.revenue``)
computes the share owed from these reports and the contract. The checks here keep the record
unambiguous: a period is ``YYYY-Qn`` or ``YYYY-MM``, reported once (later reports are explicit
corrections), and never overlapping a period of the other granularity already reported.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from rofr.contract import RevenueShare
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.engine.flow import Out

__all__ = ["parse_period", "report_revenue"]

_PERIOD = re.compile(r"^(\d{4})-(?:Q([1-4])|(0[1-9]|1[0-2]))$")


def parse_period(period: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a ``YYYY-Qn`` or ``YYYY-MM`` period in UTC; ValueError otherwise."""
    m = _PERIOD.match(period)
    if m is None:
        raise ValueError(f"period {period!r} is not YYYY-Qn (e.g. 2025-Q1) or YYYY-MM")
    year = int(m.group(1))
    if m.group(2) is not None:
        first, months = (int(m.group(2)) - 1) * 3 + 1, 3
    else:
        first, months = int(m.group(3)), 1
    start = datetime(year, first, 1, tzinfo=UTC)
    last = first + months
    end = datetime(year + (last > 12), (last - 1) % 12 + 1, 1, tzinfo=UTC)
    return start, end


def report_revenue(out: Out, c: cmd.ReportRevenue) -> None:
    """Record a payer's revenue for a period, after checking who reports and what."""
    contract = out.state.contract
    if contract is None:
        raise cmd.Rejected("no_contract", "no contract adopted yet")
    payers = {
        cl.payer for v in contract.versions for cl in v.clauses if isinstance(cl, RevenueShare)
    }
    if c.by not in payers:
        who = ", ".join(sorted(payers)) or "nobody"
        raise cmd.Rejected("forbidden", f"{c.by!r} pays no revenue share (payers: {who})", "by")
    try:
        start, end = parse_period(c.period)
    except ValueError as exc:
        raise cmd.Rejected("invalid_period", str(exc), "period") from None
    if c.amount < 0:
        raise cmd.Rejected("negative_amount", "revenue must not be negative", "amount")
    if start > out.now:
        raise cmd.Rejected(
            "future_period", f"period {c.period} has not begun at {out.now:%Y-%m-%d}", "period"
        )
    mine = [r for r in out.state.revenue if r.by == c.by]
    same = [r for r in mine if r.period == c.period]
    if same and not c.correction:
        raise cmd.Rejected(
            "duplicate_period",
            f"{c.period} was reported already ({same[-1].amount}); pass --correction to replace it",
            "period",
        )
    if c.correction and not same:
        raise cmd.Rejected(
            "nothing_to_correct", f"no earlier report of {c.period} to correct", "period"
        )
    for r in mine:
        if r.period == c.period:
            continue
        other_start, other_end = parse_period(r.period)
        if other_start < end and start < other_end:
            raise cmd.Rejected(
                "overlapping_period",
                f"{c.period} overlaps {r.period}, reported already; report at one granularity",
                "period",
            )
    out.emit(
        ev.RevenueReported(
            at=out.now, period=c.period, amount=c.amount, by=c.by, correction=c.correction
        )
    )
