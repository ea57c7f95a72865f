"""The everyday commands: init, validate, schema, submit, offers, respond, tick, status, log,
cancel, waive, trigger and amend."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from rofr.cli.app import Context, UserError, cli, console, user_errors
from rofr.cli.render import (
    event_line,
    last_reason,
    offers_table,
    requirement_detail,
    requirements_table,
)
from rofr.cli.service import remote
from rofr.contract import Version, contract_schema, load_contract
from rofr.contract.requirement import RequirementBatch, RequirementSpec
from rofr.engine import commands as cmd
from rofr.engine import decode_event
from rofr.engine.events import Event
from rofr.inputs import load_yaml_model, parse_yaml, validate
from rofr.sim.demo import example_path
from rofr.store import EventStore, open_store
from rofr.values import Kind, parse_time

pass_ctx = click.make_pass_decorator(Context)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--at", "at", default=None, help="Adoption time (ISO); default: now.")
@pass_ctx
@user_errors
def init(ctx: Context, directory: Path, at: str | None) -> None:
    """Write the example contract and inventory into DIRECTORY and start its log."""
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "rofr.db"
    if db.exists():
        raise UserError(f"{db} exists already; pick an empty directory")
    for name in ("contract.yaml", "inventory.yaml"):
        shutil.copyfile(example_path(name), directory / name)
    contract = load_contract(directory / "contract.yaml")
    ctx.db = db
    store = open_store(str(db))
    store.close()
    broker = ctx.broker(market=False)
    when = parse_time(at) if at else ctx.clock()
    broker.execute(
        cmd.AdoptContract(contract.model_dump(mode="json"), by=contract.parties.buyer.id), when
    )
    console.print(f"wrote {directory}/contract.yaml, inventory.yaml and rofr.db")
    console.print(f"next: rofr --db {db} submit --id r1 --gpus 1024 --sku H100 ...")


@cli.command(name="validate")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@user_errors
def validate_cmd(file: Path) -> None:
    """Check a contract, inventory or requirements file; errors name line and field."""
    located = parse_yaml(_read(file), str(file))
    data = located.data if isinstance(located.data, dict) else {}
    if "versions" in data:
        contract = load_contract(file)
        console.print(
            f"[green]ok[/]: contract {contract.name!r}, {len(contract.versions)} versions"
        )
    elif "providers" in data:
        from rofr.market import load_inventory

        inv = load_inventory(file)
        console.print(f"[green]ok[/]: inventory with {len(inv.providers)} providers")
    else:
        batch = validate(located, RequirementBatch)
        console.print(f"[green]ok[/]: {len(batch.requirements)} requirements")


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {file}: {exc.strerror}") from None


@cli.command()
def schema() -> None:
    """Print the JSON Schema of contract files."""
    click.echo(contract_schema())


def _decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise UserError(f"--{name} {value!r} is not a number") from None


@cli.command()
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML with `requirements:`.",
)
@click.option("--id", "req_id", help="Requirement id.")
@click.option("--gpus", type=int)
@click.option("--sku", "skus", multiple=True, help="Acceptable sku (repeat for alternatives).")
@click.option("--earliest", help="Earliest start (ISO); default: now + 7 days.")
@click.option("--latest", help="Latest start (ISO); default: earliest + 14 days.")
@click.option("--days", type=int, default=30, show_default=True, help="Duration in days.")
@click.option("--max-price", help="Maximum USD per GPU-hour.")
@click.option("--region", "regions", multiple=True)
@click.option("--workload", default="training", show_default=True)
@click.option("--surface", default=None, help="Product surface, e.g. api.")
@click.option(
    "--kind", type=click.Choice([k.value for k in Kind]), default="new", show_default=True
)
@click.option("--tag", "tags", multiple=True, help="Customer tag, e.g. national_security.")
@click.option("--not-splittable", is_flag=True)
@pass_ctx
@user_errors
def submit(ctx: Context, file: Path | None, req_id: str | None, gpus: int | None, skus: tuple[str, ...],
           earliest: str | None, latest: str | None, days: int, max_price: str | None,
           regions: tuple[str, ...], workload: str, surface: str | None, kind: str,
           tags: tuple[str, ...], not_splittable: bool) -> None:  # fmt: skip
    """Submit a requirement (from flags, or every one in --file)."""
    if ctx.server and file is not None:
        return remote.run(
            ctx, "submit", specs=list(load_yaml_model(file, RequirementBatch).requirements)
        )
    broker = None if ctx.server else ctx.broker()
    contract = broker.state.contract if broker else None
    if broker and contract is None:
        raise UserError("the log has no contract; run `rofr init DIR` first")
    buyer = contract.parties.buyer.id if contract else None
    if file is not None:
        specs = list(load_yaml_model(file, RequirementBatch).requirements)
    else:
        if not (req_id and gpus and skus):
            raise UserError("give --file, or at least --id, --gpus and --sku")
        now = ctx.clock()
        first = parse_time(earliest) if earliest else now + timedelta(days=7)
        specs = [
            RequirementSpec(
                id=req_id, skus=skus, gpus=gpus, earliest_start=first,
                latest_start=parse_time(latest) if latest else first + timedelta(days=14),
                duration_hours=24 * days, max_unit_price=_decimal(max_price, "max-price"),
                regions=regions, workload_class=workload, product_surface=surface,
                kind=Kind(kind), customer_tags=tags, splittable=not not_splittable,
            )
        ]  # fmt: skip
    if broker is None:
        return remote.run(ctx, "submit", specs=specs)
    for spec in specs:
        broker.execute(cmd.SubmitRequirement(spec.to_requirement(buyer or "")))
        rs = broker.state.requirements[spec.id]
        console.print(
            f"{spec.id}: {rs.status.value}"
            + (
                f", offer {rs.offer.offer_id} to {rs.offer.holder} until {rs.offer.deadline:%Y-%m-%d %H:%M}Z"
                if rs.offer
                else ""
            )
        )


@cli.command()
@click.option("--holder", default=None, help="Only this holder's offers.")
@pass_ctx
@user_errors
def offers(ctx: Context, holder: str | None) -> None:
    """Offers waiting for the holder's answer."""
    if ctx.server:
        return remote.run(ctx, "offers")
    broker = ctx.broker(market=False)
    console.print(offers_table(broker.state, ctx.clock(), holder))


