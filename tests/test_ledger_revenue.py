"""Revenue share: reports through the engine, share per period, cap, trigger end, proration."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger_kit import book, run
from rofr.engine import Rejected
from rofr.engine import commands as cmd
from rofr.ledger import statement

D = Decimal


def report(period: str, amount: str, correction: bool = False) -> tuple[str, cmd.Command]:
    return "2026-03-01", cmd.ReportRevenue(period, D(amount), "b", correction)


def test_cap_and_trigger_end_with_proration():
    state = run(
        report("2025-Q1", "100"),
        report("2025-Q2", "100"),
        ("2025-08-16", cmd.DeclareTrigger("t", "b")),
        ("2025-08-20", cmd.ConfirmTrigger("t", "panel")),  # effective from the declaration
        report("2025-Q3", "200"),
        report("2025-Q4", "100"),
    )
    st = statement(book(state=state), "p1")
    got = [(ln.period, ln.share, ln.owed, ln.cumulative) for ln in st.lines]
    # Q3: 46 of 92 days before 2025-08-16 -> 0.1 x 200 x 0.5 = 10, but the cap leaves 5.
    assert got == [
        ("2025-Q1", D(10), D(10), D(10)),
        ("2025-Q2", D(10), D(10), D(20)),
        ("2025-Q3", D(10), D(5), D(25)),
        ("2025-Q4", D(0), D(0), D(25)),
    ]
    assert st.lines[2].in_force == D("0.5") and "trigger" in st.lines[2].note
    assert "cap" in st.lines[2].note
    assert st.total_owed == D(25) and st.total_revenue == D(500)


def test_correction_replaces_the_period():
    state = run(report("2025-Q1", "100"), report("2025-Q1", "300", True), report("2025-Q2", "50"))
    lines = statement(book(state=state), "p1").lines
    assert [(ln.revenue, ln.owed) for ln in lines] == [(D(300), D(25)), (D(50), D(0))]
    assert lines[0].corrected


def test_no_clause_for_other_payee():
    state = run(report("2025-01", "100"))
    (ln,) = statement(book(state=state), "p2").lines
    assert ln.owed == 0 and ln.clause_id is None


@pytest.mark.parametrize(
    ("commands", "code"),
    [
        pytest.param([report("2025-Q5", "1")], "invalid_period", id="bad-quarter"),
        pytest.param([report("2025-13", "1")], "invalid_period", id="bad-month"),
        pytest.param([report("25-Q1", "1")], "invalid_period", id="short-year"),
        pytest.param([report("2025-Q1", "-1")], "negative_amount", id="negative"),
        pytest.param([report("2025-Q1", "1"), report("2025-Q1", "2")], "duplicate_period", id="dup"),
        pytest.param([report("2025-Q1", "1"), report("2025-02", "2")], "overlapping_period",
                     id="overlap"),
        pytest.param([report("2025-Q1", "1", True)], "nothing_to_correct", id="correct-nothing"),
        pytest.param([report("2026-Q2", "1")], "future_period", id="future"),
        pytest.param([("2026-03-01", cmd.ReportRevenue("2025-Q1", D(1), "p1"))], "forbidden",
                     id="not-a-payer"),
    ],
)  # fmt: skip
def test_engine_refuses_bad_reports(commands, code):  # type: ignore[no-untyped-def]
    with pytest.raises(Rejected) as err:
        run(*commands)
    assert err.value.code == code
