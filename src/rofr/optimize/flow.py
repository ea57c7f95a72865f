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

__all__ = ["solve_flow"]


def solve_flow(
    rem: IntArray,
    cap: IntArray,
    pr: IntArray,
    pq: IntArray,
    cost: IntArray,
    active: npt.NDArray[np.bool_] | None = None,
) -> IntArray:
    """Return the GPUs on each pair in an optimal flow (0 for pairs not ``active``).

    ``rem`` and ``cap`` are per requirement and per quote; pairs whose ``active`` flag is
    False are left out of the network.
    """
    flows = np.zeros(len(pr), dtype=np.int64)
    use = np.nonzero(active)[0] if active is not None else np.arange(len(pr))
    if len(use) == 0 or int(rem.sum()) == 0:
        return flows
    n_r, n_q = len(rem), len(cap)
    source, sink = 0, 1 + n_r + n_q
    req_nodes = np.arange(1, 1 + n_r, dtype=np.int64)
    quote_nodes = np.arange(1 + n_r, 1 + n_r + n_q, dtype=np.int64)
    tails = np.concatenate([np.full(n_r, source), 1 + pr[use], quote_nodes])
    heads = np.concatenate([req_nodes, 1 + n_r + pq[use], np.full(n_q, sink)])
    caps = np.concatenate([rem, np.minimum(rem[pr[use]], cap[pq[use]]), cap])
    costs = np.concatenate([np.zeros(n_r, np.int64), cost[use], np.zeros(n_q, np.int64)])
    solver = min_cost_flow.SimpleMinCostFlow()
    arcs = solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs
    )
    total = int(rem.sum())
    solver.set_nodes_supplies(np.array([source, sink]), np.array([total, -total]))
    status = solver.solve_max_flow_with_min_cost()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    pair_arcs = arcs[n_r : n_r + len(use)]
    flows[use] = solver.flows(pair_arcs)
    return flows
