"""Requirements simulated per second through the full engine, against a SimPy baseline.

Run: ``.venv/bin/python bench/sim.py [--scaled N[,N...]] [--skip-sweep]``

1. The shipped example (examples/deal-history) under each of its five versions.
2. A scaled-up year: N requirements (default 20,000 and 100,000) of small training runs under
   the January 2025 first refusal, with ample rival capacity (no shortfall retries).
   The simulator's log is encoded and hash-chained lazily, on first read; each run is also
   timed with its whole log hashed afterwards (``log.head()``), so both figures are printed.
3. A SimPy model of the same simple flow (arrival, offer to the holder, answer or deadline,
   placement with the holder or a rival, capacity released at the end) as the baseline,
   best of three runs.
4. A sweep of the example on one process and on two: the speed-up. The sweep is each of the
   example's five versions under four seeds: 20 runs of 0.05 to 0.4 s, the same 20 on one
   process and on two. (Until issue 6 it was two versions under four seeds, 8 runs of about
   0.1 s: starting the pool and waiting for the last run were then a tenth of the two-process
   time, so the figure said more about those than about running sweeps in parallel.) Next to
   it, the speed-up of a pure-CPU loop on two processes, measured in the same run: the most
   the machine gives two processes at that moment (a shared 2-vCPU VM often gives less
   than 2x).

Targets (issue 6): the scaled year under 10 s; rofr at least as fast per requirement as SimPy;
two processes at least 1.8x one. This script measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import simpy

from rofr.sim.demo import example_path
from rofr.sim.run import run_version
from rofr.sim.scenario import Scenario, load_scenario
from rofr.sim.sweep import run_sweep

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "deal-history" / "scenario.yaml"


def scaled_scenario(requirements: int) -> Scenario:
    """A year with ``requirements`` small training runs; rivals have room for all of them."""
    per_week = requirements / 52.0
    text = f"""
name: scaled
seed: 1
buyer: openai
horizon: {{start: 2025-01-06, end: 2026-01-05}}
contract: {{file: {example_path("contract.yaml")}, versions: [2025-01-rofr]}}
providers:
  inventory: {example_path("inventory.yaml")}
  adjust:
    coreweave: {{capacity_scale: 20}}
    oracle: {{capacity_scale: 20}}
holder:
  provider: azure
  policy: {{response_delay: {{kind: uniform, min_hours: 6, max_hours: 90}}, ignore_share: 0.1}}
demand:
  training:
    - name: t
      per_week: {per_week}
      skus: [H100, H200]
      gpus: {{values: [8, 16, 32, 64]}}
      duration_days: {{values: [1, 3, 7]}}
      lead_days: {{values: [2, 5]}}
"""
    path = Path("/tmp/rofr-bench-scaled.yaml")
    path.write_text(text)
    return load_scenario(path)


def rofr_rate(scenario: Scenario, version: str) -> tuple[int, float]:
    """(requirements, seconds) of one run through the full engine."""
    run = run_version(scenario, version)
    return len(run.state.requirements), run.seconds


@dataclass(frozen=True)
class Measured:
    """One run: requirements, wall and CPU seconds of the run, and of hashing its log after."""

    requirements: int
    wall: float
    cpu: float
    chain_wall: float

    @property
    def rate(self) -> float:
        """Requirements per wall second, the log left unhashed (nobody read it)."""
        return self.requirements / self.wall

    @property
    def cpu_rate(self) -> float:
        """Requirements per CPU second (insensitive to other load on the machine)."""
        return self.requirements / self.cpu

    @property
    def rate_with_chain(self) -> float:
        """Requirements per wall second including encoding and hash-chaining the whole log."""
        return self.requirements / (self.wall + self.chain_wall)


def measure(scenario: Scenario, version: str) -> Measured:
    """Run once; then read the log's head, which encodes and hash-chains every event."""
    cpu = time.process_time()
    run = run_version(scenario, version)
    cpu = time.process_time() - cpu
    assert run.log is not None
    started = time.perf_counter()
    position, _ = run.log.head()
    chain = time.perf_counter() - started
    assert position == len(run.events)
    return Measured(len(run.state.requirements), run.seconds, cpu, chain)


