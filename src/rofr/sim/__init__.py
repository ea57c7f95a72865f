"""The simulator: the same broker and engine on a virtual clock with an in-memory store."""

from rofr.sim.driver import Driver, Rejection

__all__ = ["Driver", "Rejection"]
