"""Writing to the access log: every decision, change, login and export goes through `record`.

`record` queues the event in the current transaction and flushes at once, so a log that
cannot be written fails the operation before any content is produced.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import rfc8785
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from .. import db
from .chain import canonical
from .models import AuditPending

# Set by the web layer for each request; the domain never imports Flask.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "passport_request_id", default=None
)


class AuditUnavailable(RuntimeError):
    """The access log could not be written: the operation must not proceed."""


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record(
    *,
    actor: dict[str, Any],
    action: str,
    outcome: str,
    person_id: str | None = None,
    sections: Iterable[str] = (),
    purpose: str | None = None,
    basis: dict[str, Any] | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    body = {
        "occurred_at": format_time(datetime.now(UTC)),
        "action": action,
        "outcome": outcome,
        "actor": actor,
        "person_id": person_id,
        "sections": sorted(set(sections)),
        "purpose": purpose,
        "basis": basis,
        "reason": reason,
        "request_id": request_id.get(),
        "detail": detail or {},
    }
    try:
        # Refuse here, in the caller's request, anything the chain could not canonicalise
        # (an integer beyond I-JSON's range, say): queued, it would stop the integrator for
        # every event behind it.
        canonical({**body, "seq": 1})
    except rfc8785.CanonicalizationError as error:
        raise ValueError(f"access-log event cannot be canonicalised ({action})") from error
    try:
        # A plain INSERT (no ORM object, no RETURNING): the event is never read back here.
        db.session.execute(insert(AuditPending), [{"body": body, "created_at": db.utcnow()}])
    except SQLAlchemyError as error:
        raise AuditUnavailable("the access log could not be written") from error
