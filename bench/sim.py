"""Requirements simulated per second through the full engine, against a SimPy baseline.

Run: ``.venv/bin/python bench/sim.py [--scaled N] [--skip-sweep]``

1. The shipped example (examples/deal-history) under each of its five versions.
2. A scaled-up year: N requirements (default 100,000) of small training runs under the
   January 2025 first refusal, with ample rival capacity (no shortfall retries).
3. A SimPy model of the same simple flow (arrival, offer to the holder, answer or deadline,
   placement with the holder or a rival, capacity released at the end) as the baseline.
4. A sweep of the example on one process and on two: the speed-up.

Targets (issue 6): the scaled year under 10 s; rofr at least as fast per requirement as SimPy;
two processes at least 1.8x one. This script measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import time
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


def sweep_speedup(scenario: Scenario) -> tuple[float, float]:
    """Seconds for the same 8-task sweep on one process and on two."""
    params = ["version=2025-01-rofr,2025-10-no-rofr"]
    times = []
    for workers in (1, 2):
        started = time.perf_counter()
        run_sweep(scenario, params, 4, engine="processes", workers=workers)
        times.append(time.perf_counter() - started)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scaled", type=int, default=100_000)
    parser.add_argument("--skip-sweep", action="store_true")
    args = parser.parse_args()

    example = load_scenario(EXAMPLE)
    contract = example.load_contract()
    print("example (examples/deal-history, one year):")
    for version in example.version_ids(contract):
        n, s = rofr_rate(example, version)
        print(f"  {version:24s} {n:6d} requirements in {s:6.2f} s = {n / s:8.0f} req/s")

    scaled = scaled_scenario(args.scaled)
    n, s = rofr_rate(scaled, "2025-01-rofr")
    print(f"scaled year: {n} requirements in {s:.1f} s = {n / s:.0f} req/s (target: < 10 s)")
    m, t = simpy_rate(n)
    print(f"simpy baseline: {m} requirements in {t:.2f} s = {m / t:.0f} req/s")
    print(f"ratio rofr/simpy per requirement: {(n / s) / (m / t):.3f} (target: >= 1)")

    if not args.skip_sweep:
        one, two = sweep_speedup(example)
        print(f"sweep of the example, 8 runs: 1 process {one:.1f} s, 2 processes {two:.1f} s, "
              f"speed-up {one / two:.2f}x (target: >= 1.8x)")  # fmt: skip


if __name__ == "__main__":
    main()
