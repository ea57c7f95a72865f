"""Exclusivity, waivers, triggers and amendments: what changes which clauses apply, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine_kit import BUYER, HOLDER, T0, Run, quote, requirement, small_contract
from rofr.contract import load_contract
from rofr.engine import Status
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.values import Kind

EXAMPLE = load_contract(Path(__file__).parents[1] / "src/rofr/examples/contract.yaml")


def example_run(at: datetime) -> Run:
    run = Run(now=at)
    run.do(cmd.AdoptContract(EXAMPLE.model_dump(mode="json"), by="openai"))
    return run


# when, requirement fields -> providers eligible at screening, basis
SCREENING = {
    "2025-api-only-azure": (
        "2025-03-03",
        {"product_surface": "api", "kind": Kind.RENEWAL},
        ("azure",),
        "exclusive",
    ),
    "2025-training-any": (
        "2025-03-03",
        {"kind": Kind.RENEWAL},
        ("aws", "azure", "coreweave", "oracle"),
        "out_of_scope",
    ),
    "2025-10-api-only-azure": ("2025-11-03", {"product_surface": "api"}, ("azure",), "exclusive"),
    "2025-10-national-security-any": (
        "2025-11-03",
        {"product_surface": "api", "customer_tags": ("national_security",)},
        ("aws", "azure", "coreweave", "oracle"),
        "out_of_scope",
    ),
    "2024-waiver-oracle-training": ("2024-09-02", {}, ("azure", "oracle"), "out_of_scope"),
    "2024-inference-only-azure": (
        "2024-09-02",
        {"workload_class": "inference"},
        ("azure",),
        "exclusive",
    ),
    "2023-only-azure": ("2023-06-05", {}, ("azure",), "exclusive"),
}


@pytest.mark.parametrize(("day", "fields", "eligible", "basis"), SCREENING.values(), ids=SCREENING)
def test_exclusivity_and_standing_waivers(
    day: str, fields: dict[str, Any], eligible: tuple[str, ...], basis: str
) -> None:
    at = datetime.fromisoformat(day).replace(hour=17, tzinfo=UTC)
    run = example_run(at)
    run.do(cmd.SubmitRequirement(requirement(at=at, buyer="openai", **fields)))
    screened = run.last(ev.RequirementScreened)
    assert (screened.eligible, screened.basis.value, screened.first_refusal) == (
        eligible,
        basis,
        None,
    )
    assert set(run.last(ev.QuotesRequested).providers) == set(eligible)
    excluded = {x.provider for x in screened.excluded}
    assert excluded == {"aws", "azure", "coreweave", "oracle"} - set(eligible)
    run.assert_sound()


def test_example_2025_new_capacity_goes_to_azure_first() -> None:
    run = example_run(datetime(2025, 2, 10, 17, tzinfo=UTC))
    run.do(cmd.SubmitRequirement(requirement(at=run.now, buyer="openai")))
    offer = run.last(ev.OfferSent)
    assert (offer.holder, offer.clause_id, offer.version_id) == (
        "azure",
        "rofr-new",
        "2025-01-rofr",
    )
    assert offer.deadline == datetime(2025, 2, 18, 17, tzinfo=UTC)  # 5 business days, a holiday


def test_run_time_waiver_for_one_requirement_skips_the_offer() -> None:
    run = Run.under(small_contract())
    waiver = {"id": "w1", "clause": "fr", "granted_by": HOLDER, "requirement_id": "r1"}
    assert (
        run.reject(cmd.GrantWaiver(waiver | {"granted_by": "oracle"}, by="oracle")) == "forbidden"
    )
    run.do(cmd.GrantWaiver(waiver, by=HOLDER))
    run.do(cmd.SubmitRequirement(requirement("r1")))
    run.do(cmd.SubmitRequirement(requirement("r2")))
    assert run.req("r1").basis.value == "waived" and run.req("r1").offer is None
    assert run.req("r2").offer is not None
    run.quotes("r1", quote("q1", "oracle", 64, "8"))
    run.confirm_all("r1")
    assert run.placements("r1") == [("oracle", 64, "waived")]
    run.assert_sound()


def test_revoked_waiver_stops_applying() -> None:
    run = Run.under(small_contract())
    run.do(cmd.GrantWaiver({"id": "w1", "clause": "fr", "granted_by": HOLDER}, by=HOLDER))
    run.do(cmd.SubmitRequirement(requirement("r1")))
    run.do(cmd.RevokeWaiver("w1", by=HOLDER), T0 + timedelta(hours=1))
    assert run.reject(cmd.RevokeWaiver("w1", by=HOLDER)) == "already_revoked"
    run.do(cmd.SubmitRequirement(requirement("r2", at=run.now)))
    assert run.req("r1").basis.value == "waived"  # decided before the revocation: it stands
    assert run.req("r2").offer is not None
    run.assert_sound()


def test_trigger_needs_its_declarer_and_a_quorum_and_ends_the_clause() -> None:
    run = Run.under(small_contract(trigger_quorum=2))
    run.do(cmd.SubmitRequirement(requirement("r0")))
    run.do(cmd.RespondToOffer("r0/offer-1", by=HOLDER, accept_gpus=64))  # an earlier decision
    run.do(cmd.SubmitRequirement(requirement("r1")), T0 + timedelta(hours=1))
    assert run.reject(cmd.DeclareTrigger("agi", by=HOLDER)) == "forbidden"
    assert run.reject(cmd.ConfirmTrigger("agi", by="panel-1")) == "not_declared"
    run.do(cmd.DeclareTrigger("agi", by=BUYER), T0 + timedelta(hours=2))
    assert run.reject(cmd.ConfirmTrigger("agi", by=HOLDER)) == "forbidden"
    run.do(cmd.ConfirmTrigger("agi", by="panel-1"))
    assert run.reject(cmd.ConfirmTrigger("agi", by="panel-1")) == "already_confirmed"
    assert run.req("r1").offer is not None  # one confirmation short of the quorum
    run.do(cmd.ConfirmTrigger("agi", by="panel-2"), T0 + timedelta(hours=3))
    took = run.last(ev.TriggerTookEffect)
    assert took.effective_at == T0 + timedelta(hours=2) and "fr" in took.ends
    assert "ended by trigger agi" in run.last(ev.OfferWithdrawn, "r1").reason
    assert run.last(ev.QuotesRequested, "r1").purpose == "market"
    assert run.placements("r0") == [(HOLDER, 64, "holder_accepted")]  # earlier decision stands
    run.do(cmd.SubmitRequirement(requirement("r2", at=run.now)))
    assert run.req("r2").clause_id is None and run.req("r2").offer is None
    run.assert_sound()


def test_trigger_without_quorum_takes_effect_on_declaration() -> None:
    run = Run.under(small_contract(trigger_quorum=0))
    run.do(cmd.DeclareTrigger("agi", by=BUYER))
    assert run.last(ev.TriggerTookEffect).effective_at == T0
    assert run.reject(cmd.DeclareTrigger("agi", by=BUYER)) == "already_declared"


def test_trigger_ends_a_post_decline_window_without_revival() -> None:
    run = Run.under(small_contract(trigger_quorum=0, post_decline_hours=24))
    run.do(cmd.SubmitRequirement(requirement()))
    run.do(cmd.RespondToOffer("r1/offer-1", by=HOLDER, accept_gpus=0))
    run.do(cmd.DeclareTrigger("agi", by=BUYER), T0 + timedelta(hours=1))
    run.fire("r1", "r1/post-decline-1")
    assert not any(isinstance(e, (ev.RightRevived, ev.OfferSent)) for e in run.log[-3:])
    run.assert_sound()


def test_amendment_governs_later_requirements_and_open_windows_stay_under_the_old() -> None:
    run = Run.under(small_contract())
    run.do(cmd.SubmitRequirement(requirement("r1")))
    later = T0 + timedelta(hours=2)
    v2 = {"id": "v2", "effective_from": later.isoformat(), "clauses": []}
    assert run.reject(cmd.AmendContract(v2, by=HOLDER)) == "forbidden"
    run.do(cmd.AmendContract(v2, by=BUYER), later)
    run.do(cmd.SubmitRequirement(requirement("r2", at=later)))
    assert (run.req("r1").version_id, run.req("r2").version_id) == ("v1", "v2")
    assert run.req("r2").clause_id is None
    run.do(cmd.RespondToOffer("r1/offer-1", by=HOLDER, accept_gpus=64), later + timedelta(hours=1))
    assert run.req("r1").status is Status.FULFILLED
    run.assert_sound()
