"""The DPO's filters of the access log stay fast on millions of events (issue 13):

- a time range maps to a range of seqs: the earliest and latest `occurred_at` of each block
  of 1,000 seqs (audit_time_blocks), so a time filter walks only the blocks that can hold
  the range, not the whole log. Filled here for the complete blocks already chained; the
  integrator adds each block as it completes.
- (action, seq), (actor_id, seq) and (actor_agency_id, seq) indexes, so "newest first" for
  an action, a staff member or an agency (every search of an agency's DPO) reads a page of
  the index instead of sorting all of that filter's events. On a large log each takes a
  while to build, and holds off new events meanwhile: upgrade at a quiet time.

Revision ID: 20261202_0012
Revises: 20261202_0008
Create Date: 2026-12-02 13:00:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "20261202_0012"
down_revision = "20261202_0008"
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
    for column in ("action", "actor_id", "actor_agency_id"):
        op.create_index(f"ix_audit_events_{column}_seq", "audit_events", [column, "seq"])


def downgrade() -> None:
    for column in ("action", "actor_id", "actor_agency_id"):
        op.drop_index(f"ix_audit_events_{column}_seq", table_name="audit_events")
    op.drop_table("audit_time_blocks")
