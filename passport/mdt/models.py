from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
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
