"""Simulated runs: deterministic, the same decisions as the service's broker, invariants hold."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rofr.broker import Broker, Market, VirtualClock
from rofr.engine import Rejected, check_invariants, decode_event, final_states_complete
from rofr.sim.compare import compare
from rofr.sim.driver import Driver
from rofr.sim.run import build_world, run_version
from rofr.store import MemoryStore, open_store
from rofr.values import Kind
from sim_kit import small_scenario


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    sc = small_scenario(tmp_path)
    first = [c.metrics for c in compare(sc)]
    again = [c.metrics for c in compare(sc)]
    other = [c.metrics for c in compare(sc, seed=sc.seed + 1)]
    assert first == again
    assert first != other


def test_versions_differ_and_renewals_happen(tmp_path: Path) -> None:
    runs = {c.run.label: c for c in compare(small_scenario(tmp_path))}
    excl, rofr = runs["2023-01-exclusive"], runs["2025-01-rofr"]
    assert excl.metrics.get("share_azure") == 1.0  # exclusive: only the holder serves
    assert rofr.metrics["offers_accepted"] + rofr.metrics["offers_expired"] > 0
    assert excl.metrics["offers_accepted"] == 0
    assert any(r.kind is Kind.RENEWAL for _, r in rofr.run.arrivals)
    for c in runs.values():
        assert c.violations == []
        assert c.metrics["open"] == 0


@pytest.mark.parametrize("version", ["2023-01-exclusive", "2025-01-rofr"])
def test_a_simulation_decides_as_the_service_does(tmp_path: Path, version: str) -> None:
    """Replay the commands the simulator executed, at the same times, through a fresh broker on
    SQLite (the service's store): the event streams must be equal, event for event."""
    sc = small_scenario(tmp_path, months=1)
    sim = run_version(sc, version, record_commands=True)
    world = build_world(sc, sim.seed)
    store = open_store(str(tmp_path / "service.db"))
    clock = VirtualClock(sim.executed[0][0])
    broker = Broker(store, clock, Market(world.providers))
    # The holder books what it accepts in its own fleet, as in the simulation (no answers:
    # those are among the replayed commands).
    Driver(broker, clock, holder_ports={h: world.providers[h] for h in world.holders})
    for at, command in sim.executed:
        clock.set(at)
        with contextlib.suppress(Rejected):
            broker.execute(command, at)
    replayed = [decode_event(r.type, dict(r.data)) for r in store.read_all()]
    assert len(sim.events) > 100
    assert replayed == sim.events
    # The simulator's own log (single writer, encoded and hashed only when read) holds the
    # same rows, hash for hash, as the service's SQLite log.
    lazy, fresh = MemoryStore(), build_world(sc, sim.seed)
    clock = VirtualClock(sim.executed[0][0])
    alone = Broker(lazy, clock, Market(fresh.providers), exclusive=True)
    Driver(alone, clock, holder_ports={h: fresh.providers[h] for h in fresh.holders})
    for at, command in sim.executed:
        clock.set(at)
        with contextlib.suppress(Rejected):
            alone.execute(command, at)
    assert list(lazy.read_all()) == list(store.read_all())
    store.close()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    per_week=st.floats(0.5, 6),
    ignore_share=st.floats(0, 1),
    azure_scale=st.floats(0.05, 1.5),
    renewals=st.floats(0, 1),
)
def test_invariants_hold_in_every_simulated_run(
    seed: int, per_week: float, ignore_share: float, azure_scale: float, renewals: float
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sc = small_scenario(
            Path(tmp), seed=seed, per_week=round(per_week, 2), ignore_share=round(ignore_share, 2),
            azure_scale=round(azure_scale, 2), months=1, renewals=round(renewals, 2),
        )  # fmt: skip
        for version in ("2025-01-rofr", "2025-10-no-rofr"):
            run = run_version(sc, version)
            assert check_invariants(run.events) == []
            assert final_states_complete(run.events) == []
