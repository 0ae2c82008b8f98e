"""TOTP second factor: a wrapped shared secret on staff and people

Revision ID: 20261124_0004
Revises: 20261124_0003
Create Date: 2026-11-24 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261124_0004"
down_revision = "20261124_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: nobody has a second factor until they set one up. The value is wrapped by the
    # key provider (passport.identity.totp), never stored or logged in plain.
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("totp_secret")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("totp_secret")
