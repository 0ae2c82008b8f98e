from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdColumn, UTCDateTime, new_id, utcnow


class DataKey(Base):
    """A person's data key, wrapped by a key-encryption key. Destroying it shreds their content."""

    __tablename__ = "data_keys"
    __table_args__ = (UniqueConstraint("person_id", "version"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    kek_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rewrapped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
