"""Side rules as a MILP, solved by HiGHS, over a chosen subset of requirements and pairs.

Variables: one integer ``u[p]`` per pair, with ``x[p] = w[p] * u[p]`` GPUs placed, where
``w[p]`` is the whole remainder for a not-splittable requirement (``u`` is then 0/1: all or
nothing on one quote) and 1 otherwise. A min-chunk requirement gets a 0/1 ``y[p]`` per pair
(``lb * y <= x <= ub * y``); a max-providers requirement a 0/1 ``z`` per provider
(``x <= ub * z``, ``sum z <= K``). Rows: requirement totals and quote capacities.

The objective is lexicographic, solved in two phases: maximise GPUs placed, then fix that
count and minimise cost. Costs are passed in dollars (the integer costs divided by the price
scale): HiGHS warns about, and is 2-3x slower on, objective coefficients near 1e8.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import highspy
import numpy as np
import numpy.typing as npt

from rofr.optimize.fit import lower_chunk
from rofr.optimize.problem import IntArray, Problem

__all__ = ["MilpResult", "solve_milp"]

_INF = highspy.kHighsInf


@dataclass
class _Rows:
    """Rows collected in coordinate form, turned into CSR at the end."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    entries: list[tuple[int, int, float]] = field(default_factory=list)

    def add(self, cols: list[int], vals: list[float], lo: float, hi: float) -> None:
        row = len(self.lower)
        self.lower.append(lo)
        self.upper.append(hi)
        self.entries.extend((row, c, v) for c, v in zip(cols, vals, strict=True))


@dataclass(frozen=True)
class MilpResult:
    """GPUs per model pair, and whether HiGHS proved the subproblem optimal."""

    flows: IntArray
    proven: bool


