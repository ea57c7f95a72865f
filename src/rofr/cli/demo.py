"""``rofr demo``: the January 2025 example over a simulated quarter, written to a SQLite log."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from rofr.cli.app import cli, console, user_errors
from rofr.cli.render import last_reason, provider_table, requirements_table
from rofr.engine import decode_event
from rofr.engine.invariants import check_invariants, final_states_complete
from rofr.sim.demo import DEMO_END, DEMO_START, run_demo
from rofr.store import open_store, verify_chain


@cli.command()
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("rofr-demo"),
    show_default=True,
)
@user_errors
def demo(out: Path) -> None:
    """Run the shipped example and show where every GPU went, and why."""
    out.mkdir(parents=True, exist_ok=True)
    db = out / "rofr.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    store = open_store(str(db))
    total = (DEMO_END - DEMO_START).total_seconds()
    with Progress(
        TextColumn("simulating Feb-Jun 2025"), BarColumn(), TextColumn("{task.description}"),
        TimeElapsedColumn(), console=console, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("", total=total)
        run = run_demo(
            store,
            progress=lambda now: progress.update(
                task, completed=(now - DEMO_START).total_seconds(), description=f"{now:%Y-%m-%d}"
            ),
        )
    broker = run.broker
    rows = list(store.read_all())
    events = [decode_event(r.type, dict(r.data)) for r in rows]
    by_req: dict[str, list] = {}  # type: ignore[type-arg]
    for e in events:
        rid = getattr(e, "requirement_id", None)
        if rid is not None:
            by_req.setdefault(rid, []).append(e)
    reasons = {rid: last_reason(evs) for rid, evs in by_req.items()}
    console.print(
        requirements_table(broker.state, reasons, title="Where each requirement's GPUs went")
    )
    console.print(provider_table(broker.state))
    outcomes = Counter(
        e.kind
        + (":deemed" if getattr(e, "deemed", False) else "")
        + (":partial" if getattr(e, "partial", False) else "")
        for e in events
        if e.kind in ("OfferAccepted", "OfferDeclined")
    )
    console.print(
        "holder answers: "
        + ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items()))
        + f"; waiver applied to {run.waived}"
    )
    violations = check_invariants(events) + final_states_complete(events)
    chain = verify_chain(store)
    finals = Counter(rs.status.value for rs in broker.state.requirements.values())
    console.print(
        f"final states: {dict(sorted(finals.items()))}; {len(rows)} events in {db}; "
        f"hash chain {'intact' if chain is None else 'BROKEN at ' + str(chain.position)}"
    )
    if violations:
        for v in violations:
            console.print(
                f"[red]invariant {v.invariant} violated[/]: {v.requirement_id}: {v.message}"
            )
        raise SystemExit(1)
    console.print(
        f"[green]invariants 1-6 hold over the log[/] ({len(events)} events checked); "
        f"ran in {time.perf_counter() - started:.1f} s"
    )
    store.close()
