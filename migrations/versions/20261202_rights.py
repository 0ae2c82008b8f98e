"""Data-protection rights: subject access requests and their answers, erasure requests and
their decisions (all append-only)

Revision ID: 20261202_0010
Revises: 20261202_0009
Create Date: 2026-12-02 12:30:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import passport.db

revision = "20261202_0010"
down_revision = "20261202_0009"
branch_labels = None
depends_on = None

TABLES = [
    "subject_access_requests",
    "subject_access_answers",
    "erasure_requests",
    "erasure_decisions",
]


def _initial() -> object:
    # The append-only trigger helper lives with the first migration; reuse it, not a copy.
    path = Path(__file__).with_name("20261124_initial_schema.py")
    spec = importlib.util.spec_from_file_location("passport_initial_schema", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, passport.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "subject_access_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("dpo_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_subject_access_requests_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["dpo_id"], ["staff.id"], name=op.f("fk_subject_access_requests_dpo_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_access_requests")),
    )
    op.create_index(
        op.f("ix_subject_access_requests_person_id"), "subject_access_requests", ["person_id"]
    )
    op.create_index(
        op.f("ix_subject_access_requests_dpo_id"), "subject_access_requests", ["dpo_id"]
    )
    op.create_table(
        "subject_access_answers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("answered_by_id", sa.String(length=36), nullable=False),
        _when("answered_at"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["subject_access_requests.id"],
            name=op.f("fk_subject_access_answers_request_id_subject_access_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["staff.id"],
            name=op.f("fk_subject_access_answers_answered_by_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_access_answers")),
        sa.UniqueConstraint("request_id", name=op.f("uq_subject_access_answers_request_id")),
    )
    op.create_table(
        "erasure_requests",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_erasure_requests_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_requests")),
    )
    op.create_index(op.f("ix_erasure_requests_person_id"), "erasure_requests", ["person_id"])
    op.create_table(
        "erasure_decisions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("decided_by_id", sa.String(length=36), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.LargeBinary(), nullable=False),
        _when("decided_at"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["erasure_requests.id"],
            name=op.f("fk_erasure_decisions_request_id_erasure_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["staff.id"], name=op.f("fk_erasure_decisions_decided_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_decisions")),
        sa.UniqueConstraint("request_id", name=op.f("uq_erasure_decisions_request_id")),
    )
    _initial().make_append_only(TABLES)  # type: ignore[attr-defined]


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
