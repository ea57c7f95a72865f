"""Commitments: counting rules, committed vs consumed, projections, milestones, what-if, credit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger_kit import book, placed
from rofr.ledger import commitment_credit, commitment_status, commitments_of, what_if
from rofr.values import Basis, Kind, parse_time

D = Decimal

# (placement, as-of time, committed, consumed)
CASES = [
    pytest.param(
        placed("a", "2025-01-10", "2025-01-20"), "2025-01-15", D(240), D(120), id="counts-half-run"
    ),
    pytest.param(
        placed("a", "2025-01-10", "2025-01-20", provider="p2"), "2025-02-01", D(0), D(0),
        id="other-provider",
    ),
    pytest.param(
        placed("a", "2025-01-10", "2025-01-20", kind=Kind.RENEWAL), "2025-02-01", D(0), D(0),
        id="out-of-scope-kind",
    ),
    pytest.param(
        placed("a", "2025-01-10", "2025-01-20", basis=Basis.OUT_OF_SCOPE), "2025-02-01", D(0),
        D(0), id="basis-not-counted",
    ),
    pytest.param(
        placed("a", "2025-01-10", "2025-01-20", decided="2024-12-20"), "2025-02-01", D(0), D(0),
        id="decided-before-start",
    ),
    pytest.param(
        placed("a", "2025-12-30", "2026-01-03", decided="2025-12-01"), "2026-02-01", D(24),
        D(24), id="clipped-at-end",
    ),
    pytest.param(
        placed("a", "2025-01-10", "2025-01-20", gpus=8, price="2.5"), "2025-01-12", D(4800),
        D(960), id="gpus-times-price",
    ),
    pytest.param(
        placed("a", "2025-01-10", "2025-01-20", decided="2025-01-20"), "2025-01-15", D(0), D(0),
        id="not-yet-decided",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("rec", "at", "committed", "consumed"), CASES)
def test_counting_rules_and_balances(rec, at, committed, consumed):  # type: ignore[no-untyped-def]
    b = book(rec)
    (terms,) = commitments_of(b)
    s = commitment_status(b, terms, parse_time(at))
    assert (s.committed, s.consumed) == (committed, consumed)
    assert s.remaining == D(10000) - consumed


def test_projections_run_rate_planned_and_milestone():
    b = book(placed("a", "2025-01-01", "2025-01-31"))  # 720 GPU-hours at 1 USD
    (terms,) = commitments_of(b)
    s = commitment_status(b, terms, parse_time("2025-01-31"), window_days=30)
    assert s.consumed == D(720)
    assert s.run_rate_per_day == D(24)
    assert s.projected_run_rate == D(720 + 24 * 334)  # to 2025-12-31
    assert s.projected_planned == D(720)
    assert (s.shortfall_run_rate, s.shortfall_planned) == (D(10000 - 8736), D(9280))
    (m,) = s.milestones
    assert m.met is None and m.projected_planned == D(720) and m.shortfall_planned == 0
    later = commitment_status(b, terms, parse_time("2025-03-02"))
    assert later.milestones[0].met is True


def test_missed_milestone():
    b = book(placed("a", "2025-01-01", "2025-01-02"))  # 24 USD < 100 by 2025-03-01
    (terms,) = commitments_of(b)
    (m,) = commitment_status(b, terms, parse_time("2025-04-01")).milestones
    assert m.met is False and m.consumed == D(24)


def test_what_if_and_commitment_credit():
    b = book(placed("a", "2025-01-01", "2025-01-31"))
    (terms,) = commitments_of(b)
    at = parse_time("2025-01-31")
    cand = placed("c", "2025-02-01", "2025-02-11")
    w = what_if(b, terms, cand.placement, cand.requirement, at)
    assert w.counts and w.shortfall_reduction == D(240)
    rival = placed("d", "2025-02-01", "2025-02-11", provider="p2")
    w2 = what_if(b, terms, rival.placement, rival.requirement, at)
    assert not w2.counts and "p2" in w2.reason and w2.shortfall_reduction == 0
    status = commitment_status(b, terms, at)
    assert commitment_credit([status], D(9280)) == {"p1": D("1.0000")}
    assert commitment_credit([status], D(9280), cap=D("0.5")) == {"p1": D("0.5000")}
    done = commitment_status(b, terms, parse_time("2026-01-01"))
    assert commitment_credit([done], D(1)) == {}  # ended: no credit