def simpy_rate(requirements: int, seed: int = 1) -> tuple[int, float]:
    """The same simple flow as a SimPy model: (requirements, seconds)."""
    rng = random.Random(seed)
    env = simpy.Environment()
    holder = simpy.Container(env, capacity=64_000, init=64_000)
    rival = simpy.Container(env, capacity=10**9, init=10**9)
    year_hours = 364 * 24.0
    mean_gap = year_hours / requirements
    window_hours = 5 * 24.0
    done = [0]

    def use(pool: simpy.Container, gpus: int, hours: float):  # type: ignore[no-untyped-def]
        yield pool.get(gpus)
        yield env.timeout(hours)
        yield pool.put(gpus)

    def requirement(gpus: int, hours: float):  # type: ignore[no-untyped-def]
        ignored = rng.random() < 0.1
        delay = rng.uniform(6, 90)
        answer = env.timeout(delay) if not ignored else env.event()
        deadline = env.timeout(window_hours)
        result = yield answer | deadline
        if answer in result and holder.level >= gpus:
            env.process(use(holder, gpus, hours))
        else:
            env.process(use(rival, gpus, hours))
        done[0] += 1

    def arrivals():  # type: ignore[no-untyped-def]
        for _ in range(requirements):
            yield env.timeout(rng.expovariate(1.0 / mean_gap))
            env.process(requirement(rng.choice((8, 16, 32, 64)), 24.0 * rng.choice((1, 3, 7))))

    env.process(arrivals())
    started = time.perf_counter()
    env.run()
    return done[0], time.perf_counter() - started


def sweep_speedup(scenario: Scenario, repeats: int = 3) -> tuple[float, float, int]:
    """Best seconds (of ``repeats``) for the same sweep (every version of ``scenario`` under 4
    seeds) on one process and on two, and the number of runs in it."""
    versions = scenario.version_ids(scenario.load_contract())
    params = [f"version={','.join(versions)}"]
    one, two = _best_of(repeats, lambda w: run_sweep(scenario, params, 4, workers=w))
    return one, two, len(versions) * 4


def _best_of(repeats: int, run: Callable[[int], object]) -> tuple[float, float]:
    # One process, then two, in turn: a burst of other work on the machine then slows both
    # sides alike instead of only the side that happened to run during it.
    best = {1: math.inf, 2: math.inf}
    for _ in range(repeats):
        for workers in (1, 2):
            started = time.perf_counter()
            run(workers)
            best[workers] = min(best[workers], time.perf_counter() - started)
    return best[1], best[2]


def _spin(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def cpu_loop_speedup(tasks: int = 8, n: int = 1_500_000, repeats: int = 3) -> float:
    """Speed-up of ``tasks`` pure-CPU loops on two processes over one (best of ``repeats``):
    the ceiling the machine gives a two-process sweep at the moment."""

    def run(workers: int) -> None:
        if workers == 1:
            for _ in range(tasks):
                _spin(n)
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                list(pool.map(_spin, [n] * tasks))

    one, two = _best_of(repeats, run)
    return one / two


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scaled", default="20000,100000", help="sizes, comma-separated")
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")

    example = load_scenario(EXAMPLE)
    contract = example.load_contract()
    print("example (examples/deal-history, one year):")
    total = Measured(0, 0.0, 0.0, 0.0)
    for version in example.version_ids(contract):
        m = measure(example, version)
        print(f"  {version:24s} {m.requirements:6d} requirements in {m.wall:6.2f} s "
              f"= {m.rate:8.0f} req/s ({m.cpu_rate:8.0f} per CPU-s)")  # fmt: skip
        total = Measured(total.requirements + m.requirements, total.wall + m.wall,
                         total.cpu + m.cpu, total.chain_wall + m.chain_wall)  # fmt: skip
    print(f"  all versions: {total.rate:.0f} req/s, {total.cpu_rate:.0f} per CPU-s, "
          f"{total.rate_with_chain:.0f} req/s with the log hash-chained")  # fmt: skip

    # Before the big runs: forking workers from a process that has just held a 100,000
    # requirement run costs more than the example's tasks themselves.
    if not args.skip_sweep:
        load = os.getloadavg()[0]
        one, two, runs = sweep_speedup(example)
        ceiling = cpu_loop_speedup()
        print(f"sweep of the example, {runs} runs (best of 3): 1 process {one:.2f} s, 2 processes "
              f"{two:.2f} s, speed-up {one / two:.2f}x (target: >= 1.8x; a pure-CPU loop: "
              f"{ceiling:.2f}x; load average {load:.2f} before, {os.getloadavg()[0]:.2f} after)")  # fmt: skip

    for size in (int(x) for x in args.scaled.split(",")):
        m = measure(scaled_scenario(size), "2025-01-rofr")
        print(f"scaled year: {m.requirements} requirements in {m.wall:.1f} s = {m.rate:.0f} req/s "
              f"({m.cpu_rate:.0f} per CPU-s; target: < 10 s for 100,000); hashing the log "
              f"after: {m.chain_wall:.1f} s more = {m.rate_with_chain:.0f} req/s")  # fmt: skip
        # The baseline's best of three: a few seconds each, and this shared machine's speed
        # drifts by a third from minute to minute; its best is the conservative yardstick.
        n, t = min((simpy_rate(m.requirements) for _ in range(3)), key=lambda r: r[1])
        print(f"  simpy baseline (best of 3): {n} requirements in {t:.2f} s = {n / t:.0f} req/s")
        print(f"  ratio rofr/simpy per requirement: {m.rate / (n / t):.3f} (target: >= 1)")


if __name__ == "__main__":
    main()
