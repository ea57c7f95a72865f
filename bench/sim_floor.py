"""The floor: what DESIGN.md's architecture costs per requirement in CPython, with no rules.

Run: ``.venv/bin/python bench/sim_floor.py [--requirements N]``

Issue 6 asks for a 100,000-requirement year in under 10 s and for rofr to be at least as fast
per requirement as a SimPy model of the same flow. This script asks how close any
implementation of the design could get in this interpreter. It times a skeleton that does only
what the design makes every requirement do, and none of the contract logic:

- the ~10 events of the common path (submitted, close deadline set, screened, offer sent,
  offer deadline set, offer deadline cancelled, accepted, placed, close deadline cancelled,
  fulfilled), each an immutable record built once;
- each event folded into the state: a new immutable requirement record (the same 21 fields as
  ``RequirementState``) in a persistent map, and a new state value (the core is pure: no
  mutation in place);
- the offer's content hash (canonical JSON of the requirement, sha256), which the holder
  and the audit check;
- the arrival, the holder's answer and the two deadlines on a time-ordered heap, a random
  answer delay, and an append to an in-memory log per event.

It runs the skeleton (folding each event, and folding each decision's events at once),
rofr's scaled year (``bench/sim.py``'s scenario) and the SimPy model, each at N requirements,
and prints microseconds per requirement and the ratios. Records here are plain tuples and the
cyclic collector is paused, so the skeleton is a generous floor: whatever it costs, rofr's
rules, holder, market and shell come on top. If it costs about what SimPy does, SimPy parity
is out of reach for the design; what it leaves of the 10 s year's 100 us per requirement is
the budget for all the rest. It measures and prints; the one check is that the skeleton
took every requirement the whole way.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import heapq
import random
import time
from dataclasses import MISSING, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import immutables

from rofr.engine.state import RequirementState
from rofr.values import canonical_json_text
from sim import rofr_rate, scaled_scenario, simpy_rate

# The requirement record's fields and defaults are rofr's own (``RequirementState``), so the
# skeleton copies as wide a record as the engine does.
_FIELDS = [f.name for f in fields(RequirementState)]
_DEFAULTS = tuple(f.default for f in fields(RequirementState) if f.default is not MISSING)
_OFFER, _EVENTS = _FIELDS.index("offer"), _FIELDS.index("events")

# Records are plain tuples and each copy is one generated expression: the cheapest immutable
# record and the cheapest copy CPython offers (rofr's records are slotted dataclasses, copied
# by generated code that stores each slot: somewhat dearer). The floor is meant to be generous.
_COPIERS: dict[tuple[str, ...], Any] = {}


def replaced(rec: tuple[Any, ...], changes: dict[str, Any]) -> tuple[Any, ...]:
    """A copy of ``rec`` with ``changes`` (one generated tuple expression per set of keys)."""
    keys = tuple(changes)
    copier = _COPIERS.get(keys)
    if copier is None:
        items = ", ".join(
            f"c[{name!r}]" if name in changes else f"r[{i}]" for i, name in enumerate(_FIELDS)
        )
        copier = _COPIERS[keys] = eval(f"lambda r, c: ({items},)")
    new: tuple[Any, ...] = copier(rec, changes)
    return new


def fold(state: tuple[Any, ...], req_id: str, changes: dict[str, Any]) -> tuple[Any, ...]:
    """The state after an event of ``req_id``: one new record, one map update, one new state
    (a tuple of the state's seven parts, the requirements' persistent map second)."""
    requirements: immutables.Map[str, tuple[Any, ...]] = state[1]
    rec = requirements[req_id]
    changes["events"] = rec[_EVENTS] + 1
    new = replaced(rec, changes)
    return (state[0], requirements.set(req_id, new), *state[2:])


def record(
    state: tuple[Any, ...],
    req_id: str,
    decided: tuple[tuple[tuple[Any, ...], dict[str, Any]], ...],
    log: list[tuple[Any, ...]],
    per_decision: bool,
) -> tuple[Any, ...]:
    """Log one decision's events and fold them: one by one (what ``evolve`` is defined as), or
    with their changes merged and folded once (a cheaper engine the design would allow)."""
    if per_decision:
        merged: dict[str, Any] = {}
        for event, changes in decided:
            log.append(event)
            merged.update(changes)
        return fold(state, req_id, merged)
    for event, changes in decided:
        log.append(event)
        state = fold(state, req_id, changes)
    return state


def skeleton(requirements: int, seed: int = 1, *, per_decision: bool = False) -> float:
    """Seconds to push ``requirements`` through the skeleton (see the module docstring);
    ``per_decision`` folds each decision's events at once instead of one by one."""
    # As in rofr's driver, the cyclic collector is paused for the run (nothing here is cyclic).
    gc.disable()
    try:
        return _skeleton(requirements, seed, per_decision)
    finally:
        gc.enable()


