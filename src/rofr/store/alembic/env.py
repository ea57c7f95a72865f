"""Alembic environment for rofr's PostgreSQL schema.

rofr runs these migrations itself when a store is opened (``rofr.store.pg_migrate``), handing
over an open SQLAlchemy connection in ``config.attributes["connection"]``; there is no
``alembic.ini``. The revisions are plain SQL (``op.execute``) so that the schema is exactly the
one the store's queries were written against, with no ORM model in between.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable when run by hand without rofr
    raise RuntimeError("run rofr's migrations through rofr.store.pg_migrate.migrate_postgres")

context.configure(connection=connection, target_metadata=None, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
