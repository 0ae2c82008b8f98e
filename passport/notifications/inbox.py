"""Everyone's inbox: their messages, newest first, worded in the reader's language; marking
one read; the unread count for the page header (one indexed count)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from .. import db
from ..errors import Invalid, NotFound
from ..identity.actor import Actor
from ..identity.models import Agency, Staff
from ..mdt.models import Forum
from . import wording
from .models import Notification, NotifyPreference

MAX_PAGE = 100


@dataclass(frozen=True)
class Item:
    id: str
    kind: str
    at: datetime
    text: str
    read: bool


@dataclass(frozen=True)
class Page:
    items: list[Item]
    next_cursor: str | None


def _mine(actor: Actor) -> Any:
    return and_(
        Notification.recipient_kind == actor.kind.value, Notification.recipient_id == actor.id
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _cursor(row: Notification) -> str:
    """Opaque to clients, safe in a URL: microseconds since the epoch, and the id."""
    return f"{(row.created_at - _EPOCH) // timedelta(microseconds=1)}_{row.id}"


def _after(cursor: str) -> Any:
    try:
        micros, row_id = cursor.split("_", 1)
        at = _EPOCH + timedelta(microseconds=int(micros))
    except (ValueError, OverflowError):
        raise Invalid("this cursor is not one we gave", {"cursor": ["Not a cursor."]}) from None
    return or_(
        Notification.created_at < at,
        and_(Notification.created_at == at, Notification.id < row_id),
    )


def fuller_for(actor: Actor) -> bool:
    return bool(
        db.session.execute(
            select(NotifyPreference.fuller_inbox).where(NotifyPreference.account_id == actor.id)
        ).scalar()
    )


def messages(actor: Actor, cursor: str | None = None, limit: int = 20) -> Page:
    """A page of the actor's own messages, newest first; `next_cursor` fetches the next."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(Notification).where(_mine(actor))
    if cursor:
        query = query.where(_after(cursor))
    rows = list(
        db.session.execute(
            query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
        ).scalars()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    fuller = actor.is_person and fuller_for(actor)
    items = [
        Item(
            id=row.id,
            kind=row.kind,
            at=row.created_at,
            text=wording.inbox(row.kind, row.detail, fuller, names),
            read=row.read_at is not None,
        )
        for row in rows
    ]
    return Page(items, _cursor(rows[-1]) if more and rows else None)


def mark_read(actor: Actor, notification_id: str) -> Item:
    """Mark one of the actor's own messages read (again is fine). Anyone else's: not found."""
    row = db.session.execute(
        select(Notification).where(Notification.id == notification_id, _mine(actor))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("there is no such message for you")
    if row.read_at is None:
        row.read_at = db.utcnow()
        db.session.flush()
    fuller = actor.is_person and fuller_for(actor)
    return Item(
        row.id, row.kind, row.created_at, wording.inbox(row.kind, row.detail, fuller, names), True
    )


def mark_all_read(actor: Actor) -> int:
    result = db.session.execute(
        update(Notification)
        .where(_mine(actor), Notification.read_at.is_(None))
        .values(read_at=db.utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def unread_count(actor: Actor) -> int:
    """One count over the (recipient_id, read_at) index."""
    return int(
        db.session.execute(
            select(func.count())
            .select_from(Notification)
            .where(_mine(actor), Notification.read_at.is_(None))
        ).scalar_one()
    )


def _grantee_name(grantee: dict[str, Any]) -> str | None:
    kind, row_id = str(grantee.get("type")), grantee.get("id")
    if not row_id:
        return None
    row: Agency | Staff | Forum | None
    if kind == "agency":
        row = db.session.get(Agency, row_id)
    elif kind == "staff":
        row = db.session.get(Staff, row_id)
    elif kind == "mdt":
        row = db.session.get(Forum, row_id)
    else:
        return None
    return row.name if row is not None else None


def names(detail: dict[str, Any]) -> dict[str, str] | None:
    """The names the fuller inbox text uses, from the identifiers the notification holds
    (None if one cannot be found: the plain text is shown instead)."""
    found: dict[str, str] = {}
    if "agency_id" in detail:
        agency = db.session.get(Agency, detail["agency_id"])
        if agency is None:
            return None
        found["agency"] = agency.name
    if "grantee" in detail:
        name = _grantee_name(detail["grantee"])
        if name is None:
            return None
        found["grantee"] = name
    if "representative_id" in detail:
        return None  # representatives' names are the representatives' code's to give
    return found
