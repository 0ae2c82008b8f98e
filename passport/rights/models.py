"""Data-protection rights: subject access requests, erasure requests, and the facts that
follow them. Every table is append-only: a later fact (answered, decided) is a row of its own.

Free text (the reason for a request, a DPO's reason for a decision) may say anything about the
person, so it is sealed with the person's data key — and goes with it when they are erased."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdColumn, UTCDateTime, new_id, utcnow


class SubjectAccessRequest(Base):
    """A person's request for a copy of everything held about them (UK GDPR Article 15),
    recorded by the data protection officer who answers it."""

    __tablename__ = "subject_access_requests"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    dpo_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"), index=True)
    # Sealed with the person's data key, bound to this row.
    reason: Mapped[bytes] = mapped_column(LargeBinary)
    received_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SubjectAccessAnswer(Base):
    """The DPO marking a request answered. One per request."""

    __tablename__ = "subject_access_answers"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("subject_access_requests.id"), unique=True
    )
    answered_by_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ErasureRequest(Base):
    """The person asking for their passport to be erased (Article 17)."""

    __tablename__ = "erasure_requests"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    # Sealed with the person's data key; optional.
    reason: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ErasureDecision(Base):
    """A scheme-wide DPO's decision on an erasure request. One per request."""

    __tablename__ = "erasure_decisions"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("erasure_requests.id"), unique=True
    )
    decided_by_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"))
    outcome: Mapped[str] = mapped_column(String(10))
    # Sealed with the person's data key: the person reads it when a request is refused.
    reason: Mapped[bytes] = mapped_column(LargeBinary)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
