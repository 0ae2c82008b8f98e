from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdColumn, UTCDateTime, new_id, utcnow


class Forum(Base):
    """A multi-disciplinary team (MDT): a standing meeting of several agencies."""

    __tablename__ = "mdt_forums"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    agency_ids: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ForumMember(Base):
    __tablename__ = "mdt_members"
    __table_args__ = (UniqueConstraint("forum_id", "staff_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    forum_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("mdt_forums.id"), index=True)
    staff_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Meeting(Base):
    __tablename__ = "mdt_meetings"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    forum_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("mdt_forums.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str | None] = mapped_column(String(200))
    attendee_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AgendaItem(Base):
    """A person on a meeting's agenda — accepted only with their live `mdt` grant."""

    __tablename__ = "mdt_agenda"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    meeting_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("mdt_meetings.id"), index=True)
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    added_by: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Action(Base):
    """Something a named owner will do for a person; open actions carry forward."""

    __tablename__ = "mdt_actions"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    forum_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("mdt_forums.id"), index=True)
    meeting_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("mdt_meetings.id"), index=True)
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    owner_staff_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"), index=True)
    # Free text about the person: sealed with their data key.
    text: Mapped[bytes] = mapped_column(LargeBinary)
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
