"""Notifications: the inbox, the outbox, and how each person chose to be told.

Recipients are (account kind, account id) — a person, a staff member, or (soon) a
representative — so every kind of account has an inbox without a table of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdColumn, UTCDateTime, new_id, utcnow


class Notification(Base):
    """One message in someone's inbox. It holds identifiers only (in `detail`, like an
    access-log event), never record content; its text is worded when it is read."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_recipient", "recipient_id", "read_at"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    recipient_kind: Mapped[str] = mapped_column(String(20))
    recipient_id: Mapped[str] = mapped_column(IdColumn())
    kind: Mapped[str] = mapped_column(String(30))
    # The person the message is about (None for a staff digest).
    person_id: Mapped[str | None] = mapped_column(IdColumn())
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    # One message per event that must be told only once (a first look by an agency, a grant
    # ending): a second insert with the same key does nothing.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxMessage(Base):
    """A text, email or letter to send for a notification, written in the same transaction
    as the notification (so never lost, and never sent for a rollback). The sender claims it,
    sends it with its idempotency key as Notify's `reference`, and marks it sent — or retries
    it later, or gives up ("failed") after PASSPORT_NOTIFY_MAX_ATTEMPTS.

    It holds neither the text nor the address: both are made when it is sent, from the
    notification's kind and the recipient's (sealed) contact detail."""

    __tablename__ = "notify_outbox"
    __table_args__ = (Index("ix_notify_outbox_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    notification_id: Mapped[str] = mapped_column(
        IdColumn(), ForeignKey("notifications.id"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    # pending -> sending (claimed) -> sent | pending (retry later) | failed (gave up)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(IdColumn())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provider_id: Mapped[str | None] = mapped_column(String(64))
    # Why the last attempt failed, in words without personal data (an HTTP status, a type).
    last_error: Mapped[str | None] = mapped_column(String(200))


class NotifyPreference(Base):
    """How an account chose to be told besides the inbox. The phone number, email address or
    postal address is sealed with the person's data key, bound to this row."""

    __tablename__ = "notify_preferences"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    account_kind: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(IdColumn(), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    contact: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Names and dates in the inbox (never in a text, email or letter).
    fuller_inbox: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(5), default="en")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
