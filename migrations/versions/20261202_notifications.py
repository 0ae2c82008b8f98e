"""Notifications: the inbox, the outbox of texts, emails and letters, and how each person
chose to be told

Revision ID: 20261202_0009
Revises: 20261202_0011
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import passport.db

revision = "20261202_0009"
down_revision = "20261202_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not append-only: a message is marked read, an outbox row moves through its states, a
    # preference is changed. None of them holds record content or a contact in plain text.
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("recipient_kind", sa.String(length=20), nullable=False),
        sa.Column("recipient_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", passport.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notifications_dedupe_key")),
    )
    op.create_index("ix_notifications_recipient", "notifications", ["recipient_id", "read_at"])
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("notification_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=36), nullable=True),
        sa.Column("claimed_until", passport.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", passport.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notify_outbox_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_notify_outbox_idempotency_key")),
    )
    op.create_index("ix_notify_outbox_due", "notify_outbox", ["state", "next_attempt_at"])
    op.create_index(op.f("ix_notify_outbox_notification_id"), "notify_outbox", ["notification_id"])
    op.create_table(
        "notify_preferences",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_kind", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("contact", sa.LargeBinary(), nullable=True),
        sa.Column("fuller_inbox", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("updated_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_preferences")),
        sa.UniqueConstraint("account_id", name=op.f("uq_notify_preferences_account_id")),
    )


def downgrade() -> None:
    op.drop_table("notify_preferences")
    op.drop_index(op.f("ix_notify_outbox_notification_id"), table_name="notify_outbox")
    op.drop_index("ix_notify_outbox_due", table_name="notify_outbox")
    op.drop_table("notify_outbox")
    op.drop_index("ix_notifications_recipient", table_name="notifications")
    op.drop_table("notifications")
