"""A small scenario for the simulator tests: two months, the shipped contract and inventory."""

from __future__ import annotations

from pathlib import Path

from rofr.sim.demo import example_path
from rofr.sim.scenario import Scenario, load_scenario

CONTRACT = example_path("contract.yaml")
INVENTORY = example_path("inventory.yaml")


def scenario_text(
    *,
    seed: int = 3,
    per_week: float = 3.0,
    ignore_share: float = 0.1,
    azure_scale: float = 0.3,
    months: int = 2,
    renewals: float = 0.3,
) -> str:
    end_month = 2 + months
    return f"""
name: small
seed: {seed}
buyer: openai
horizon: {{start: 2025-02-03, end: 2025-{end_month:02d}-03}}
contract:
  file: {CONTRACT}
  versions: [2023-01-exclusive, 2025-01-rofr, 2025-10-no-rofr]
providers:
  inventory: {INVENTORY}
  adjust:
    azure: {{capacity_scale: {azure_scale}}}
holder:
  provider: azure
  policy:
    response_delay: {{kind: uniform, min_hours: 6, max_hours: 90}}
    ignore_share: {ignore_share}
demand:
  training:
    - name: train
      per_week: {per_week}
      skus: [H100, H200, GB200]
      gpus: {{values: [1024, 4096, 8192]}}
      duration_days: {{kind: uniform, min: 10, max: 40, step: 10}}
      max_unit_price: 16.0
  inference:
    - {{name: api, skus: [H100, H200], product_surface: api, first_gpus: 2048,
       growth_per_month: 0.2, every_days: 7, duration_days: 30}}
  renewals: {{share: {renewals}, lead_days: 7}}
"""


def small_scenario(tmp: Path, **kwargs: float) -> Scenario:
    path = tmp / "small.yaml"
    path.write_text(scenario_text(**kwargs))  # type: ignore[arg-type]
    return load_scenario(path)
