"""Placement benchmark: rofr's optimizer against a cheapest-first baseline, PuLP + CBC on the
same LP model, and (for side rules) a full HiGHS MILP.

    .venv/bin/python bench/placement.py [--sizes S,M,L] [--side S|M|none] [--seed 7]

Instances are generated from a seed, with prices drawn around the real per-GPU-hour figures
in shared/facts/gpu_prices.csv. Each requirement asks for one sku in one region, so it sees
about 50 quotes. Times include building the model. Results also go to
bench/results/placement.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from rofr.optimize import place_batch
from rofr.optimize.batch import _obeys, _side_mask
from rofr.optimize.milp import solve_milp
from rofr.optimize.problem import Problem, build_problem
from rofr.values import Quote, Requirement

NOW = datetime(2026, 3, 1, tzinfo=UTC)
HERE = Path(__file__).resolve().parent
FACTS = [
    HERE.parent.parent / "shared/facts/gpu_prices.csv",
    Path("/work/shared/facts/gpu_prices.csv"),
]
PROVIDERS = ("azure", "aws", "gcp", "oci", "coreweave", "lambda", "nebius", "crusoe")
SKUS = ("H100", "H200", "A100", "B200", "GB200")
REGIONS = ("eastus", "westus", "europe", "asia", "brazil", "canada", "india", "japan")
#: name -> (requirements, quotes, regions per sku); quotes per (sku, region) group = 50
SIZES = {"S": (1_000, 50, 1), "M": (10_000, 500, 2), "L": (100_000, 2_000, 8)}


def real_prices() -> dict[str, list[float]]:
    """Per-GPU-hour prices by sku family from the facts file (fallback: a few known ones)."""
    found: dict[str, list[float]] = defaultdict(list)
    for path in FACTS:
        if path.exists():
            for row in csv.DictReader(path.open()):
                family = row["sku"].split()[0]
                if family in SKUS:
                    found[family].append(float(row["usd_per_gpu_hour"]))
            break
    fallback = {"H100": [6.88, 12.29], "H200": [6.3, 10.6], "A100": [2.7, 4.0]}
    return {s: found.get(s) or fallback.get(s, [8.6]) for s in SKUS}


def generate(
    n_req: int, n_quotes: int, n_regions: int, seed: int, side: float = 0.0
) -> tuple[list[Requirement], list[Quote], dict[str, frozenset[str] | None]]:
    """A deterministic instance; ``side`` is the share of requirements given a side rule."""
    rnd = random.Random(seed)
    prices = real_prices()
    skus = SKUS[: max(1, n_quotes // (50 * n_regions))]
    groups = [(s, r) for s in skus for r in REGIONS[:n_regions]]
    reqs: list[Requirement] = []
    eligible: dict[str, frozenset[str] | None] = {}
    demand: dict[tuple[str, str], int] = defaultdict(int)
    for i in range(n_req):
        sku, region = groups[i % len(groups)]
        gpus = rnd.choice((8, 16, 32, 64, 128))
        median = sorted(prices[sku])[len(prices[sku]) // 2]
        cap = (
            Decimal(str(round(median * rnd.uniform(1.0, 1.4), 2))) if rnd.random() < 0.25 else None
        )
        rule: dict[str, Any] = {}
        if rnd.random() < side:
            rule = rnd.choice(
                [{"splittable": False}, {"max_providers": 1}, {"max_providers": 2},
                 {"min_chunk": max(8, gpus // 4)}]
            )  # fmt: skip
        rid = f"r{i:06d}"
        reqs.append(
            Requirement(
                id=rid, buyer="lab", skus=(sku,), gpus=gpus, earliest_start=NOW,
                latest_start=NOW + timedelta(days=rnd.randint(1, 7)),
                duration_hours=rnd.choice((24, 168, 720)), max_unit_price=cap,
                regions=(region,), **rule,
            )
        )  # fmt: skip
        eligible[rid] = frozenset({"azure"}) if rnd.random() < 0.1 else None
        demand[(sku, region)] += gpus
    quotes: list[Quote] = []
    per_group = n_quotes // len(groups)
    for g, (sku, region) in enumerate(groups):
        mean = demand[(sku, region)] * 1.15 / per_group
        for k in range(per_group):
            price = rnd.choice(prices[sku]) * rnd.uniform(0.9, 1.1)
            quotes.append(
                Quote(
                    id=f"q{g:03d}-{k:03d}", provider=PROVIDERS[k % len(PROVIDERS)], sku=sku,
                    region=region, gpus=8 * max(1, round(mean * rnd.uniform(0.3, 1.7) / 8)),
                    unit_price=Decimal(str(round(price, 4))),
                    earliest_start=NOW + timedelta(days=rnd.choice((0, 0, 0, 1, 9))),
                    valid_until=NOW + timedelta(hours=1 if rnd.random() > 0.05 else -1),
                    reserved=rnd.random() < 0.02,
                )
            )  # fmt: skip
    return reqs, quotes, eligible


def baseline(p: Problem) -> tuple[int, float]:
    """Requirements in submission order, each taking the cheapest capacity left for it."""
    left = p.cap.copy()
    placed, cost = 0, 0
    starts = np.searchsorted(p.pr, np.arange(len(p.reqs) + 1))
    for i in range(len(p.reqs)):
        lo, hi = starts[i], starts[i + 1]
        need = int(p.rem[i])
        for k in np.argsort(p.cost[lo:hi], kind="stable").tolist():
            if need == 0:
                break
            j = int(p.pq[lo + k])
            take = min(need, int(left[j]))
            if take:
                left[j] -= take
                need -= take
                placed += take
                cost += take * int(p.cost[lo + k])
    return placed, cost / p.scale


def pulp_solve(p: Problem) -> dict[str, Any]:
    """The same transportation LP in PuLP + CBC (most GPUs first via a large per-GPU bonus)."""
    import pulp

    start = time.perf_counter()
    model = pulp.LpProblem("placement", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x{k}", 0, int(p.ub[k])) for k in range(len(p.pr))]
    dollars = p.cost / p.scale
    bonus = 10 * float(np.abs(dollars).max(initial=1.0)) + 1
    model += pulp.LpAffineExpression((x[k], float(dollars[k]) - bonus) for k in range(len(x)))
    by_r: dict[int, list[int]] = defaultdict(list)
    by_q: dict[int, list[int]] = defaultdict(list)
    for k, (i, j) in enumerate(zip(p.pr.tolist(), p.pq.tolist(), strict=True)):
        by_r[i].append(k)
        by_q[j].append(k)
    for i, ks in by_r.items():
        model += pulp.lpSum(x[k] for k in ks) <= int(p.rem[i])
    for j, ks in by_q.items():
        model += pulp.lpSum(x[k] for k in ks) <= int(p.cap[j])
    model.solve(pulp.PULP_CBC_CMD(msg=False, threads=1))
    values = np.array([v.value() or 0.0 for v in x])
    return {
        "time_s": time.perf_counter() - start,
        "placed": round(float(values.sum())),
        "cost": float(np.dot(values, dollars)),
        "status": pulp.LpStatus[model.status],
    }


def run_size(name: str, seed: int, with_pulp: bool) -> dict[str, Any]:
    n_req, n_q, n_reg = SIZES[name]
    reqs, quotes, eligible = generate(n_req, n_q, n_reg, seed)
    start = time.perf_counter()
    plan = place_batch(reqs, quotes, eligible, NOW)
    rofr_s = time.perf_counter() - start
    p = build_problem(reqs, quotes, eligible, NOW)
    base_placed, base_cost = baseline(p)
    row: dict[str, Any] = {
        "size": name, "requirements": n_req, "quotes": n_q, "pairs": len(p.pr),
        "rofr_time_s": rofr_s, "rofr_cost": float(plan.total_cost),
        "rofr_placed": plan.placed_gpus, "proven_optimal": plan.proven_optimal,
        "method": plan.method, "baseline_cost": base_cost, "baseline_placed": base_placed,
        "demand": int(p.rem.sum()),
    }  # fmt: skip
    if with_pulp:
        try:
            row["pulp"] = pulp_solve(p)
        except ImportError:
            row["pulp"] = None
    return row


def run_side(name: str, seed: int, share: float, time_limit: float) -> dict[str, Any]:
    """Side rules on a share of requirements: rofr (default and forced decomposition) against
    a full HiGHS MILP with every pair integer."""
    n_req, n_q, n_reg = SIZES[name]
    reqs, quotes, eligible = generate(n_req, n_q, n_reg, seed + 1, side=share)
    out: dict[str, Any] = {"size": name, "side_share": share}
    for label, pairs_limit in (("rofr", None), ("rofr_decomposed", 0)):
        start = time.perf_counter()
        kwargs = {} if pairs_limit is None else {"full_milp_pairs": pairs_limit}
        plan = place_batch(reqs, quotes, eligible, NOW, **kwargs)  # type: ignore[arg-type]
        out[label] = {
            "time_s": time.perf_counter() - start, "cost": float(plan.total_cost),
            "placed": plan.placed_gpus, "proven_optimal": plan.proven_optimal,
            "method": plan.method,
        }  # fmt: skip
    p = build_problem(reqs, quotes, eligible, NOW)
    out["side_rule_requirements"] = int(_side_mask(p).sum())
    start = time.perf_counter()
    everyone = np.arange(len(p.reqs), dtype=np.int64)
    ref = solve_milp(p, everyone, np.arange(len(p.pr)), p.cap, time_limit_s=time_limit)
    assert all(_obeys(p, ref.flows, i) for i in range(len(p.reqs)))
    cash = _cash(p, ref.flows)
    out["full_milp"] = {
        "time_s": time.perf_counter() - start, "cost": cash, "placed": int(ref.flows.sum()),
        "proven_optimal": ref.proven,
    }  # fmt: skip
    for label in ("rofr", "rofr_decomposed"):
        same = out[label]["placed"] == out["full_milp"]["placed"]
        out[label]["gap_pct"] = 100 * (out[label]["cost"] / cash - 1) if same and cash else None
    return out


def _cash(p: Problem, flows: np.ndarray) -> float:  # type: ignore[type-arg]
    hours = np.array([r.duration_hours for r in p.reqs], dtype=float)
    price = np.array([0.0 if q.reserved else float(q.unit_price) for q in p.quotes])
    return float(np.sum(flows * price[p.pq] * hours[p.pr]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="S,M", help="comma list of S, M, L (default S,M)")
    parser.add_argument("--side", default="S", help="size of the side-rule instance, or none")
    parser.add_argument("--side-share", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--milp-time-limit", type=float, default=120.0)
    args = parser.parse_args(argv)
    console = Console(width=170)
    results: dict[str, Any] = {"seed": args.seed, "sizes": [], "side": None}
    table = Table(title="rofr placement: batch optimizer")
    for col in (
        "size",
        "pairs",
        "rofr s",
        "proven",
        "rofr cost $",
        "placed/demand",
        "baseline cost / rofr",
        "baseline placed",
        "PuLP+CBC s",
        "PuLP / rofr time",
    ):
        table.add_column(col, justify="right")  # fmt: skip
    for name in [s.strip().upper() for s in args.sizes.split(",") if s.strip()]:
        console.print(f"[dim]running {name}...[/dim]")
        row = run_size(name, args.seed, with_pulp=name != "L")
        results["sizes"].append(row)
        pulp_row = row.get("pulp")
        table.add_row(
            name, f"{row['pairs']:,}", f"{row['rofr_time_s']:.3f}", str(row["proven_optimal"]),
            f"{row['rofr_cost']:,.0f}", f"{row['rofr_placed']:,}/{row['demand']:,}",
            f"{row['baseline_cost'] / row['rofr_cost']:.4f}", f"{row['baseline_placed']:,}",
            f"{pulp_row['time_s']:.2f}" if pulp_row else "skipped",
            f"{pulp_row['time_s'] / row['rofr_time_s']:.1f}x" if pulp_row else "-",
        )  # fmt: skip
    console.print(table)
    if args.side.lower() != "none":
        console.print(f"[dim]running side rules on {args.side}...[/dim]")
        side = run_side(args.side.upper(), args.seed, args.side_share, args.milp_time_limit)
        results["side"] = side
        t2 = Table(title=f"side rules on {side['side_rule_requirements']} requirements")
        for col in ("solver", "time s", "placed", "cost $", "proven", "gap vs full MILP"):
            t2.add_column(col, justify="right")
        for label in ("rofr", "rofr_decomposed", "full_milp"):
            r = side[label]
            gap = r.get("gap_pct")
            t2.add_row(
                label, f"{r['time_s']:.2f}", f"{r['placed']:,}", f"{r['cost']:,.0f}",
                str(r["proven_optimal"]), "-" if gap is None else f"{gap:.4f}%",
            )  # fmt: skip
        console.print(t2)
    out = HERE / "results" / "placement.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    console.print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
