"""The event log: an append-only, hash-chained store of events with durable timers.

Open one with :func:`open_store` (in memory, SQLite by URL or path, PostgreSQL by URL;
:func:`open_store_from_env` reads ``ROFR_DATABASE_URL``); every backend
implements :class:`EventStore` with the same meaning, and every backend chains its rows with
the single rule in :mod:`rofr.store.chain`, which :func:`verify_chain` checks.

Migrations. Old stores stay readable: each backend keeps a schema version and only migrates
forward, refusing a store written by a newer rofr. SQLite keeps its dependency-free SQL-script
migrator (``store/migrations/NNNN_*.sql``, ``schema_version`` table), so the CLI's default
store needs no SQLAlchemy. PostgreSQL uses Alembic (``store/alembic/versions``, the
``alembic_version`` table), run when the store is opened; its revisions create the same tables
as the SQLite scripts of the same number. A new table is added to both, with the same number.
"""

from rofr.store.chain import GENESIS, ChainBreak, StoredEvent
from rofr.store.log import (
    Batch,
    EventStore,
    HeadMoved,
    IdempotencyRecord,
    NewEvent,
    SchemaError,
    Side,
    StoreError,
    VersionConflict,
    verify_chain,
)
from rofr.store.memory import MemoryStore
from rofr.store.open import DATABASE_URL_ENV, open_store, open_store_from_env
from rofr.store.sqlite import SqliteStore
from rofr.store.timers import CancelTimer, ScheduleTimer, Timer, TimerChange

__all__ = [
    "DATABASE_URL_ENV",
    "GENESIS",
    "Batch",
    "CancelTimer",
    "ChainBreak",
    "EventStore",
    "HeadMoved",
    "IdempotencyRecord",
    "MemoryStore",
    "NewEvent",
    "ScheduleTimer",
    "SchemaError",
    "Side",
    "SqliteStore",
    "StoreError",
    "StoredEvent",
    "Timer",
    "TimerChange",
    "VersionConflict",
    "open_store",
    "open_store_from_env",
    "verify_chain",
]
