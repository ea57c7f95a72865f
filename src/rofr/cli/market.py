"""``rofr plan`` (a batch of requirements placed at minimum cost) and ``rofr provider serve``."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import click
from rich.table import Table

from rofr.cli.app import Context, UserError, cli, console, user_errors
from rofr.cli.render import money
from rofr.contract.requirement import RequirementBatch
from rofr.engine.rules import eligibility
from rofr.inputs import load_yaml_model
from rofr.market import SimulatedProvider, load_inventory
from rofr.sim.demo import example_path
from rofr.values import Quote, Requirement

pass_ctx = click.make_pass_decorator(Context)


def pool_quotes(
    providers: list[SimulatedProvider], reqs: list[Requirement], at: datetime
) -> list[Quote]:
    """One quote per provider pool (sku, region) with the GPUs free over the whole batch
    window, shared by every requirement: the optimizer then splits each pool's capacity."""
    start = min(max(r.earliest_start, at) for r in reqs)
    end = max(max(r.earliest_start, at) + r.duration for r in reqs)
    skus = sorted({s for r in reqs for s in r.skus})
    quotes: list[Quote] = []
    for provider in providers:
        validity = provider.spec.quote_validity_hours
        for sku in skus:
            for region in provider.regions(sku):
                free = provider.free(sku, region, start, end)
                price = provider.list_price(sku, region, start)
                if free <= 0 or price is None:
                    continue
                quotes.append(
                    Quote(
                        id=f"{provider.provider_id}/{sku}/{region}",
                        provider=provider.provider_id,
                        sku=sku,
                        region=region,
                        gpus=free,
                        unit_price=price,
                        earliest_start=start,
                        valid_until=at + timedelta(hours=validity),
                    )
                )
    return quotes


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--explain", is_flag=True, help="Show every quote considered per requirement.")
@pass_ctx
@user_errors
def plan(ctx: Context, file: Path, explain: bool) -> None:
    """Place a batch of requirements (YAML `requirements:`) at minimum total cost."""
    batch = load_yaml_model(file, RequirementBatch)
    dup = batch.ids_unique()
    if dup:
        raise UserError(f"{file}: requirement id {dup[0]!r} appears twice")
    at = batch.at or ctx.clock()
    inv_path = ctx.inventory or (ctx.db.parent / "inventory.yaml")
    if not inv_path.exists():
        inv_path = example_path("inventory.yaml")
    inventory = load_inventory(inv_path)
    providers = [SimulatedProvider(p) for p in inventory.providers]
    state = None
    if ctx.db.exists():
        state = ctx.broker(market=False).state
    buyer = state.contract.parties.buyer.id if state and state.contract else "buyer"
    reqs = [spec.to_requirement(buyer) for spec in batch.requirements]
    eligible: dict[str, frozenset[str] | None] = {}
    if state is not None and state.contract is not None:
        version = state.contract.version_at(at)
        if version is not None:
            for r in reqs:
                eligible[r.id] = frozenset(eligibility(state, version, r, at).eligible)
    quotes = pool_quotes(providers, reqs, at)
    from rofr.optimize import place_batch  # heavy (numpy, OR-Tools, HiGHS): only when planning

    result = place_batch(reqs, quotes, eligible, at)
    table = Table(title=f"Placement of {len(reqs)} requirements ({result.method})")
    for col in ("requirement", "provider", "sku", "region", "GPUs", "USD/GPU-h", "cost"):
        table.add_column(col, justify="right" if col in ("GPUs", "USD/GPU-h", "cost") else "left")
    by_quote = {q.id: q for q in quotes}
    for a in sorted(result.allocations, key=lambda a: (a.requirement_id, a.quote_id)):
        q = by_quote[a.quote_id]
        table.add_row(
            a.requirement_id,
            a.provider,
            q.sku,
            q.region,
            f"{a.gpus:,}",
            str(a.unit_price),
            money(a.cost),
        )
    console.print(table)
    for s in result.shortfalls:
        console.print(f"[magenta]shortfall[/] {s.requirement_id}: {s.gpus} GPUs ({s.cause})")
    if explain:
        for req_id, considered in sorted(result.considered.items()):
            for c in considered:
                console.print(f"  {req_id} {c.quote_id}: {c.reason}")
    proven = "proven optimal" if result.proven_optimal else "not proven optimal"
    console.print(f"total cost {money(result.total_cost)} ({proven})")


@cli.group()
def provider() -> None:
    """Run a reference provider that speaks the quote protocol."""


@provider.command()
@click.option(
    "--inventory", "inventory", type=click.Path(dir_okay=False, path_type=Path), required=True
)
@click.option(
    "--provider", "provider_id", required=True, help="Which provider of the inventory to serve."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8700, show_default=True)
@user_errors
def serve(inventory: Path, provider_id: str, host: str, port: int) -> None:
    """Serve one simulated provider over HTTP (protocol v1: docs/provider-protocol.md)."""
    from rofr.market import serve as serve_provider

    inv = load_inventory(inventory)
    if provider_id not in {p.id for p in inv.providers}:
        known = ", ".join(p.id for p in inv.providers)
        raise UserError(f"no provider {provider_id!r} in {inventory} (known: {known})")
    serve_provider(inventory, provider_id, host=host, port=port)
