"""Shortfall and retry, closing as unmet, cancellation, and every wrong command rejected."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from engine_kit import BUYER, HOLDER, T0, Run, quote, requirement, small_contract
from rofr.engine import Status
from rofr.engine import commands as cmd
from rofr.engine import events as ev


def test_shortfall_is_retried_then_closed_as_unmet_at_the_latest_start() -> None:
    run = Run.under(small_contract(first_refusal=False))
    run.do(cmd.SubmitRequirement(requirement(latest_start=T0 + timedelta(days=3))))
    run.quotes("r1", quote("q1", "oracle", 20, "8"))
    run.confirm_all()
    short = run.last(ev.ShortfallRecorded)
    assert (short.gpus, short.retry_at) == (44, T0 + timedelta(hours=24))
    run.fire("r1", next(t.timer_id for t in run.req().timers if t.purpose == "retry"))
    assert run.last(ev.QuotesRequested).gpus == 44
    run.quotes("r1")  # nobody has capacity
    assert run.req().status is Status.SHORTFALL
    run.fire("r1", "r1/close")
    unmet = run.last(ev.RequirementUnmet)
    assert (unmet.gpus, run.req().status, run.req().timers) == (44, Status.UNMET, ())
    assert run.placements() == [("oracle", 20, "out_of_scope")]  # what was bought stands
    run.assert_sound()


def test_cancellation_withdraws_the_offer_and_stops_the_timers() -> None:
    run = Run.under(small_contract())
    run.do(cmd.SubmitRequirement(requirement()))
    assert run.reject(cmd.CancelRequirement("r1", by=HOLDER)) == "forbidden"
    n = len(run.log)
    run.do(cmd.CancelRequirement("r1", by=BUYER))
    assert run.kinds(n) == [
        "OfferWithdrawn",
        "DeadlineCancelled",
        "DeadlineCancelled",
        "RequirementCancelled",
    ]
    assert run.reject(cmd.RespondToOffer("r1/offer-1", by=HOLDER, accept_gpus=64)) == (
        "requirement_closed"
    )
    assert run.reject(cmd.FireDeadline("r1", "r1/close"), T0 + timedelta(days=30)) == (
        "timer_not_pending"
    )
    run.assert_sound()


def _offered(run: Run) -> None:
    run.do(cmd.SubmitRequirement(requirement()))


def _declined(run: Run) -> None:
    _offered(run)
    run.do(cmd.RespondToOffer("r1/offer-1", by=HOLDER, accept_gpus=0))


def _fired(run: Run) -> None:
    _offered(run)
    run.fire("r1", "r1/offer-1")


Setup = Callable[[Run], None]
ANSWER = cmd.RespondToOffer("r1/offer-1", by=HOLDER, accept_gpus=64)

# setup, command, hours after T0 (None: the run's clock), stable code
WRONG: dict[str, tuple[Setup, cmd.Command, int | None, str]] = {
    "response-after-deadline": (_offered, ANSWER, 24, "after_deadline"),
    "duplicate-response": (_declined, ANSWER, None, "offer_closed"),
    "non-holder-answers": (
        _offered,
        cmd.RespondToOffer("r1/offer-1", by="oracle", accept_gpus=64),
        None,
        "not_holder",
    ),
    "unknown-offer": (
        _offered,
        cmd.RespondToOffer("r1/offer-9", by=HOLDER, accept_gpus=1),
        None,
        "unknown_offer",
    ),
    "timer-fired-twice": (_fired, cmd.FireDeadline("r1", "r1/offer-1"), None, "timer_not_pending"),
    "timer-not-due": (_offered, cmd.FireDeadline("r1", "r1/offer-1"), 23, "timer_not_due"),
    "quotes-for-a-round-not-awaited": (
        _offered,
        cmd.RecordQuotes("r1", 1, ()),
        None,
        "quotes_not_requested",
    ),
    "quotes-for-the-wrong-round": (
        _declined,
        cmd.RecordQuotes("r1", 2, ()),
        None,
        "quotes_not_requested",
    ),
    "confirm-unknown-reservation": (
        _declined,
        cmd.ConfirmReservation("r1", "r1/p-nope"),
        None,
        "unknown_reservation",
    ),
    "refuse-unknown-reservation": (
        _declined,
        cmd.RefuseReservation("r1", "r1/p-nope", "no"),
        None,
        "unknown_reservation",
    ),
    "unknown-requirement": (
        _offered,
        cmd.CancelRequirement("r9", by=BUYER),
        None,
        "unknown_requirement",
    ),
    "duplicate-requirement": (
        _offered,
        cmd.SubmitRequirement(requirement()),
        None,
        "duplicate_requirement",
    ),
    "not-the-buyer": (
        _offered,
        cmd.SubmitRequirement(requirement("r2", buyer="oracle")),
        None,
        "not_buyer",
    ),
    "latest-start-passed": (
        _offered,
        cmd.SubmitRequirement(requirement("r2")),
        24 * 11,
        "too_late",
    ),
    "contract-adopted-twice": (
        _offered,
        cmd.AdoptContract(small_contract(), by=BUYER),
        None,
        "contract_exists",
    ),
    "undeclared-trigger": (_offered, cmd.DeclareTrigger("agi", by=BUYER), None, "unknown_trigger"),
    "unknown-waiver": (_offered, cmd.RevokeWaiver("w9", by=HOLDER), None, "unknown_waiver"),
    "waiver-of-unknown-clause": (
        _offered,
        cmd.GrantWaiver({"id": "w1", "clause": "nope", "granted_by": HOLDER}, by=HOLDER),
        None,
        "unknown_clause",
    ),
}


@pytest.mark.parametrize(("setup", "command", "hours", "code"), WRONG.values(), ids=WRONG)
def test_wrong_commands_are_rejected_without_events(
    setup: Setup, command: cmd.Command, hours: int | None, code: str
) -> None:
    run = Run.under(small_contract())
    setup(run)
    at = T0 + timedelta(hours=hours) if hours is not None else None
    assert run.reject(command, at) == code
    run.assert_sound()


def test_commands_before_a_contract_are_rejected() -> None:
    run = Run()
    assert run.reject(cmd.SubmitRequirement(requirement())) == "no_contract"
    assert run.reject(cmd.AdoptContract({"name": "x"}, by=BUYER)) == "invalid_contract"
