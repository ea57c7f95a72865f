"""PostgreSQL schema migrations, run with Alembic when a store is opened.

SQLite keeps its own SQL-script migrator (:mod:`rofr.store.migrations`, no SQLAlchemy needed
for the CLI's default store); PostgreSQL uses Alembic revisions in ``store/alembic/versions``
that create the same tables. Alembic's ``alembic_version`` table is PostgreSQL's schema
version. Opening a store whose revision this code does not know (written by a newer rofr) is
refused rather than guessed at.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import psycopg

from rofr.store.log import SchemaError

__all__ = ["head_revision", "migrate_postgres"]

_SCRIPTS = Path(__file__).with_name("alembic")


@cache
def _script_directory() -> Any:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config, ScriptDirectory.from_config(config)


@cache
def head_revision() -> str:
    """The newest revision this rofr ships."""
    _, scripts = _script_directory()
    return str(scripts.get_current_head())


def _current(conn: psycopg.Connection[Any]) -> str | None:
    exists = conn.execute("SELECT to_regclass('alembic_version')").fetchone()
    if exists is None or exists[0] is None:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    conn.commit()
    return None if row is None else str(row[0])


def migrate_postgres(conninfo: str, conn: psycopg.Connection[Any]) -> str:
    """Bring the database at ``conninfo`` to the head revision; return it.

    ``conn`` is used for the cheap check "already at head?" so that opening a current store
    costs one query and never imports SQLAlchemy. Otherwise Alembic runs every pending
    revision in one transaction, under an advisory lock so that two processes opening a new
    database at once do not both create the tables.
    """
    current = _current(conn)
    head = head_revision()
    if current == head:
        return head
    config, scripts = _script_directory()
    if current is not None and current not in {rev.revision for rev in scripts.walk_revisions()}:
        raise SchemaError(
            f"the store has schema revision {current} but this rofr knows only up to {head}; "
            "upgrade rofr to open it"
        )
    from alembic import command
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(
        "postgresql+psycopg://",
        creator=lambda: psycopg.connect(conninfo),
        poolclass=NullPool,
    )
    try:
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('rofr.migrate'))"))
            config.attributes["connection"] = connection
            try:
                command.upgrade(config, "head")
            finally:
                config.attributes.pop("connection", None)
    finally:
        engine.dispose()
    return head
