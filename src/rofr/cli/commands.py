"""Importing this module registers every subcommand on the ``rofr`` group."""

from rofr.cli import demo, market, tour  # noqa: F401
from rofr.cli import ledger  # noqa: F401
from rofr.cli import simulate  # noqa: F401
from rofr.cli import audit  # noqa: F401
