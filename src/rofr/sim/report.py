"""Writing a comparison folder: ``metrics.json``, CSVs and ``report.html`` with its plots.

Plots are drawn with matplotlib's Agg backend and embedded as base64 PNG, so the report is one
file that opens in a browser with no internet. Each figure is an ``<img id="fig-NAME">`` so a
test (or a reader) can check that every named figure is there.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from rofr.engine import Violation
from rofr.sim.metrics import RunFacts, burn_down, daily_shares
from rofr.sim.run import SimRun
from rofr.sim.scenario import Scenario
from rofr.values import to_jsonable

__all__ = ["FIGURES", "Compared", "write_report"]

FIGURES = (
    "time-to-placement",
    "unmet-gpu-hours",
    "cost",
    "provider-share",
    "holder-acceptance",
    "commitment-burn-down",
)


@dataclass
class Compared:
    """One run of a comparison with what was read from it."""

    run: SimRun
    facts: RunFacts
    metrics: dict[str, float]
    violations: list[Violation]


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _labels(runs: Sequence[Compared]) -> list[str]:
    return [c.run.label for c in runs]


def _fig_waits(runs: Sequence[Compared]) -> str:
    fig, ax = plt.subplots(figsize=(9, 4))
    data = [[d for o in c.facts.outcomes.values() if (d := o.days_to_full) is not None] or [0.0]
            for c in runs]  # fmt: skip
    ax.boxplot(data, showmeans=True)
    ax.set_xticks(range(1, len(runs) + 1), _labels(runs), rotation=15)
    ax.set_ylabel("days from submission to full placement")
    ax.set_title("Time to full placement (box: quartiles, triangle: mean)")
    return _png(fig)


def _fig_bar(runs: Sequence[Compared], key: str, ylabel: str, title: str, scale: float) -> str:
    fig, ax = plt.subplots(figsize=(9, 3.6))
    values = [c.metrics.get(key, 0.0) / scale for c in runs]
    bars = ax.bar(_labels(runs), values, color="#4c78a8")
    ax.bar_label(bars, fmt="%.1f")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=15)
    return _png(fig)


def _fig_shares(runs: Sequence[Compared], scenario: Scenario) -> str:
    h = scenario.horizon
    fig, axes = plt.subplots(len(runs), 1, figsize=(9, 2.2 * len(runs)), sharex=True, squeeze=False)
    # One colour per provider in every panel, so panels compare at a glance.
    everyone = sorted({p.provider for c in runs for p in c.facts.placements})
    palette = {p: plt.get_cmap("tab10")(i % 10) for i, p in enumerate(everyone)}
    for ax, c in zip(axes[:, 0], runs, strict=True):
        rows = daily_shares(c.facts.placements, h.start, h.end)
        providers = sorted({p for _, by in rows for p in by})
        days = [d for d, _ in rows]
        ax.stackplot(days, [[by.get(p, 0) for _, by in rows] for p in providers], labels=providers,
                     colors=[palette[p] for p in providers])  # fmt: skip
        ax.set_title(f"{c.run.label}: GPUs in use by provider", fontsize=9)
        ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    return _png(fig)


def _fig_answers(runs: Sequence[Compared]) -> str:
    fig, ax = plt.subplots(figsize=(9, 3.6))
    bottom = [0.0] * len(runs)
    for key, color in (("accepted", "#54a24b"), ("partial", "#eeca3b"),
                       ("declined", "#e45756"), ("expired", "#9d755d")):  # fmt: skip
        values = [c.metrics.get(f"offers_{key}", 0.0) for c in runs]
        ax.bar(_labels(runs), values, bottom=bottom, label=key, color=color)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("offers to the holder")
    ax.set_title("Holder answers (versions without first refusal send no offers)")
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", rotation=15)
    return _png(fig)


def _fig_burn(runs: Sequence[Compared], scenario: Scenario) -> str:
    h = scenario.horizon
    fig, ax = plt.subplots(figsize=(9, 4))
    for c in runs:
        commitment, spend = burn_down(c.facts.placements, c.run.contract, h.start, h.end)
        days: list[Any] = [d for d, _ in spend]
        ax.plot(days, [float(v) / 1e9 for _, v in spend], label=c.run.label)
        if commitment is not None:
            for m in commitment.milestones:
                if h.start <= m.by.date() <= h.end:
                    when: list[Any] = [m.by.date()]
                    ax.scatter(when, [float(m.amount) / 1e9], marker="D")
                    ax.annotate(f"{c.run.label} milestone", (m.by.date(), float(m.amount) / 1e9),
                                fontsize=7)  # fmt: skip
    ax.set_ylabel("cumulative spend, USD billions")
    ax.set_title("Spend with the commitment's provider (diamonds: the commitment's milestones)")
    ax.legend(fontsize=8)
    return _png(fig)


def _narrative(runs: Sequence[Compared]) -> list[str]:
    """Sentences that compare each run with the first, with numbers."""
    if not runs:
        return []
    base = runs[0]
    lines = []
    for c in runs:
        m = c.metrics
        lines.append(
            f"{c.run.label}: {m['fulfilled']:.0f} of {m['requirements']:.0f} requirements fully "
            f"placed, mean {m['days_to_full_mean']:.1f} days to full placement "
            f"(p90 {m['days_to_full_p90']:.1f}), {m['unmet_gpu_hours'] / 1e6:.2f} M GPU-hours "
            f"unmet, cost ${m['cost_usd'] / 1e9:.2f} B at ${m['usd_per_gpu_hour']:.2f}/GPU-hour."
        )
    for c in runs[1:]:
        dw = c.metrics["days_to_full_mean"] - base.metrics["days_to_full_mean"]
        dc = c.metrics["cost_usd"] - base.metrics["cost_usd"]
        lines.append(
            f"{c.run.label} vs {base.run.label}: {dw:+.1f} days mean delay, "
            f"{dc / 1e9:+.2f} B USD cost."
        )
    return lines


def _csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def write_report(out: Path, scenario: Scenario, runs: Sequence[Compared]) -> Path:
    """Write the folder and return the path of ``report.html``."""
    out.mkdir(parents=True, exist_ok=True)
    metrics = {c.run.label: {**c.metrics, "invariant_violations": float(len(c.violations))}
               for c in runs}  # fmt: skip
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    _csv(
        out / "requirements.csv",
        ["run", "id", "kind", "workload_class", "product_surface", "gpus", "duration_hours",
         "submitted_at", "status", "final_at", "days_to_full", "placed_gpus", "unmet_gpus",
         "unmet_gpu_hours", "cost_usd", "providers"],
        [[c.run.label, o.requirement.id, o.requirement.kind.value, o.requirement.workload_class,
          o.requirement.product_surface or "", o.requirement.gpus, o.requirement.duration_hours,
          to_jsonable(o.submitted_at), o.status, to_jsonable(o.final_at) or "",
          "" if o.days_to_full is None else round(o.days_to_full, 3), o.placed_gpus,
          o.unmet_gpus, o.unmet_gpu_hours, to_jsonable(o.cost),
          ";".join(f"{p}:{g}" for p, g in sorted(o.providers.items()))]
         for c in runs for o in c.facts.outcomes.values()],
    )  # fmt: skip
    _csv(
        out / "placements.csv",
        ["run", "id", "requirement_id", "provider", "sku", "region", "gpus", "unit_price",
         "start", "end", "basis", "cost_usd"],
        [[c.run.label, p.id, p.requirement_id, p.provider, p.sku, p.region, p.gpus,
          to_jsonable(p.unit_price), to_jsonable(p.start), to_jsonable(p.end), p.basis.value,
          to_jsonable(p.cost)] for c in runs for p in c.facts.placements],
    )  # fmt: skip
    h = scenario.horizon
    share_rows: list[list[Any]] = []
    for c in runs:
        for day, by in daily_shares(c.facts.placements, h.start, h.end):
            total = sum(by.values()) or 1
            share_rows.extend(
                [c.run.label, day.isoformat(), p, g, round(g / total, 4)] for p, g in by.items()
            )
    _csv(out / "provider_shares.csv", ["run", "day", "provider", "gpus", "share"], share_rows)
    figures = {
        "time-to-placement": _fig_waits(runs),
        "unmet-gpu-hours": _fig_bar(runs, "unmet_gpu_hours", "million GPU-hours",
                                    "Unmet GPU-hours", 1e6),
        "cost": _fig_bar(runs, "cost_usd", "USD billions", "Cost of all placements", 1e9),
        "provider-share": _fig_shares(runs, scenario),
        "holder-acceptance": _fig_answers(runs),
        "commitment-burn-down": _fig_burn(runs, scenario),
    }  # fmt: skip
    path = out / "report.html"
    path.write_text(_html(scenario, runs, metrics, figures), encoding="utf-8")
    return path


_KEYS = ("requirements", "fulfilled", "unmet", "days_to_full_mean", "days_to_full_p90",
         "unmet_gpu_hours", "cost_usd", "usd_per_gpu_hour", "offers_accepted", "offers_partial",
         "offers_declined", "offers_expired", "invariant_violations")  # fmt: skip


def _html(
    scenario: Scenario,
    runs: Sequence[Compared],
    metrics: dict[str, dict[str, float]],
    figures: dict[str, str],
) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c.run.label)}</th>" for c in runs)
    body = "".join(
        f"<tr><td>{e(k)}</td>"
        + "".join(f"<td>{metrics[c.run.label].get(k, 0):,.2f}</td>" for c in runs)
        + "</tr>"
        for k in _KEYS
    )
    story = "".join(f"<li>{e(line)}</li>" for line in _narrative(runs))
    imgs = "".join(
        f'<h2>{e(name)}</h2><img id="fig-{name}" alt="{e(name)}" '
        f'src="data:image/png;base64,{data}">'
        for name, data in figures.items()
    )
    h = scenario.horizon
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rofr simulation: {e(scenario.name)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 8px;
text-align:right}}td:first-child{{text-align:left}}img{{max-width:100%}}</style></head>
<body><h1>What if: {e(scenario.name)}</h1>
<p>The same demand ({e(str(h.start))} to {e(str(h.end))}, seed {runs[0].run.seed if runs else 0})
judged under each contract version in force for the whole period, by the service's engine on a
virtual clock. Invariants were checked on every run's events.</p>
<h2>Delays and cost, in numbers</h2><ul>{story}</ul>
<table><tr><th>metric</th>{head}</tr>{body}</table>
{imgs}
</body></html>
"""
