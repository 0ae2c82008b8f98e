"""Retention: a passport is kept PASSPORT_RETENTION_YEARS (default 6) after its last activity,
then erased by crypto-shredding, each erasure logged.

The last activity of a person is the latest of: their passport being started, any revision of
any entry, any grant made, confirmed or stopped, and any event about them in the access log (a
look, allowed or refused, a change, a request). The report names people by id and dates only:
never any content. Neither the report nor its log event is about any one person, so making it
is not itself activity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from .. import audit, db
from ..audit.integrator import integrate_pending
from ..audit.models import AuditEvent
from ..consent.models import Confirmation, Grant, Revocation
from ..errors import Forbidden
from ..identity.actor import Actor
from ..identity.models import Person
from ..records.models import Revision
from ..records.operations import erase_person
from ..vocabulary import Action, ActorKind, Outcome, Reason, Role
from .clock import years_after


@dataclass(frozen=True)
class Due:
    person_id: str
    last_activity: date
    due_on: date


def _as_day(value: datetime | str) -> date:
    if isinstance(value, str):  # the log's occurred_at: "2026-12-02T10:04:05.123456Z"
        return date.fromisoformat(value[:10])
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.date()


def last_activity() -> dict[str, date]:
    """The day of each living person's last activity, by id: one grouped query per kind."""
    integrate_pending()
    latest: dict[str, date] = {}

    def take(rows: object) -> None:
        for person_id, moment in rows:  # type: ignore[attr-defined]
            if person_id is None or moment is None:
                continue
            day = _as_day(moment)
            if person_id not in latest or day > latest[person_id]:
                latest[person_id] = day

    living = select(Person.id).where(Person.erased_at.is_(None))
    take(db.session.execute(living.add_columns(Person.created_at)).all())
    take(
        db.session.execute(
            select(Revision.person_id, func.max(Revision.created_at)).group_by(Revision.person_id)
        ).all()
    )
    take(
        db.session.execute(
            select(Grant.person_id, func.max(Grant.created_at)).group_by(Grant.person_id)
        ).all()
    )
    take(
        db.session.execute(
            select(Grant.person_id, func.max(Revocation.revoked_at))
            .join(Revocation, Revocation.grant_id == Grant.id)
            .group_by(Grant.person_id)
        ).all()
    )
    take(
        db.session.execute(
            select(Grant.person_id, func.max(Confirmation.confirmed_at))
            .join(Confirmation, Confirmation.grant_id == Grant.id)
            .group_by(Grant.person_id)
        ).all()
    )
    take(
        db.session.execute(
            select(AuditEvent.person_id, func.max(AuditEvent.occurred_at))
            .where(AuditEvent.person_id.is_not(None))
            .group_by(AuditEvent.person_id)
        ).all()
    )
    alive = set(db.session.execute(living).scalars())
    return {pid: day for pid, day in latest.items() if pid in alive}


def due(today: date, years: int) -> list[Due]:
    """Everyone whose last activity is `years` or more before `today`, oldest first."""
    found = []
    for person_id, day in last_activity().items():
        until = years_after(day, years)
        if until <= today:
            found.append(Due(person_id, day, until))
    return sorted(found, key=lambda d: (d.last_activity, d.person_id))


def _require(actor: Actor) -> None:
    """The command line (the system) and data protection officers see what is due."""
    if actor.kind is ActorKind.SYSTEM or actor.has_role(Role.DPO):
        return
    audit.record(
        actor=actor.as_event(),
        action=Action.RETENTION_REPORT,
        outcome=Outcome.DENIED,
        reason=Reason.ROLE.value,
    )
    raise Forbidden("only a data protection officer can see what retention will erase")


def report(actor: Actor, today: date, years: int) -> list[Due]:
    """What retention would erase on `today`, logged (without naming anyone)."""
    _require(actor)
    items = due(today, years)
    audit.record(
        actor=actor.as_event(),
        action=Action.RETENTION_REPORT,
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"count": len(items), "years": years, "today": today.isoformat()},
    )
    return items


def apply(
    actor: Actor, items: list[Due], years: int, progress: Callable[[str], None] | None = None
) -> int:
    """Erase each of `items` (from `report`), each erasure logged with the rule that made
    it. Returns how many were erased."""
    if actor.kind is not ActorKind.SYSTEM:
        raise Forbidden("retention is applied from the command line")
    for number, item in enumerate(items, start=1):
        erase_person(
            actor,
            item.person_id,
            detail={
                "retention_years": years,
                "last_activity": item.last_activity.isoformat(),
            },
        )
        if progress is not None:
            progress(f"erased {number} of {len(items)}: {item.person_id}")
    return len(items)
