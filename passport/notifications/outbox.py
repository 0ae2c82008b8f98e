"""Telling someone: an inbox row, and an outbox row for each outside channel they chose, both
written in the caller's transaction (the request's unit of work, or a command's). Nothing
here commits: if the event is rolled back, so is its message, and a committed event always
has its message, for the sender to deliver however long it takes.

Domain code calls `tell_person`, `tell_staff` (or `tell`, for any kind of account) where the
event happens; `representative_added` is the one call the representatives' code makes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, bindparam, exists, insert, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from .. import db
from ..db import UTCDateTime
from ..vocabulary import NotificationKind
from .models import Notification, NotifyPreference, OutboxMessage

PERSON = "person"
STAFF = "staff"
REPRESENTATIVE = "representative"


class _Channels:
    """Which outside channels this deployment can send on (set by the app factory from
    the settings: none without a GOV.UK Notify key). Process-wide, like the data keys."""

    enabled: frozenset[str] = frozenset()


channels = _Channels()


def configure(enabled: frozenset[str]) -> None:
    channels.enabled = frozenset(enabled)


def tell(
    recipient_kind: str,
    recipient_id: str,
    kind: NotificationKind,
    *,
    person_id: str | None = None,
    detail: dict[str, Any] | None = None,
    once: str | None = None,
) -> str | None:
    """Put a message in the recipient's inbox and, if they chose a text, email or letter and
    this deployment can send one, in the outbox. `detail` holds identifiers only. With
    `once` (a key naming the event), a second call for the same event does nothing.

    Returns the notification's id, or None when `once` had been told already."""
    now = db.utcnow()
    notification_id = db.new_id()
    values = {
        "id": notification_id,
        "recipient_kind": recipient_kind,
        "recipient_id": recipient_id,
        "kind": kind.value,
        "person_id": person_id,
        "detail": detail or {},
        "dedupe_key": once,
        "created_at": now,
    }
    if once is None:
        db.session.execute(insert(Notification).values(values))
    else:
        # Two requests racing to tell the same event: one row, and neither fails.
        inserted = db.session.execute(
            _insert_once().values(values).returning(Notification.id)
        ).scalar_one_or_none()
        if inserted is None:
            return None
    if channels.enabled:
        db.session.execute(_outbox_from_preference(notification_id, recipient_id, now))
    return notification_id


def _insert_once() -> Insert:
    dialect = db.session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement: Insert = module.insert(Notification).on_conflict_do_nothing(
        index_elements=["dedupe_key"]
    )
    return statement


def _outbox_from_preference(notification_id: str, account_id: str, now: datetime) -> Insert:
    """One statement: an outbox row if (and only if) the recipient chose an outside channel
    this deployment sends on, and gave the contact detail for it."""
    chosen = select(
        literal(db.new_id()),
        literal(notification_id),
        NotifyPreference.channel,
        literal(uuid.uuid4().hex),
        literal("pending"),
        literal(0),
        literal(now, UTCDateTime()),
        literal(now, UTCDateTime()),
    ).where(
        NotifyPreference.account_id == account_id,
        NotifyPreference.channel.in_(sorted(channels.enabled)),
        NotifyPreference.contact.is_not(None),
    )
    return insert(OutboxMessage).from_select(
        [
            "id",
            "notification_id",
            "channel",
            "idempotency_key",
            "state",
            "attempts",
            "next_attempt_at",
            "created_at",
        ],
        chosen,
    )


def tell_person(
    person_id: str,
    kind: NotificationKind,
    detail: dict[str, Any] | None = None,
    once: str | None = None,
) -> str | None:
    return tell(PERSON, person_id, kind, person_id=person_id, detail=detail, once=once)


def tell_staff(
    staff_id: str,
    kind: NotificationKind,
    *,
    person_id: str | None = None,
    detail: dict[str, Any] | None = None,
    once: str | None = None,
) -> str | None:
    return tell(STAFF, staff_id, kind, person_id=person_id, detail=detail, once=once)


def representative_added(person_id: str, representative_id: str) -> str | None:
    """The person is told that someone can now act for them (call it where the
    representative is appointed or approved, in the same transaction)."""
    return tell_person(
        person_id,
        NotificationKind.REPRESENTATIVE_ADDED,
        {"representative_id": representative_id},
        once=f"representative_added:{representative_id}",
    )


def first_look(person_id: str, agency_id: str) -> None:
    """A service reads the person's passport for the first time: told once per agency.

    Called on every read by staff, so it first asks whether this was told already (nearly
    always): a read, and the write only when it is new. The write is `db.write_soon`, so a
    view reading from a snapshot makes it in its short write transaction; two first reads
    racing both write, and the database keeps one (`once`)."""
    once = f"new_agency_look:{person_id}:{agency_id}"
    if once in _told_here:
        return
    if db.session.execute(_TOLD, {"once": once}).scalar():
        _remember_told(once)
        return
    db.write_soon(
        lambda: tell_person(
            person_id, NotificationKind.NEW_AGENCY_LOOK, {"agency_id": agency_id}, once=once
        )
    )


_TOLD = select(exists().where(Notification.dedupe_key == bindparam("once")))

# First looks this process has seen told already: a message once told stays told, so asking
# again is work the process can skip. Bounded: forgotten wholesale when full (then asked
# again, once each).
_told_here: set[str] = set()
_TOLD_HERE_MAX = 50_000


def _remember_told(once: str) -> None:
    if len(_told_here) >= _TOLD_HERE_MAX:
        _told_here.clear()
    _told_here.add(once)
