from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, IdColumn, UTCDateTime, new_id, utcnow


class Contributor(Base):
    """The person delegates writing (and reading) some sections to a named worker.

    Removal is recorded, not deleted, so the person can see who once could write."""

    __tablename__ = "contributors"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    staff_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"), index=True)
    sections: Mapped[list[str]] = mapped_column(JSON)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    added_by_kind: Mapped[str] = mapped_column(IdColumn())
    added_by_id: Mapped[str] = mapped_column(IdColumn())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Grant(Base):
    """Consent: this grantee may read these sections for this purpose between two dates.

    Never edited. Narrowing is a revocation plus a new grant; status is computed on read."""

    __tablename__ = "consent_grants"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    grantee_type: Mapped[str] = mapped_column(String(10))
    grantee_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    sections: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(20))
    starts_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    obtained_method: Mapped[str] = mapped_column(String(20))
    # Free text may say anything about the person: sealed with their data key.
    obtained_notes: Mapped[bytes | None] = mapped_column(LargeBinary)
    recorded_by_kind: Mapped[str] = mapped_column(String(20))
    recorded_by_id: Mapped[str] = mapped_column(IdColumn())
    wording_sha256: Mapped[str] = mapped_column(String(64))
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    revocation: Mapped[Revocation | None] = relationship(lazy="joined", uselist=False)
    confirmation: Mapped[Confirmation | None] = relationship(lazy="joined", uselist=False)

    @property
    def confirmed_at(self) -> datetime | None:
        return confirmed_at(
            self.obtained_method,
            self.created_at,
            self.confirmation.confirmed_at if self.confirmation else None,
        )


def confirmed_at(
    obtained_method: str, created_at: datetime, confirmation_at: datetime | None
) -> datetime | None:
    """A `self` grant is the person's when made; an assisted one once they confirm it
    (until then it lasts at most 30 days: consent.decision)."""
    return created_at if obtained_method == "self" else confirmation_at


class Confirmation(Base):
    """The person confirming, with their own passphrase, an assisted grant a worker recorded.
    One per grant; grants are never edited, so the confirmation is a row of its own."""

    __tablename__ = "consent_confirmations"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("consent_grants.id"), unique=True)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Where: "on_the_spot" (their passphrase on the worker's device) or "signed_in".
    confirmed_via: Mapped[str] = mapped_column(String(20))


class Revocation(Base):
    """A grant's withdrawal. One per grant (the unique key makes a second one a conflict)."""

    __tablename__ = "consent_revocations"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    grant_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("consent_grants.id"), unique=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_by_kind: Mapped[str] = mapped_column(String(20))
    revoked_by_id: Mapped[str] = mapped_column(IdColumn())
    reason: Mapped[bytes | None] = mapped_column(LargeBinary)
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON)


class EmergencyAccess(Base):
    """Break-glass: time-limited access to risk, medication and workers without a grant."""

    __tablename__ = "emergency_accesses"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    staff_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"), index=True)
    agency_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("agencies.id"), index=True)
    reason: Mapped[bytes] = mapped_column(LargeBinary)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EmergencyReview(Base):
    """The DPO's review of a break-glass access. One per access."""

    __tablename__ = "emergency_reviews"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    emergency_access_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("emergency_accesses.id"), unique=True
    )
    reviewer_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    notes: Mapped[bytes] = mapped_column(LargeBinary)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
