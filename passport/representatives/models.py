"""Representatives: their accounts, and each appointment to act for a person.

An appointment is never edited: its end (the person stopping it) and a DPO's review of a legal
one are rows of their own, one each, like a grant's revocation and confirmation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, IdColumn, UTCDateTime, new_id, utcnow


class RepresentativeAccount(Base):
    """A representative's own login. One account may represent several people. The name is
    the account holder's, stored plainly like a worker's; the passphrase they choose with a
    set-up code."""

    __tablename__ = "representative_accounts"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Representation(Base):
    """This account may act for this person, with `view` or `help` access. A legal one
    (`legal_basis` set, recorded by a worker) acts only once a DPO approves it."""

    __tablename__ = "representations"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    person_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("people.id"), index=True)
    account_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("representative_accounts.id"), index=True
    )
    access: Mapped[str] = mapped_column(String(10))
    legal_basis: Mapped[str | None] = mapped_column(String(20))
    # What the worker saw (the LPA's reference, the court order...): free text about the
    # person, sealed with their data key.
    evidence: Mapped[bytes | None] = mapped_column(LargeBinary)
    recorded_by_kind: Mapped[str] = mapped_column(String(20))
    recorded_by_id: Mapped[str] = mapped_column(IdColumn())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    account: Mapped[RepresentativeAccount] = relationship(lazy="joined")
    ending: Mapped[RepresentationEnding | None] = relationship(lazy="joined", uselist=False)
    review: Mapped[RepresentationReview | None] = relationship(lazy="joined", uselist=False)


class RepresentationEnding(Base):
    """The person (or a worker, for a legal one) stopping a representative. One per
    appointment; it takes effect on the next request."""

    __tablename__ = "representation_endings"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    representation_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("representations.id"), unique=True
    )
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_by_kind: Mapped[str] = mapped_column(String(20))
    ended_by_id: Mapped[str] = mapped_column(IdColumn())


class RepresentationReview(Base):
    """A DPO's decision on a legal representative. One per appointment."""

    __tablename__ = "representation_reviews"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    representation_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("representations.id"), unique=True
    )
    reviewer_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    notes: Mapped[bytes] = mapped_column(LargeBinary)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
