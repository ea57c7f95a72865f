"""``rofr serve`` and ``rofr keys create``, and the ``--server`` path of the everyday commands.

With ``--server URL`` (and ``--api-key``/``ROFR_API_KEY``), ``submit``, ``offers``,
``respond``, ``status``, ``tick`` and ``log`` talk to a running service through
:class:`rofr.client.RofrClient` instead of opening the local database.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from rofr.cli.app import Context, UserError, cli, console, user_errors
from rofr.client import RofrClient, RofrError
from rofr.values import parse_time

__all__ = ["ScaledClock", "remote"]


class ScaledClock:
    """Virtual time that runs ``rate`` times faster than the wall clock from ``epoch``.

    For demos and the crash test: deadlines hours away fire in seconds, and a restarted
    server given the same ``start``/``epoch``/``rate`` continues the same timeline.
    """

    def __init__(self, start: datetime, epoch: float, rate: float) -> None:
        self.start, self.epoch, self.rate = start, epoch, rate

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.epoch) * self.rate)

    @classmethod
    def parse(cls, text: str) -> ScaledClock:
        """``START,EPOCH,RATE`` e.g. ``2025-02-03T09:00Z,1764000000.0,3600``."""
        start, epoch, rate = text.split(",")
        return cls(parse_time(start), float(epoch), float(rate))


def _store_url(ctx: Context, db: str | None) -> str:
    return db or os.environ.get("ROFR_DATABASE_URL") or f"sqlite:///{ctx.db.resolve()}"


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--database-url", "db", default=None,
              help="Store URL (sqlite:///... or postgresql://...); default ROFR_DATABASE_URL, "
                   "else the --db file.")  # fmt: skip
@click.option("--tick-ms", default=200, show_default=True, help="Timer loop period.")
@click.option("--clock", "clock_spec", default=None, hidden=True, help="START,EPOCH,RATE")
@click.option("--log-level", default="warning", show_default=True)
@click.option("--workers", default=1, show_default=True,
              help="Server processes (each with its own broker; safe on one database).")  # fmt: skip
@click.option("--reports", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of simulation runs shown by the web console (default: ./rofr-sims).")  # fmt: skip
@click.pass_obj
@user_errors
def serve(ctx: Context, host: str, port: int, db: str | None, tick_ms: int,
          clock_spec: str | None, log_level: str, workers: int, reports: Path | None) -> None:  # fmt: skip
    """Run the HTTP API (uvicorn) and the web console over the event log, with its timer and
    outbox loops."""
    import uvicorn

    if reports is not None:
        os.environ["ROFR_REPORTS_DIR"] = str(reports)  # read by the web console in each worker

    inventory = ctx.inventory or ctx.db.parent / "inventory.yaml"
    # The app is built by a factory from these variables, so that each worker process
    # (uvicorn spawns them) builds its own service the same way.
    os.environ[_SERVE_ENV] = json.dumps(
        {"url": _store_url(ctx, db), "inventory": str(inventory), "clock": clock_spec,
         "tick_ms": tick_ms}
    )  # fmt: skip
    # proxy_headers off: rofr uses no client address, and the middleware that rewrites it
    # from X-Forwarded-For would run on every request for nothing.
    uvicorn.run(f"{__name__}:app_from_env", factory=True, host=host, port=port,
                log_level=log_level, access_log=False, workers=workers,
                proxy_headers=False)  # fmt: skip


_SERVE_ENV = "ROFR_SERVE_CONFIG"


def app_from_env() -> Any:
    """The app ``rofr serve`` runs (built in each worker from ``ROFR_SERVE_CONFIG``)."""
    from pathlib import Path

    from rofr.api import Settings, create_app
    from rofr.broker import Clock, Market, SystemClock
    from rofr.market import SimulatedProvider, load_inventory

    config = json.loads(os.environ[_SERVE_ENV])
    inventory = Path(config["inventory"])
    market = None
    if inventory.exists():
        market = Market({p.id: SimulatedProvider(p) for p in load_inventory(inventory).providers})
    spec = config["clock"]
    clock: Clock = ScaledClock.parse(spec) if spec else SystemClock()
    tick = int(config["tick_ms"])
    return create_app(config["url"], clock, market, Settings(tick_ms=tick, outbox_ms=tick))


@cli.group()
def keys() -> None:
    """API keys of the service (stored hashed in its database)."""


@keys.command("create")
@click.option("--party", required=True)
@click.option("--role", required=True, type=click.Choice(["buyer", "provider", "auditor", "admin"]))
@click.option("--database-url", "db", default=None, help="Store URL (default as for serve).")
@click.pass_obj
@user_errors
def keys_create(ctx: Context, party: str, role: str, db: str | None) -> None:
    """Create a key for PARTY in ROLE and print it (it is shown only this once)."""
    from rofr.api import Role, ServiceDb, create_key
    from rofr.store import open_store

    url = _store_url(ctx, db)
    open_store(url).close()  # creates and migrates the database if needed
    service_db = ServiceDb(url)
    try:
        key_id, key = create_key(service_db, party, Role(role), ctx.clock())
    finally:
        service_db.close()
    click.echo(key)
    click.echo(f"key {key_id} for {party} ({role}); store it now, it is not shown again", err=True)


# --- the --server path ------------------------------------------------------------------------


class remote:
    """The everyday commands over HTTP."""

    @staticmethod
    def client(ctx: Context) -> RofrClient:
        assert ctx.server is not None
        return RofrClient(ctx.server, ctx.api_key)

    @staticmethod
    def run(ctx: Context, name: str, **args: Any) -> None:
        try:
            with remote.client(ctx) as client:
                getattr(remote, name)(client, **args)
        except RofrError as exc:
            field = f" (field: {exc.field})" if exc.field else ""
            raise UserError(f"{exc}{field} [{exc.code}]") from None

    @staticmethod
    def submit(client: RofrClient, specs: list[Any]) -> None:
        for spec in specs:
            answer = client.submit(spec.model_dump(mode="json", exclude_none=True))
            offer = answer.get("offer")
            tail = f", offer {offer['offer_id']} to {offer['holder']}" if offer else ""
            console.print(f"{answer['id']}: {answer['status']}{tail}")

    @staticmethod
    def offers(client: RofrClient) -> None:
        for o in client.offers():
            console.print(
                f"{o['offer_id']}  {o['holder']}  {o['gpus']} GPUs  until {o['deadline']}"
            )

    @staticmethod
    def respond(client: RofrClient, offer_id: str, answer: str, gpus: int | None,
                price: Decimal | None, region: str | None, sku: str | None,
                start: datetime | None, reason: str) -> None:  # fmt: skip
        if answer == "decline":
            client.decline(offer_id, reason)
        else:
            client.accept(offer_id, gpus, price, start, region, sku)
        console.print(f"{offer_id}: {answer}ed")

    @staticmethod
    def status(client: RofrClient, requirement_id: str | None) -> None:
        if requirement_id is None:
            for r in client.requirements():
                console.print(f"{r['id']}  {r['status']}  {r['placed_gpus']}/{r['gpus']}")
            return
        r = client.requirement(requirement_id)
        console.print(f"{r['id']}: {r['status']}; placed {r['placed_gpus']}/{r['gpus']}")
        for e in r["events"]:
            reason = e["data"].get("reason") or e["data"].get("cause") or ""
            console.print(f"  {e['position']:>6}  {e['type']:<22} {reason}", soft_wrap=True)

    @staticmethod
    def tick(client: RofrClient) -> None:
        console.print(f"fired {client.tick()} deadline(s)")

    @staticmethod
    def log(client: RofrClient, after: int, stream: str | None, as_json: bool) -> None:
        for row in client.all_events(after):
            if stream is not None and row["stream"] != stream:
                continue
            if as_json:
                click.echo(json.dumps(row, sort_keys=True))
            else:
                console.print(f"{row['position']:>6}  {row['stream']:<16} {row['type']}")