@cli.command()
@click.argument("offer_id")
@click.argument("answer", type=click.Choice(["accept", "decline"]))
@click.option("--gpus", type=int, help="GPUs accepted (default: all offered).")
@click.option("--price", help="Unit price accepted (USD per GPU-hour).")
@click.option("--region")
@click.option("--sku")
@click.option("--start", help="Start (ISO).")
@click.option("--reason", default="", help="Why (for a decline).")
@click.option("--as", "party", default=None, help="Answering party (default: the offer's holder).")
@pass_ctx
@user_errors
def respond(ctx: Context, offer_id: str, answer: str, gpus: int | None, price: str | None,
            region: str | None, sku: str | None, start: str | None, reason: str,
            party: str | None) -> None:  # fmt: skip
    """Answer an offer as its holder: accept all or part, or decline."""
    if ctx.server:
        return remote.run(ctx, "respond", offer_id=offer_id, answer=answer, gpus=gpus,
                          price=_decimal(price, "price"), region=region, sku=sku,
                          start=parse_time(start) if start else None, reason=reason)  # fmt: skip
    broker = ctx.broker()
    req_id = broker.state.offers.get(offer_id)
    if req_id is None:
        raise UserError(f"no offer {offer_id!r}; `rofr offers` lists the open ones")
    rs = broker.state.requirements[req_id]
    offer = rs.last_offer
    assert offer is not None
    accept = 0 if answer == "decline" else (gpus if gpus is not None else offer.gpus)
    if answer == "accept" and accept <= 0:
        raise UserError("--gpus must be positive to accept; use `decline` to decline")
    broker.execute(
        cmd.RespondToOffer(
            offer_id=offer_id, by=party or offer.holder, accept_gpus=accept,
            unit_price=_decimal(price, "price"), start=parse_time(start) if start else None,
            region=region, sku=sku, reason=reason,
        )
    )  # fmt: skip
    rs = broker.state.requirements[req_id]
    console.print(f"{req_id}: {rs.status.value}; placed {rs.placed_gpus}/{rs.requirement.gpus}")


@cli.command()
@pass_ctx
@user_errors
def tick(ctx: Context) -> None:
    """Fire every deadline that is due now (safe to run any number of times)."""
    if ctx.server:
        return remote.run(ctx, "tick")
    broker = ctx.broker()
    fired = broker.fire_due(ctx.clock())
    console.print(f"fired {fired} deadline(s)")


@cli.command()
@click.argument("requirement_id", required=False)
@pass_ctx
@user_errors
def status(ctx: Context, requirement_id: str | None) -> None:
    """Where each requirement stands, where its GPUs went, and why."""
    if ctx.server:
        return remote.run(ctx, "status", requirement_id=requirement_id)
    broker = ctx.broker(market=False)
    if requirement_id is None:
        reasons = {
            rid: last_reason(_events(broker.store, rid)) for rid in broker.state.requirements
        }
        console.print(requirements_table(broker.state, reasons))
        return
    rs = broker.state.requirements.get(requirement_id)
    if rs is None:
        raise UserError(f"no requirement {requirement_id!r}; `rofr status` lists them")
    console.print(requirement_detail(rs, _events(broker.store, requirement_id)))


