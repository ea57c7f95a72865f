"""Running the same demand under several contract versions (or holder policies) and reading it.

A comparison item is a version id (``2025-01-rofr``), or a knob setting applied on top of a
version (``2025-01-rofr:holder.ignore_share=0.3``; without ``VERSION:`` the first version).
Every run's events are checked against the invariants; a violation is reported, never hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rofr.contract import Contract
from rofr.engine import check_invariants, final_states_complete
from rofr.sim.knobs import KnobError, apply_knobs, parse_assignment
from rofr.sim.metrics import read_run, summary
from rofr.sim.report import Compared
from rofr.sim.run import run_version
from rofr.sim.scenario import Scenario

__all__ = ["compare", "plan_items", "run_item"]

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
    out: list[Compared] = []
    for label, version, settings in plan_items(scenario, contract, items):
        tick = None if progress is None else (lambda now, label=label: progress(label, now))
        out.append(run_item(scenario, contract, label, version, settings, seed, tick))
    return out
