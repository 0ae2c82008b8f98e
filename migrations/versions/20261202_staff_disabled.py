"""Staff accounts can be disabled, and their sessions ended at once

Revision ID: 20261202_0006
Revises: 20261202_0005
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261202_0006"
down_revision = "20261202_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain added columns (never a batch copy: a copied table loses its triggers on SQLite).
    op.add_column("staff", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "staff", sa.Column("sessions_ended_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("staff", "sessions_ended_at")
    op.drop_column("staff", "disabled_at")
