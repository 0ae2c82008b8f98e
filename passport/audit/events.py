"""Writing to the access log: every decision, change, login and export goes through `record`.

`record` queues the event in the current transaction at once, so a log that cannot be written
fails the operation before any content is produced; a read from a snapshot (passport.snapshots)
queues it in the short transaction that ends the read, before its answer is built.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Required, TypedDict, Unpack

import rfc8785
from sqlalchemy import event as sa_event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .. import db
from .chain import canonical

# Set by the web layer for each request; the domain never imports Flask.
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "passport_request_id", default=None
)


# By the driver's parameter style; the database stamps `created_at`.
_QUEUE = "INSERT INTO audit_pending (body, created_at) VALUES ({}, CURRENT_TIMESTAMP)"
QUEUE_EVENT = {"pyformat": _QUEUE.format("%s"), "qmark": _QUEUE.format("?")}


# Set in the session's info when its transaction queues an event (see
# `integrator.chain_before_commit`); cleared when the transaction ends.
QUEUED_HERE = "passport_audit_queued_here"


def _forget_queued(session: Session, *_: Any) -> None:
    session.info.pop(QUEUED_HERE, None)


sa_event.listen(db.session, "after_commit", _forget_queued)
sa_event.listen(db.session, "after_rollback", _forget_queued)


class AuditUnavailable(RuntimeError):
    """The access log could not be written: the operation must not proceed."""


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Event(TypedDict, total=False):
    """What a caller says about an access; `record` adds the time and the request id."""

    actor: Required[dict[str, Any]]
    action: Required[str]
    outcome: Required[str]
    person_id: str | None
    sections: Iterable[str]
    purpose: str | None
    basis: dict[str, Any] | None
    reason: str | None
    detail: dict[str, Any] | None


def record(**event: Unpack[Event]) -> None:
    _queue([(queued_text(**event),)])


def record_many(events: Iterable[Event]) -> None:
    """Queue several events in one statement (a meeting's summary logs one per person)."""
    rows = [(queued_text(**event),) for event in events]
    if rows:
        _queue(rows)


class QueuedEvents:
    """Log events to queue (each row: its queued text), as a write `db.write_soon` can hold:
    called, it inserts them into `audit_pending` in the current transaction. The short write
    transaction that ends a read from a snapshot may chain them straight into the log
    instead (`integrator.chain_queued`), holding the lock that serialises chaining."""

    def __init__(self, rows: list[tuple[str]]) -> None:
        self.rows = rows

    def __call__(self) -> None:
        try:
            # This runs on every request, so the statement is handed to the driver as
            # written, skipping SQLAlchemy's compilation, and nothing is read back.
            connection = db.session.connection()
            statement = QUEUE_EVENT[connection.dialect.paramstyle]
            rows = self.rows
            connection.exec_driver_sql(statement, rows if len(rows) > 1 else rows[0])
        except SQLAlchemyError as error:
            raise AuditUnavailable("the access log could not be written") from error
        db.session.info[QUEUED_HERE] = True


def _queue(rows: list[tuple[str]]) -> None:
    """Queue the events now, or, while the request reads from a snapshot, in the short write
    transaction that ends its read (passport.snapshots): either way in the transaction that
    commits before anything is disclosed."""
    db.write_soon(QueuedEvents(rows))


def queued_text(**event: Unpack[Event]) -> str:
    """The event as queued: its body (all but `seq` and the hashes) as canonical JSON."""
    action = event["action"]
    body = {
        "occurred_at": format_time(datetime.now(UTC)),
        "action": action,
        "outcome": event["outcome"],
        "actor": event["actor"],
        "person_id": event.get("person_id"),
        "sections": sorted(set(event.get("sections", ()))),
        "purpose": event.get("purpose"),
        "basis": event.get("basis"),
        "reason": event.get("reason"),
        "request_id": request_id.get(),
        "detail": _with_on_behalf_of(event),
    }
    try:
        # Refuse here, in the caller's request, anything the chain could not canonicalise
        # (an integer beyond I-JSON's range, say): queued, it would stop the integrator for
        # every event behind it.
        return canonical(body).decode()
    except rfc8785.CanonicalizationError as error:
        raise ValueError(f"access-log event cannot be canonicalised ({action})") from error


def _with_on_behalf_of(event: Event) -> dict[str, Any]:
    """A representative only ever acts for someone: each of their events names that person
    in `detail.on_behalf_of` (API.md v1.1), refusals too (whom they tried to act for)."""
    detail = dict(event.get("detail") or {})
    person_id = event.get("person_id")
    if event["actor"].get("kind") == "representative" and person_id:
        detail.setdefault("on_behalf_of", person_id)
    return detail
