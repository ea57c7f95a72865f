"""Helpers shared by the engine tests: a small contract builder and a run that keeps the log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from rofr.engine import Rejected, State, check_invariants, replay, step
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.values import Kind, Quote, Requirement

T0 = datetime(2025, 3, 3, 9, tzinfo=UTC)  # a Monday
BUYER = "lab"
HOLDER = "azure"
RIVALS = ("oracle", "coreweave")


def small_contract(
    *,
    mode: str = "first_look",
    partial: str = "any_portion",
    min_increment: int = 1,
    window_hours: int = 24,
    post_decline_hours: int | None = None,
    exclusivity: bool = False,
    trigger_quorum: int | None = None,
    first_refusal: bool = True,
) -> dict[str, Any]:
    """A one-version contract (JSON form) between ``lab`` and three providers."""
    clauses: list[dict[str, Any]] = []
    if trigger_quorum is not None:
        trig: dict[str, Any] = {
            "id": "agi",
            "type": "trigger",
            "name": "agi",
            "declared_by": [BUYER],
        }
        if trigger_quorum:
            trig |= {"confirm_by": ["panel-1", "panel-2", "panel-3"], "quorum": trigger_quorum}
        clauses.append(trig)
    if first_refusal:
        fr: dict[str, Any] = {
            "id": "fr",
            "type": "first_refusal",
            "holder": HOLDER,
            "mode": mode,
            "window": {"hours": window_hours},
            "partial": partial,
            "min_increment": min_increment,
            "scope": {"kinds": ["new"]},
        }
        if post_decline_hours is not None:
            fr["post_decline_window"] = {"hours": post_decline_hours}
        if trigger_quorum is not None:
            fr["ends_on"] = ["agi"]
        clauses.append(fr)
    if exclusivity:
        excl: dict[str, Any] = {
            "id": "excl",
            "type": "exclusivity",
            "provider": HOLDER,
            "scope": {"product_surfaces": ["api"]},
            "carve_outs": [{"customer_tags": ["national_security"]}],
        }
        if trigger_quorum is not None:
            excl["ends_on"] = ["agi"]
        clauses.append(excl)
    return {
        "name": "test",
        "parties": {
            "buyer": {"id": BUYER},
            "providers": [{"id": HOLDER}, *({"id": r} for r in RIVALS)],
            "others": [{"id": "panel-1"}, {"id": "panel-2"}, {"id": "panel-3"}],
        },
        "versions": [{"id": "v1", "effective_from": "2025-01-01T00:00:00Z", "clauses": clauses}],
    }


def requirement(rid: str = "r1", gpus: int = 64, at: datetime = T0, **kw: Any) -> Requirement:
    """A requirement starting within days of ``at``."""
    base: dict[str, Any] = {
        "id": rid,
        "buyer": BUYER,
        "skus": ("H100",),
        "gpus": gpus,
        "earliest_start": at + timedelta(days=2),
        "latest_start": at + timedelta(days=10),
        "duration_hours": 100,
        "max_unit_price": Decimal("12"),
        "regions": ("us",),
        "kind": Kind.NEW,
    }
    return Requirement(**(base | kw))


def quote(qid: str, provider: str, gpus: int, price: str, at: datetime = T0, **kw: Any) -> Quote:
    """A quote valid for three days from ``at``."""
    base: dict[str, Any] = {
        "id": qid,
        "provider": provider,
        "sku": "H100",
        "region": "us",
        "gpus": gpus,
        "unit_price": Decimal(price),
        "earliest_start": at,
        "valid_until": at + timedelta(days=3),
    }
    return Quote(**(base | kw))


@dataclass
class Run:
    """A live run: the state, the clock and the log, with the invariants checked on demand."""

    state: State = field(default_factory=State)
    now: datetime = T0
    log: list[ev.Event] = field(default_factory=list)

    @classmethod
    def under(cls, contract: dict[str, Any], now: datetime = T0) -> Run:
        run = cls(now=now)
        run.do(cmd.AdoptContract(contract, by=BUYER))
        return run

    def do(self, command: cmd.Command, at: datetime | None = None) -> list[ev.Event]:
        """Step the command at ``at`` (default: the run's clock, which moves to ``at``)."""
        if at is not None:
            self.now = at
        events, self.state = step(self.state, command, self.now)
        self.log.extend(events)
        return events

    def reject(self, command: cmd.Command, at: datetime | None = None) -> str:
        """Assert the command is rejected with no events and no change; return its code."""
        before, n = self.state, len(self.log)
        with pytest.raises(Rejected) as info:
            self.do(command, at)
        assert self.state is before and len(self.log) == n
        return info.value.code

    def req(self, rid: str = "r1") -> Any:
        return self.state.requirements[rid]

    def last(self, kind: type[ev.Event], rid: str | None = None) -> Any:
        """The latest event of a type (for one requirement, if given)."""
        for e in reversed(self.log):
            if isinstance(e, kind) and (rid is None or getattr(e, "requirement_id", None) == rid):
                return e
        raise AssertionError(f"no {kind.__name__} in the log")

    def kinds(self, since: int = 0) -> list[str]:
        return [e.kind for e in self.log[since:]]

    def placements(self, rid: str = "r1") -> list[tuple[str, int, str]]:
        return [(p.provider, p.gpus, p.basis.value) for p in self.req(rid).placed]

    def confirm_all(self, rid: str = "r1") -> None:
        for p in self.req(rid).pending:
            self.do(cmd.ConfirmReservation(rid, p.id))

    def quotes(self, rid: str, *quotes: Quote) -> list[ev.Event]:
        return self.do(cmd.RecordQuotes(rid, self.req(rid).quote_round, tuple(quotes)))

    def fire(self, rid: str, timer_id: str) -> list[ev.Event]:
        timer = self.req(rid).timer(timer_id)
        assert timer is not None, f"timer {timer_id} not pending"
        return self.do(cmd.FireDeadline(rid, timer_id), max(self.now, timer.due))

    def assert_sound(self) -> None:
        """Invariants hold and the log replays to the live state."""
        assert check_invariants(self.log) == []
        assert replay(self.log) == self.state
