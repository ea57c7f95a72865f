"""First refusal, clause by clause and mode by mode: answers, partial rules, match, revival."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from engine_kit import HOLDER, T0, Run, quote, requirement, small_contract
from rofr.engine import Status
from rofr.engine import commands as cmd
from rofr.engine import events as ev


def offered(run: Run, gpus: int = 64) -> ev.OfferSent:
    run.do(cmd.SubmitRequirement(requirement(gpus=gpus)))
    offer: ev.OfferSent = run.last(ev.OfferSent)
    return offer


# answer (None = silence until the deadline), holder GPUs, basis of the rival placements
FIRST_LOOK = {
    "accept-all": (64, 64, None),
    "accept-part": (24, 24, "holder_partial"),
    "decline": (0, 0, "holder_declined"),
    "silence": (None, 0, "window_expired"),
}


@pytest.mark.parametrize(("answer", "holder_gpus", "basis"), FIRST_LOOK.values(), ids=FIRST_LOOK)
def test_first_look(answer: int | None, holder_gpus: int, basis: str | None) -> None:
    run = Run.under(small_contract())
    offer = offered(run)
    assert (offer.holder, offer.gpus, offer.lines[0].unit_price) == (HOLDER, 64, Decimal("12"))
    assert offer.deadline == T0 + timedelta(hours=24)
    if answer is None:
        run.fire("r1", "r1/offer-1")
        assert run.last(ev.OfferDeclined).deemed
    else:
        run.do(
            cmd.RespondToOffer(offer.offer_id, by=HOLDER, accept_gpus=answer),
            T0 + timedelta(hours=1),
        )
    rest = 64 - holder_gpus
    if rest:
        asked = run.last(ev.QuotesRequested)
        assert (asked.gpus, asked.purpose, HOLDER in asked.providers) == (rest, "market", False)
        run.quotes("r1", quote("q1", "oracle", 100, "8", run.now))
        run.confirm_all()
    expected = [(HOLDER, holder_gpus, "holder_accepted")] if holder_gpus else []
    expected += [("oracle", rest, basis)] if rest else []
    assert run.placements() == expected
    assert run.req().status is Status.FULFILLED
    run.assert_sound()


@pytest.mark.parametrize(
    ("partial", "increment", "accept", "code"),
    [
        ("all_or_none", 1, 32, "all_or_none"),
        ("any_portion", 8, 12, "below_increment"),
        ("any_portion", 8, 4, "below_increment"),
        ("any_portion", 8, 72, "too_many"),
    ],
    ids=["all-or-none-partial", "not-a-multiple", "below-increment", "more-than-offered"],
)
def test_partial_rules(partial: str, increment: int, accept: int, code: str) -> None:
    run = Run.under(small_contract(partial=partial, min_increment=increment))
    offer = offered(run)
    assert run.reject(cmd.RespondToOffer(offer.offer_id, by=HOLDER, accept_gpus=accept)) == code
    run.do(cmd.RespondToOffer(offer.offer_id, by=HOLDER, accept_gpus=64))
    assert run.req().status is Status.FULFILLED


def test_a_multiple_of_the_increment_is_accepted() -> None:
    run = Run.under(small_contract(min_increment=8))
    offer = offered(run)
    run.do(cmd.RespondToOffer(offer.offer_id, by=HOLDER, accept_gpus=16))
    assert run.last(ev.OfferAccepted).partial and run.req().remaining == 48


def match_run(quotes_valid_hours: int = 72) -> tuple[Run, ev.OfferSent]:
    run = Run.under(small_contract(mode="match"))
    run.do(cmd.SubmitRequirement(requirement()))
    asked = run.last(ev.QuotesRequested)
    assert (asked.purpose, asked.providers) == ("match", ("coreweave", "oracle"))
    valid = {"valid_until": T0 + timedelta(hours=quotes_valid_hours)}
    run.quotes(
        "r1",
        quote("q-or", "oracle", 40, "8", **valid),
        quote("q-cw", "coreweave", 40, "7", **valid),
        quote("q-or2", "oracle", 100, "11", **valid),
    )
    return run, run.last(ev.OfferSent)


def test_match_offers_exactly_the_best_plan() -> None:
    _, offer = match_run()
    lines = [(x.provider, x.gpus, x.unit_price, x.quote_id) for x in offer.lines]
    assert lines == [("coreweave", 40, Decimal(7), "q-cw"), ("oracle", 24, Decimal(8), "q-or")]
    assert offer.mode == "match" and offer.gpus == 64


def test_match_decline_rivals_win_the_shown_terms() -> None:
    run, offer = match_run()
    run.do(cmd.RespondToOffer(offer.offer_id, by=HOLDER, accept_gpus=0), T0 + timedelta(hours=2))
    assert not any(isinstance(e, ev.QuotesRequested) for e in run.log[-4:])
    run.confirm_all()
    assert sorted(run.placements()) == [
        ("coreweave", 40, "holder_declined"),
        ("oracle", 24, "holder_declined"),
    ]
    assert {p.unit_price for p in run.req().placed} == {Decimal(7), Decimal(8)}
    run.assert_sound()


def test_match_holder_matches_part() -> None:
    run, offer = match_run()
    run.do(
        cmd.RespondToOffer(offer.offer_id, by=HOLDER, accept_gpus=40, unit_price=Decimal(7)),
        T0 + timedelta(hours=2),
    )
    run.confirm_all()
    assert run.placements() == [
        (HOLDER, 40, "holder_accepted"),
        ("coreweave", 24, "holder_partial"),
    ]
    run.assert_sound()


def test_match_price_above_the_rival_terms_is_rejected() -> None:
    run, offer = match_run()
    command = cmd.RespondToOffer(offer.offer_id, by=HOLDER, accept_gpus=64, unit_price=Decimal(9))
    assert run.reject(command) == "does_not_match"


def test_match_improved_rival_terms_revive_the_right() -> None:
    run, offer = match_run(quotes_valid_hours=1)
    run.do(cmd.RespondToOffer(offer.offer_id, by=HOLDER, accept_gpus=0), T0 + timedelta(hours=2))
    assert run.last(ev.QuotesRequested).purpose == "market"  # the shown quotes went stale
    run.quotes("r1", quote("q-new", "coreweave", 64, "6", run.now))
    revived = run.last(ev.RightRevived)
    assert "rival terms changed" in revived.reason
    again = run.last(ev.OfferSent)
    assert again.round == 2 and [(x.provider, x.gpus, x.unit_price) for x in again.lines] == [
        ("coreweave", 64, Decimal(6))
    ]
    assert run.req().pending == ()
    run.assert_sound()


def test_post_decline_window_revives_when_the_rival_deal_does_not_close() -> None:
    run = Run.under(small_contract(post_decline_hours=48))
    offer = offered(run)
    run.do(cmd.RespondToOffer(offer.offer_id, by=HOLDER, accept_gpus=0), T0 + timedelta(hours=1))
    run.quotes("r1", quote("q1", "oracle", 30, "8", run.now))  # 30 reserved, 34 short
    run.confirm_all()
    run.fire("r1", "r1/post-decline-1")
    assert "did not close" in run.last(ev.RightRevived).reason
    again = run.last(ev.OfferSent)
    assert (again.round, again.gpus, run.req().status) == (2, 34, Status.OFFERED)
    run.assert_sound()


def test_post_decline_window_closed_in_time_does_not_revive() -> None:
    run = Run.under(small_contract(post_decline_hours=48))
    offer = offered(run)
    run.do(cmd.RespondToOffer(offer.offer_id, by=HOLDER, accept_gpus=0), T0 + timedelta(hours=1))
    run.quotes("r1", quote("q1", "oracle", 64, "8", run.now))
    run.confirm_all()
    assert run.req().status is Status.FULFILLED
    assert not any(isinstance(e, ev.RightRevived) for e in run.log)
    run.assert_sound()
