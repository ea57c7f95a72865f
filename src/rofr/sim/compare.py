"""Running the same demand under several contract versions (or holder policies) and reading it.

A comparison item is a version id (``2025-01-rofr``), or a knob setting applied on top of a
version (``2025-01-rofr:holder.ignore_share=0.3``; without ``VERSION:`` the first version).
Every run's events are checked against the invariants; a violation is reported, never hidden.
"""

from __future__ import annotations

import gc
import multiprocessing
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from rofr.contract import Contract
from rofr.engine import State, check_invariants, final_states_complete
from rofr.sim.knobs import KnobError, apply_knobs, parse_assignment
from rofr.sim.metrics import read_run, summary
from rofr.sim.report import Compared
from rofr.sim.run import run_version
from rofr.sim.scenario import Scenario

__all__ = ["compare", "compare_for_report", "for_report", "plan_items", "run_item"]

_METHODS = multiprocessing.get_all_start_methods()

Progress = Callable[[str, datetime], None]


def plan_items(
    scenario: Scenario, contract: Contract, items: Sequence[str] | None
) -> list[tuple[str, str, dict[str, str]]]:
    """(label, version id, knob settings) for each item; the scenario's versions by default."""
    versions = scenario.version_ids(contract)
    known = {v.id for v in contract.versions}
    planned: list[tuple[str, str, dict[str, str]]] = []
    for item in items or versions:
        version, settings = versions[0], {}
        head, sep, tail = item.partition(":")
        if "=" in item:
            if sep and "=" not in head:
                version = head
            name, values = parse_assignment(tail if sep and "=" not in head else item)
            if len(values) != 1:
                raise KnobError(f"{item!r}: compare one value per item")
            settings = {name: values[0]}
        else:
            version = item
        if version not in known:
            raise KnobError(f"no contract version {version!r} (known: {', '.join(sorted(known))})")
        planned.append((item, version, settings))
    return planned


def run_item(
    scenario: Scenario,
    contract: Contract,
    label: str,
    version: str,
    settings: dict[str, str],
    seed: int | None = None,
    progress: Callable[[datetime], None] | None = None,
) -> Compared:
    """One run of a comparison, with its metrics and its invariant check."""
    adjusted, _ = apply_knobs(scenario, settings)
    run = run_version(
        adjusted, version, contract=contract, seed=seed, label=label, progress=progress
    )
    facts = read_run(run.events)
    h = scenario.horizon
    metrics = summary(facts, run.contract, h.start, h.end)
    violations = check_invariants(run.events) + final_states_complete(run.events)
    return Compared(run, facts, metrics, violations)


def compare(
    scenario: Scenario,
    items: Sequence[str] | None = None,
    *,
    seed: int | None = None,
    progress: Progress | None = None,
) -> list[Compared]:
    """Run every item over the same demand trace and return the runs in item order."""
    contract = scenario.load_contract()
    return list(_in_turn(scenario, contract, plan_items(scenario, contract, items), seed, progress))


def _in_turn(
    scenario: Scenario,
    contract: Contract,
    planned: Sequence[tuple[str, str, dict[str, str]]],
    seed: int | None,
    progress: Progress | None,
) -> Iterator[Compared]:
    # One run at a time, each handed over before the next starts.
    for label, version, settings in planned:
        tick = None if progress is None else (lambda now, label=label: progress(label, now))
        yield run_item(scenario, contract, label, version, settings, seed, tick)


def for_report(c: Compared) -> Compared:
    """``c`` without what the report does not read: the run's events, state, commands and log
    (a year of 100,000 requirements is a million events). Labels, contract, seed, timing,
    facts, metrics and violations stay."""
    run = replace(c.run, events=[], state=State(), executed=[], arrivals=[], log=None)
    return Compared(run, c.facts, c.metrics, c.violations)


# A worker's queue for progress ticks, set by the pool's initializer (under fork or spawn).
_TICKS: Any = None
_DAY = timedelta(days=1)


def _init_worker(ticks: Any) -> None:
    global _TICKS
    _TICKS = ticks
    gc.enable()  # forked while the parent had paused its collector (see compare_for_report)


def _report_item(
    scenario: Scenario, contract: Contract, label: str, version: str,
    settings: dict[str, str], seed: int | None,
) -> Compared:  # fmt: skip
    last: list[datetime | None] = [None]

    def tick(now: datetime) -> None:
        # At most one message per simulated day: the loop runs thousands of steps a second.
        if last[0] is None or now - last[0] >= _DAY:
            last[0] = now
            _TICKS.put((label, now))

    done = for_report(run_item(scenario, contract, label, version, settings, seed, tick))
    # The result is pickled next (about a million objects for a 100,000-requirement year):
    # frozen, they are not walked again by the collections that pickling's allocations set
    # off. This process only runs such tasks; frozen objects are still freed by refcount.
    gc.freeze()
    return done


def compare_for_report(
    scenario: Scenario,
    contract: Contract,
    planned: Sequence[tuple[str, str, dict[str, str]]],
    *,
    seed: int | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> list[Compared]:
    """``plan_items``'s items run on up to ``workers`` processes, each returned
    :func:`for_report` (what crosses back from a worker), in item order. Each run is the same
    pure function of its inputs wherever it runs, so the results equal running them here."""
    if workers <= 1 or len(planned) <= 1:
        return [for_report(c) for c in _in_turn(scenario, contract, planned, seed, progress)]
    context = multiprocessing.get_context("fork" if "fork" in _METHODS else "spawn")
    ticks = context.SimpleQueue()

    def relay() -> None:
        # The workers' ticks, passed on to ``progress`` in this process (a None ends it).
        while (message := ticks.get()) is not None:
            if progress is not None:
                progress(*message)

    relay_thread = threading.Thread(target=relay, daemon=True)
    # Unpickling the results builds about a million objects per large run; with the cyclic
    # collector running, its full passes walked them again and again (4 s instead of 0.8 s
    # for one 100,000-requirement year). They are acyclic and kept for the report: the
    # collector is paused meanwhile and they are then frozen, as the driver does a run's.
    paused = gc.isenabled()
    gc.disable()
    try:
        with ProcessPoolExecutor(
            max_workers=min(workers, len(planned)), mp_context=context,
            initializer=_init_worker, initargs=(ticks,),
        ) as pool:  # fmt: skip
            # Submitting starts the workers: the relay thread starts after, so no process
            # is forked while it holds the queue's lock.
            futures = [
                pool.submit(_report_item, scenario, contract, label, version, settings, seed)
                for label, version, settings in planned
            ]
            relay_thread.start()
            try:
                return [f.result() for f in futures]
            finally:
                ticks.put(None)
                relay_thread.join()
    finally:
        if paused:
            gc.freeze()
            gc.enable()
