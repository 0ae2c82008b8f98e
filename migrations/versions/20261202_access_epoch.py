"""The access epoch (issue 13): a counter that every change to a table that can decide access
moves, so a view on SQLite can read from a snapshot without the write lock and still know, in
its short write transaction, that nothing it was decided on has changed (passport.snapshots).

On SQLite one trigger per table and operation moves it. PostgreSQL keeps the table (one
schema for both) but no triggers: a view there is one transaction, and a counter every write
updated would make concurrent writers queue on its row.

Revision ID: 20261202_0013
Revises: 20261202_0012
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "20261202_0013"
down_revision = "20261202_0012"
branch_labels = None
depends_on = None

# Tables written by reads or by the log and message machinery (passport.snapshots.UNTRACKED).
UNTRACKED = {
    "access_epoch",
    "alembic_version",
    "audit_pending",
    "audit_events",
    "audit_checkpoints",
    "audit_time_blocks",
    "notifications",
    "notify_outbox",
}
OPERATIONS = ("INSERT", "UPDATE", "DELETE")
MOVE_EPOCH = "UPDATE access_epoch SET n = n + 1 WHERE id = 1"


def _tracked() -> list[str]:
    names = sa.inspect(op.get_bind()).get_table_names()
    return sorted(name for name in names if name not in UNTRACKED)


def upgrade() -> None:
    op.create_table(
        "access_epoch",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_epoch")),
    )
    op.execute("INSERT INTO access_epoch (id, n) VALUES (1, 0)")
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in _tracked():
        for operation in OPERATIONS:
            op.execute(
                f"CREATE TRIGGER access_epoch_{table}_{operation.lower()} AFTER {operation} "
                f"ON {table} BEGIN {MOVE_EPOCH}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in _tracked():
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER IF EXISTS access_epoch_{table}_{operation.lower()}")
    op.drop_table("access_epoch")
