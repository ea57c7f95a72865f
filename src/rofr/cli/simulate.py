"""``rofr simulate`` and ``rofr sweep``: what-if runs of the real engine on a virtual clock."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from rofr.cli.app import UserError, cli, console, user_errors
from rofr.sim.knobs import KnobError

_KEY = (
    ("fulfilled", "fulfilled", "{:.0f}"),
    ("unmet", "unmet", "{:.0f}"),
    ("days_to_full_mean", "mean days to full", "{:.1f}"),
    ("days_to_full_p90", "p90 days", "{:.1f}"),
    ("unmet_gpu_hours", "unmet M GPU-h", "{:.2f}", 1e6),
    ("cost_usd", "cost $B", "{:.2f}", 1e9),
    ("usd_per_gpu_hour", "$/GPU-h", "{:.2f}"),
    ("offers_accepted", "accepted", "{:.0f}"),
    ("offers_expired", "expired", "{:.0f}"),
    ("invariant_violations", "violations", "{:.0f}"),
)


def _fmt(metrics: dict[str, float], spec: tuple[object, ...]) -> str:
    key, fmt = str(spec[0]), str(spec[2])
    scale = float(spec[3]) if len(spec) > 3 else 1.0  # type: ignore[arg-type]
    return fmt.format(metrics.get(key, 0.0) / scale)


def _ticker(
    bar: Progress, task: TaskID, start: datetime, span: float
) -> Callable[[datetime], None]:
    last = [start]

    def tick(now: datetime) -> None:
        # Redraw once per simulated day at most: the loop runs thousands of steps per second.
        if (now - last[0]).total_seconds() >= 86400:
            last[0] = now
            done = min(span, (now - start).total_seconds())
            bar.update(task, completed=done, description=f"{now:%Y-%m-%d}")

    return tick


@cli.command()
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--compare",
    "items",
    default=None,
    help="Comma-separated versions or VERSION:knob=value (default: the scenario's).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder (default: sim-<scenario name>).",
)
@click.option("--seed", type=int, default=None, help="Override the scenario's seed.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes running the compared items side by side (default: the CPU count).",
)
@user_errors
def simulate(
    scenario: Path, items: str | None, out: Path | None, seed: int | None, workers: int | None
) -> None:
    """Run the same demand under each contract version; write metrics, CSVs and report.html."""
    from rofr.sim.compare import compare_for_report, plan_items
    from rofr.sim.report import write_report
    from rofr.sim.scenario import load_scenario

    sc = load_scenario(scenario)
    contract = sc.load_contract()
    try:
        planned = plan_items(sc, contract, items.split(",") if items else None)
    except KnobError as exc:
        raise UserError(str(exc)) from None
    start, end = sc.horizon.start_at, sc.horizon.end_at
    span = (end - start).total_seconds()
    with Progress(TextColumn("{task.fields[label]}"), BarColumn(), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:  # fmt: skip
        # One bar per item; the items run side by side on ``workers`` processes.
        tickers = {
            label: _ticker(bar, bar.add_task("", total=span, label=label), start, span)
            for label, _, _ in planned
        }
        runs = compare_for_report(
            sc, contract, planned, seed=seed, workers=workers or os.cpu_count() or 1,
            progress=lambda label, now: tickers[label](now),
        )  # fmt: skip
    folder = out or Path(f"sim-{sc.name}")
    report = write_report(folder, sc, runs)
    table = Table(title=f"{sc.name}: key metrics per run")
    table.add_column("metric")
    for c in runs:
        table.add_column(c.run.label, justify="right", overflow="fold")
    measured = [{**c.metrics, "invariant_violations": float(len(c.violations))} for c in runs]
    for spec in _KEY:
        table.add_row(str(spec[1]), *(_fmt(m, spec) for m in measured))
    console.print(table)
    bad = [(c.run.label, v) for c in runs for v in c.violations]
    for label, v in bad[:20]:
        console.print(
            f"[red]invariant {v.invariant} violated[/] in {label}: {v.requirement_id}: {v.message}"
        )
    seconds = sum(c.run.seconds for c in runs)
    reqs = sum(c.metrics["requirements"] for c in runs)
    console.print(f"wrote {report} (and metrics.json, CSVs in {folder}); "
                  f"{reqs:.0f} requirements simulated in {seconds:.1f} s")  # fmt: skip
    if bad:
        raise SystemExit(1)


@cli.command()
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--param", "params", multiple=True, help="NAME=V1,V2,... (repeatable).")
@click.option("--seeds", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--engine", type=click.Choice(["ray", "processes"]), default="ray",
              show_default=True)  # fmt: skip
@click.option("--address", default=None, help="Ray cluster address (default: a local Ray).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes (or local Ray CPUs); default: the CPU count.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None)
@user_errors
def sweep(
    scenario: Path,
    params: tuple[str, ...],
    seeds: int,
    engine: str,
    address: str | None,
    workers: int | None,
    out: Path | None,
) -> None:
    """Run a grid of knob settings over several seeds; means with 95% confidence intervals."""
    from rofr.sim.scenario import load_scenario
    from rofr.sim.sweep import aggregate, grid, ray_available, run_sweep, write_sweep
    from rofr.sim.sweep_report import point_label

    if engine == "ray" and not ray_available():
        raise UserError("ray is not installed; pip install 'rofr[ray]' or use --engine processes")
    sc = load_scenario(scenario)
    try:
        total = len(grid(params)) * seeds
    except KnobError as exc:
        raise UserError(str(exc)) from None
    with Progress(TextColumn(f"sweep on {engine}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:  # fmt: skip
        task = bar.add_task("", total=total)
        try:
            rows = run_sweep(sc, params, seeds, engine=engine,  # type: ignore[arg-type]
                             workers=workers or os.cpu_count() or 1, address=address,
                             progress=lambda: bar.advance(task))  # fmt: skip
        except KnobError as exc:
            raise UserError(str(exc)) from None
    cells = aggregate(rows)
    shown = ["days_to_full_mean", "unmet_gpu_hours", "cost_usd", "invariant_violations"]
    folder = out or Path(f"sweep-{sc.name}")
    page = write_sweep(folder, cells, shown)
    table = Table(title=f"{sc.name}: {total} runs, mean ± 95% CI over {seeds} seeds")
    table.add_column("point")
    for m in shown:
        table.add_column(m, justify="right")
    by = {(c.settings, c.metric): c for c in cells}
    for settings in dict.fromkeys(c.settings for c in cells):
        table.add_row(point_label(settings), *(
            f"{by[(settings, m)].mean:,.2f} ± {by[(settings, m)].half_width:,.2f}"
            if (settings, m) in by else "-" for m in shown))  # fmt: skip
    console.print(table)
    console.print(f"wrote {page}, sweep.png and sweep.csv in {folder}")
    if any(c.metric == "invariant_violations" and c.mean > 0 for c in cells):
        console.print("[red]invariant violations in some runs[/]")
        raise SystemExit(1)
