"""Serve due_timers from an index on (due, timer_id), as SQLite's 0002 does.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``timers_due``."""
    op.execute("CREATE INDEX timers_due ON timers (due, timer_id)")


def downgrade() -> None:
    """Forward-only."""
    raise NotImplementedError("rofr migrations are forward-only")
