"""Sweeps: the same seeds give the same results on one process, on two, and on Ray."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from rofr.sim.sweep import aggregate, grid, ray_available, run_sweep, write_sweep
from sim_kit import small_scenario

PARAMS = ["version=2025-01-rofr", "holder.ignore_share=0,0.6"]


def test_grid_is_the_product_in_order() -> None:
    assert grid(["a=1,2", "b=x"]) == [(("a", "1"), ("b", "x")), (("a", "2"), ("b", "x"))]
    assert grid([]) == [()]


@pytest.mark.parametrize(
    ("values", "mean", "half"),
    [([1.0, 2.0, 3.0], 2.0, 4.302653 * 1.0 / math.sqrt(3)),
     ([5.0, 5.0], 5.0, 0.0),
     ([7.0], 7.0, 0.0)],
    ids=["three", "no-spread", "one-seed"],
)  # fmt: skip
def test_aggregate_uses_the_t_interval(values: list[float], mean: float, half: float) -> None:
    rows = [((("k", "v"),), i, {"m": v}) for i, v in enumerate(values)]
    (cell,) = aggregate(rows)
    assert cell.n == len(values)
    assert cell.mean == pytest.approx(mean)
    assert cell.half_width == pytest.approx(half, rel=1e-5)


def test_one_process_and_two_give_the_same_results(tmp_path: Path) -> None:
    sc = small_scenario(tmp_path, months=1)
    one = run_sweep(sc, PARAMS, 2, engine="processes", workers=1)
    two = run_sweep(sc, PARAMS, 2, engine="processes", workers=2)
    assert one == two
    assert len(one) == 4
    low, high = (r[2] for r in one[::2])
    assert low["offers_expired"] <= high["offers_expired"]
    assert all(r[2]["invariant_violations"] == 0 for r in one)
    page = write_sweep(tmp_path / "out", aggregate(one), ["cost_usd", "days_to_full_mean"])
    assert 'id="fig-sweep"' in page.read_text()
    assert (tmp_path / "out" / "sweep.csv").read_text().count("\n") > 4


@pytest.mark.skipif(not ray_available(), reason="ray is not installed (pip install 'rofr[ray]')")
def test_ray_gives_the_same_results_as_processes(tmp_path: Path) -> None:
    sc = small_scenario(tmp_path, months=1)
    on_processes = run_sweep(sc, PARAMS, 2, engine="processes", workers=2)
    on_ray = run_sweep(sc, PARAMS, 2, engine="ray", workers=2)
    assert on_ray == on_processes
