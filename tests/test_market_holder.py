"""Simulated holder: deterministic answers and the accept rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from rofr.market import HolderBehaviour, HolderPolicy, OfferView, SimulatedProvider, load_inventory
from rofr.market.holder import ExponentialDelay, FixedDelay, UniformDelay
from rofr.values import Requirement

INVENTORY = """\
providers:
  - id: azure
    name: Azure
    quote_validity_hours: 24
    capacity:
      - {sku: H100, region: eastus, gpus: 1000, from: 2025-01-01}
      - {sku: H100, region: westus2, gpus: 250, from: 2025-01-01}
    prices:
      - {sku: H100, region: "*", unit_price: 12.29}
"""

NOW = datetime(2025, 2, 1, tzinfo=UTC)
FAST = FixedDelay(kind="fixed", hours=2)


def fleet() -> SimulatedProvider:
    return SimulatedProvider(load_inventory(INVENTORY).provider("azure"))


def offer(
    gpus: int = 100,
    *,
    offer_id: str = "offer-1",
    unit_price: Decimal | None = None,
    region: str | None = None,
    min_increment: int = 1,
    all_or_none: bool = False,
    max_price: Decimal | None = None,
) -> OfferView:
    req = Requirement(
        id="req-1",
        buyer="lab",
        skus=("H100",),
        gpus=gpus,
        earliest_start=NOW,
        latest_start=NOW + timedelta(days=10),
        duration_hours=720,
        max_unit_price=max_price,
    )
    return OfferView(
        offer_id=offer_id,
        requirement=req,
        gpus=gpus,
        unit_price=unit_price,
        start=None if unit_price is None else NOW + timedelta(days=1),
        region=region,
        deadline=NOW + timedelta(days=3),
        min_increment=min_increment,
        all_or_none=all_or_none,
    )


# (id, policy, offer, accepted gpus, price, words in reason)
CASES = [
    ("all free", HolderPolicy(response_delay=FAST), offer(100), 100, "12.29", "accepted 100"),
    (
        "rounded down to increment",
        HolderPolicy(response_delay=FAST),
        offer(400, region="westus2", min_increment=64),
        192,
        "12.29",
        "accepted 192",
    ),
    (
        "below one increment",
        HolderPolicy(response_delay=FAST),
        offer(400, region="westus2", min_increment=256),
        0,
        None,
        "below the increment",
    ),
    (
        "all or none short",
        HolderPolicy(response_delay=FAST),
        offer(400, region="westus2", all_or_none=True),
        0,
        None,
        "all or none",
    ),
    (
        "all or none met",
        HolderPolicy(response_delay=FAST),
        offer(200, region="westus2", all_or_none=True),
        200,
        "12.29",
        "accepted 200",
    ),
    (
        "picks the roomiest region",
        HolderPolicy(response_delay=FAST),
        offer(1200),
        1200 - 200,
        "12.29",
        "accepted 1000",
    ),
    (
        "match at rival price",
        HolderPolicy(response_delay=FAST, price_floor=Decimal("6")),
        offer(100, unit_price=Decimal("6.88")),
        100,
        "6.88",
        "accepted",
    ),
    (
        "rival price under floor",
        HolderPolicy(response_delay=FAST, price_floor=Decimal("7")),
        offer(100, unit_price=Decimal("6.155")),
        0,
        None,
        "below the floor",
    ),
    (
        "floor lifts first-look price",
        HolderPolicy(response_delay=FAST, price_floor=Decimal("13")),
        offer(100),
        100,
        "13",
        "accepted",
    ),
    (
        "above buyer max",
        HolderPolicy(response_delay=FAST),
        offer(100, max_price=Decimal("10")),
        0,
        None,
        "above the buyer's maximum",
    ),
]


@pytest.mark.parametrize(
    ("policy", "the_offer", "accepted", "price", "words"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_accept_rules(
    policy: HolderPolicy, the_offer: OfferView, accepted: int, price: str | None, words: str
) -> None:
    answer = HolderBehaviour(policy, fleet()).answer(the_offer, NOW)
    assert answer is not None
    assert answer.respond_at == NOW + timedelta(hours=2)
    assert answer.accept_gpus == accepted
    assert answer.unit_price == (None if price is None else Decimal(price))
    assert words in answer.reason


def test_too_slow_or_ignoring_holder_lets_the_deadline_pass() -> None:
    slow = HolderPolicy(response_delay=FixedDelay(kind="fixed", hours=100))
    assert HolderBehaviour(slow, fleet()).answer(offer(), NOW) is None
    deaf = HolderPolicy(response_delay=FAST, ignore_share=1.0)
    assert HolderBehaviour(deaf, fleet()).answer(offer(), NOW) is None


def run(policy: HolderPolicy, seed: int) -> list[tuple[datetime, int] | None]:
    behaviour = HolderBehaviour(policy, fleet(), seed=seed)
    answers = [behaviour.answer(offer(offer_id=f"o{n}"), NOW) for n in range(40)]
    return [None if a is None else (a.respond_at, a.accept_gpus) for a in answers]


@pytest.mark.parametrize(
    "delay",
    [
        UniformDelay(kind="uniform", min_hours=1, max_hours=60),
        ExponentialDelay(kind="exponential", mean_hours=24),
    ],
    ids=["uniform", "exponential"],
)
def test_same_seed_same_answers_other_seed_differs(delay: UniformDelay | ExponentialDelay) -> None:
    policy = HolderPolicy(response_delay=delay, ignore_share=0.3)
    first = run(policy, seed=7)
    assert first == run(policy, seed=7)
    assert first != run(policy, seed=8)
    ignored = sum(answer is None for answer in first)
    assert 0 < ignored < len(first)  # the policy's randomness shows up at all


def test_answer_does_not_depend_on_the_order_offers_arrive() -> None:
    policy = HolderPolicy(response_delay=UniformDelay(kind="uniform", min_hours=1, max_hours=60))
    behaviour = HolderBehaviour(policy, fleet(), seed=3)
    later = behaviour.answer(offer(offer_id="b"), NOW)
    behaviour.answer(offer(offer_id="a"), NOW)
    assert HolderBehaviour(policy, fleet(), seed=3).answer(offer(offer_id="b"), NOW) == later


def test_offer_view_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="min_increment"):
        offer(min_increment=0)
