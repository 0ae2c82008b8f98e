from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, IdColumn, UTCDateTime, new_id, utcnow


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Staff(Base):
    """A worker at an agency. Staff names are not record content and are stored plainly."""

    __tablename__ = "staff"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    agency_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("agencies.id"), index=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    scheme_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    # The TOTP second factor's shared secret, wrapped by the key provider (identity.totp).
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set while an admin has disabled the account: it cannot sign in or use any token.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Sessions signed in before this moment no longer count (set when the account is
    # disabled): part of the session's user id, so the change ends them on their next request.
    sessions_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    agency: Mapped[Agency] = relationship(lazy="joined")


class Person(Base):
    """A passport holder. Their name and date of birth live sealed in the profile entry;
    here are only blind indexes for exact-match lookup."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    username: Mapped[str | None] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    name_index: Mapped[str | None] = mapped_column(String(64), index=True)
    name_dob_index: Mapped[str | None] = mapped_column(String(64), index=True)
    # The same blind indexes over the preferred name: people are found by either name.
    preferred_name_index: Mapped[str | None] = mapped_column(String(64), index=True)
    preferred_name_dob_index: Mapped[str | None] = mapped_column(String(64), index=True)
    # The TOTP second factor's shared secret, wrapped by the key provider (identity.totp).
    totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SetupCode(Base):
    """A single-use code with which a person chooses their own passphrase (registration, or
    getting back in). Stored only as its SHA-256 digest; shown once to the person."""

    __tablename__ = "setup_codes"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    account_kind: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by_kind: Mapped[str] = mapped_column(String(20))
    issued_by_id: Mapped[str] = mapped_column(IdColumn())
    # True when the code replaced a passphrase the person already had: they are told so at
    # their next sign-in (`notice_shown_at` records that they were).
    replaces_passphrase: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notice_shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccessToken(Base):
    """A bearer token, stored only as its SHA-256 digest."""

    __tablename__ = "access_tokens"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_kind: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    scope: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set for tokens issued over OAuth to an agency application (identity.oauth): the
    # application, and the family of tokens that descends from one authorization code.
    # Tokens without a client come from `passport token issue` and carry no scope limit.
    client_id: Mapped[str | None] = mapped_column(
        IdColumn(), ForeignKey("oauth_clients.id"), index=True
    )
    family_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)

    # The interface Authlib's BearerTokenValidator expects.
    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def get_scope(self) -> str:
        return self.scope

    # The interface Authlib's revocation and introspection endpoints expect.
    def check_client(self, client: Any) -> bool:
        return self.client_id is not None and self.client_id == client.id
