"""A time range of the access log maps to a range of seqs: the earliest and latest
`occurred_at` of each block of 1,000 seqs (audit_time_blocks), so the DPO's time filters
walk only the blocks that can hold the range, not the whole log (issue 13). Filled here for
the complete blocks already chained; the integrator adds each block as it completes.

Revision ID: 20261202_0012
Revises: 20261202_0007
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "20261202_0012"
down_revision = "20261202_0007"
branch_labels = None
depends_on = None


def _initial() -> object:
    # The append-only trigger helper lives with the first migration; reuse it, not a copy.
    path = Path(__file__).with_name("20261124_initial_schema.py")
    spec = importlib.util.spec_from_file_location("passport_initial_schema", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.create_table(
        "audit_time_blocks",
        sa.Column("block", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_at", sa.String(length=32), nullable=False),
        sa.Column("last_at", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("block", name=op.f("pk_audit_time_blocks")),
    )
    # Every complete block of 1,000 (passport.audit.models.TIME_BLOCK_EVENTS) of the log as it
    # is: one pass over it, writing nothing it holds.
    op.execute(
        "INSERT INTO audit_time_blocks (block, first_at, last_at) "
        "SELECT (seq - 1) / 1000, min(occurred_at), max(occurred_at) FROM audit_events "
        "WHERE seq <= (SELECT coalesce(max(seq), 0) FROM audit_events) / 1000 * 1000 "
        "GROUP BY (seq - 1) / 1000"
    )
    _initial().make_append_only(["audit_time_blocks"])  # type: ignore[attr-defined]


def downgrade() -> None:
    op.drop_table("audit_time_blocks")
