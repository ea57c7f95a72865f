"""Importing this module registers every subcommand on the ``rofr`` group."""

from rofr.cli import (  # noqa: F401
    audit,
    demo,
    ledger,
    market,
    service,
    simulate,
    tour,
)