def solve_milp(
    problem: Problem,
    reqs: IntArray,
    pairs: IntArray,
    cap_avail: IntArray,
    *,
    integer: npt.NDArray[np.bool_] | None = None,
    need: IntArray | None = None,
    ruled: npt.NDArray[np.bool_] | None = None,
    exact: bool = True,
    time_limit_s: float | None = None,
) -> MilpResult:
    """Place requirements ``reqs`` on ``pairs`` (indices into ``problem``'s pairs, all of
    them belonging to ``reqs``) within ``cap_avail`` GPUs per quote, honouring every rule.

    Pairs whose ``integer`` flag is False (those of plain requirements) are continuous: for
    any fixed choice of the integer ones, the rest is a transportation LP whose optimum is
    integral, so the optimum is unchanged; the caller re-solves them as a flow to get whole
    GPUs. Their values in the result are then not meaningful.

    ``need`` overrides the GPUs each requirement still needs (a merged class of plain twins
    stands for all of them); only requirements flagged in ``ruled`` (default: all) get their
    side rules as constraints."""
    need_of = problem.rem if need is None else need
    n = len(pairs)
    if n == 0:
        return MilpResult(np.zeros(0, dtype=np.int64), True)
    pr, pq = problem.pr[pairs], problem.pq[pairs]
    rem_p = need_of[pr]
    weight = np.ones(n, dtype=np.int64)
    upper = np.minimum(rem_p, cap_avail[pq])
    rows = _Rows()
    col_upper: list[float] = []
    extra = 0  # binaries after the n pair columns
    starts = np.searchsorted(pr, reqs)
    ends = np.searchsorted(pr, reqs, side="right")
    for i, lo_p, hi_p in zip(reqs.tolist(), starts.tolist(), ends.tolist(), strict=True):
        req, gpus = problem.reqs[i], int(need_of[i])
        own = list(range(lo_p, hi_p))
        if not own:
            continue
        if ruled is not None and not ruled[i]:
            rows.add(own, [1.0] * len(own), -_INF, float(gpus))
            continue
        if not req.splittable and gpus > 1:
            weight[own] = gpus
            upper[own] = (cap_avail[pq[own]] >= gpus).astype(np.int64)
            rows.add(own, [1.0] * len(own), -_INF, 1.0)
            continue
        rows.add(own, [1.0] * len(own), -_INF, float(gpus))
        lb = lower_chunk(req, gpus)
        if lb > 1:
            for p in own:
                y = n + extra
                extra += 1
                col_upper.append(1.0)
                rows.add([p, y], [1.0, -float(lb)], 0.0, _INF)
                rows.add([p, y], [1.0, -float(upper[p])], -_INF, 0.0)
        provs = problem.provider_code[pq[own]]
        unique = sorted(set(provs.tolist()))
        if req.max_providers is not None and req.max_providers < len(unique):
            zcols: list[int] = []
            for code in unique:
                z = n + extra
                extra += 1
                zcols.append(z)
                col_upper.append(1.0)
                for p in [own[k] for k in np.nonzero(provs == code)[0].tolist()]:
                    rows.add([p, z], [1.0, -float(upper[p])], -_INF, 0.0)
            rows.add(zcols, [1.0] * len(zcols), -_INF, float(req.max_providers))
    for j in sorted(set(pq.tolist())):
        own = np.nonzero(pq == j)[0].tolist()
        rows.add(own, weight[own].astype(float).tolist(), -_INF, float(cap_avail[j]))

    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 0.0 if exact else 1e-6)
    h.setOptionValue("mip_abs_gap", 0.5 / problem.scale)
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    total_cols = n + extra
    ups = np.concatenate([upper.astype(float), np.array(col_upper, dtype=float)])
    h.addVars(total_cols, np.zeros(total_cols), ups)
    kinds = np.ones(total_cols, dtype=np.uint8)
    if integer is not None:
        kinds[:n] = integer.astype(np.uint8)
    h.changeColsIntegrality(total_cols, np.arange(total_cols, dtype=np.int32), kinds)
    _pass_rows(h, rows)
    cols = np.arange(n, dtype=np.int32)
    placed_obj = -weight.astype(float)
    h.changeColsCost(n, cols, placed_obj)
    # The all-zero plan is always feasible: a start that guarantees an answer under a limit.
    h.setSolution(total_cols, np.arange(total_cols, dtype=np.int32), np.zeros(total_cols))
    h.run()
    proven = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    first = _values(h, kinds)
    placed = round(float(np.dot(weight, first[:n])))
    # Phase 2: keep the GPU count, minimise cost (gap 0 when exact: proven optimal).
    h.addRow(float(placed), _INF, n, cols, weight.astype(float))
    h.changeColsCost(n, cols, (problem.cost[pairs] * weight).astype(float) / problem.scale)
    h.setSolution(total_cols, np.arange(total_cols, dtype=np.int32), first)
    h.run()
    proven = proven and h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    second = _values(h, kinds)
    if round(float(np.dot(weight, second[:n]))) < placed:  # no solution found: keep phase 1
        second = first
    return MilpResult(np.rint(second[:n] * weight).astype(np.int64), proven)


def _pass_rows(h: highspy.Highs, rows: _Rows) -> None:
    if not rows.lower:
        return
    entries = np.array(rows.entries, dtype=float).reshape(-1, 3)
    order = np.lexsort((entries[:, 1], entries[:, 0]))
    entries = entries[order]
    row_idx = entries[:, 0].astype(np.int64)
    starts = np.searchsorted(row_idx, np.arange(len(rows.lower))).astype(np.int32)
    h.addRows(
        len(rows.lower),
        np.array(rows.lower),
        np.array(rows.upper),
        len(entries),
        starts,
        entries[:, 1].astype(np.int32),
        entries[:, 2],
    )


def _values(h: highspy.Highs, kinds: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    if h.getInfo().primal_solution_status != 2:  # 2 = feasible; none found: place nothing
        return np.zeros(len(kinds))
    values = np.array(h.getSolution().col_value[: len(kinds)])
    # Integer columns come back within a tolerance of whole numbers: snap them.
    integral = kinds > 0
    values[integral] = np.rint(values[integral])
    return values
