"""The imperative shell: the pure engine bound to a store, a clock and the market."""

from rofr.broker.broker import Broker, Clock, Listener
from rofr.broker.clock import SystemClock, VirtualClock
from rofr.broker.market import Market

__all__ = ["Broker", "Clock", "Listener", "Market", "SystemClock", "VirtualClock"]