def _events(store: EventStore, requirement_id: str) -> list[Event]:
    rows = store.read_stream(f"req:{requirement_id}")
    return [decode_event(r.type, dict(r.data)) for r in rows]


@cli.command()
@click.option("--after", type=int, default=0, help="Only events after this position.")
@click.option("--stream", default=None, help="Only this stream (e.g. req:r1).")
@click.option("--json", "as_json", is_flag=True, help="JSON lines with hashes.")
@pass_ctx
@user_errors
def log(ctx: Context, after: int, stream: str | None, as_json: bool) -> None:
    """The event log, in order."""
    if ctx.server:
        return remote.run(ctx, "log", after=after, stream=stream, as_json=as_json)
    store = ctx.store()
    for row in store.read_all(after=after):
        if stream is not None and row.stream != stream:
            continue
        if as_json:
            click.echo(json.dumps(row.to_record(), sort_keys=True))
        else:
            console.print(event_line(row), soft_wrap=True)


@cli.command()
@click.argument("requirement_id")
@click.option("--reason", default="cancelled by the buyer")
@pass_ctx
@user_errors
def cancel(ctx: Context, requirement_id: str, reason: str) -> None:
    """Withdraw an open requirement (confirmed placements stand)."""
    broker = ctx.broker()
    assert broker.state.contract is not None
    broker.execute(
        cmd.CancelRequirement(requirement_id, broker.state.contract.parties.buyer.id, reason)
    )
    console.print(f"{requirement_id}: cancelled")


@cli.command()
@click.argument("waiver_id")
@click.option("--clause", required=True, help="Clause id to waive (e.g. rofr-new).")
@click.option("--by", "by", required=True, help="The clause's holder.")
@click.option("--provider", default=None, help="Only for this rival.")
@click.option("--requirement", default=None, help="Only for this requirement.")
@click.option("--until", default=None, help="End of the waiver (ISO).")
@click.option("--revoke", is_flag=True, help="Revoke the waiver instead.")
@pass_ctx
@user_errors
def waive(ctx: Context, waiver_id: str, clause: str, by: str, provider: str | None,
          requirement: str | None, until: str | None, revoke: bool) -> None:  # fmt: skip
    """Grant (or --revoke) a holder's waiver of one of its clauses."""
    broker = ctx.broker()
    if revoke:
        broker.execute(cmd.RevokeWaiver(waiver_id, by))
        console.print(f"waiver {waiver_id} revoked")
        return
    waiver = {"id": waiver_id, "clause": clause, "granted_by": by, "provider": provider,
              "requirement_id": requirement, "end": until}  # fmt: skip
    broker.execute(cmd.GrantWaiver({k: v for k, v in waiver.items() if v is not None}, by))
    console.print(f"waiver {waiver_id} granted by {by} on {clause}")


@cli.command()
@click.argument("action", type=click.Choice(["declare", "confirm"]))
@click.argument("name")
@click.option("--by", "by", required=True)
@click.option("--effective", default=None, help="Effective time (ISO) for a declaration.")
@pass_ctx
@user_errors
def trigger(ctx: Context, action: str, name: str, by: str, effective: str | None) -> None:
    """Declare or confirm a trigger such as agi_declared."""
    broker = ctx.broker()
    if action == "declare":
        broker.execute(cmd.DeclareTrigger(name, by, parse_time(effective) if effective else None))
    else:
        broker.execute(cmd.ConfirmTrigger(name, by))
    ts = broker.state.triggers[name]
    state = (
        f"in effect from {ts.effective_at:%Y-%m-%d %H:%M}Z"
        if ts.effective_at
        else f"{len(ts.confirmations)} confirmation(s)"
    )
    console.print(f"{name}: {state}")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_ctx
@user_errors
def amend(ctx: Context, file: Path) -> None:
    """Record a new contract version (a YAML file with one version)."""
    version = load_yaml_model(file, Version)
    broker = ctx.broker(market=False)
    assert broker.state.contract is not None
    broker.execute(
        cmd.AmendContract(version.model_dump(mode="json"), broker.state.contract.parties.buyer.id)
    )
    console.print(f"version {version.id} recorded, effective {version.effective_from:%Y-%m-%d}")


_ = datetime
