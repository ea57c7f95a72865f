"""The fast path: place one requirement on the quotes it can use. Pure and exact.

* Splittable, no binding side rule: cheapest first is optimal (a fractional knapsack with
  whole GPUs and linear prices).
* Not splittable: the cheapest single quote with enough GPUs, or nothing.
* min_chunk or max_providers binding: first try cheapest first, which is optimal if it already
  obeys the rules (it solves the relaxation). Otherwise every set of quotes that could be the
  support of a plan is tried: for a fixed set, giving each quote its minimum chunk and then
  filling cheapest first is optimal, so the best over all sets is exact. When there are too
  many sets, a one-requirement MILP (HiGHS) is solved instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from itertools import combinations
from math import comb

from rofr.optimize.explain import assemble
from rofr.optimize.fit import effective_price, lower_chunk, unfit_reason
from rofr.optimize.plan import Plan
from rofr.values import Quote, Requirement

__all__ = ["place_one"]

_MAX_SUBSETS = 2048  # past this, the tiny MILP is faster than enumerating supports


def place_one(
    requirement: Requirement,
    remaining: int,
    quotes: Sequence[Quote],
    eligible: frozenset[str] | None,
    now: datetime,
) -> Plan:
    """Place ``remaining`` GPUs of ``requirement`` at least cost, most GPUs first.

    ``eligible`` is the set of providers the contract allows (None = any); quotes whose
    ``valid_until`` is before ``now`` are stale. The plan is proven optimal.
    """
    qs = tuple(sorted(quotes, key=lambda q: q.id))
    fit = [j for j, q in enumerate(qs) if unfit_reason(requirement, q, eligible, now) is None]
    fit.sort(key=lambda j: (effective_price(qs[j], None), qs[j].id))
    method = "greedy-single"
    picked: dict[int, int] = {}
    if remaining > 0 and fit:
        if not requirement.splittable and remaining > 1:
            whole = next((j for j in fit if qs[j].gpus >= remaining), None)
            picked = {} if whole is None else {whole: remaining}
        else:
            picked = _greedy(qs, fit, remaining, 0)
            if not _obeys(requirement, qs, picked, remaining):
                found = _search(requirement, qs, fit, remaining)
                if found is None:
                    picked, method = _tiny_milp(requirement, remaining, qs, eligible, now), "milp"
                else:
                    picked = found
    return assemble(
        (requirement,),
        qs,
        (eligible,),
        [max(remaining, 0)],
        {(0, j): g for j, g in picked.items() if g > 0},
        lambda _i: fit,
        now,
        proven=True,
        method=method,
    )


def _greedy(qs: Sequence[Quote], order: Sequence[int], need: int, base: int) -> dict[int, int]:
    """Cheapest first: each quote in ``order`` gets ``base``, then the rest is filled in order."""
    picked = {j: base for j in order}
    left = need - base * len(order)
    for j in order:
        more = min(qs[j].gpus - base, left)
        if more > 0:
            picked[j] += more
            left -= more
    return {j: g for j, g in picked.items() if g > 0}


def _obeys(req: Requirement, qs: Sequence[Quote], picked: dict[int, int], need: int) -> bool:
    lb = lower_chunk(req, need)
    if any(g < lb for g in picked.values()):
        return False
    providers = {qs[j].provider for j in picked}
    return req.max_providers is None or len(providers) <= req.max_providers


def _search(
    req: Requirement, qs: Sequence[Quote], fit: Sequence[int], need: int
) -> dict[int, int] | None:
    """Best plan over every feasible support, or None if there are too many supports."""
    lb = lower_chunk(req, need)
    if lb == 1 and req.max_providers is not None:
        return _best_providers(req, qs, fit, need, req.max_providers)
    cand = [j for j in fit if qs[j].gpus >= lb]
    largest = min(len(cand), need // lb)
    if sum(comb(len(cand), k) for k in range(largest + 1)) > _MAX_SUBSETS:
        return None
    best: dict[int, int] = {}
    best_key = (0, Decimal(0))
    for size in range(1, largest + 1):
        for support in combinations(cand, size):  # cand is cheapest first, so is support
            providers = {qs[j].provider for j in support}
            if req.max_providers is not None and len(providers) > req.max_providers:
                continue
            placed = _greedy(qs, support, min(need, sum(qs[j].gpus for j in support)), lb)
            gpus = sum(placed.values())
            cost = _cost(req, qs, placed)
            # Most GPUs, then least cost; the first support found wins ties (deterministic).
            if gpus > best_key[0] or (gpus == best_key[0] and cost < best_key[1]):
                best, best_key = placed, (gpus, cost)
    return best


def _best_providers(
    req: Requirement, qs: Sequence[Quote], fit: Sequence[int], need: int, most: int
) -> dict[int, int]:
    """Only max_providers binds: for a fixed set of providers cheapest first is optimal, so
    try every set of ``most`` providers (fewer cannot do better: adding one never hurts)."""
    providers = sorted({qs[j].provider for j in fit})
    best: dict[int, int] = {}
    best_key = (0, Decimal(0))
    for chosen in combinations(providers, min(most, len(providers))):
        picked = _greedy(qs, [j for j in fit if qs[j].provider in chosen], need, 0)
        gpus = sum(picked.values())
        cost = _cost(req, qs, picked)
        if gpus > best_key[0] or (gpus == best_key[0] and cost < best_key[1]):
            best, best_key = picked, (gpus, cost)
    return best


def _cost(req: Requirement, qs: Sequence[Quote], picked: dict[int, int]) -> Decimal:
    return sum(
        (effective_price(qs[j], None) * g * req.duration_hours for j, g in picked.items()),
        Decimal(0),
    )


def _tiny_milp(
    req: Requirement,
    remaining: int,
    qs: Sequence[Quote],
    eligible: frozenset[str] | None,
    now: datetime,
) -> dict[int, int]:
    # numpy and HiGHS load only when a side rule needs the MILP: the engine imports this
    # module on every start, and most plans never get here.
    import numpy as np

    from rofr.optimize.milp import solve_milp
    from rofr.optimize.problem import build_problem

    problem = build_problem([req], qs, {req.id: eligible}, now, {req.id: remaining})
    pairs = np.arange(len(problem.pr), dtype=np.int64)
    result = solve_milp(problem, np.array([0], dtype=np.int64), pairs, problem.cap)
    return {int(problem.pq[p]): int(g) for p, g in zip(pairs, result.flows, strict=True) if g}
