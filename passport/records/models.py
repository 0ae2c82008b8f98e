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
