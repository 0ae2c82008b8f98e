"""The person's own access log walks that person's events only: an index on
(person_id, seq) of audit_events, so "newest first, for this person" grows with the person's
events, not with the whole log (issue 13)

Revision ID: 20261202_0007
Revises: 20261202_0006
Create Date: 2026-12-02 10:30:00
"""

from __future__ import annotations

from alembic import op

revision = "20261202_0007"
down_revision = "20261202_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_events_person_id_seq", "audit_events", ["person_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_person_id_seq", table_name="audit_events")
