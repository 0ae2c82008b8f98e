"""Disputes of entries and their answers (rectification and restriction, issue 16)

Revision ID: 20261202_0011
Revises: 20261202_0007
Create Date: 2026-12-02 12:30:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import passport.db

revision = "20261202_0011"
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
        "entry_disputes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("entry_id", sa.String(length=36), nullable=False),
        sa.Column("section", sa.String(length=20), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("author_agency_id", sa.String(length=36), nullable=False),
        sa.Column("restricted", sa.Boolean(), nullable=False),
        sa.Column("statement", sa.LargeBinary(), nullable=False),
        sa.Column("raised_by_kind", sa.String(length=20), nullable=False),
        sa.Column("raised_by_id", sa.String(length=36), nullable=False),
        sa.Column("raised_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_entry_disputes_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name=op.f("fk_entry_disputes_entry_id_entries")
        ),
        sa.ForeignKeyConstraint(
            ["author_agency_id"],
            ["agencies.id"],
            name=op.f("fk_entry_disputes_author_agency_id_agencies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_disputes")),
    )
    op.create_index(op.f("ix_entry_disputes_person_id"), "entry_disputes", ["person_id"])
    op.create_index(op.f("ix_entry_disputes_entry_id"), "entry_disputes", ["entry_id"])
    op.create_index(
        op.f("ix_entry_disputes_author_agency_id"), "entry_disputes", ["author_agency_id"]
    )
    op.create_table(
        "entry_dispute_answers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("dispute_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.LargeBinary(), nullable=True),
        sa.Column("corrected_revision", sa.Integer(), nullable=True),
        sa.Column("answered_by_id", sa.String(length=36), nullable=False),
        sa.Column("answered_by_agency_id", sa.String(length=36), nullable=False),
        sa.Column("answered_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["entry_disputes.id"],
            name=op.f("fk_entry_dispute_answers_dispute_id_entry_disputes"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_entry_dispute_answers_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["staff.id"],
            name=op.f("fk_entry_dispute_answers_answered_by_id_staff"),
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_agency_id"],
            ["agencies.id"],
            name=op.f("fk_entry_dispute_answers_answered_by_agency_id_agencies"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry_dispute_answers")),
        sa.UniqueConstraint("dispute_id", name=op.f("uq_entry_dispute_answers_dispute_id")),
    )
    op.create_index(
        op.f("ix_entry_dispute_answers_person_id"), "entry_dispute_answers", ["person_id"]
    )
    _initial().make_append_only(  # type: ignore[attr-defined]
        ["entry_disputes", "entry_dispute_answers"]
    )


def downgrade() -> None:
    op.drop_table("entry_dispute_answers")
    op.drop_table("entry_disputes")
