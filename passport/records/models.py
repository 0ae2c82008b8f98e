from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdColumn, UTCDateTime, new_id, utcnow


class Entry(Base):
    """An entry's identity: which person and section it belongs to. Its content lives in
    revisions; nothing here ever changes."""

    __tablename__ = "entries"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    section: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Revision(Base):
    """One append-only revision of an entry. Edits, retirement and hiding each add a row."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("entry_id", "revision"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    entry_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("entries.id"), index=True)
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    section: Mapped[str] = mapped_column(String(20))
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sealed JSON, bound to (person, "revisions", "content", this row's id).
    content: Mapped[bytes] = mapped_column(LargeBinary)
    author_kind: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[str] = mapped_column(IdColumn())
    author_agency_id: Mapped[str | None] = mapped_column(IdColumn())
    # A worker wrote this revision of the person's own words (story, what works) with the
    # person there: shown as "written with you" rather than as the worker's account.
    written_with_person: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Dispute(Base):
    """The person says an entry is wrong, in their own words (UK GDPR Article 16), and may ask
    for it to be restricted (Article 18): hidden from agencies until the agency that wrote it
    answers. Append-only: the answer is a row of its own (`DisputeAnswer`)."""

    __tablename__ = "entry_disputes"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    entry_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("entries.id"), index=True)
    section: Mapped[str] = mapped_column(String(20))
    # The revision the person disputed, and the agency of the worker who wrote it: that
    # agency answers.
    revision: Mapped[int] = mapped_column(Integer)
    author_agency_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("agencies.id"), index=True)
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sealed JSON string, bound to (person, "entry_disputes", "statement", this row's id).
    statement: Mapped[bytes] = mapped_column(LargeBinary)
    raised_by_kind: Mapped[str] = mapped_column(String(20))
    raised_by_id: Mapped[str] = mapped_column(IdColumn())
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DisputeAnswer(Base):
    """The author's agency answers a dispute, once: "corrected" (with the new revision of the
    entry that corrects it) or "upheld" (with notes the person sees). Either lifts a
    restriction."""

    __tablename__ = "entry_dispute_answers"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    dispute_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("entry_disputes.id"), unique=True
    )
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    # Sealed JSON string, bound to (person, "entry_dispute_answers", "notes", this row's id).
    notes: Mapped[bytes | None] = mapped_column(LargeBinary)
    # "corrected": the entry's revision that corrects it.
    corrected_revision: Mapped[int | None] = mapped_column(Integer)
    answered_by_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"))
    answered_by_agency_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("agencies.id"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
