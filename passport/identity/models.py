from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccessToken(Base):
    """A bearer token, stored only as its SHA-256 digest."""

    __tablename__ = "access_tokens"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_kind: Mapped[str] = mapped_column(String(10))
    account_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    scope: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # The interface Authlib's BearerTokenValidator expects.
    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def get_scope(self) -> str:
        return self.scope
