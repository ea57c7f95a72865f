"""Schema migrations: an ordered list of SQL scripts, applied forward in one transaction.

The scripts live in ``migrations/NNNN_name.sql`` (package data); ``NNNN`` is the schema
version the script brings the database to. A ``schema_version`` table holds one row with the
current version. Opening a store applies the scripts it has not seen yet; a database with a
newer version than the code knows is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from rofr.store.log import SchemaError

__all__ = ["Migration", "load_migrations", "migrate_sqlite", "schema_version"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One script: the version it leads to, its file name and its SQL text."""

    version: int
    name: str
    sql: str


@cache
def load_migrations() -> tuple[Migration, ...]:
    """The shipped migrations in order; their versions must run 1, 2, 3, ... without gaps."""
    folder = files("rofr.store").joinpath("migrations")
    scripts = sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    migrations = tuple(Migration(int(name.split("_", 1)[0]), name, sql) for name, sql in scripts)
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise SchemaError(f"migration {migration.name} should be numbered {expected:04d}")
    return migrations


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's schema version; 0 for a database rofr never touched."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    return 0 if row is None else int(row[0])


def migrate_sqlite(
    conn: sqlite3.Connection, migrations: tuple[Migration, ...] | None = None
) -> int:
    """Bring ``conn`` (in autocommit mode) up to the last of ``migrations``; return the version.

    All pending scripts and the version bump run in one ``BEGIN IMMEDIATE`` transaction: a
    failing script leaves the database as it was, and two processes opening an old file at
    once serialize on the write lock, the second finding nothing left to do.
    """
    migrations = load_migrations() if migrations is None else migrations
    target = len(migrations)
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)
        if current > target:
            raise SchemaError(
                f"the store has schema version {current} but this rofr knows only up to "
                f"{target}; upgrade rofr to open it"
            )
        if current == 0:
            conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            conn.execute("INSERT INTO schema_version (version) VALUES (0)")
        for migration in migrations[current:]:
            for statement in _statements(migration.sql):
                conn.execute(statement)
        conn.execute("UPDATE schema_version SET version = ?", (target,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return target


def _statements(script: str) -> list[str]:
    # Run statement by statement rather than with executescript(), which commits any open
    # transaction first and would break the all-or-nothing promise above.
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not _only_comments(buffer):
        raise SchemaError(f"unterminated SQL statement: {buffer.strip()[:60]!r}")
    return statements


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())
