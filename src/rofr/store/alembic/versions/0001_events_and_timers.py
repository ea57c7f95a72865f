"""The event log and the durable timers (same schema as SQLite's 0001, in PostgreSQL types).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``events`` and ``timers``."""
    # Positions are assigned by the store under its append lock (head + 1), not by a
    # sequence: a sequence skips numbers on rollback, and the chain needs gap-free positions.
    # data is TEXT holding canonical JSON, not jsonb: jsonb would re-encode numbers and keys,
    # and the hash chain is over the exact canonical bytes.
    op.execute(
        """
        CREATE TABLE events (
            position    BIGINT PRIMARY KEY,
            stream      TEXT        NOT NULL,
            version     INTEGER     NOT NULL,
            type        TEXT        NOT NULL,
            data        TEXT        NOT NULL,
            recorded_at TIMESTAMPTZ NOT NULL,
            prev_hash   TEXT        NOT NULL,
            hash        TEXT        NOT NULL
        )
        """
    )
    # The last line of defence for optimistic concurrency, as in SQLite.
    op.execute("CREATE UNIQUE INDEX events_stream_version ON events (stream, version)")
    op.execute(
        """
        CREATE TABLE timers (
            timer_id TEXT PRIMARY KEY,
            due      TIMESTAMPTZ NOT NULL,
            stream   TEXT        NOT NULL,
            data     TEXT        NOT NULL
        )
        """
    )


def downgrade() -> None:
    """Forward-only: rofr never downgrades a store (old stores stay readable, not new ones)."""
    raise NotImplementedError("rofr migrations are forward-only")
