"""The compliance report's field-by-field comparison of a rival deal with the notice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from rofr.audit import compliance_report
from rofr.contract import load_contract
from rofr.engine import events as ev
from rofr.sim.demo import example_path
from rofr.values import Basis, Placement, Requirement, parse_time

T = parse_time("2025-03-03T09:00Z")
REQ = Requirement("r1", "openai", ("H100",), 64, T + timedelta(days=7), T + timedelta(days=20),
                  240, Decimal("10"), ("eastus",))  # fmt: skip


def log(price: str, start_days: int, region: str, decided_days: int) -> list[ev.Event]:
    contract = load_contract(example_path("contract.yaml")).model_dump(mode="json")
    line = ev.OfferLine(64, Decimal("10"), "H100", "eastus", REQ.earliest_start)
    start = T + timedelta(days=start_days)
    placement = Placement("r1/p", "r1", "oracle", "H100", region, 64, Decimal(price), start,
                          start + REQ.duration, Basis.HOLDER_DECLINED)  # fmt: skip
    at = T + timedelta(days=decided_days)
    return [
        ev.ContractAdopted(at=parse_time("2025-01-22"), contract=contract, by="openai"),
        ev.RequirementSubmitted(at=T, requirement_id="r1", requirement=REQ,
                                version_id="2025-01-rofr"),
        ev.RequirementScreened(at=T, requirement_id="r1", version_id="2025-01-rofr",
                               eligible=("azure", "oracle"), excluded=(), first_refusal="rofr-new",
                               holder="azure", mode="first_look", basis=Basis.OUT_OF_SCOPE,
                               reason="first refusal rofr-new covers it"),
        ev.OfferSent(at=T, requirement_id="r1", offer_id="r1/offer-1", holder="azure",
                     clause_id="rofr-new", version_id="2025-01-rofr", mode="first_look", round=1,
                     gpus=64, lines=(line,), deadline=T + timedelta(days=7), min_increment=8,
                     all_or_none=False, content_hash="ab" * 32, reason="ask"),
        ev.OfferDeclined(at=T + timedelta(days=1), requirement_id="r1", offer_id="r1/offer-1",
                         holder="azure", deemed=False, reason="no capacity"),
        ev.DeadlineSet(at=T + timedelta(days=1), requirement_id="r1", timer_id="r1/pd",
                       due=T + timedelta(days=29), purpose="post_decline"),
        ev.ReservationRequested(at=at, requirement_id="r1", placement=placement, considered=(),
                                reason="market"),
        ev.PlacementMade(at=at, requirement_id="r1", placement=placement, clause_id="rofr-new",
                         version_id="2025-01-rofr", reason="confirmed"),
        ev.DeadlineCancelled(at=at, requirement_id="r1", timer_id="r1/pd"),
        ev.RequirementFulfilled(at=at, requirement_id="r1"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("price", "start_days", "region", "decided_days", "bad_fields", "in_window"),
    [
        pytest.param("9.5", 7, "eastus", 2, [], True, id="no-more-favourable"),
        pytest.param("10.5", 7, "eastus", 2, ["unit price"], True, id="dearer-than-shown"),
        # first_look shows the requirement's window (latest start T+20): inside it is fine
        pytest.param("9", 9, "eastus", 2, [], True, id="start-inside-the-window-shown"),
        pytest.param("9", 21, "eastus", 2, ["start"], True, id="start-after-the-window-shown"),
        pytest.param("9", 7, "westus", 2, ["region"], True, id="other-region"),
        pytest.param("9", 19, "eastus", 30, [], False, id="closed-after-window"),
    ],
)
def test_rival_deal_compared_field_by_field(  # type: ignore[no-untyped-def]
    price, start_days, region, decided_days, bad_fields, in_window
):
    report = compliance_report(log(price, start_days, region, decided_days))
    (r,) = report.requirements
    (deal,) = r.rival_deals
    assert [f.name for f in deal.fields if not f.ok] == bad_fields
    assert deal.closed_in_window is in_window
    assert r.notices[0].answer.startswith("declined") and r.notices[0].content_hash == "ab" * 32
    assert r.ok is (not bad_fields and in_window)
