"""Place a batch of requirements at once: a min-cost flow for everyone, a MILP where side
rules need it.

1. Solve the flow with every side rule relaxed. This is exact for the plain problem and a
   bound for the whole one (no plan places more GPUs, or the same for less).
2. If every side-rule requirement's flow already obeys its rules, the flow is optimal: done.
3. Otherwise, take the connected components (requirements linked through shared quotes) that
   hold a violating requirement; the rest of the flow stands, being independent of them.
   Solve one MILP over them with side-rule pairs integer and plain requirements merged into
   classes of twins (same quotes, same costs) with continuous pairs: exact (see ``milp.py``
   and ``_merge_plain_twins``) and much smaller than the full model. Then re-solve the plain
   requirements as a flow around the side-rule choices. Proven optimal when HiGHS says so.
4. If that MILP would still exceed ``FULL_MILP_PAIRS`` pairs, the components are decomposed, which can lose optimality: the violating requirements
   are re-placed by a MILP on the capacity the others leave, the plain requirements of those
   components re-solve their flow around them, and the two steps alternate (``ROUNDS``). The
   plan is marked proven only if it meets the bound of step 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from rofr.optimize.explain import assemble
from rofr.optimize.fit import lower_chunk, side_rules
from rofr.optimize.flow import solve_flow, twin_classes
from rofr.optimize.milp import solve_milp
from rofr.optimize.plan import Plan
from rofr.optimize.problem import IntArray, Problem, build_problem
from rofr.values import Quote, Requirement

__all__ = ["FULL_MILP_PAIRS", "ROUNDS", "place_batch", "solve_problem"]

FULL_MILP_PAIRS = 60_000  # MILPs up to this many pairs are solved whole (exactly)
ROUNDS = 3  # alternations of the decomposition

BoolArray = npt.NDArray[np.bool_]


def place_batch(
    requirements: Sequence[Requirement],
    quotes: Sequence[Quote],
    eligible: Mapping[str, frozenset[str] | None],
    now: datetime,
    *,
    remaining: Mapping[str, int] | None = None,
    commitment_credit: Mapping[str, Decimal] | None = None,
    time_limit_s: float | None = None,
    full_milp_pairs: int = FULL_MILP_PAIRS,
) -> Plan:
    """Place every requirement's remaining GPUs (``remaining``, default ``gpus``) on the quotes.

    ``eligible`` maps requirement id to its eligible providers (missing or None = any).
    ``commitment_credit`` (USD per GPU-hour by provider) lowers the price the optimizer sees
    for buying from that provider, not the cost reported. ``time_limit_s`` bounds each MILP
    solve; a plan cut short by it is not marked proven. Same input, any order: same plan.
    """
    problem = build_problem(requirements, quotes, eligible, now, remaining, commitment_credit)
    flows, proven, method = solve_problem(problem, time_limit_s, full_milp_pairs)
    alloc = {(int(problem.pr[p]), int(problem.pq[p])): int(flows[p]) for p in np.nonzero(flows)[0]}
    starts = np.searchsorted(problem.pr, np.arange(len(problem.reqs) + 1))

    def usable(i: int) -> Sequence[int]:
        return problem.pq[starts[i] : starts[i + 1]].tolist()  # type: ignore[no-any-return]

    return assemble(
        problem.reqs,
        problem.quotes,
        problem.eligible,
        problem.rem.tolist(),
        alloc,
        usable,
        now,
        proven=proven,
        method=method,
    )


def solve_problem(
    problem: Problem, time_limit_s: float | None = None, full_milp_pairs: int = FULL_MILP_PAIRS
) -> tuple[IntArray, bool, str]:
    """GPUs per pair, whether the plan is proven optimal, and the method used."""
    p = problem
    flows = solve_flow(p.rem, p.cap, p.pr, p.pq, p.cost)
    side = _side_mask(p)
    bad = [i for i in np.nonzero(side)[0].tolist() if not _obeys(p, flows, i)]
    if not bad:
        return flows, True, "min-cost-flow"
    bound = (int(flows.sum()), int(np.dot(flows, p.cost)))
    in_comp = _components_of(p, np.array(bad, dtype=np.int64))
    everyone = bool(in_comp.all())
    model_reqs, need = _merge_plain_twins(p, side, in_comp)
    model_pairs = np.nonzero(np.isin(p.pr, model_reqs))[0]
    if len(model_pairs) <= full_milp_pairs:
        integer = side[p.pr[model_pairs]]
        result = solve_milp(
            p, model_reqs, model_pairs, p.cap, integer=integer, need=need, ruled=side,
            time_limit_s=time_limit_s,
        )  # fmt: skip
        flows[in_comp[p.pr]] = 0
        flows[model_pairs] = result.flows
        _reflow_plain(p, flows, side, in_comp)
        return flows, result.proven, "milp" if everyone else "mixed"
    # Decomposition: alternate between the violators' MILP and the plain requirements' flow.
    movers = np.zeros(len(p.reqs), dtype=bool)
    movers[bad] = True
    mover_pairs = np.nonzero(movers[p.pr])[0]
    best: tuple[IntArray, tuple[int, int]] | None = None
    for _ in range(ROUNDS):
        others = flows.copy()
        others[mover_pairs] = 0
        avail = p.cap - np.bincount(p.pq, weights=others, minlength=len(p.cap)).astype(np.int64)
        result = solve_milp(
            p, np.array(bad, dtype=np.int64), mover_pairs, avail, time_limit_s=time_limit_s
        )
        flows[mover_pairs] = result.flows
        _reflow_plain(p, flows, side, in_comp)
        score = _score(p, flows)
        if best is not None and score >= best[1]:
            break
        best = (flows.copy(), score)
    assert best is not None
    flows = best[0]
    if not all(_obeys(p, flows, i) for i in bad):
        raise AssertionError("decomposition left a side rule broken")  # pragma: no cover
    return flows, _score(p, flows) == (-bound[0], bound[1]), "mixed"


def _merge_plain_twins(p: Problem, side: BoolArray, region: BoolArray) -> tuple[IntArray, IntArray]:
    """The MILP's requirements: side-rule ones as they are, plain ones merged into one node
    per class of twins (same quotes, same costs) needing the class's total. Exact: for fixed
    side-rule choices the plain part is a flow, and merging twins is exact for a flow."""
    plain = region & ~side
    bounds = np.searchsorted(p.pr, np.arange(len(p.reqs) + 1)).tolist()
    need = np.where(side & region, p.rem, 0)
    for group in twin_classes(np.where(plain, p.rem, 0), bounds, p.pq, p.cost):
        need[group[0]] = int(p.rem[group].sum())
    return np.nonzero(need > 0)[0], need


def _score(p: Problem, flows: IntArray) -> tuple[int, int]:
    """Lexicographic objective as a tuple to minimise: (-GPUs placed, cost)."""
    return (-int(flows.sum()), int(np.dot(flows, p.cost)))


def _side_mask(p: Problem) -> BoolArray:
    """Requirements with a side rule that can bind given the quotes they can use."""
    mask = np.zeros(len(p.reqs), dtype=bool)
    for i, r in enumerate(p.reqs):
        if r.splittable and r.min_chunk <= 1 and r.max_providers is None:
            continue
        s = p.pairs_of(i)
        providers = len(set(p.provider_code[p.pq[s]].tolist()))
        mask[i] = bool(side_rules(r, int(p.rem[i]), providers))
    return mask


def _obeys(p: Problem, flows: IntArray, i: int) -> bool:
    s = p.pairs_of(i)
    used = flows[s]
    taken = used[used > 0]
    r, need = p.reqs[i], int(p.rem[i])
    if not r.splittable and need > 1:
        return len(taken) == 0 or (len(taken) == 1 and int(taken[0]) == need)
    if (taken < lower_chunk(r, need)).any():
        return False
    if r.max_providers is None:
        return True
    return len(set(p.provider_code[p.pq[s][used > 0]].tolist())) <= r.max_providers


def _components_of(p: Problem, seeds: IntArray) -> BoolArray:
    """Requirements connected to ``seeds`` through shared quotes."""
    n_r, n_q = len(p.reqs), len(p.quotes)
    live = p.ub > 0
    graph = coo_matrix(
        (np.ones(int(live.sum())), (p.pr[live], n_r + p.pq[live])), shape=(n_r + n_q,) * 2
    )
    _, labels = connected_components(graph, directed=False)
    return np.isin(labels[:n_r], labels[seeds])


def _reflow_plain(p: Problem, flows: IntArray, side: BoolArray, region: BoolArray) -> None:
    """Re-solve, as an exact flow, the plain requirements in ``region`` around all else."""
    plain = region & ~side
    movable = plain[p.pr]
    fixed = flows.copy()
    fixed[movable] = 0
    avail = p.cap - np.bincount(p.pq, weights=fixed, minlength=len(p.cap)).astype(np.int64)
    rem = np.where(plain, p.rem, 0)
    flows[movable] = solve_flow(rem, avail, p.pr, p.pq, p.cost, active=movable)[movable]
