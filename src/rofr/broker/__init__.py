"""The imperative shell: the pure engine bound to a store, a clock and the market."""

from rofr.broker.broker import Broker, Clock, Decided, Listener, SideFor, share_rows
from rofr.broker.clock import SystemClock, VirtualClock
from rofr.broker.market import Market

__all__ = [
    "Broker",
    "Clock",
    "Decided",
    "Listener",
    "Market",
    "SideFor",
    "SystemClock",
    "VirtualClock",
    "share_rows",
]
