"""The data protection officer's view of the log: search, export, checkpoints, verify.

Deny by default: only a DPO gets through, and the query itself is scoped — an agency's DPO
sees the events whose actor belongs to their agency; a scheme-wide DPO sees everything.
Refusals are logged; so are the DPO's own queries, exports and verifications (with counts).
Each call first chains what is pending (on PostgreSQL in its own transaction, so no read of
the log holds the integrator's lock), so the DPO sees everything committed. A time range is
confined to the seqs that can hold it (`time_index`). Flushes only: the request commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select

from .. import db
from ..errors import Forbidden
from ..identity.actor import Actor
from ..vocabulary import Action, Outcome, Reason, Role
from . import checkpoints
from .events import format_time, record
from .integrator import integrate_for_reader
from .models import AuditCheckpoint, AuditEvent
from .time_index import time_range_conditions
from .verify import EXPORT_COLUMNS, EXPORT_FIELDS, VerifyResult, verify_database

MAX_PAGE = 1000


@dataclass(frozen=True)
class EventFilter:
    person_id: str | None = None
    actor_id: str | None = None
    agency_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def used(self) -> list[str]:
        return sorted(name for name, value in vars(self).items() if value is not None)


def require_dpo(actor: Actor, action: Action) -> None:
    """Refuse (and log the refusal) unless the actor is a DPO."""
    if actor.has_role(Role.DPO):
        return
    record(
        actor=actor.as_event(),
        action=action,
        outcome=Outcome.DENIED,
        reason=Reason.ROLE,
    )
    raise Forbidden("the access log is open to data protection officers only")


def _conditions(actor: Actor, where: EventFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if not actor.scheme_wide:
        if where.agency_id is not None and where.agency_id != actor.agency_id:
            raise Forbidden("an agency's DPO sees only the accesses of their own agency's staff")
        conditions.append(AuditEvent.actor_agency_id == actor.agency_id)
    if where.person_id is not None:
        conditions.append(AuditEvent.person_id == where.person_id)
    if where.actor_id is not None:
        conditions.append(AuditEvent.actor_id == where.actor_id)
    if where.agency_id is not None:
        conditions.append(AuditEvent.actor_agency_id == where.agency_id)
    if where.action is not None:
        conditions.append(AuditEvent.action == where.action)
    if where.outcome is not None:
        conditions.append(AuditEvent.outcome == where.outcome)
    if where.since is not None:
        conditions.append(AuditEvent.occurred_at >= format_time(where.since))
    if where.until is not None:
        conditions.append(AuditEvent.occurred_at < format_time(where.until))
    return conditions


def _search_conditions(actor: Actor, where: EventFilter) -> list[ColumnElement[bool]]:
    """`_conditions`, with a time range confined to the seqs that can hold it."""
    since = format_time(where.since) if where.since is not None else None
    until = format_time(where.until) if where.until is not None else None
    untimed = replace(where, since=None, until=None)
    return [*_conditions(actor, untimed), *time_range_conditions(since, until)]


def _scope_refused(actor: Actor, action: Action, where: EventFilter) -> None:
    try:
        _conditions(actor, where)
    except Forbidden:
        record(
            actor=actor.as_event(),
            action=action,
            outcome=Outcome.DENIED,
            reason=Reason.ROLE,
            detail={"agency_id": where.agency_id},
        )
        raise


def search(
    actor: Actor, where: EventFilter, after_seq: int = 0, limit: int = 100
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of events, oldest first, and the cursor for the next (None at the end)."""
    require_dpo(actor, Action.AUDIT_QUERY)
    _scope_refused(actor, Action.AUDIT_QUERY, where)
    integrate_for_reader()
    limit = max(1, min(limit, MAX_PAGE))
    rows = db.session.execute(
        select(*EXPORT_COLUMNS)
        .where(AuditEvent.seq > after_seq, *_search_conditions(actor, where))
        .order_by(AuditEvent.seq)
        .limit(limit + 1)
    ).all()
    items = [dict(zip(EXPORT_FIELDS, row, strict=True)) for row in rows[:limit]]
    next_after_seq = items[-1]["seq"] if len(rows) > limit else None
    record(
        actor=actor.as_event(),
        action=Action.AUDIT_QUERY,
        outcome=Outcome.ALLOWED,
        person_id=where.person_id,
        detail={"count": len(items), "filters": where.used(), "after_seq": after_seq},
    )
    return items, next_after_seq


