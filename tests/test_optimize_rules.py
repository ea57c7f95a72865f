"""One table row per rule, each with a case where the rule binds, checked on both the fast
path (``place_one``) and the batch solver (``place_batch``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from rofr.optimize import Plan, place_batch, place_one
from rofr.values import Quote, Requirement

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def req(gpus: int = 64, **kw: Any) -> Requirement:
    base: dict[str, Any] = {
        "id": "r1",
        "buyer": "lab",
        "skus": ("H100",),
        "gpus": gpus,
        "earliest_start": NOW,
        "latest_start": NOW + timedelta(days=1),
        "duration_hours": 10,
        "regions": ("eastus",),
    }
    return Requirement(**(base | kw))


def quote(qid: str, provider: str, gpus: int, price: str, **kw: Any) -> Quote:
    base: dict[str, Any] = {
        "id": qid,
        "provider": provider,
        "sku": "H100",
        "region": "eastus",
        "gpus": gpus,
        "unit_price": Decimal(price),
        "earliest_start": NOW,
        "valid_until": NOW + timedelta(hours=1),
    }
    return Quote(**(base | kw))


AZ = quote("q-az", "azure", 64, "12.29")
AWS = quote("q-aws", "aws", 40, "6.88")
CW = quote("q-cw", "coreweave", 32, "6.155")

# (id, requirement, quotes, eligible, expected {quote: gpus}, expected shortfall cause or None,
#  expected reason for a given quote)
CASES = [
    (
        "cheapest-first",
        req(64),
        [AZ, AWS, CW],
        None,
        {"q-cw": 32, "q-aws": 32},
        None,
        ("q-az", "not used: cheaper quotes sufficed"),
    ),
    (
        "eligibility",
        req(64),
        [AZ, AWS, CW],
        frozenset({"azure"}),
        {"q-az": 64},
        None,
        ("q-cw", "provider not eligible: exclusive to azure"),
    ),
    (
        "price-cap",
        req(64, max_unit_price=Decimal("10")),
        [AZ, AWS, CW],
        None,
        {"q-cw": 32, "q-aws": 32},
        None,
        ("q-az", "price 12.29 above cap 10.00"),
    ),
    (
        "cap-excludes-all",
        req(8, max_unit_price=Decimal("5")),
        [AZ, AWS],
        None,
        {},
        "all eligible quotes priced above cap",
        ("q-aws", "price 6.88 above cap 5.00"),
    ),
    (
        "region",
        req(8),
        [replace(CW, region="us-west"), AZ],
        None,
        {"q-az": 8},
        None,
        ("q-cw", "region us-west not in [eastus]"),
    ),
    (
        "sku",
        req(8),
        [replace(CW, sku="H200"), AZ],
        None,
        {"q-az": 8},
        None,
        ("q-cw", "sku H200 not accepted"),
    ),
    (
        "stale",
        req(8),
        [replace(CW, valid_until=NOW - timedelta(seconds=1)), AZ],
        None,
        {"q-az": 8},
        None,
        ("q-cw", "stale: valid until 2026-02-28T23:59:59Z"),
    ),
    (
        "stale-in-another-zone",  # the reason names the instant in UTC, as the log does
        req(8),
        [
            replace(
                CW,
                valid_until=(NOW - timedelta(seconds=1)).astimezone(timezone(-timedelta(hours=5))),
            ),
            AZ,
        ],
        None,
        {"q-az": 8},
        None,
        ("q-cw", "stale: valid until 2026-02-28T23:59:59Z"),
    ),
    (
        "late-start",
        req(8),
        [replace(CW, earliest_start=NOW + timedelta(days=2)), AZ],
        None,
        {"q-az": 8},
        None,
        ("q-cw", "starts after latest start"),
    ),
    (
        "quoted-for-other",
        req(8),
        [replace(CW, requirement_id="r9"), AZ],
        None,
        {"q-az": 8},
        None,
        ("q-cw", "quoted for requirement r9"),
    ),
    (
        "capacity-short",
        req(100),
        [AWS, CW],
        None,
        {"q-cw": 32, "q-aws": 40},
        "eligible capacity 72 < 100 needed",
        ("q-aws", "used 40 GPUs"),
    ),
    (
        "no-eligible-quote",
        req(8),
        [AWS],
        frozenset({"azure"}),
        {},
        "no eligible quote",
        ("q-aws", "provider not eligible: exclusive to azure"),
    ),
    (
        "not-splittable",
        req(64, splittable=False),
        [AZ, AWS, CW],
        None,
        {"q-az": 64},
        None,
        ("q-cw", "not used: not splittable and only 32 of 64 GPUs free"),
    ),
    (
        "not-splittable-none-fits",
        req(80, splittable=False),
        [AZ, AWS],
        None,
        {},
        "not splittable and no single quote has 80 GPUs",
        ("q-az", "not used: not splittable and only 64 of 80 GPUs free"),
    ),
    (
        "max-providers",
        req(64, max_providers=1),
        [AZ, AWS, CW],
        None,
        {"q-az": 64},
        None,
        ("q-aws", "not used: max providers 1"),
    ),
    (
        "max-providers-two",
        req(64, max_providers=2),
        [AZ, AWS, CW],
        None,
        {"q-cw": 32, "q-aws": 32},
        None,
        ("q-az", "not used: cheaper quotes sufficed"),
    ),
    # Cheapest first gives 32 + 38: both chunks are >= 30, so the rule is met as is...
    (
        "min-chunk",
        req(70, min_chunk=30),
        [AZ, AWS, CW],
        None,
        {"q-cw": 32, "q-aws": 38},
        None,
        ("q-az", "not used: cheaper quotes sufficed"),
    ),
    # ...but with chunks of >= 40, 32 + 32 is out and only one 64 on azure remains.
    (
        "min-chunk-binds",
        req(64, min_chunk=40),
        [AZ, AWS, CW],
        None,
        {"q-az": 64},
        None,
        ("q-cw", "not used: min chunk 40"),
    ),
    (
        "reserved-first",
        req(64),
        [AZ, AWS, replace(AZ, id="q-res", gpus=16, reserved=True)],
        None,
        {"q-res": 16, "q-aws": 40, "q-az": 8},
        None,
        ("q-res", "used 16 GPUs"),
    ),
    (
        "reserved-passes-cap",
        req(8, max_unit_price=Decimal("1")),
        [replace(AZ, id="q-res", reserved=True)],
        None,
        {"q-res": 8},
        None,
        ("q-res", "used 8 GPUs"),
    ),
]


def _check(plan: Plan, want: dict[str, int], cause: str | None, reason: tuple[str, str]) -> None:
    assert {a.quote_id: a.gpus for a in plan.allocations} == want
    assert [s.cause for s in plan.shortfalls] == ([cause] if cause else [])
    why = {c.quote_id: c.reason for c in plan.considered["r1"]}
    assert why[reason[0]] == reason[1]
    assert plan.proven_optimal


@pytest.mark.parametrize(("r", "qs", "elig", "want", "cause", "reason"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_place_one_rule(r: Requirement, qs: list[Quote], elig: Any, want: dict[str, int],
                        cause: str | None, reason: tuple[str, str]) -> None:  # fmt: skip
    _check(place_one(r, r.gpus, qs, elig, NOW), want, cause, reason)


@pytest.mark.parametrize(("r", "qs", "elig", "want", "cause", "reason"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_place_batch_rule(r: Requirement, qs: list[Quote], elig: Any, want: dict[str, int],
                          cause: str | None, reason: tuple[str, str]) -> None:  # fmt: skip
    _check(place_batch([r], qs, {"r1": elig}, NOW), want, cause, reason)


def test_reserved_costs_nothing_and_records_sunk_price() -> None:
    res = replace(AZ, id="q-res", gpus=16, reserved=True)
    plan = place_one(req(16), 16, [AWS, res], None, NOW)
    (alloc,) = plan.allocations
    assert (alloc.quote_id, alloc.cost, alloc.unit_price, alloc.reserved) == (
        "q-res", Decimal(0), Decimal("12.29"), True)  # fmt: skip
    assert plan.total_cost == 0


def test_remaining_overrides_gpus() -> None:
    plan = place_batch([req(64)], [AZ, AWS], {}, NOW, remaining={"r1": 10})
    assert {a.quote_id: a.gpus for a in plan.allocations} == {"q-aws": 10}


def test_commitment_credit_steers_but_cost_is_cash() -> None:
    # 12.29 - 6 = 6.29 < 6.88: the credit makes azure the better buy for the batch.
    plan = place_batch([req(40)], [AZ, AWS], {}, NOW, commitment_credit={"azure": Decimal(6)})
    assert {a.quote_id: a.gpus for a in plan.allocations} == {"q-az": 40}
    assert plan.total_cost == Decimal("12.29") * 40 * 10


def test_batch_contention_reason() -> None:
    """Two requirements want the cheap quote: the batch gives it to the one that saves most."""
    long_job = req(32, id="long", duration_hours=100)
    short_job = req(32, id="short", duration_hours=1)
    plan = place_batch([short_job, long_job], [CW, AZ], {}, NOW)
    got = {(a.requirement_id, a.quote_id): a.gpus for a in plan.allocations}
    assert got == {("long", "q-cw"): 32, ("short", "q-az"): 32}
    why = {c.quote_id: c.reason for c in plan.considered["short"]}
    assert why["q-cw"] == "capacity taken by cheaper-for-the-batch requirements"


def test_batch_side_rules_use_milp_and_stay_optimal() -> None:
    """The flow would split the not-splittable job; the MILP moves the plain one instead."""
    plain = req(32, id="plain", duration_hours=100)  # the flow gives it the cheap quote
    whole = req(64, id="whole", splittable=False)
    q1, q2 = quote("q1", "aws", 64, "5"), quote("q2", "gcp", 32, "6")
    plan = place_batch([plain, whole], [q1, q2], {}, NOW)
    got = {(a.requirement_id, a.quote_id): a.gpus for a in plan.allocations}
    assert got == {("whole", "q1"): 64, ("plain", "q2"): 32}
    assert plan.proven_optimal and plan.method in {"milp", "mixed"}


def test_duplicate_ids_refused() -> None:
    with pytest.raises(ValueError, match="quote ids"):
        place_batch([req(8)], [AZ, AZ], {}, NOW)


def test_identical_requirements_share_the_merged_flow() -> None:
    """Requirements with the same quotes and costs are solved as one node, then shared out in
    id order, cheapest quote first; the totals match the single-node optimum."""
    twins = [req(10, id=f"t{k}") for k in (3, 1, 2)]
    q1, q2 = quote("q1", "aws", 12, "5"), quote("q2", "gcp", 20, "6")
    plan = place_batch(twins, [q2, q1], {}, NOW)
    got = {(a.requirement_id, a.quote_id): a.gpus for a in plan.allocations}
    assert got == {("t1", "q1"): 10, ("t2", "q1"): 2, ("t2", "q2"): 8, ("t3", "q2"): 10}
    assert plan.total_cost == (12 * 5 + 18 * 6) * 10
