"""The invariant checker finds each kind of broken log (a checker that never fails proves nothing)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from engine_kit import BUYER, HOLDER, T0, Run, quote, requirement, small_contract
from rofr.engine import check_invariants, final_states_complete
from rofr.engine import commands as cmd
from rofr.engine import events as ev

Log = list[ev.Event]


def declined_log(**contract: object) -> Log:
    run = Run.under(small_contract(**contract))  # type: ignore[arg-type]
    run.do(cmd.SubmitRequirement(requirement()))
    run.do(cmd.RespondToOffer("r1/offer-1", by=HOLDER, accept_gpus=0), T0 + timedelta(hours=1))
    run.quotes("r1", quote("q1", "oracle", 64, "8", run.now))
    run.confirm_all()
    assert check_invariants(run.log) == [] and final_states_complete(run.log) == []
    return run.log


def silent_log() -> Log:
    run = Run.under(small_contract())
    run.do(cmd.SubmitRequirement(requirement()))
    run.fire("r1", "r1/offer-1")
    assert check_invariants(run.log) == []
    return run.log


def match_log() -> Log:
    run = Run.under(small_contract(mode="match"))
    run.do(cmd.SubmitRequirement(requirement()))
    run.quotes("r1", quote("q1", "oracle", 64, "8"))
    run.do(cmd.RespondToOffer("r1/offer-1", by=HOLDER, accept_gpus=0), T0 + timedelta(hours=1))
    run.confirm_all()
    assert check_invariants(run.log) == []
    return run.log


def without(kind: type[ev.Event]) -> Callable[[Log], Log]:
    return lambda log: [e for e in log if not isinstance(e, kind)]


def edit(kind: type[ev.Event], **changes: object) -> Callable[[Log], Log]:
    return lambda log: [replace(e, **changes) if isinstance(e, kind) else e for e in log]


def edit_placement(kind: type[ev.Event], **changes: object) -> Callable[[Log], Log]:
    def apply(log: Log) -> Log:
        return [
            replace(e, placement=replace(e.placement, **changes))  # type: ignore[attr-defined]
            if isinstance(e, kind)
            else e
            for e in log
        ]

    return apply


def twice(kind: type[ev.Event]) -> Callable[[Log], Log]:
    def apply(log: Log) -> Log:
        i = next(i for i, e in enumerate(log) if isinstance(e, kind))
        return [*log[: i + 1], log[i], *log[i + 1 :]]

    return apply


def after_final(log: Log) -> Log:
    return [
        *log,
        ev.ShortfallRecorded(at=log[-1].at, requirement_id="r1", gpus=1, cause="x", retry_at=None),
    ]


def trigger_then_offer(log: Log) -> Log:
    # The trigger takes effect before the requirement is even submitted; the offer breaks 6.
    declared = ev.TriggerDeclared(at=T0, name="agi", by=BUYER, effective_at=T0, version_id="v1")
    took = ev.TriggerTookEffect(at=T0, name="agi", effective_at=T0, ends=("fr",))
    return [log[0], declared, took, *log[1:]]


def exclusive_api(log: Log) -> Log:
    # The same decisions under a contract that makes API workloads exclusive to the holder.
    out: Log = []
    for e in log:
        if isinstance(e, ev.ContractAdopted):
            e = replace(e, contract=small_contract(exclusivity=True))
        elif isinstance(e, ev.RequirementSubmitted):
            e = replace(e, requirement=replace(e.requirement, product_surface="api"))
        out.append(e)
    return out


def withdrawn_not_declined(log: Log) -> Log:
    return [
        ev.OfferWithdrawn(at=e.at, requirement_id="r1", offer_id=e.offer_id, reason="x")
        if isinstance(e, ev.OfferDeclined)
        else e
        for e in log
    ]


def early_deadline(log: Log) -> Log:
    return [
        replace(e, due=e.due + timedelta(hours=1))
        if isinstance(e, ev.DeadlineSet) and e.purpose == "offer"
        else e
        for e in log
    ]


# log builder, tampering -> the invariant that must be reported
TAMPERED: dict[str, tuple[Callable[[], Log], Callable[[Log], Log], int]] = {
    "rival-while-offer-open": (declined_log, without(ev.OfferDeclined), 1),
    "rival-without-decline": (declined_log, withdrawn_not_declined, 1),
    "match-terms-not-shown": (
        match_log,
        edit_placement(ev.ReservationRequested, unit_price=Decimal(9)),
        2,
    ),
    "exclusive-to-azure": (declined_log, exclusive_api, 3),
    "placed-twice": (declined_log, twice(ev.PlacementMade), 4),
    "more-than-the-quote": (
        declined_log,
        edit(ev.QuotesRecorded, quotes=(quote("q1", "oracle", 10, "8"),)),
        4,
    ),
    "timer-reached-twice": (silent_log, twice(ev.DeadlineReached), 5),
    "deadline-cancelled-twice": (declined_log, twice(ev.DeadlineCancelled), 5),
    "event-after-final": (declined_log, after_final, 5),
    "timer-before-due": (silent_log, early_deadline, 5),
    "offer-after-trigger": (lambda: declined_log(trigger_quorum=0), trigger_then_offer, 6),
}


@pytest.mark.parametrize(("build", "tamper", "invariant"), TAMPERED.values(), ids=TAMPERED)
def test_tampered_logs_are_caught(
    build: Callable[[], Log], tamper: Callable[[Log], Log], invariant: int
) -> None:
    found = check_invariants(tamper(build()))
    assert invariant in {v.invariant for v in found}, found
    assert all(v.message for v in found)


def test_an_open_log_is_not_complete() -> None:
    run = Run.under(small_contract())
    run.do(cmd.SubmitRequirement(requirement()))
    assert check_invariants(run.log) == []
    assert [v.requirement_id for v in final_states_complete(run.log)] == ["r1"]


def test_an_unreplayable_log_is_reported() -> None:
    log = declined_log()
    found = check_invariants([log[1], *log])  # an event before the contract
    assert found and found[-1].invariant == 5


def test_a_log_that_does_not_fold_is_reported_where_it_breaks() -> None:
    # Revoking a waiver never granted cannot be folded: the checker says so and stops there.
    log = declined_log()
    bad = ev.WaiverRevoked(at=log[1].at, waiver_id="w-none", by=HOLDER)
    found = check_invariants([*log[:2], bad, *log[2:]])
    assert [(v.invariant, v.message.split(":")[0]) for v in found] == [
        (5, "the log does not replay at WaiverRevoked")
    ]
