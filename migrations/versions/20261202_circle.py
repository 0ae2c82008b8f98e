"""The circle around the person: set-up codes, confirmations of assisted grants, revisions
written with the person, preferred-name indexes, usernames without regard to case

Revision ID: 20261202_0005
Revises: 20261124_0004
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import passport.db

revision = "20261202_0005"
down_revision = "20261124_0004"
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
        "setup_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_kind", sa.String(length=20), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("issued_by_kind", sa.String(length=10), nullable=False),
        sa.Column("issued_by_id", sa.String(length=36), nullable=False),
        sa.Column("replaces_passphrase", sa.Boolean(), nullable=False),
        sa.Column("created_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", passport.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notice_shown_at", passport.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setup_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_setup_codes_code_hash")),
    )
    op.create_index(op.f("ix_setup_codes_account_id"), "setup_codes", ["account_id"])

    # Grants are append-only, so a person's confirmation is a row of its own.
    op.create_table(
        "consent_confirmations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("grant_id", sa.String(length=36), nullable=False),
        sa.Column("confirmed_at", passport.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_via", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["consent_grants.id"],
            name=op.f("fk_consent_confirmations_grant_id_consent_grants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_confirmations")),
        sa.UniqueConstraint("grant_id", name=op.f("uq_consent_confirmations_grant_id")),
    )
    _initial().make_append_only(["consent_confirmations"])  # type: ignore[attr-defined]

    # Plain ADD COLUMN, never a batch copy: on SQLite a copied table loses its append-only
    # triggers. Existing revisions were not marked, so they default to false.
    op.add_column(
        "revisions",
        sa.Column("written_with_person", sa.Boolean(), nullable=False, server_default=sa.false()),
    )

    # Filled in when a profile is next written.
    op.add_column("people", sa.Column("preferred_name_index", sa.String(length=64)))
    op.add_column("people", sa.Column("preferred_name_dob_index", sa.String(length=64)))
    op.create_index(op.f("ix_people_preferred_name_index"), "people", ["preferred_name_index"])
    op.create_index(
        op.f("ix_people_preferred_name_dob_index"), "people", ["preferred_name_dob_index"]
    )

    # Usernames are matched without regard to case: they are stored in lower case, so the
    # existing unique constraints keep "Jess" and "jess" from being two accounts.
    op.execute("UPDATE people SET username = lower(username) WHERE username IS NOT NULL")
    op.execute("UPDATE staff SET username = lower(username)")


def downgrade() -> None:
    op.drop_index(op.f("ix_people_preferred_name_dob_index"), table_name="people")
    op.drop_index(op.f("ix_people_preferred_name_index"), table_name="people")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("preferred_name_dob_index")
        batch_op.drop_column("preferred_name_index")
    op.drop_column("revisions", "written_with_person")
    op.drop_table("consent_confirmations")
    op.drop_index(op.f("ix_setup_codes_account_id"), table_name="setup_codes")
    op.drop_table("setup_codes")
