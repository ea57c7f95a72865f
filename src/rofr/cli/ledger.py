"""Ledger commands: commitments, revenue (report, statement), may, spend export.

Reading commands answer "as of" ``--at`` (then the global ``--now``, then the time of the last
event in the log, so that a finished simulation is read at its end rather than today).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from rich.table import Table

from rofr.cli.app import Context, UserError, cli, console, user_errors
from rofr.cli.render import money
from rofr.engine import commands as cmd
from rofr.engine import decode_event
from rofr.ledger import Book, book_of, commitment_status, commitments_of, focus_csv, may, statement
from rofr.values import parse_time

pass_ctx = click.make_pass_decorator(Context)


def load_book(ctx: Context) -> tuple[Book, datetime | None]:
    """The book of the log at ``--db`` and the time of its last event."""
    store = ctx.store()
    try:
        rows = list(store.read_all())
    finally:
        store.close()
    events = [decode_event(r.type, dict(r.data)) for r in rows]
    return book_of(events), (events[-1].at if events else None)


def _as_of(ctx: Context, at: str | None, last: datetime | None) -> datetime:
    if at is not None:
        try:
            return parse_time(at)
        except ValueError:
            raise UserError(f"--at {at!r} is not an ISO time such as 2025-06-30T00:00Z") from None
    if ctx.now is not None:
        return ctx.now
    return last if last is not None else ctx.clock()


@cli.command()
@click.option("--at", "at", help="As of this time (ISO); default: --now, else the last event.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="Burn-down PNG.")
@click.option("--window-days", type=int, default=30, show_default=True, help="Run-rate window.")
@pass_ctx
@user_errors
def commitments(ctx: Context, at: str | None, plot: Path | None, window_days: int) -> None:
    """Spend against each commitment: committed, consumed, projections and milestones."""
    book, last = load_book(ctx)
    when = _as_of(ctx, at, last)
    terms = commitments_of(book)
    if not terms:
        raise UserError("the contract has no commitment clause")
    table = Table(title=f"Commitments as of {when:%Y-%m-%d %H:%M}Z")
    for col in ("commitment", "provider", "amount", "committed", "consumed", "per day"):
        table.add_column(col, justify="left" if col in ("commitment", "provider") else "right")
    table.add_column("shortfall\n(run-rate)", justify="right")
    table.add_column("shortfall\n(planned)", justify="right")
    table.add_column("milestones")
    for t in terms:
        s = commitment_status(book, t, when, window_days=window_days)
        marks = []
        for m in s.milestones:
            state = {True: "[green]met[/]", False: "[red]missed[/]", None: "due"}[m.met]
            gap = f", planned short {money(m.shortfall_planned)}" if m.met is None else ""
            marks.append(f"{m.by:%Y-%m-%d} {money(m.amount)} {state}{gap}")
        table.add_row(
            f"{s.clause_id}\n({s.version_id})", s.provider, money(s.amount), money(s.committed),
            money(s.consumed), money(s.run_rate_per_day), money(s.shortfall_run_rate),
            money(s.shortfall_planned), "\n".join(marks) or "-",
        )  # fmt: skip
    console.print(table)
    console.print(
        "committed: whole cost of counted placements inside the period, at decision; "
        "consumed: accrued hour by hour; milestones and shortfalls use consumption."
    )
    if plot is not None:
        from rofr.cli.ledger_plot import write_burn_down

        write_burn_down(book, terms, when, plot)
        console.print(f"wrote {plot}")


@cli.group()
def revenue() -> None:
    """Revenue reports and revenue-share statements."""


@revenue.command(name="report")
@click.option("--period", required=True, help="YYYY-Qn or YYYY-MM, e.g. 2025-Q1.")
@click.option("--amount", required=True, help="Revenue for the period, USD.")
@click.option("--by", "by", default=None, help="The payer reporting (default: the buyer).")
@click.option("--correction", is_flag=True, help="Replace an earlier report of the period.")
@pass_ctx
@user_errors
def revenue_report(
    ctx: Context, period: str, amount: str, by: str | None, correction: bool
) -> None:
    """Record the payer's revenue for a period."""
    try:
        value = Decimal(amount.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise UserError(f"--amount {amount!r} is not a number") from None
    broker = ctx.broker(market=False)
    contract = broker.state.contract
    if contract is None:
        raise UserError("no contract adopted yet; run `rofr init` first")
    payer = by or contract.parties.buyer.id
    broker.execute(cmd.ReportRevenue(period=period, amount=value, by=payer, correction=correction))
    verb = "corrected" if correction else "recorded"
    console.print(f"{verb}: {payer} revenue for {period} = {money(value)}")


@revenue.command(name="statement")
@click.option("--payee", required=True, help="Who receives the share, e.g. azure.")
@click.option("--payer", default=None, help="Who pays it (default: the buyer).")
@pass_ctx
@user_errors
def revenue_statement(ctx: Context, payee: str, payer: str | None) -> None:
    """What the payer owes the payee, period by period, with the cap and any early end."""
    book, _ = load_book(ctx)
    try:
        st = statement(book, payee, payer)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    table = Table(title=f"Revenue share statement: {st.payer} -> {st.payee}")
    for col in ("period", "revenue", "clause", "rate", "in force", "share", "owed", "cumulative"):
        table.add_column(col, justify="left" if col in ("period", "clause") else "right")
    table.add_column("note")
    for ln in st.lines:
        table.add_row(
            ln.period + (" (corr.)" if ln.corrected else ""), money(ln.revenue),
            f"{ln.clause_id or '-'}\n{ln.version_id or ''}", f"{ln.rate:.2%}",
            f"{ln.in_force:.2%}", money(ln.share), money(ln.owed), money(ln.cumulative), ln.note,
        )  # fmt: skip
    table.add_row("total", money(st.total_revenue), "", "", "", "", money(st.total_owed), "", "")
    console.print(table)
    if not st.lines:
        console.print(
            "no revenue reported yet: `rofr revenue report --period 2025-Q1 --amount ...`"
        )


@cli.command(name="may")
@click.argument("party")
@click.argument("asset")
@click.option("--at", "at", help="At this time (ISO); default: --now, else the last event.")
@pass_ctx
@user_errors
def may_cmd(ctx: Context, party: str, asset: str, at: str | None) -> None:
    """May PARTY use ASSET? Yes or no, with the clause, the version and the reason."""
    book, last = load_book(ctx)
    when = _as_of(ctx, at, last)
    ans = may(book, party, asset, when)
    verdict = "[green]yes[/]" if ans.allowed else "[red]no[/]"
    where = (
        f"clause {ans.clause_id} of version {ans.version_id}"
        if ans.clause_id
        else (f"version {ans.version_id}" if ans.version_id else "no version")
    )
    console.print(f"{verdict}: {party} / {asset} at {when:%Y-%m-%d %H:%M}Z — {where}: {ans.reason}")


@cli.group()
def spend() -> None:
    """Spend exports."""


@spend.command(name="export")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--currency", default="USD", show_default=True)
@pass_ctx
@user_errors
def spend_export(ctx: Context, out: Path, currency: str) -> None:
    """Write every placement, month by month, as FinOps FOCUS CSV."""
    book, _ = load_book(ctx)
    text = focus_csv(book, currency=currency)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}: {text.count(chr(10)) - 1} FOCUS rows")
