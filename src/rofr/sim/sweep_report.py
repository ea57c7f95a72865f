"""The files of a sweep: ``sweep.csv`` (every cell), ``sweep.png`` and ``sweep.html``.

The plot has one panel per chosen metric: the mean at each grid point with its 95% confidence
interval as an error bar, grid points on the x axis in the order they were run.
"""

from __future__ import annotations

import base64
import csv
import html
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from rofr.sim.sweep import Cell

__all__ = ["point_label", "write_sweep_files"]


def point_label(settings: tuple[tuple[str, str], ...]) -> str:
    """``a=1 b=2`` (or ``base`` for the scenario as written)."""
    return " ".join(f"{k}={v}" for k, v in settings) or "base"


def write_sweep_files(out: Path, cells: Sequence[Cell], metrics: Sequence[str]) -> Path:
    """Write the three files into ``out`` and return the path of ``sweep.html``."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "sweep.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["point", "metric", "n", "mean", "ci95_low", "ci95_high"])
        for c in cells:
            writer.writerow(
                [point_label(c.settings), c.metric, c.n, f"{c.mean:.6g}", f"{c.low:.6g}",
                 f"{c.high:.6g}"]
            )  # fmt: skip
    points: list[tuple[tuple[str, str], ...]] = []
    for c in cells:
        if c.settings not in points:
            points.append(c.settings)
    chosen = [m for m in metrics if any(c.metric == m for c in cells)]
    fig, axes = plt.subplots(len(chosen), 1, figsize=(9, 2.6 * max(1, len(chosen))), squeeze=False)
    for ax, metric in zip(axes[:, 0], chosen, strict=True):
        found = {c.settings: c for c in cells if c.metric == metric}
        xs = list(range(len(points)))
        means = [found[p].mean if p in found else 0.0 for p in points]
        errs = [found[p].half_width if p in found else 0.0 for p in points]
        ax.errorbar(xs, means, yerr=errs, fmt="o-", capsize=4)
        ax.set_title(metric, fontsize=9)
        ax.set_xticks(xs, [point_label(p) for p in points], rotation=12, fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "sweep.png", dpi=96)
    plt.close(fig)
    data = base64.b64encode((out / "sweep.png").read_bytes()).decode("ascii")
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(point_label(c.settings))}</td><td>{e(c.metric)}</td><td>{c.n}</td>"
        f"<td>{c.mean:,.3f}</td><td>{c.low:,.3f} .. {c.high:,.3f}</td></tr>"
        for c in cells
        if c.metric in chosen
    )
    page = out / "sweep.html"
    page.write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>rofr sweep</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto}"
        "td,th{border:1px solid #ccc;padding:2px 6px}table{border-collapse:collapse}</style>"
        "</head><body><h1>Sweep: means with 95% confidence intervals (t-distribution)</h1>"
        f'<img id="fig-sweep" alt="sweep" src="data:image/png;base64,{data}">'
        "<table><tr><th>point</th><th>metric</th><th>n</th><th>mean</th><th>95% CI</th></tr>"
        f"{rows}</table></body></html>\n",
        encoding="utf-8",
    )
    return page
