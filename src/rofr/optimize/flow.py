"""The plain problem as a min-cost flow (a transportation problem), solved exactly by OR-Tools.

source -> requirement (capacity: GPUs still needed, cost 0)
requirement -> quote (one arc per usable pair, capacity: GPUs needed, cost per GPU)
quote -> sink (capacity: GPUs offered, cost 0)

``solve_max_flow_with_min_cost`` gives the lexicographic objective directly (most GPUs placed,
then least cost) with no big-M penalty to overflow, and the flow is integral by construction.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from rofr.optimize.problem import IntArray

__all__ = ["solve_flow", "twin_classes"]


def solve_flow(
    rem: IntArray,
    cap: IntArray,
    pr: IntArray,
    pq: IntArray,
    cost: IntArray,
    active: npt.NDArray[np.bool_] | None = None,
) -> IntArray:
    """Return the GPUs on each pair in an optimal flow (0 for pairs not ``active``).

    ``rem`` and ``cap`` are per requirement and per quote; ``pr`` must be sorted. Pairs whose
    ``active`` flag is False are left out of the network.

    Requirements that see exactly the same quotes at the same per-GPU costs are merged into
    one node first (the network is then often 10-30x smaller): this is exact, because any
    flow out of the merged node can be shared among its members, each taking its own need,
    and every share costs the same. The share is deterministic: members in index (= id)
    order, each filled from the class's flows cheapest quote first.
    """
    flows = np.zeros(len(pr), dtype=np.int64)
    use = np.nonzero(active)[0] if active is not None else np.arange(len(pr))
    if len(use) == 0 or int(rem.sum()) == 0:
        return flows
    sub_pr, sub_pq, sub_cost = pr[use], pq[use], cost[use]
    bounds = np.searchsorted(sub_pr, np.arange(len(rem) + 1)).tolist()
    members = twin_classes(rem, bounds, sub_pq, sub_cost)
    reps = np.array([m[0] for m in members], dtype=np.int64)
    supply = np.array([int(rem[m].sum()) for m in members], dtype=np.int64)
    starts = np.array([bounds[i] for i in reps], dtype=np.int64)
    sizes = np.array([bounds[i + 1] - bounds[i] for i in reps], dtype=np.int64)
    cls_of_pair = np.repeat(np.arange(len(reps)), sizes)
    pos = np.arange(int(sizes.sum())) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    rep_pairs = np.repeat(starts, sizes) + pos
    class_flows = _network(supply, cap, cls_of_pair, sub_pq[rep_pairs], sub_cost[rep_pairs])
    offsets = (np.cumsum(sizes) - sizes).tolist()
    for c, group in enumerate(members):
        lo, size, off = int(starts[c]), int(sizes[c]), offsets[c]
        got = class_flows[off : off + size]
        if len(group) == 1:
            flows[use[lo : lo + size]] = got
        else:
            _share(flows, use, bounds, group, got, sub_cost[lo : lo + size], rem)
    return flows


def twin_classes(rem: IntArray, bounds: list[int], pq: IntArray, cost: IntArray) -> list[list[int]]:
    """Group requirements (with something to place and some pair) that see the same quotes
    at the same costs; requirement ``i``'s pairs are ``bounds[i]:bounds[i + 1]``."""
    classes: dict[bytes, list[int]] = {}
    for i, need in enumerate(rem.tolist()):
        lo, hi = bounds[i], bounds[i + 1]
        if need > 0 and hi > lo:
            classes.setdefault(pq[lo:hi].tobytes() + cost[lo:hi].tobytes(), []).append(i)
    return list(classes.values())


def _share(
    flows: IntArray,
    use: IntArray,
    bounds: list[int],
    group: list[int],
    got: IntArray,
    unit_cost: IntArray,
    rem: IntArray,
) -> None:
    """Split a merged class's flow per quote among its members (see ``solve_flow``)."""
    left = got.copy()
    order = [k for k in np.lexsort((np.arange(len(got)), unit_cost)).tolist() if left[k] > 0]
    for i in group:
        need = int(rem[i])
        while need > 0 and order:
            k = order[0]
            take = min(need, int(left[k]))
            flows[use[bounds[i] + k]] += take
            need -= take
            left[k] -= take
            if left[k] == 0:
                order.pop(0)


def _network(
    supply: IntArray, cap: IntArray, tail: IntArray, head: IntArray, cost: IntArray
) -> IntArray:
    """Max flow at min cost from supply nodes through (tail, head) arcs to quote capacities."""
    n_r, n_q = len(supply), len(cap)
    source, sink = 0, 1 + n_r + n_q
    req_nodes = np.arange(1, 1 + n_r, dtype=np.int64)
    quote_nodes = np.arange(1 + n_r, 1 + n_r + n_q, dtype=np.int64)
    tails = np.concatenate([np.full(n_r, source), 1 + tail, quote_nodes])
    heads = np.concatenate([req_nodes, 1 + n_r + head, np.full(n_q, sink)])
    caps = np.concatenate([supply, np.minimum(supply[tail], cap[head]), cap])
    costs = np.concatenate([np.zeros(n_r, np.int64), cost, np.zeros(n_q, np.int64)])
    solver = min_cost_flow.SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs
    )
    total = int(supply.sum())
    solver.set_nodes_supplies(np.array([source, sink]), np.array([total, -total]))
    status = solver.solve_max_flow_with_min_cost()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    return np.asarray(solver.flows(arcs[n_r : n_r + len(tail)]), dtype=np.int64)
