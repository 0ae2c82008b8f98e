"""Representatives: their accounts, appointments, the appointments' endings and a DPO's
reviews of legal ones; account-kind columns wide enough for "representative"

Revision ID: 20261202_0008
Revises: 20261202_0010
Create Date: 2026-12-02 12:30:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import passport.db

revision = "20261202_0008"
down_revision = "20261202_0010"
branch_labels = None
depends_on = None

# Columns naming the kind of account that did something: "representative" has 14 letters.
WIDENED = [
    ("access_tokens", "account_kind"),
    ("setup_codes", "issued_by_kind"),
    ("revisions", "author_kind"),
    ("consent_grants", "recorded_by_kind"),
    ("consent_revocations", "revoked_by_kind"),
]


def _initial() -> object:
    # The append-only trigger helper lives with the first migration; reuse it, not a copy.
    path = Path(__file__).with_name("20261124_initial_schema.py")
    spec = importlib.util.spec_from_file_location("passport_initial_schema", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # SQLite ignores a VARCHAR's length, and a batch copy would drop its triggers.
        for table, column in WIDENED:
            op.alter_column(
                table,
                column,
                type_=sa.String(length=20),
                existing_type=sa.String(length=10),
                existing_nullable=False,
            )
    op.create_table(
        "representative_accounts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("created_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_representative_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_representative_accounts_username")),
    )
    op.create_table(
        "representations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("access", sa.String(length=10), nullable=False),
        sa.Column("legal_basis", sa.String(length=20), nullable=True),
        sa.Column("evidence", sa.LargeBinary(), nullable=True),
        sa.Column("recorded_by_kind", sa.String(length=20), nullable=False),
        sa.Column("recorded_by_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_representations_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["representative_accounts.id"],
            name=op.f("fk_representations_account_id_representative_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_representations")),
    )
    op.create_index(op.f("ix_representations_person_id"), "representations", ["person_id"])
    op.create_index(op.f("ix_representations_account_id"), "representations", ["account_id"])
    op.create_table(
        "representation_endings",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("representation_id", sa.String(length=36), nullable=False),
        sa.Column("ended_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_by_kind", sa.String(length=20), nullable=False),
        sa.Column("ended_by_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["representation_id"],
            ["representations.id"],
            name=op.f("fk_representation_endings_representation_id_representations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_representation_endings")),
        sa.UniqueConstraint(
            "representation_id", name=op.f("uq_representation_endings_representation_id")
        ),
    )
    op.create_table(
        "representation_reviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("representation_id", sa.String(length=36), nullable=False),
        sa.Column("reviewer_id", sa.String(length=36), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.LargeBinary(), nullable=False),
        sa.Column("reviewed_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["representation_id"],
            ["representations.id"],
            name=op.f("fk_representation_reviews_representation_id_representations"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["staff.id"], name=op.f("fk_representation_reviews_reviewer_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_representation_reviews")),
        sa.UniqueConstraint(
            "representation_id", name=op.f("uq_representation_reviews_representation_id")
        ),
    )
    # Appointments, their endings and their reviews are facts: never changed, never removed.
    _initial().make_append_only(  # type: ignore[attr-defined]
        ["representations", "representation_endings", "representation_reviews"]
    )


def downgrade() -> None:
    op.drop_table("representation_reviews")
    op.drop_table("representation_endings")
    op.drop_index(op.f("ix_representations_account_id"), table_name="representations")
    op.drop_index(op.f("ix_representations_person_id"), table_name="representations")
    op.drop_table("representations")
    op.drop_table("representative_accounts")
    if op.get_bind().dialect.name == "postgresql":
        for table, column in WIDENED:
            op.alter_column(
                table,
                column,
                type_=sa.String(length=10),
                existing_type=sa.String(length=20),
                existing_nullable=False,
            )
