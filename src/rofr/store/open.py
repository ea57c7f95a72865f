"""Pick a backend from a URL: the one place that knows which URLs mean which store."""

from __future__ import annotations

import os

from rofr.store.log import EventStore
from rofr.store.memory import MemoryStore
from rofr.store.sqlite import SqliteStore

__all__ = ["open_store"]

_SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")


def open_store(url: str | os.PathLike[str] | None = None) -> EventStore:
    """Open the event log that ``url`` names.

    - ``None``, ``"memory"`` or ``"memory://"``: a fresh in-memory store;
    - ``"sqlite:///relative/path.db"``, ``"sqlite:////absolute/path.db"`` (SQLAlchemy's
      convention: what follows the third slash is the path), or a plain path ending in
      ``.db``, ``.sqlite`` or ``.sqlite3``: a SQLite file, created with its folder if missing;
    - ``"sqlite://"`` or ``"sqlite:///:memory:"``: a private in-memory SQLite database.
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
    if text.startswith(("postgresql://", "postgres://", "postgresql+")):
        raise ValueError(
            "PostgreSQL support arrives with `rofr serve`; use sqlite:///path/to/rofr.db for now"
        )
    if "://" not in text and text.endswith(_SQLITE_SUFFIXES):
        return SqliteStore(text)
    raise ValueError(
        f"unknown store {text!r}: use 'memory', sqlite:///path/to/rofr.db or a path ending in .db"
    )
