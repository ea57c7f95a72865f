"""One simulated run: a scenario's demand under one contract version (and optional knobs).

To ask "what if version V had been in force all along", the run adopts a contract whose single
version is V re-dated to the scenario's start, so every requirement is judged under V. Everything
else is the service's code: the real ``Broker`` over an in-memory store, on a ``VirtualClock``,
with ``SimulatedProvider`` ports that hold capacity by reservations and release it at their end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from rofr.broker import Broker, Market, VirtualClock
from rofr.contract import Contract
from rofr.engine import State
from rofr.engine import commands as cmd
from rofr.engine import events as ev
from rofr.market import HolderBehaviour, HolderPolicy, SimulatedProvider
from rofr.sim.demand import Arrival, demand_trace, renewal_for
from rofr.sim.driver import Driver, Rejection
from rofr.sim.scenario import Scenario
from rofr.store import EventStore, MemoryStore

__all__ = ["SimRun", "World", "build_world", "run_version", "single_version"]

Progress = Callable[[datetime], None]


def single_version(contract: Contract, version_id: str, start: datetime) -> Contract:
    """``contract`` reduced to ``version_id``, in force from ``start`` with no end."""
    version = contract.version(version_id).model_copy(
        update={"effective_from": start, "effective_until": None}
    )
    return Contract(name=contract.name, parties=contract.parties, versions=(version,))


@dataclass
class World:
    """The simulated parties of one run: providers and the holder's behaviour."""

    providers: dict[str, SimulatedProvider]
    holders: dict[str, HolderBehaviour]


def build_world(scenario: Scenario, seed: int) -> World:
    """Fresh providers (full capacity) and the holder, seeded from ``seed``."""
    specs = scenario.provider_specs()
    providers = {spec.id: SimulatedProvider(spec) for spec in specs}
    holders: dict[str, HolderBehaviour] = {}
    if scenario.holder is not None:
        hs = scenario.holder
        spec = next(s for s in specs if s.id == hs.provider)
        policy = hs.policy or spec.holder or HolderPolicy()
        # Mix the run's seed in so that seeds of a sweep vary the holder's answers too.
        holders[hs.provider] = HolderBehaviour(
            policy, providers[hs.provider], seed=seed * 1_000_003 + hs.seed
        )
    return World(providers, holders)


@dataclass
class SimRun:
    """What one run did: the events in log order, the arrivals, the commands it executed."""

    label: str
    version_id: str
    seed: int
    contract: Contract
    arrivals: list[Arrival]
    events: list[ev.Event]
    state: State
    executed: list[tuple[datetime, cmd.Command]]
    rejections: list[Rejection]
    seconds: float
    adopted_at: datetime = field(default_factory=lambda: datetime.min)
    # The run's event log. A private in-memory log is encoded and hash-chained on first read
    # (``log.head()``, ``log.read_all()``), so a run that only needs its events never pays it.
    log: EventStore | None = None


def run_version(
    scenario: Scenario,
    version_id: str,
    *,
    contract: Contract | None = None,
    seed: int | None = None,
    label: str | None = None,
    store: EventStore | None = None,
    progress: Progress | None = None,
    record_commands: bool = False,
) -> SimRun:
    """Run the scenario's demand under ``version_id`` to the end of the horizon (and until
    every requirement is final), returning the run. Deterministic for a given seed."""
    started = time.perf_counter()
    seed = scenario.seed if seed is None else seed
    full = contract if contract is not None else scenario.load_contract()
    start, end = scenario.horizon.start_at, scenario.horizon.end_at
    judged = single_version(full, version_id, start)
    world = build_world(scenario, seed)
    adopted_at = start - timedelta(hours=1)
    clock = VirtualClock(adopted_at)
    # A private in-memory log has one writer: the broker may skip reading it back, and the
    # log is encoded and hashed only if someone reads it (the same rows either way).
    log = store if store is not None else MemoryStore()
    broker = Broker(
        log,
        clock,
        Market(world.providers),
        exclusive=store is None,
    )
    events: list[ev.Event] = []
    broker.listeners.append(events.extend)
    holder_ports = {hid: world.providers[hid] for hid in world.holders}
    driver = Driver(broker, clock, holders=world.holders, holder_ports=holder_ports)
    executed: list[tuple[datetime, cmd.Command]] | None = [] if record_commands else None
    driver.executed = executed
    arrivals = demand_trace(scenario, seed)
    renewals = scenario.demand.renewals
    all_arrivals = list(arrivals)

    def renew(batch: Sequence[ev.Event]) -> None:
        for e in batch:
            if not isinstance(e, ev.RequirementFulfilled):
                continue
            rs = broker.state.requirements[e.requirement_id]
            ends = max(p.end for p in rs.placed)
            arrival = renewal_for(rs.requirement, ends, renewals, seed, end)
            if arrival is not None:
                at = max(arrival[0], clock.now)
                all_arrivals.append((at, arrival[1]))
                driver.submit(arrival[1], at)

    if renewals.share > 0:
        broker.listeners.append(renew)
    adopt = cmd.AdoptContract(judged.model_dump(mode="json"), by=scenario.buyer)
    broker.execute(adopt, adopted_at)
    if executed is not None:
        executed.append((adopted_at, adopt))
    for at, req in arrivals:
        driver.submit(req, at)
    driver.run(progress=progress)
    # The broker's listeners hold the driver and this function's closure, both of which hold
    # the broker: clear them so the run is freed by reference counting alone (the driver
    # froze its records for the cyclic collector, which would otherwise keep the cycle).
    broker.listeners.clear()
    return SimRun(
        label=label or version_id,
        version_id=version_id,
        seed=seed,
        contract=judged,
        arrivals=sorted(all_arrivals, key=lambda a: (a[0], a[1].id)),
        events=events,
        state=broker.state,
        executed=executed or [],
        rejections=driver.rejections,
        seconds=time.perf_counter() - started,
        adopted_at=adopted_at,
        log=log,
    )
