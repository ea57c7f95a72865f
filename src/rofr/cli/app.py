"""The ``rofr`` command group, its shared options, and how user mistakes are reported.

A user mistake (bad file, unknown offer, a late or foreign answer) prints one line saying what
is wrong and what to do, and exits 2. Nothing already recorded is touched: commands decide
before they append, and a refused command appends nothing.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from rofr.broker import Broker, Market, SystemClock
from rofr.engine import Rejected
from rofr.inputs import InputErrors
from rofr.store import EventStore, SchemaError, open_store
from rofr.values import parse_time

__all__ = ["Context", "UserError", "cli", "console", "user_errors"]

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)
F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """A mistake by the user: one line, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        err_console.print(f"[bold red]error:[/] {escape(self.message)}", soft_wrap=True)


def user_errors(fn: F) -> F:
    """Turn the library's user-facing errors into one-line messages with exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Rejected as exc:
            field = f" (field: {exc.field})" if exc.field else ""
            raise UserError(f"{exc}{field} [{exc.code}]") from None
        except InputErrors as exc:
            for e in exc.errors[1:]:
                err_console.print(f"[bold red]error:[/] {escape(str(e))}", soft_wrap=True)
            raise UserError(str(exc.errors[0])) from None
        except SchemaError as exc:
            raise UserError(str(exc)) from None

    return wrapper  # type: ignore[return-value]


@dataclass
class Context:
    """Options shared by every subcommand."""

    db: Path
    now: datetime | None
    inventory: Path | None
    server: str | None = None  # --server: go through the HTTP API (rofr.cli.service.remote)
    api_key: str | None = None

    def clock(self) -> datetime:
        """``--now`` if given, else the wall clock."""
        return self.now if self.now is not None else SystemClock()()

    def store(self) -> EventStore:
        """The event log at ``--db`` (SQLite)."""
        if not self.db.exists():
            raise UserError(
                f"no rofr database at {self.db}; run `rofr init DIR` first or pass --db"
            )
        return open_store(str(self.db))

    def broker(self, *, market: bool = True) -> Broker:
        """A broker over the database, with simulated providers from the inventory file."""
        from rofr.market import SimulatedProvider, load_inventory

        mk: Market | None = None
        inv = self.inventory or self.db.parent / "inventory.yaml"
        if market and inv.exists():
            inventory = load_inventory(inv)
            mk = Market({p.id: SimulatedProvider(p) for p in inventory.providers})
        return Broker(self.store(), self.clock, mk)


def _parse_now(_: click.Context, __: click.Parameter, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO time such as 2025-02-03T09:00Z"
        ) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("rofr.db"),
    show_default=True,
    envvar="ROFR_DB",
    help="SQLite file holding the event log.",
)
@click.option(
    "--now",
    callback=_parse_now,
    envvar="ROFR_NOW",
    help="Act as if it were this time (ISO 8601); default: the wall clock.",
)
@click.option(
    "--inventory",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Simulated providers for quotes (default: inventory.yaml beside --db).",
)
@click.option(
    "--server",
    default=None,
    envvar="ROFR_SERVER",
    help="A running `rofr serve` URL: submit, offers, respond, status, tick and log use it.",
)
@click.option("--api-key", default=None, envvar="ROFR_API_KEY", help="API key for --server.")
@click.version_option(package_name="rofr")
@click.pass_context
def cli(ctx: click.Context, db: Path, now: datetime | None, inventory: Path | None,
        server: str | None, api_key: str | None) -> None:  # fmt: skip
    """rofr: a contract-aware broker for AI compute capacity."""
    ctx.obj = Context(db=db, now=now, inventory=inventory, server=server, api_key=api_key)


def main() -> None:
    """Console-script entry point."""
    from rofr.cli import commands  # noqa: F401  (registers the subcommands)

    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
