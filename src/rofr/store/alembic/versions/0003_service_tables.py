"""The service's own tables, as SQLite's 0003_service_tables.sql (see that file's comments).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from importlib.resources import files

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create api_keys, idempotency, webhooks, projections, notices and deliveries."""
    # The SQLite script is portable SQL (TEXT and INTEGER columns, plain indexes), so both
    # backends run the very same statements and cannot drift apart. Positions fit INTEGER
    # here because these tables only refer to positions; the log's own column is BIGINT.
    script = files("rofr.store").joinpath("migrations/0003_service_tables.sql").read_text()
    # Comments go first (they may contain ';'), then the text splits into statements.
    code = "\n".join(line.split("--", 1)[0] for line in script.splitlines())
    for statement in code.split(";"):
        if statement.strip():
            op.execute(statement.strip())


def downgrade() -> None:
    """Forward-only."""
    raise NotImplementedError("rofr migrations are forward-only")