def search_newest_first(
    actor: Actor, where: EventFilter, before_seq: int | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of events, newest first (the DPO's page), and the cursor for the next, older
    page (None at the end). Logged like `search`."""
    require_dpo(actor, Action.AUDIT_QUERY)
    _scope_refused(actor, Action.AUDIT_QUERY, where)
    integrate_for_reader()
    limit = max(1, min(limit, MAX_PAGE))
    query = select(*EXPORT_COLUMNS).where(*_search_conditions(actor, where))
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    rows = db.session.execute(query.order_by(AuditEvent.seq.desc()).limit(limit + 1)).all()
    items = [dict(zip(EXPORT_FIELDS, row, strict=True)) for row in rows[:limit]]
    next_before_seq = items[-1]["seq"] if len(rows) > limit else None
    record(
        actor=actor.as_event(),
        action=Action.AUDIT_QUERY,
        outcome=Outcome.ALLOWED,
        person_id=where.person_id,
        detail={"count": len(items), "filters": where.used(), "before_seq": before_seq},
    )
    return items, next_before_seq


def export(
    actor: Actor, after_seq: int = 0, limit: int | None = None
) -> tuple[int, Iterator[dict[str, Any]]]:
    """The events after `after_seq` up to the head as it is now (the DPO's scope), as a
    count and a stream. The export is logged before anything is streamed."""
    require_dpo(actor, Action.AUDIT_EXPORT)
    integrate_for_reader()
    scope = _conditions(actor, EventFilter())
    head = db.session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()
    bounds = [AuditEvent.seq > after_seq, AuditEvent.seq <= head, *scope]
    counted = select(func.count()).select_from(AuditEvent).where(*bounds)
    count = int(db.session.execute(counted).scalar_one())
    if limit is not None:
        count = min(count, limit)
    record(
        actor=actor.as_event(),
        action=Action.AUDIT_EXPORT,
        outcome=Outcome.ALLOWED,
        detail={
            "count": count,
            "after_seq": after_seq,
            "through_seq": head,
            "scheme_wide": actor.scheme_wide,
        },
    )
    query = select(*EXPORT_COLUMNS).where(*bounds).order_by(AuditEvent.seq)
    if limit is not None:
        query = query.limit(limit)

    def stream() -> Iterator[dict[str, Any]]:
        result = db.session.execute(query, execution_options={"yield_per": 2000})
        for partition in result.partitions():
            for row in partition:
                yield dict(zip(EXPORT_FIELDS, row, strict=True))

    return count, stream()


def list_checkpoints(
    actor: Actor, after_seq: int = 0, limit: int = MAX_PAGE
) -> tuple[list[dict[str, Any]], int | None]:
    require_dpo(actor, Action.AUDIT_QUERY)
    integrate_for_reader()
    limit = max(1, min(limit, MAX_PAGE))
    rows = (
        db.session.execute(
            select(*checkpoints.EXPORTED_COLUMNS)
            .where(AuditCheckpoint.seq > after_seq)
            .order_by(AuditCheckpoint.seq, AuditCheckpoint.id)
            .limit(limit + 1)
        )
        .mappings()
        .all()
    )
    items = [dict(row) for row in rows[:limit]]
    # Several checkpoints can share a seq; the cursor moves past whole seqs only.
    if len(rows) > limit:
        last_seq = items[-1]["seq"]
        items = [item for item in items if item["seq"] != last_seq] or items
        return items, items[-1]["seq"]
    return items, None


def public_key(actor: Actor) -> dict[str, str]:
    require_dpo(actor, Action.AUDIT_QUERY)
    return checkpoints.public_key_info()


def verify_log(actor: Actor) -> VerifyResult:
    """Verify the whole log (any DPO: the answer names seqs and hashes, no content)."""
    require_dpo(actor, Action.AUDIT_VERIFY)
    integrate_for_reader()
    result = verify_database()
    record(
        actor=actor.as_event(),
        action=Action.AUDIT_VERIFY,
        outcome=Outcome.ALLOWED,
        detail={"checked": result.checked, "ok": result.ok, "first_bad_seq": result.first_bad_seq},
    )
    return result
