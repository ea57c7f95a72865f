"""``rofr audit``: export the log signed, verify an export, and the compliance report."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from rofr.audit import export_log, load_or_create_signing_key, read_checkpoint, verify_export
from rofr.audit.compliance import ComplianceReport, compliance_report
from rofr.audit.report_html import report_html
from rofr.cli.app import Context, UserError, cli, console, user_errors
from rofr.engine import decode_event
from rofr.store import verify_chain

pass_ctx = click.make_pass_decorator(Context)

KEY_NAME = "audit-key.pem"


@cli.group()
def audit() -> None:
    """Signed export of the log, its verification, and the compliance report."""


@audit.command(name="export")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--key",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Ed25519 PEM signing key (default: {KEY_NAME} beside --db, created 0600 if missing).",
)
@click.option("--every", type=int, default=1000, show_default=True, help="Checkpoint interval.")
@pass_ctx
@user_errors
def export_cmd(ctx: Context, out: Path, key: Path | None, every: int) -> None:
    """Write the log as JSON lines with its hash chain and signed Merkle checkpoints."""
    key_path = key or ctx.db.parent / KEY_NAME
    try:
        signing_key = load_or_create_signing_key(key_path)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    store = ctx.store()
    try:
        summary = export_log(store.read_all(), out, signing_key, every, issued_at=ctx.clock())
    finally:
        store.close()
    cp = summary.final_checkpoint
    console.print(
        f"wrote {out}: {summary.events} events, {summary.checkpoints} checkpoints; "
        f"root {summary.root_hash[:16]}..., key {cp.key_id} ({key_path})"
    )


@audit.command(name="verify")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A checkpoint kept earlier: the export must extend it (consistency proof).",
)
@user_errors
def verify_cmd(file: Path, checkpoint: Path | None) -> None:
    """Check an export with nothing but the file; exit 1 and name each problem if tampered."""
    pinned = None
    if checkpoint is not None:
        try:
            pinned = read_checkpoint(checkpoint)
        except ValueError as exc:
            raise UserError(f"{checkpoint}: {exc}") from None
    result = verify_export(file, pinned)
    if result.ok:
        console.print(
            f"[green]ok[/]: {result.events} events, {result.checkpoints_checked} signed "
            f"checkpoints, root {result.root_hash[:16]}..."
        )
        return
    for p in result.problems:
        where = f"event {p.position}" if p.position is not None else "file"
        line = f" (line {p.line})" if p.line is not None else ""
        console.print(f"[red]{p.kind}[/]: {where}{line}: {escape(p.message)}")
    console.print(f"[bold red]FAILED[/]: {len(result.problems)} problem(s) in {file}")
    sys.exit(1)


def _table(report: ComplianceReport) -> Table:
    table = Table(title=f"Compliance: {report.events} events")
    for col in ("requirement", "clause", "notices and answers", "rival deals", "other", "ok"):
        table.add_column(col)
    for r in report.requirements:
        notices = "\n".join(
            f"{n.offer_id} {n.sent_at:%m-%d} -> {n.deadline:%m-%d}: {n.answer}" for n in r.notices
        )
        deals = "\n".join(
            f"{d.placement.provider} {d.placement.gpus}: "
            + " ".join(f"{f.name} {'✓' if f.ok else '✗'}" for f in d.fields)
            + (
                ""
                if d.closed_in_window is None
                else f"; window {'✓' if d.closed_in_window else '✗'}"
            )
            for d in r.rival_deals
        )
        other = "\n".join([*r.waivers, *r.revivals, *r.triggers])
        table.add_row(
            f"{r.requirement_id}\n{r.final}", r.clause_id or "-", escape(notices) or "-",
            escape(deals) or "-", escape(other) or "-", "[green]✓[/]" if r.ok else "[red]✗[/]",
        )  # fmt: skip
    return table


@audit.command(name="report")
@click.option("--html", "html", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
@user_errors
def report_cmd(ctx: Context, html: Path | None) -> None:
    """Check every invariant over the log and lay out each requirement's evidence."""
    store = ctx.store()
    try:
        rows = list(store.read_all())
        chain = verify_chain(store)
    finally:
        store.close()
    events = [decode_event(r.type, dict(r.data)) for r in rows]
    chain_note = [] if chain is None else [f"event {chain.position}: {chain.reason}"]
    report = compliance_report(events, chain=(chain is None, chain_note))
    console.print(_table(report))
    inv = Table(title="Invariants (DESIGN.md)")
    for col in ("#", "invariant", "holds", "findings"):
        inv.add_column(col)
    for i in report.invariants:
        mark = {True: "[green]✓[/]", False: "[red]✗[/]", None: "-"}[i.ok]
        inv.add_row(str(i.number), i.title, mark, escape("\n".join(i.details)) or "-")
    console.print(inv)
    findings = [r.requirement_id for r in report.requirements if not r.ok]
    if findings:
        console.print(
            f"[yellow]{len(findings)} requirement(s) with findings[/] (a rival deal on terms "
            f"more favourable than the notice, or closed outside the window): {', '.join(findings)}"
        )
    if html is not None:
        html.write_text(report_html(report), encoding="utf-8")
        console.print(f"wrote {html}")
    # Exit 1 when an invariant fails; per-requirement findings are for people to weigh.
    if any(i.ok is False for i in report.invariants):
        sys.exit(1)
