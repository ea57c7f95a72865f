"""Tables the command prints: requirements, one requirement's story, providers, offers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from rich.table import Table

from rofr.engine import RequirementState, State
from rofr.engine import events as ev
from rofr.store import StoredEvent

__all__ = [
    "event_line",
    "offers_table",
    "provider_table",
    "requirement_detail",
    "requirements_table",
    "where_it_went",
]

_STATUS_STYLE = {
    "fulfilled": "green",
    "unmet": "red",
    "cancelled": "dim",
    "offered": "yellow",
    "shortfall": "magenta",
}


def money(value: Decimal) -> str:
    """USD with thousands separators, no cents for big sums."""
    return f"${value:,.0f}" if abs(value) >= 1000 else f"${value:,.2f}"


def where_it_went(rs: RequirementState) -> str:
    """``azure 512 (holder_accepted); coreweave 512 (holder_partial)``."""
    parts = [f"{p.provider} {p.gpus} ({p.basis.value})" for p in rs.placed]
    parts += [f"{p.provider} {p.gpus} (pending)" for p in rs.pending]
    return "; ".join(parts) if parts else "-"


def last_reason(events: Iterable[ev.Event]) -> str:
    """The most telling reason among a requirement's events."""
    reason = ""
    shortfall = ""
    for e in events:
        if isinstance(e, ev.RequirementScreened | ev.OfferDeclined):
            reason = e.reason
        elif isinstance(e, ev.OfferAccepted):
            reason = f"holder accepted {e.gpus} GPUs at {e.unit_price}"
        elif isinstance(e, ev.ShortfallRecorded):
            reason = shortfall = f"shortfall {e.gpus}: {e.cause}"
        elif isinstance(e, ev.RequirementUnmet):
            # "latest start reached" alone does not say why: add the last shortfall's cause.
            reason = f"{e.cause} ({shortfall})" if shortfall else e.cause
        elif isinstance(e, ev.RequirementCancelled | ev.RightRevived):
            reason = e.reason
    return reason


def requirements_table(
    state: State, reasons: dict[str, str] | None = None, title: str = "Requirements"
) -> Table:
    """One row per requirement: state, GPUs placed, where they went and why."""
    table = Table(title=title, show_lines=False, expand=False)
    for col in ("requirement", "kind", "GPUs", "state", "where the GPUs went (basis)", "why"):
        table.add_column(col, overflow="fold")
    for req_id in sorted(state.requirements):
        rs = state.requirements[req_id]
        req = rs.requirement
        kind = req.kind.value + (f"/{req.product_surface}" if req.product_surface else "")
        style = _STATUS_STYLE.get(rs.status.value, "")
        table.add_row(
            req_id,
            kind,
            f"{rs.placed_gpus}/{req.gpus}",
            f"[{style}]{rs.status.value}[/]" if style else rs.status.value,
            where_it_went(rs),
            (reasons or {}).get(req_id, ""),
        )
    return table


def provider_totals(state: State) -> dict[str, tuple[int, Decimal]]:
    """GPUs and committed spend (price x GPUs x hours) per provider."""
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for rs in state.requirements.values():
        for p in rs.placed:
            totals[p.provider][0] += p.gpus
            totals[p.provider][1] += p.cost
    return {k: (int(v[0]), v[1]) for k, v in sorted(totals.items())}


def provider_table(state: State) -> Table:
    """GPUs and spend per provider."""
    table = Table(title="Per provider")
    table.add_column("provider")
    table.add_column("GPUs", justify="right")
    table.add_column("spend (USD)", justify="right")
    total_gpus, total_spend = 0, Decimal(0)
    for provider, (gpus, spend) in provider_totals(state).items():
        table.add_row(provider, f"{gpus:,}", money(spend))
        total_gpus += gpus
        total_spend += spend
    table.add_row("[bold]total[/]", f"[bold]{total_gpus:,}[/]", f"[bold]{money(total_spend)}[/]")
    return table


