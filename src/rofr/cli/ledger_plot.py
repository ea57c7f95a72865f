"""The commitment burn-down plot (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from rofr.ledger import Book, CommitmentTerms, burn_down

__all__ = ["write_burn_down"]


def write_burn_down(book: Book, terms: Sequence[CommitmentTerms], at: datetime, path: Path) -> None:
    """One panel per commitment: amount remaining (consumed, then planned), milestones marked."""
    fig, axes = plt.subplots(len(terms), 1, figsize=(10, 3.6 * len(terms)), squeeze=False)
    for ax, t in zip(axes[:, 0], terms, strict=True):
        points = burn_down(book, t, at)
        past = [p for p in points if not p.planned]
        future = [p for p in points if p.planned]
        scale = 1e9
        ax.plot(
            [p.at for p in past], [float(p.remaining) / scale for p in past],
            color="tab:blue", label="remaining (consumed so far)",
        )  # fmt: skip
        if future:
            tail = past[-1:] + future
            ax.plot(
                [p.at for p in tail], [float(p.remaining) / scale for p in tail],
                color="tab:blue", linestyle="--", label="remaining (placements made)",
            )  # fmt: skip
        ax.axvline(at, color="grey", linewidth=0.8)
        amount = float(t.clause.amount)
        for m in t.clause.milestones:
            left = (amount - float(m.amount)) / scale
            ax.plot([m.by], [left], marker="v", color="tab:red", markersize=9)
            ax.annotate(
                f"by {m.by:%Y-%m-%d}: ${float(m.amount) / scale:,.1f}B",
                (m.by, left), textcoords="offset points", xytext=(6, 6), fontsize=8,
            )  # fmt: skip
        ax.set_title(
            f"{t.id} ({t.clause.provider}, ${amount / scale:,.1f}B, version {t.version_id})"
        )
        ax.set_ylabel("USD billions left")
        ax.set_ylim(bottom=0)
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
