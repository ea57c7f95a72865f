"""``Broker(exclusive=True)``: the single-writer path writes the same log as the default one."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from rofr.broker import Broker, Market, VirtualClock
from rofr.engine import Rejected, State
from rofr.engine.commands import AdoptContract
from rofr.sim.driver import Driver
from rofr.sim.run import build_world, run_version
from rofr.store import EventStore, MemoryStore, StoredEvent, VersionConflict, open_store
from sim_kit import small_scenario

Opener = Callable[[Path], EventStore]


def replay(tmp_path: Path, store: EventStore, exclusive: bool) -> list[StoredEvent]:
    """Run a month of the small scenario's commands through a broker on ``store``."""
    sc = small_scenario(tmp_path, months=1)
    sim = run_version(sc, "2025-01-rofr", record_commands=True)
    world = build_world(sc, sim.seed)
    clock = VirtualClock(sim.executed[0][0])
    broker = Broker(store, clock, Market(world.providers), exclusive=exclusive)
    Driver(broker, clock, holder_ports={h: world.providers[h] for h in world.holders})
    for at, command in sim.executed:
        clock.set(at)
        with contextlib.suppress(Rejected):
            broker.execute(command, at)
    assert broker.position == store.head()[0]
    return list(store.read_all())


@pytest.mark.parametrize(
    "opener",
    [
        pytest.param(lambda _: MemoryStore(), id="memory-lazy"),
        pytest.param(lambda tmp: open_store(str(tmp / "alone.db")), id="sqlite"),
    ],
)
def test_exclusive_broker_writes_the_default_brokers_log(tmp_path: Path, opener: Opener) -> None:
    expected = replay(tmp_path, MemoryStore(), exclusive=False)
    rows = replay(tmp_path, opener(tmp_path), exclusive=True)
    assert len(rows) > 100
    assert rows == expected


def test_exclusive_broker_still_refuses_a_second_writer(tmp_path: Path) -> None:
    """The store's version checks stay on: a broker whose state is stale fails, not forks."""
    store = MemoryStore()
    rows = replay(tmp_path, store, exclusive=True)
    at = rows[0].recorded_at
    alone = Broker(store, VirtualClock(at), exclusive=True)
    alone.state = State()  # as if another process had written the whole log behind its back
    adopt = AdoptContract(dict(rows[0].data["contract"]), by="openai")
    with pytest.raises(VersionConflict):
        alone.execute(adopt, at)
    assert store.head()[0] == len(rows)
