"""The batch placement problem in arrays: requirements, quotes and the (requirement, quote)
pairs that may be used, with exact integer costs.

Requirements and quotes are sorted by id first, so the same input in any order builds the same
arrays and hence the same plan. Pairs are sorted by (requirement, quote) index.

Costs are integers: ``cost[p] = effective_price * 10**k * duration_hours`` for the smallest
``k`` (at most 9) that makes every price and credit whole; a price with more decimals is
refused rather than rounded. Pairs are built per group of requirements that share skus,
regions and eligible set: the group's candidate quotes are found once, then start time and
price cap are checked for the whole group at once with numpy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from rofr.optimize.fit import effective_price, unfit_reason
from rofr.values import Quote, Requirement

__all__ = ["Problem", "build_problem", "decimal_scale"]

IntArray = npt.NDArray[np.int64]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_DECIMALS = 9
_NO_CAP = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Problem:
    """Arrays describing one batch. ``rem[i]`` is what requirement ``i`` still needs;
    ``cap[j]`` what quote ``j`` offers; pair ``p`` links ``pr[p]`` to ``pq[p]`` at ``cost[p]``
    (scaled by ``scale``) per GPU, at most ``ub[p]`` GPUs."""

    reqs: tuple[Requirement, ...]
    quotes: tuple[Quote, ...]
    eligible: tuple[frozenset[str] | None, ...]
    rem: IntArray
    cap: IntArray
    provider_code: IntArray
    pr: IntArray
    pq: IntArray
    cost: IntArray
    ub: IntArray
    scale: int
    now: datetime
    credit: Mapping[str, Decimal] | None

    def pairs_of(self, i: int) -> slice:
        """The slice of pair indices that belong to requirement ``i``."""
        lo, hi = np.searchsorted(self.pr, [i, i + 1])
        return slice(int(lo), int(hi))


def decimal_scale(values: Sequence[Decimal]) -> int:
    """Smallest power of ten that makes every value whole (refuses more than 9 decimals)."""
    places = 0
    for value in values:
        exponent = value.normalize().as_tuple().exponent
        if not isinstance(exponent, int):
            raise ValueError(f"price {value} is not a finite number")
        places = max(places, -exponent)
    if places > _MAX_DECIMALS:
        raise ValueError(f"prices with more than {_MAX_DECIMALS} decimals cannot be costed exactly")
    return int(10**places)


def _micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def build_problem(
    requirements: Sequence[Requirement],
    quotes: Sequence[Quote],
    eligible: Mapping[str, frozenset[str] | None],
    now: datetime,
    remaining: Mapping[str, int] | None = None,
    credit: Mapping[str, Decimal] | None = None,
) -> Problem:
    """Sort the input, check ids are unique, and build every usable pair with its cost."""
    reqs = tuple(sorted(requirements, key=lambda r: r.id))
    qs = tuple(sorted(quotes, key=lambda q: q.id))
    if len({r.id for r in reqs}) != len(reqs):
        raise ValueError("requirement ids must be unique")
    if len({q.id for q in qs}) != len(qs):
        raise ValueError("quote ids must be unique")
    elig = tuple(eligible.get(r.id) for r in reqs)
    rem = np.array([_remaining(r, remaining) for r in reqs], dtype=np.int64)
    cap = np.array([q.gpus for q in qs], dtype=np.int64)
    prices = [effective_price(q, credit) for q in qs]
    scale = decimal_scale([*prices, *(q.unit_price for q in qs)])
    price_s = np.array([int(p * scale) for p in prices], dtype=np.int64)
    providers = sorted({q.provider for q in qs})
    provider_code = np.array([providers.index(q.provider) for q in qs], dtype=np.int64)

    # Quote-side arrays for the vectorised checks. The cap check compares the *list* price
    # (reserved quotes pass every cap), scaled and floored: whole-number prices compare exactly.
    list_s = np.array([-1 if q.reserved else int(q.unit_price * scale) for q in qs], dtype=np.int64)
    start = np.array([_micros(q.earliest_start) for q in qs], dtype=np.int64)
    open_quote = np.array(
        [q.valid_until >= now and q.requirement_id is None for q in qs], dtype=bool
    )
    by_sku_region: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_sku: dict[str, list[int]] = defaultdict(list)
    for j, q in enumerate(qs):
        if open_quote[j]:
            by_sku_region[(q.sku, q.region)].append(j)
            by_sku[q.sku].append(j)

    groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for i, r in enumerate(reqs):
        groups[(r.skus, r.regions, elig[i])].append(i)

    parts_r: list[IntArray] = []
    parts_q: list[IntArray] = []
    for (skus, regions, allowed), members in groups.items():
        cand = _candidates(skus, regions, by_sku, by_sku_region)  # type: ignore[arg-type]
        if allowed is not None:
            cand = [j for j in cand if qs[j].provider in allowed]  # type: ignore[operator]
        if not cand:
            continue
        c = np.array(sorted(cand), dtype=np.int64)
        m = np.array(members, dtype=np.int64)
        latest = np.array([_micros(reqs[i].latest_start) for i in members], dtype=np.int64)
        caps = np.array([_cap_scaled(reqs[i], scale) for i in members], dtype=np.int64)
        ok = (start[c][None, :] <= latest[:, None]) & (list_s[c][None, :] <= caps[:, None])
        ri, qi = np.nonzero(ok)
        parts_r.append(m[ri])
        parts_q.append(c[qi])

    # Quotes made for one requirement are rare: check them with the scalar rules.
    index = {r.id: i for i, r in enumerate(reqs)}
    from_groups = len(parts_r)
    for j, q in enumerate(qs):
        k = index.get(q.requirement_id) if q.requirement_id is not None else None
        if k is not None and unfit_reason(reqs[k], q, elig[k], now) is None:
            parts_r.append(np.array([k], dtype=np.int64))
            parts_q.append(np.array([j], dtype=np.int64))

    pr = np.concatenate(parts_r) if parts_r else np.zeros(0, dtype=np.int64)
    pq = np.concatenate(parts_q) if parts_q else np.zeros(0, dtype=np.int64)
    # Each group's pairs are already in quote order per requirement, so a stable sort by
    # requirement suffices (and is much faster on millions of pairs) unless quotes made for
    # one requirement were appended at the end.
    appended = len(parts_r) > from_groups
    order = np.lexsort((pq, pr)) if appended else np.argsort(pr, kind="stable")
    pr, pq = pr[order], pq[order]
    hours = np.array([r.duration_hours for r in reqs], dtype=np.int64)
    _check_range(price_s, hours, rem)
    cost = price_s[pq] * hours[pr]
    ub = np.minimum(rem[pr], cap[pq])
    return Problem(reqs, qs, elig, rem, cap, provider_code, pr, pq, cost, ub, scale, now, credit)


def _remaining(req: Requirement, remaining: Mapping[str, int] | None) -> int:
    value = req.gpus if remaining is None else remaining.get(req.id, req.gpus)
    if value < 0:
        raise ValueError(f"remaining GPUs for {req.id} must not be negative")
    return value


def _candidates(
    skus: tuple[str, ...],
    regions: tuple[str, ...],
    by_sku: Mapping[str, list[int]],
    by_sku_region: Mapping[tuple[str, str], list[int]],
) -> list[int]:
    found: list[int] = []
    for sku in dict.fromkeys(skus):
        if regions:
            for region in dict.fromkeys(regions):
                found.extend(by_sku_region.get((sku, region), ()))
        else:
            found.extend(by_sku.get(sku, ()))
    return found


def _cap_scaled(req: Requirement, scale: int) -> int:
    if req.max_unit_price is None:
        return int(_NO_CAP)
    return int((req.max_unit_price * scale).to_integral_value(rounding="ROUND_FLOOR"))


def _check_range(price_s: IntArray, hours: IntArray, rem: IntArray) -> None:
    # The flow solver scales costs by the node count internally and sums cost * flow in
    # int64; keep well inside 2**62 for both, or refuse rather than overflow silently.
    top = int(np.abs(price_s).max(initial=0)) * int(hours.max(initial=1))
    nodes = len(rem) + len(price_s) + 2
    total = top * int(rem.sum())
    if top * nodes >= 2**62 or total >= 2**62:
        raise OverflowError("prices x hours too large to cost exactly in 64-bit integers")