def _skeleton(requirements: int, seed: int, per_decision: bool) -> float:
    rng = random.Random(seed)
    start = datetime(2025, 1, 6, tzinfo=UTC)
    gap = timedelta(days=364) / requirements
    empty: immutables.Map[str, Any] = immutables.Map()
    state: tuple[Any, ...] = (None, empty, empty, None, None, None, ())
    log: list[tuple[Any, ...]] = []
    heap: list[tuple[datetime, int, str, str]] = []
    seq = 0
    started = time.perf_counter()
    for i in range(requirements + 1):
        # The last round only drains the heap: the answers due after the last arrival.
        now = start + gap * i if i < requirements else datetime.max.replace(tzinfo=UTC)
        # Everything due before this arrival: answers and deadlines, in time order. Events are
        # tuples (kind, time, requirement, payload...): the cheapest immutable record.
        while heap and heap[0][0] <= now:
            at, _, what, req_id = heapq.heappop(heap)
            rec = state[1][req_id]
            if what == "answer" and rec[_OFFER] is not None:
                answered = (
                    (("DeadlineCancelled", at, req_id, f"{req_id}/offer"), {"timers": ()}),
                    (("OfferAccepted", at, req_id, 16, "1.0", "H100", "r"), {"offer": None}),
                    (("PlacementMade", at, req_id, ("p", 16)), {"placed": (("p", 16),)}),
                    (("DeadlineCancelled", at, req_id, f"{req_id}/close"), {"timers": ()}),
                    (("RequirementFulfilled", at, req_id), {"status": "fulfilled"}),
                )
                state = record(state, req_id, answered, log, per_decision)
        if i == requirements:
            break
        req_id = f"t-{i:05d}"
        requirement = {
            "id": req_id, "buyer": "b", "skus": ["H100", "H200"], "gpus": 16,
            "earliest_start": (now + timedelta(days=2)).isoformat(),
            "latest_start": (now + timedelta(days=23)).isoformat(),
            "duration_hours": 72, "max_unit_price": None, "regions": [],
            "workload_class": "training", "product_surface": None, "kind": "new",
            "splittable": True, "customer_tags": [], "min_chunk": 8, "max_providers": None,
        }  # fmt: skip
        log.append(("RequirementSubmitted", now, req_id, requirement, "v1"))
        new = (requirement, "v1", now, *_DEFAULTS)
        state = (state[0], state[1].set(req_id, new), *state[2:])
        deadline = now + timedelta(days=5)
        content = canonical_json_text(
            {"requirement": requirement, "deadline": deadline.isoformat()}
        )
        digest = hashlib.sha256(content.encode()).hexdigest()
        offer = ("OfferSent", now, req_id, f"{req_id}/offer-1", deadline, digest, 16, "why")
        submitted = (
            (("DeadlineSet", now, req_id, f"{req_id}/close", now), {"timers": (1,)}),
            (("RequirementScreened", now, req_id, ("a", "b"), "fr", "h"), {"basis": "fr"}),
            (offer, {"status": "offered", "offer": offer, "last_offer": offer, "round": 1}),
            (("DeadlineSet", now, req_id, f"{req_id}/offer", deadline), {"timers": (1, 2)}),
        )
        state = record(state, req_id, submitted, log, per_decision)
        seq += 1
        delay = timedelta(seconds=round(rng.uniform(6, 90) * 3600))
        heapq.heappush(heap, (now + delay, seq, "answer", req_id))
        seq += 1
        heapq.heappush(heap, (deadline, seq, "deadline", req_id))
    seconds = time.perf_counter() - started
    # Every requirement went the whole way: 1 + 4 events at arrival, 5 at the answer.
    assert len(log) == 10 * requirements, len(log)
    return seconds


def main() -> None:
    """Time the skeleton, rofr and SimPy at the same size; print per-requirement costs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=int, default=20_000)
    n = parser.parse_args().requirements
    floor = min(skeleton(n) for _ in range(3))
    merged = min(skeleton(n, per_decision=True) for _ in range(3))
    simpy_n, simpy_s = min((simpy_rate(n) for _ in range(3)), key=lambda r: r[1])
    rofr_n, rofr_s = rofr_rate(scaled_scenario(n), "2025-01-rofr")
    rows = [
        ("skeleton (the design, no rules), best of 3", n, floor),
        ("skeleton folding once per decision, best of 3", n, merged),
        ("rofr, full engine (scaled year)", rofr_n, rofr_s),
        ("SimPy model of the same flow, best of 3", simpy_n, simpy_s),
    ]
    for name, count, seconds in rows:
        print(f"{name:44} {count:7,} req {seconds:6.2f} s {1e6 * seconds / count:7.1f} us/req")
    per = {name: seconds / count for name, count, seconds in rows}
    skeleton_us, merged_us, rofr_us, simpy_us = (1e6 * v for v in per.values())
    print(f"rofr / skeleton per requirement: {rofr_us / skeleton_us:.1f}x")
    print(
        f"skeleton / SimPy per requirement: {skeleton_us / simpy_us:.1f}x "
        f"(folding once per decision: {merged_us / simpy_us:.1f}x)"
    )
    print(f"the 10 s year allows 100 us/req; the skeleton takes {skeleton_us:.0f} us/req "
          f"({merged_us:.0f} folding once per decision)")  # fmt: skip


if __name__ == "__main__":
    main()
