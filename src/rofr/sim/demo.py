"""The shipped example run: the January 2025 arrangement over a simulated quarter.

Azure holds a first_look refusal on new capacity and the API exclusively; Oracle, CoreWeave
and AWS compete for what Azure declines. About fifty requirements of mixed kinds arrive over
February to April 2025; one is covered by a waiver Azure grants at run time.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path

from rofr.broker import Broker, Market, VirtualClock
from rofr.contract import load_contract
from rofr.engine import commands as cmd
from rofr.market import HolderBehaviour, SimulatedProvider, load_inventory
from rofr.market.holder import HolderPolicy, UniformDelay
from rofr.sim.driver import Driver
from rofr.store import EventStore
from rofr.values import Kind, Requirement

__all__ = ["DEMO_END", "DEMO_START", "DemoRun", "demo_requirements", "example_path", "run_demo"]

DEMO_START = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)
DEMO_END = datetime(2025, 6, 30, tzinfo=UTC)
BUYER = "openai"
HOLDER = "azure"


def example_path(name: str) -> Path:
    """Path of a file shipped in ``rofr/examples``."""
    return Path(str(resources.files("rofr") / "examples" / name))


def demo_requirements(seed: int = 7) -> list[tuple[datetime, Requirement]]:
    """About fifty requirements over the quarter: training runs, API inference, renewals."""
    rng = random.Random(seed)
    out: list[tuple[datetime, Requirement]] = []
    t = DEMO_START
    for i in range(1, 51):
        t += timedelta(hours=rng.randint(12, 60))
        kind_roll = rng.random()
        if kind_roll < 0.5:  # a training run: large, new, H100 or GB200
            sku = rng.choice([("H100",), ("GB200",), ("H100", "H200")])
            req = dict(
                gpus=rng.choice([1024, 4096, 8192, 16384, 24576]),
                skus=sku,
                workload_class="training",
                product_surface=None,
                kind=Kind.NEW,
                days=rng.choice([30, 60, 90]),
                cap=rng.choice([None, Decimal("12.00"), Decimal("16.00"), Decimal("30.00")]),
            )
        elif kind_roll < 0.75:  # API inference growth: exclusive to the holder
            req = dict(
                gpus=rng.choice([256, 512, 1024]),
                skus=("H100", "H200"),
                workload_class="inference",
                product_surface="api",
                kind=rng.choice([Kind.NEW, Kind.EXPANSION]),
                days=rng.choice([90, 180]),
                cap=None,
            )
        else:  # a renewal of earlier capacity: outside the first refusal (new only)
            req = dict(
                gpus=rng.choice([512, 1024, 2048]),
                skus=("H100",),
                workload_class=rng.choice(["training", "inference"]),
                product_surface=rng.choice([None, "chat"]),
                kind=Kind.RENEWAL,
                days=rng.choice([30, 90]),
                cap=Decimal("13.00"),
            )
        earliest = t + timedelta(days=rng.choice([7, 14, 21]))
        out.append(
            (
                t,
                Requirement(
                    id=f"req-{i:03d}",
                    buyer=BUYER,
                    skus=req["skus"],  # type: ignore[arg-type]
                    gpus=req["gpus"],  # type: ignore[arg-type]
                    earliest_start=earliest,
                    latest_start=earliest + timedelta(days=21),
                    duration_hours=24 * req["days"],  # type: ignore[operator]
                    max_unit_price=req["cap"],  # type: ignore[arg-type]
                    workload_class=req["workload_class"],  # type: ignore[arg-type]
                    product_surface=req["product_surface"],  # type: ignore[arg-type]
                    kind=req["kind"],  # type: ignore[arg-type]
                    min_chunk=8,
                ),
            )
        )
    return out


@dataclass
class DemoRun:
    """What the demo ran: the broker (its state and store) and the requirements."""

    broker: Broker
    driver: Driver
    requirements: list[Requirement]
    waived: str


def run_demo(store: EventStore, progress: Callable[[datetime], None] | None = None) -> DemoRun:
    """Run the example quarter into ``store`` and return the run."""
    contract = load_contract(example_path("contract.yaml"))
    inventory = load_inventory(example_path("inventory.yaml"))
    providers = {spec.id: SimulatedProvider(spec) for spec in inventory.providers}
    clock = VirtualClock(DEMO_START - timedelta(days=1))
    broker = Broker(store, clock, Market(providers))
    azure = providers[HOLDER]
    # The holder answers from its free capacity within one to four days; it lets a share of
    # offers lapse, which is what makes some windows expire in the demo.
    policy = HolderPolicy(
        response_delay=UniformDelay(kind="uniform", min_hours=20, max_hours=110),
        ignore_share=0.12,
    )
    driver = Driver(
        broker,
        clock,
        holders={HOLDER: HolderBehaviour(policy, azure, seed=11)},
        holder_ports={HOLDER: azure},
    )
    broker.execute(cmd.AdoptContract(contract.model_dump(mode="json"), by=BUYER))
    arrivals = demo_requirements()
    waived = arrivals[17][1].id
    # Azure consents in advance that one urgent training run may go straight to the market.
    driver.schedule(
        arrivals[17][0] - timedelta(hours=1),
        cmd.GrantWaiver(
            {
                "id": "w-urgent-1",
                "clause": "rofr-new",
                "granted_by": HOLDER,
                "requirement_id": waived,
                "note": "urgent run; Azure consents to rival capacity",
            },
            by=HOLDER,
        ),
    )
    for at, req in arrivals:
        driver.submit(req, at)
    driver.run(until=DEMO_END, progress=progress)
    return DemoRun(broker, driver, [r for _, r in arrivals], waived)
