"""Property tests: on small random instances the optimizer honours every rule and matches a
brute-force optimum (most GPUs placed, then least cost) computed here by enumeration."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import product

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rofr.optimize import Plan, effective_price, place_batch, place_one, unfit_reason
from rofr.optimize.problem import build_problem
from rofr.values import Quote, Requirement

NOW = datetime(2026, 3, 1, tzinfo=UTC)
PROVIDERS = ("aws", "azure", "gcp")
Eligible = Mapping[str, frozenset[str] | None]


@st.composite
def requirements(draw: st.DrawFn, rid: str) -> Requirement:
    return Requirement(
        id=rid,
        buyer="lab",
        skus=tuple(draw(st.sets(st.sampled_from(["H100", "H200"]), min_size=1))),
        gpus=draw(st.integers(1, 3)),
        earliest_start=NOW,
        latest_start=NOW + timedelta(hours=draw(st.sampled_from([0, 48]))),
        duration_hours=draw(st.integers(1, 3)),
        max_unit_price=draw(st.sampled_from([None, None, Decimal("3"), Decimal("4.5")])),
        regions=tuple(draw(st.sets(st.sampled_from(["east", "west"]), max_size=1))),
        splittable=draw(st.booleans()),
        min_chunk=draw(st.sampled_from([1, 1, 2, 3])),
        max_providers=draw(st.sampled_from([None, None, 1, 2])),
    )


@st.composite
def quotes(draw: st.DrawFn, qid: str, rids: Sequence[str]) -> Quote:
    return Quote(
        id=qid,
        provider=draw(st.sampled_from(PROVIDERS)),
        sku=draw(st.sampled_from(["H100", "H200"])),
        region=draw(st.sampled_from(["east", "west"])),
        gpus=draw(st.integers(0, 3)),
        unit_price=draw(st.sampled_from([Decimal(x) for x in ("1", "2.5", "3", "4.25", "6")])),
        earliest_start=NOW + timedelta(hours=draw(st.sampled_from([0, 0, 0, 24]))),
        valid_until=NOW + timedelta(hours=draw(st.sampled_from([-1, 5, 5, 5]))),
        requirement_id=draw(st.sampled_from([None, None, None, *rids])),
        reserved=draw(st.sampled_from([False, False, False, True])),
    )


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Requirement], list[Quote], dict[str, object]]:
    rids = [f"r{i}" for i in range(draw(st.integers(1, 4)))]
    reqs = [draw(requirements(rid)) for rid in rids]
    qs = [draw(quotes(f"q{j}", rids)) for j in range(draw(st.integers(1, 4)))]
    eligible = {
        rid: draw(st.sampled_from([None, None, frozenset({"aws"}), frozenset({"aws", "gcp"})]))
        for rid in rids
    }
    credit = draw(st.sampled_from([None, {"azure": Decimal("0.5")}]))
    return reqs, qs, {"eligible": eligible, "credit": credit}


# --- brute force --------------------------------------------------------------------------


def _vectors(req: Requirement, need: int, usable: list[int], qs: Sequence[Quote]):  # type: ignore[no-untyped-def]
    """Every allocation of one requirement over its usable quotes that obeys its own rules."""
    ranges = [range(min(need, qs[j].gpus) + 1) for j in usable]
    for combo in product(*ranges):
        picked = {j: g for j, g in zip(usable, combo, strict=True) if g > 0}
        total = sum(picked.values())
        if total > need:
            continue
        if not req.splittable and need > 1 and picked and (len(picked) > 1 or total != need):
            continue
        if any(g < min(req.min_chunk, need) for g in picked.values()):
            continue
        providers = {qs[j].provider for j in picked}
        if req.max_providers is not None and len(providers) > req.max_providers:
            continue
        yield picked


def brute_force(
    reqs: Sequence[Requirement],
    qs: Sequence[Quote],
    eligible: Eligible,
    credit: Mapping[str, Decimal] | None,
) -> tuple[int, Decimal]:
    """(GPUs placed, objective cost) of the best plan, by dynamic programming over quote
    capacities left, enumerating every integral allocation of each requirement."""
    states: dict[tuple[int, ...], tuple[int, Decimal]] = {
        tuple(q.gpus for q in qs): (0, Decimal(0))
    }
    for r in reqs:
        usable = [
            j for j, q in enumerate(qs) if unfit_reason(r, q, eligible.get(r.id), NOW) is None
        ]
        vectors = list(_vectors(r, r.gpus, usable, qs))
        nxt: dict[tuple[int, ...], tuple[int, Decimal]] = {}
        for state, (placed, cost) in states.items():
            for vec in vectors:
                if any(g > state[j] for j, g in vec.items()):
                    continue
                left = tuple(c - vec.get(j, 0) for j, c in enumerate(state))
                add = sum(
                    (effective_price(qs[j], credit) * g * r.duration_hours for j, g in vec.items()),
                    Decimal(0),
                )
                value = (placed + sum(vec.values()), cost + add)
                old = nxt.get(left)
                if old is None or (-value[0], value[1]) < (-old[0], old[1]):
                    nxt[left] = value
        states = nxt
    return min(states.values(), key=lambda v: (-v[0], v[1]))


def objective(plan: Plan, qs: Sequence[Quote], reqs: Sequence[Requirement], credit) -> Decimal:  # type: ignore[no-untyped-def]
    by_q = {q.id: q for q in qs}
    hours = {r.id: r.duration_hours for r in reqs}
    return sum(
        (
            effective_price(by_q[a.quote_id], credit) * a.gpus * hours[a.requirement_id]
            for a in plan.allocations
        ),
        Decimal(0),
    )


def assert_honours_rules(
    plan: Plan, reqs: Sequence[Requirement], qs: Sequence[Quote], eligible: Eligible
) -> None:
    by_q = {q.id: q for q in qs}
    used: dict[str, int] = {}
    for a in plan.allocations:
        assert a.gpus > 0
        used[a.quote_id] = used.get(a.quote_id, 0) + a.gpus
    assert all(used[qid] <= by_q[qid].gpus for qid in used), "quote over-allocated"
    for r in reqs:
        mine = [a for a in plan.allocations if a.requirement_id == r.id]
        placed = sum(a.gpus for a in mine)
        assert placed <= r.gpus, "requirement over-allocated"
        for a in mine:
            assert unfit_reason(r, by_q[a.quote_id], eligible.get(r.id), NOW) is None
            assert a.gpus >= min(r.min_chunk, r.gpus)
        if not r.splittable and mine:
            assert len(mine) == 1 and mine[0].gpus == r.gpus
        if r.max_providers is not None:
            assert len({a.provider for a in mine}) <= r.max_providers
        short = [s.gpus for s in plan.shortfalls if s.requirement_id == r.id]
        assert short == ([r.gpus - placed] if placed < r.gpus else [])
        rows = plan.considered[r.id]
        assert [c.quote_id for c in rows] == sorted(q.id for q in qs)
        assert sum(c.used_gpus for c in rows) == placed
    cash = sum(
        (Decimal(0) if by_q[a.quote_id].reserved else a.cost for a in plan.allocations), Decimal(0)
    )
    assert plan.total_cost == cash


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_batch_matches_brute_force(case: tuple[list[Requirement], list[Quote], dict]) -> None:  # type: ignore[type-arg]
    reqs, qs, extra = case
    eligible, credit = extra["eligible"], extra["credit"]
    plan = place_batch(reqs, qs, eligible, NOW, commitment_credit=credit)
    assert_honours_rules(plan, reqs, qs, eligible)
    best = brute_force(reqs, qs, eligible, credit)
    assert (plan.placed_gpus, objective(plan, qs, reqs, credit)) == best
    assert plan.proven_optimal


@settings(max_examples=120, deadline=None)
@given(instances())
def test_place_one_matches_brute_force(case: tuple[list[Requirement], list[Quote], dict]) -> None:  # type: ignore[type-arg]
    reqs, qs, extra = case
    r, eligible = reqs[0], extra["eligible"]
    plan = place_one(r, r.gpus, qs, eligible[r.id], NOW)
    assert_honours_rules(plan, [r], qs, eligible)
    assert (plan.placed_gpus, objective(plan, qs, [r], None)) == brute_force(
        [r], qs, eligible, None
    )


@settings(max_examples=60, deadline=None)
@given(instances())
def test_decomposition_honours_rules(case: tuple[list[Requirement], list[Quote], dict]) -> None:  # type: ignore[type-arg]
    """With the exact MILP switched off, the decomposition may lose optimality, never a rule,
    and it never claims a proof it does not have."""
    reqs, qs, extra = case
    eligible = extra["eligible"]
    plan = place_batch(reqs, qs, eligible, NOW, full_milp_pairs=0)
    assert_honours_rules(plan, reqs, qs, eligible)
    best = brute_force(reqs, qs, eligible, None)
    found = (plan.placed_gpus, objective(plan, qs, reqs, None))
    assert (-found[0], found[1]) >= (-best[0], best[1])
    if plan.proven_optimal:
        assert found == best


@settings(max_examples=40, deadline=None)
@given(instances(), st.randoms(use_true_random=False))
def test_same_plan_for_any_input_order(
    case: tuple[list[Requirement], list[Quote], dict],  # type: ignore[type-arg]
    rnd: random.Random,
) -> None:
    reqs, qs, extra = case
    eligible = extra["eligible"]
    first = place_batch(reqs, qs, eligible, NOW)
    again = place_batch(reqs, qs, eligible, NOW)
    rnd.shuffle(reqs)
    rnd.shuffle(qs)
    shuffled = place_batch(reqs, qs, dict(reversed(list(eligible.items()))), NOW)
    assert first == again == shuffled


@settings(max_examples=80, deadline=None)
@given(instances())
def test_vectorised_pairs_agree_with_scalar_rules(
    case: tuple[list[Requirement], list[Quote], dict],  # type: ignore[type-arg]
) -> None:
    reqs, qs, extra = case
    eligible = extra["eligible"]
    p = build_problem(reqs, qs, eligible, NOW)
    built = set(zip(p.pr.tolist(), p.pq.tolist(), strict=True))
    expected = {
        (i, j)
        for i, r in enumerate(p.reqs)
        for j, q in enumerate(p.quotes)
        if unfit_reason(r, q, eligible.get(r.id), NOW) is None
    }
    assert built == expected
    assert list(zip(p.pr.tolist(), p.pq.tolist(), strict=True)) == sorted(built)
