"""The event log: an append-only, hash-chained store of events with durable timers.

Open one with :func:`open_store` (in memory, or SQLite by URL or path); every backend
implements :class:`EventStore` with the same meaning, and every backend chains its rows with
the single rule in :mod:`rofr.store.chain`, which :func:`verify_chain` checks.
"""

from rofr.store.chain import GENESIS, ChainBreak, StoredEvent
from rofr.store.log import (
    Batch,
    EventStore,
    NewEvent,
    SchemaError,
    StoreError,
    VersionConflict,
    verify_chain,
)
from rofr.store.memory import MemoryStore
from rofr.store.open import open_store
from rofr.store.sqlite import SqliteStore
from rofr.store.timers import CancelTimer, ScheduleTimer, Timer, TimerChange

__all__ = [
    "GENESIS",
    "Batch",
    "CancelTimer",
    "ChainBreak",
    "EventStore",
    "MemoryStore",
    "NewEvent",
    "ScheduleTimer",
    "SchemaError",
    "SqliteStore",
    "StoreError",
    "StoredEvent",
    "Timer",
    "TimerChange",
    "VersionConflict",
    "open_store",
    "verify_chain",
]
