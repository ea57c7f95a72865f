"""Turn a solved allocation into a ``Plan``: allocations, shortfalls with their cause, and the
"considered" table that says, for every requirement and quote, why the quote was used or not.

The table is computed lazily per requirement (a batch of 10k requirements x 500 quotes would
otherwise build five million entries nobody reads); it is a pure function of the inputs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from rofr.optimize.fit import effective_price, side_rules, unfit_reason
from rofr.optimize.plan import Allocation, Consideration, Method, Plan, Shortfall
from rofr.values import Quote, Requirement

__all__ = ["assemble"]

#: (requirement index, quote index) -> GPUs placed
AllocMap = Mapping[tuple[int, int], int]


def assemble(
    reqs: Sequence[Requirement],
    quotes: Sequence[Quote],
    eligible: Sequence[frozenset[str] | None],
    rem: Sequence[int],
    alloc: AllocMap,
    usable: Callable[[int], Sequence[int]],
    now: datetime,
    *,
    proven: bool,
    method: Method,
) -> Plan:
    """Build the plan. ``usable(i)`` lists the quote indices that can serve requirement ``i``."""
    allocations: list[Allocation] = []
    placed = [0] * len(reqs)
    taken = [0] * len(quotes)
    for (i, j), gpus in sorted(alloc.items()):
        if gpus <= 0:
            continue
        r, q = reqs[i], quotes[j]
        cost = Decimal(0) if q.reserved else gpus * q.unit_price * r.duration_hours
        allocations.append(Allocation(r.id, q.id, q.provider, gpus, q.unit_price, cost, q.reserved))
        placed[i] += gpus
        taken[j] += gpus
    shortfalls = tuple(
        Shortfall(r.id, rem[i] - placed[i], _cause(i, reqs, quotes, eligible, rem, usable, now))
        for i, r in enumerate(reqs)
        if placed[i] < rem[i]
    )
    considered = _Considered(reqs, quotes, eligible, rem, alloc, placed, taken, usable, now)
    total = sum((a.cost for a in allocations), Decimal(0))
    return Plan(tuple(allocations), total, shortfalls, considered, proven, method)


def _cause(
    i: int,
    reqs: Sequence[Requirement],
    quotes: Sequence[Quote],
    eligible: Sequence[frozenset[str] | None],
    rem: Sequence[int],
    usable: Callable[[int], Sequence[int]],
    now: datetime,
) -> str:
    r, need = reqs[i], rem[i]
    fit = usable(i)
    if not fit:
        reasons = [unfit_reason(r, q, eligible[i], now) for q in quotes]
        if any(x is not None and x.startswith("price ") for x in reasons):
            return "all eligible quotes priced above cap"
        return "no eligible quote"
    capacity = sum(quotes[j].gpus for j in fit)
    if not r.splittable and need > 1 and max(quotes[j].gpus for j in fit) < need:
        return f"not splittable and no single quote has {need} GPUs"
    if capacity < need:
        return f"eligible capacity {capacity} < {need} needed"
    rules = side_rules(r, need, len({quotes[j].provider for j in fit}))
    if rules:
        return f"eligible capacity taken by other requirements or out of reach ({', '.join(rules)})"
    return "eligible capacity taken by other requirements in the batch"


class _Considered(Mapping[str, tuple[Consideration, ...]]):
    """requirement id -> one Consideration per quote (quote-id order), built on first access."""

    def __init__(
        self,
        reqs: Sequence[Requirement],
        quotes: Sequence[Quote],
        eligible: Sequence[frozenset[str] | None],
        rem: Sequence[int],
        alloc: AllocMap,
        placed: Sequence[int],
        taken: Sequence[int],
        usable: Callable[[int], Sequence[int]],
        now: datetime,
    ) -> None:
        self._reqs, self._quotes, self._eligible = reqs, quotes, eligible
        self._rem, self._alloc, self._placed, self._taken = rem, alloc, placed, taken
        self._usable, self._now = usable, now
        self._index = {r.id: i for i, r in enumerate(reqs)}
        self._cache: dict[str, tuple[Consideration, ...]] = {}
        self._used_by: dict[int, list[int]] = defaultdict(list)
        for (i, j), gpus in alloc.items():
            if gpus > 0:
                self._used_by[i].append(j)

    def __getitem__(self, requirement_id: str) -> tuple[Consideration, ...]:
        if requirement_id not in self._cache:
            self._cache[requirement_id] = self._build(self._index[requirement_id])
        return self._cache[requirement_id]

    def __iter__(self) -> Iterator[str]:
        return iter(r.id for r in self._reqs)

    def __len__(self) -> int:
        return len(self._reqs)

    def __repr__(self) -> str:
        return f"<considered for {len(self)} requirements>"

    def _build(self, i: int) -> tuple[Consideration, ...]:
        r, rows = self._reqs[i], []
        for j, q in enumerate(self._quotes):
            used = self._alloc.get((i, j), 0)
            reason = unfit_reason(r, q, self._eligible[i], self._now) or self._why(i, j, used)
            rows.append(Consideration(q.id, q.provider, used, reason))
        return tuple(rows)

    def _why(self, i: int, j: int, used: int) -> str:
        r, q = self._reqs[i], self._quotes[j]
        if used > 0:
            return f"used {used} GPUs"
        if q.gpus == 0:
            return "not used: quote offers no GPUs"
        free, need = q.gpus - self._taken[j], self._rem[i]
        if need == 0:
            return "not used: nothing left to place"
        if not r.splittable and free < need:
            if q.gpus >= need:
                return "capacity taken by cheaper-for-the-batch requirements"
            return f"not used: not splittable and only {free} of {need} GPUs free"
        if self._placed[i] >= need and not self._cheaper_than_used(i, j):
            return "not used: cheaper quotes sufficed"
        if free <= 0:
            return "capacity taken by cheaper-for-the-batch requirements"
        providers = len({self._quotes[k].provider for k in self._usable(i)})
        rules = side_rules(r, need, providers)
        return f"not used: {', '.join(rules)}" if rules else "not used"

    def _cheaper_than_used(self, i: int, j: int) -> bool:
        """Is quote ``j`` cheaper than some quote requirement ``i`` did use?"""
        price = effective_price(self._quotes[j], None)
        return any(effective_price(self._quotes[k], None) > price for k in self._used_by[i])