def offers_table(state: State, now: datetime, holder: str | None = None) -> Table:
    """Open offers a holder must answer, with their deadlines."""
    table = Table(title="Open offers")
    for col in ("offer", "holder", "GPUs", "terms", "deadline (UTC)", "time left"):
        table.add_column(col)
    for rs in state.requirements.values():
        offer = rs.offer
        if offer is None or (holder is not None and offer.holder != holder):
            continue
        terms = "; ".join(
            f"{line.gpus} x {line.sku or '/'.join(rs.requirement.skus)}"
            f" @ {line.unit_price if line.unit_price is not None else 'any price'}"
            f"{' ' + line.region if line.region else ''}"
            f"{' (' + line.provider + ')' if line.provider else ''}"
            for line in offer.lines
        )
        left = offer.deadline - now
        hours = left.total_seconds() / 3600
        table.add_row(
            offer.offer_id,
            offer.holder,
            str(offer.gpus),
            terms,
            f"{offer.deadline:%Y-%m-%d %H:%M}",
            f"{hours:.1f} h" if hours > 0 else "[red]passed[/] (run `rofr tick`)",
        )
    return table


def event_line(row: StoredEvent) -> str:
    """One event as a line of ``rofr log``."""
    data = row.data
    detail = ""
    for key in ("reason", "cause", "purpose", "offer_id", "timer_id"):
        if data.get(key):
            detail = f"{key}={data[key]}"
            break
    if row.type == "PlacementMade":
        p = data["placement"]
        detail = f"{p['provider']} {p['gpus']} GPUs @ {p['unit_price']} ({p['basis']})"
    return f"{row.position:>6} {row.recorded_at:%Y-%m-%d %H:%M} {row.stream:<22} {row.type:<22} {detail}"


def requirement_detail(rs: RequirementState, events: list[ev.Event]) -> Table:
    """The story of one requirement: each event with its reason."""
    req = rs.requirement
    table = Table(
        title=f"{req.id}: {req.gpus} x {'/'.join(req.skus)} {req.kind.value}, "
        f"version {rs.version_id}, {rs.status.value}"
    )
    table.add_column("time (UTC)")
    table.add_column("event")
    table.add_column("detail", overflow="fold")
    for e in events:
        table.add_row(f"{e.at:%Y-%m-%d %H:%M}", e.kind, _detail(e))
    return table


def _detail(e: ev.Event) -> str:
    if isinstance(e, ev.RequirementScreened):
        excluded = ", ".join(f"{x.provider}: {x.reason}" for x in e.excluded)
        return f"eligible {list(e.eligible)}; {e.reason}" + (
            f"; excluded {excluded}" if excluded else ""
        )
    if isinstance(e, ev.OfferSent):
        return f"{e.offer_id} to {e.holder} for {e.gpus} GPUs, deadline {e.deadline:%Y-%m-%d %H:%M}; clause {e.clause_id} v{e.version_id}"
    if isinstance(e, ev.PlacementMade):
        p = e.placement
        return f"{p.provider} {p.gpus} x {p.sku} {p.region} @ {p.unit_price} from {p.start:%Y-%m-%d} ({p.basis.value}); {e.reason}"
    if isinstance(e, ev.ReservationRequested):
        p = e.placement
        others = "; ".join(
            f"{c.provider} {c.quote_id}: {c.reason}" for c in e.considered if c.gpus_used == 0
        )
        return f"{p.provider} {p.gpus} @ {p.unit_price}: {e.reason}" + (
            f"; not chosen: {others}" if others else ""
        )
    if isinstance(e, ev.QuotesRecorded):
        failed = "; ".join(f"{f.provider}: {f.reason}" for f in e.failures)
        return f"{len(e.quotes)} quotes" + (f"; failed: {failed}" if failed else "")
    for key in ("reason", "cause", "purpose"):
        value = getattr(e, key, None)
        if value:
            return str(value)
    return ""
