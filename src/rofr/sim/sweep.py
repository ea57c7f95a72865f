"""Sweeps: a grid of knob settings times seeds, run on local processes or on Ray, aggregated.

Each task is a pure function of (scenario, settings, seed) and returns plain numbers, so it is
cheap to ship to a worker and the results do not depend on where or in what order tasks ran:
the same seeds give the same table on processes and on Ray. Aggregation gives each metric's
mean and a 95% confidence interval from the t-distribution (n - 1 degrees of freedom).
"""

from __future__ import annotations

import functools
import gc
import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rofr.contract import Contract, load_contract
from rofr.sim.compare import run_item
from rofr.sim.knobs import KnobError, apply_knobs, parse_assignment
from rofr.sim.scenario import Scenario

__all__ = [
    "Cell",
    "SweepTask",
    "aggregate",
    "grid",
    "ray_available",
    "run_sweep",
    "run_task",
]

Engine = Literal["processes", "ray"]


@dataclass(frozen=True, slots=True)
class SweepTask:
    """One point of the grid for one seed; ``scenario`` is the validated model's data."""

    scenario: dict[str, Any]
    settings: tuple[tuple[str, str], ...]
    seed: int


@dataclass(frozen=True, slots=True)
class Cell:
    """One metric at one grid point over the seeds: mean and 95% CI half-width."""

    settings: tuple[tuple[str, str], ...]
    metric: str
    n: int
    mean: float
    half_width: float

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


@functools.lru_cache(maxsize=8)
def _contract(path: str) -> Contract:
    # Each worker parses the contract once, not once per task.
    return load_contract(path)


def run_task(task: SweepTask) -> dict[str, float]:
    """Run one grid point for one seed; the metrics (and the invariant violation count)."""
    scenario = Scenario.model_validate(task.scenario)
    settings = dict(task.settings)
    adjusted, version = apply_knobs(scenario, settings)
    contract = _contract(str(scenario.path(scenario.contract.file)))
    version = version or scenario.version_ids(contract)[0]
    # The knobs are already applied to ``adjusted``; the run itself gets no further settings.
    done = run_item(adjusted, contract, version, version, {}, task.seed)
    return {**done.metrics, "invariant_violations": float(len(done.violations))}


def grid(params: Sequence[str]) -> list[tuple[tuple[str, str], ...]]:
    """Every combination of ``NAME=V1,V2`` assignments, in the order written."""
    axes = [parse_assignment(p) for p in params]
    names = [n for n, _ in axes]
    if len(set(names)) != len(names):
        raise KnobError("each --param name may appear once")
    return [
        tuple(zip(names, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))
    ] or [()]


def ray_available() -> bool:
    """True if ``ray`` can be imported (it is the optional ``[ray]`` extra)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _on_processes(
    tasks: list[SweepTask], workers: int, done: Callable[[], None]
) -> list[dict[str, float]]:
    if workers <= 1:
        out = []
        for t in tasks:
            out.append(run_task(t))
            done()
        return out
    _before_fork(tasks)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = []
        for result in pool.map(run_task, tasks, chunksize=1):
            results.append(result)
            done()
        return results


def _before_fork(tasks: list[SweepTask]) -> None:
    # Workers are forked from this process (the default start method on Linux up to Python
    # 3.13; under another one this costs a parse and saves nothing). What every task would
    # otherwise build once per worker (the parsed contract and inventory) is built here once
    # and inherited. Then the collector's objects are frozen: a worker's collections would
    # otherwise walk (and, by touching their headers, copy page by page) everything inherited
    # from this process, a cost each worker pays that one process does not. Frozen objects
    # are still freed by reference counting; this process keeps them frozen (as the
    # simulator's driver does).
    if tasks:
        scenario = Scenario.model_validate(tasks[0].scenario)
        _contract(str(scenario.path(scenario.contract.file)))
        scenario.provider_specs()
    gc.freeze()


def _on_ray(
    tasks: list[SweepTask], address: str | None, workers: int | None, done: Callable[[], None]
) -> list[dict[str, float]]:
    import ray

    started = not ray.is_initialized()
    if started:
        kwargs: dict[str, Any] = {"address": address, "include_dashboard": False,
                                  "log_to_driver": False}  # fmt: skip
        if address is None and workers is not None:
            kwargs["num_cpus"] = workers
        ray.init(**kwargs)
    try:
        remote = ray.remote(run_task)
        refs = [remote.remote(t) for t in tasks]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[dict[str, float] | None] = [None] * len(refs)
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                results[index[ref]] = ray.get(ref)
                done()
        return [r for r in results if r is not None]
    finally:
        if started:
            ray.shutdown()


def run_sweep(
    scenario: Scenario,
    params: Sequence[str],
    seeds: int,
    *,
    engine: Engine = "processes",
    workers: int = 2,
    address: str | None = None,
    progress: Callable[[], None] | None = None,
) -> list[tuple[tuple[tuple[str, str], ...], int, dict[str, float]]]:
    """Run the grid for seeds ``scenario.seed .. scenario.seed + seeds - 1``: one
    (settings, seed, metrics) row per task, in grid order then seed order."""
    points = grid(params)
    for settings in points:  # refuse a bad knob before starting any worker
        apply_knobs(scenario, {k: v for k, v in settings if k != "version"})
    data = scenario.model_dump()
    tasks = [
        SweepTask(data, settings, scenario.seed + i) for settings in points for i in range(seeds)
    ]
    tick = progress or (lambda: None)
    if engine == "ray":
        results = _on_ray(tasks, address, workers, tick)
    else:
        results = _on_processes(tasks, workers, tick)
    return [(t.settings, t.seed, r) for t, r in zip(tasks, results, strict=True)]


def aggregate(
    rows: Sequence[tuple[tuple[tuple[str, str], ...], int, dict[str, float]]],
) -> list[Cell]:
    """Mean and 95% t-interval of every metric at every grid point."""
    from scipy import stats

    by_point: dict[tuple[tuple[str, str], ...], list[dict[str, float]]] = {}
    for settings, _, metrics in rows:
        by_point.setdefault(settings, []).append(metrics)
    cells: list[Cell] = []
    for settings, runs in by_point.items():
        names = sorted({k for r in runs for k in r})
        for name in names:
            values = [r.get(name, 0.0) for r in runs]
            n = len(values)
            mean = statistics.fmean(values)
            if n > 1:
                sd = statistics.stdev(values)
                half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
            else:
                half = 0.0
            cells.append(Cell(settings, name, n, mean, half))
    return cells


def write_sweep(out: Path, cells: Sequence[Cell], metrics: Sequence[str]) -> Path:
    """``sweep.csv``, ``sweep.png`` and ``sweep.html`` (the plot embedded); returns the html."""
    from rofr.sim.sweep_report import write_sweep_files

    return write_sweep_files(out, cells, metrics)
