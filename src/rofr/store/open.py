"""Pick a backend from a URL: the one place that knows which URLs mean which store."""

from __future__ import annotations

import os

from rofr.store.log import EventStore
from rofr.store.memory import MemoryStore
from rofr.store.sqlite import SqliteStore

__all__ = ["DATABASE_URL_ENV", "open_store", "open_store_from_env"]

DATABASE_URL_ENV = "ROFR_DATABASE_URL"

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def open_store(url: str | os.PathLike[str] | None = None) -> EventStore:
    """Open the event log that ``url`` names.

    - ``None``, ``"memory"`` or ``"memory://"``: a fresh in-memory store;
    - ``"sqlite:///relative/path.db"``, ``"sqlite:////absolute/path.db"`` (SQLAlchemy's
      convention: what follows the third slash is the path), or a plain path ending in
      ``.db``, ``.sqlite`` or ``.sqlite3``: a SQLite file, created with its folder if missing;
    - ``"sqlite://"`` or ``"sqlite:///:memory:"``: a private in-memory SQLite database;
    - ``"postgresql://user@host:port/db"`` (any libpq URL, ``?options=-csearch_path%3Ds`` to
      pick a schema): PostgreSQL, migrated to the current schema on open.

    ``open_store_from_env()`` reads the URL from ``ROFR_DATABASE_URL``.
    """
    if url is None:
        return MemoryStore()
    text = os.fspath(url)
    if text in ("memory", "memory://"):
        return MemoryStore()
    if text.startswith("sqlite://"):
        path = text.removeprefix("sqlite://")
        if path in ("", "/:memory:"):
            return SqliteStore(":memory:")
        if not path.startswith("/") or path == "/":
            raise ValueError(f"cannot read a path in {text!r}; write sqlite:///path/to/rofr.db")
        return SqliteStore(path[1:])
    if text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        from rofr.store.postgres import PostgresStore  # psycopg is loaded only when asked for

        return PostgresStore(text.replace("postgresql+psycopg://", "postgresql://", 1))
    if "://" not in text and text.endswith(_SQLITE_SUFFIXES):
        return SqliteStore(text)
    raise ValueError(
        f"unknown store {text!r}: use 'memory', sqlite:///path/to/rofr.db or a path ending in .db"
    )


def open_store_from_env(default: str | None = "sqlite:///rofr.db") -> EventStore:
    """Open the store named by ``ROFR_DATABASE_URL`` (SQLite at ./rofr.db when unset)."""
    return open_store(os.environ.get(DATABASE_URL_ENV) or default)
