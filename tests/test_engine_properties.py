"""Invariants 1-6 over random contracts, requirements and command sequences.

A small random "world" drives the engine: the holder answers (all, part, decline, silence,
sometimes late, twice, or by the wrong party), providers quote (random prices and capacities,
sometimes improving after a decline) and confirm or refuse reservations, triggers and
amendments land inside open windows, and the clock advances with due timers fired (sometimes
twice). Every command goes through ``step``; a rejected one must leave the state untouched.

``check_invariants`` checks each event against what came before it, so a violation in any
prefix of the log is also reported for the whole log: checking the final log once is the same
as checking at every point, and much cheaper.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_kit import BUYER, HOLDER, RIVALS, T0, requirement, small_contract
from rofr.engine import (
    Rejected,
    check_invariants,
    decode_event,
    encode_event,
    final_states_complete,
    replay,
    step,
)
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.engine.invariants import _Checker
from rofr.engine.state import State
from rofr.values import Kind, Quote

PROVIDERS = (HOLDER, *RIVALS)


@st.composite
def contracts(draw: st.DrawFn) -> dict[str, Any]:
    return small_contract(
        mode=draw(st.sampled_from(["first_look", "match"])),
        partial=draw(st.sampled_from(["any_portion", "all_or_none"])),
        min_increment=draw(st.sampled_from([1, 8])),
        window_hours=draw(st.integers(6, 72)),
        post_decline_hours=draw(st.none() | st.integers(6, 72)),
        exclusivity=draw(st.booleans()),
        trigger_quorum=draw(st.none() | st.sampled_from([0, 2])),
    )


class World:
    """The live run plus the random parties around it."""

    def __init__(self, data: st.DataObject, contract: dict[str, Any]) -> None:
        self.data = data
        self.contract = contract
        self.state = State()
        self.now = T0
        self.log: list[ev.Event] = []
        self.n = 0  # counter for fresh ids
        self.apply(cmd.AdoptContract(contract, by=BUYER))

    def draw(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self.data.draw(strategy)

    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def apply(self, command: cmd.Command) -> bool:
        before = self.state
        try:
            events, self.state = step(self.state, command, self.now)
        except Rejected as exc:
            assert exc.code and str(exc)
            assert self.state is before
            return False
        self.log.extend(events)
        # Each stream's version is the number of its events so far (the store's check on
        # append); a requirement's is derived from its record, the others are counted.
        for stream in {e.stream for e in events}:
            assert self.state.stream_version(stream) == sum(e.stream == stream for e in self.log)
        return True

    def open_reqs(self) -> list[Any]:
        return [rs for rs in self.state.requirements.values() if not rs.final]

    # --- actions ------------------------------------------------------------------------

    def submit(self) -> None:
        gpus = self.draw(st.sampled_from([8, 16, 24, 40, 64, 100]))
        latest = timedelta(days=self.draw(st.integers(2, 12)))
        extra = self.draw(
            st.sampled_from(
                [
                    {},
                    {"product_surface": "api"},
                    {"product_surface": "api", "customer_tags": ("national_security",)},
                    {"kind": Kind.RENEWAL},
                ]
            )
        )
        req = requirement(
            self.fresh("r"),
            gpus,
            self.now,
            earliest_start=self.now + timedelta(days=1),
            latest_start=self.now + latest,
            max_unit_price=self.draw(st.sampled_from([None, Decimal("12")])),
            **extra,
        )
        self.apply(cmd.SubmitRequirement(req))

    def respond(self) -> None:
        offers = [rs.offer for rs in self.open_reqs() if rs.offer is not None]
        if not offers:
            return
        offer = self.draw(st.sampled_from(offers))
        gpus = self.draw(
            st.sampled_from(
                [0, offer.gpus, offer.min_increment, offer.gpus // 2, 3, offer.gpus + 8]
            )
        )
        by = self.draw(st.sampled_from([offer.holder, offer.holder, RIVALS[0]]))
        if self.draw(st.integers(0, 5)) == 0:
            self.now = max(self.now, offer.deadline)  # too late
        prices = [line.unit_price for line in offer.lines if line.unit_price is not None]
        price = self.draw(st.sampled_from([None, *prices[:2], Decimal("5")]))
        command = cmd.RespondToOffer(offer.offer_id, by=by, accept_gpus=gpus, unit_price=price)
        self.apply(command)
        if self.draw(st.booleans()):
            assert not self.apply(command)  # a duplicate answer is always rejected

    def quote_round(self, rs: Any, *, wrong_round: bool = False) -> None:
        asked = next(
            e
            for e in reversed(self.log)
            if isinstance(e, ev.QuotesRequested) and e.requirement_id == rs.requirement.id
        )
        n = self.draw(st.integers(0, 3))
        quotes = tuple(
            Quote(
                id=self.fresh("q"),
                provider=self.draw(st.sampled_from(asked.providers or PROVIDERS)),
                sku=self.draw(st.sampled_from(["H100", "H100", "A100"])),
                region="us",
                gpus=self.draw(st.integers(0, 80)),
                unit_price=Decimal(self.draw(st.integers(8, 28))) / 2,
                earliest_start=self.now,
                valid_until=self.now + timedelta(hours=self.draw(st.integers(1, 96))),
            )
            for _ in range(n)
        )
        rnd = rs.quote_round + (1 if wrong_round else 0)
        ok = self.apply(cmd.RecordQuotes(rs.requirement.id, rnd, quotes))
        assert ok != wrong_round

    def quotes(self) -> None:
        waiting = [rs for rs in self.open_reqs() if rs.quote_purpose is not None]
        if waiting:
            self.quote_round(
                self.draw(st.sampled_from(waiting)), wrong_round=self.draw(st.booleans())
            )

    def reservation(self) -> None:
        pending = [(rs, p) for rs in self.open_reqs() for p in rs.pending]
        if not pending:
            self.apply(cmd.ConfirmReservation("r1", "nope"))
            return
        rs, p = self.draw(st.sampled_from(pending))
        if self.draw(st.integers(0, 3)) == 0:
            self.apply(cmd.RefuseReservation(rs.requirement.id, p.id, "capacity gone"))
        else:
            self.apply(cmd.ConfirmReservation(rs.requirement.id, p.id))

    def tick(self) -> None:
        self.now += timedelta(hours=self.draw(st.integers(0, 60)))
        self.fire_due(twice=self.draw(st.booleans()))

    def fire_due(self, *, twice: bool = False) -> None:
        due = sorted(
            (t.due, rs.requirement.id, t.timer_id)
            for rs in self.state.requirements.values()
            for t in rs.timers
            if t.due <= self.now
        )
        for _, rid, timer_id in due:
            if self.state.requirements[rid].timer(timer_id) is None:
                continue  # an earlier firing in this batch cancelled it
            assert self.apply(cmd.FireDeadline(rid, timer_id))
            if twice:
                assert not self.apply(cmd.FireDeadline(rid, timer_id))

    def govern(self) -> None:
        choice = self.draw(st.integers(0, 5))
        if choice == 0:
            when = self.draw(st.sampled_from([None, -5, 0, 5]))
            effective = None if when is None else self.now + timedelta(hours=when)
            by = self.draw(st.sampled_from([BUYER, BUYER, HOLDER]))
            self.apply(cmd.DeclareTrigger("agi", by=by, effective_at=effective))
        elif choice == 1:
            self.apply(
                cmd.ConfirmTrigger(
                    "agi", by=self.draw(st.sampled_from(["panel-1", "panel-2", HOLDER]))
                )
            )
        elif choice == 2:
            waiver: dict[str, Any] = {"id": self.fresh("w"), "clause": "fr", "granted_by": HOLDER}
            if self.draw(st.booleans()):
                waiver["provider"] = RIVALS[0]
            self.apply(cmd.GrantWaiver(waiver, by=HOLDER))
        elif choice == 3 and self.state.waivers:
            self.apply(
                cmd.RevokeWaiver(self.draw(st.sampled_from(sorted(self.state.waivers))), by=HOLDER)
            )
        elif choice == 4:
            self.amend()
        else:
            rs = self.open_reqs()
            if rs:
                self.apply(
                    cmd.CancelRequirement(self.draw(st.sampled_from(rs)).requirement.id, by=BUYER)
                )

    def amend(self) -> None:
        new = self.draw(contracts())["versions"][0]
        new = new | {"id": self.fresh("v"), "effective_from": self.now.isoformat()}
        self.apply(cmd.AmendContract(new, by=BUYER))

    # --- the end of the run ----------------------------------------------------------------

    def drain(self) -> None:
        """Answer everything and advance the clock until every requirement is final."""
        for _ in range(500):
            open_ = self.open_reqs()
            if not open_:
                return
            rs = open_[0]
            if rs.quote_purpose is not None:
                self.quote_round(rs)
            elif rs.pending:
                self.reservation()
            else:
                timers = [t.due for r in open_ for t in r.timers]
                assert timers, f"{rs.requirement.id} is open with nothing pending"
                self.now = max(self.now, min(timers))
                self.fire_due()
        raise AssertionError("the run did not finish")


ACTIONS = ["submit", "respond", "quotes", "reservation", "tick", "govern"]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), contract=contracts())
def test_random_runs_keep_the_invariants(data: st.DataObject, contract: dict[str, Any]) -> None:
    world = World(data, contract)
    world.submit()
    for _ in range(data.draw(st.integers(5, 40))):
        getattr(world, data.draw(st.sampled_from(ACTIONS)))()
    assert check_invariants(world.log) == []
    world.drain()
    assert check_invariants(world.log) == []
    assert final_states_complete(world.log) == []
    assert replay(world.log) == world.state
    decoded = [decode_event(*encode_event(e)) for e in world.log]
    assert decoded == world.log
    assert replay(decoded) == world.state
    assert world.state.stream_version("req:never-submitted") == 0
    # The checker folds only the events that are not about one requirement (it tracks those
    # itself): the contract, waivers and triggers it judges by must still be the full fold's.
    checker = _Checker()
    assert all(checker.see(e) for e in world.log)
    kept = (checker.state.contract, checker.state.waivers, checker.state.triggers)
    assert kept == (world.state.contract, world.state.waivers, world.state.triggers)
