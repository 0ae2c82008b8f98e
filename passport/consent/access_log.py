"""The person's view of who looked: every access to their record, allowed or refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from .. import audit, db
from ..audit.integrator import integrate_pending
from ..audit.models import AuditEvent
from ..errors import Forbidden, NotFound
from ..identity.actor import Actor
from ..identity.models import Agency, Person, Staff
from ..vocabulary import Action, Outcome, Role

# What a person sees: accesses and changes to their record, not their own sign-ins.
PERSON_FACING_ACTIONS = {
    Action.RECORD_VIEW,
    Action.RECORD_HISTORY,
    Action.RECORD_BRIEF,
    Action.RECORD_WRITE,
    Action.CONSENT_GRANT,
    Action.CONSENT_REVOKE,
    Action.CONTRIBUTOR_ADD,
    Action.CONTRIBUTOR_REMOVE,
    Action.EMERGENCY_OPEN,
    Action.EMERGENCY_REVIEW,
    Action.MDT_AGENDA_ADD,
    Action.MDT_SUMMARY,
    Action.PERSON_CREATE,
    Action.PERSON_ERASE,
}


@dataclass(frozen=True)
class AccessLogPage:
    items: list[dict[str, Any]]
    next_before_seq: int | None


def person_access_log(
    actor: Actor, person_id: str, before_seq: int | None = None, limit: int = 50
) -> AccessLogPage:
    person = db.session.get(Person, person_id)
    if person is None:
        raise NotFound("there is no passport with that id")
    is_self = actor.is_person and actor.id == person_id
    if not is_self and not actor.has_role(Role.DPO):
        audit.record(
            actor=actor.as_event(),
            action=Action.AUDIT_QUERY,
            outcome=Outcome.DENIED,
            person_id=person_id,
            reason="role",
            detail={"query": "person-access-log"},
        )
        raise Forbidden("only the person and a data protection officer can see this log")
    # Chain what is committed so far inside this request's transaction, as the DPO's queries
    # do: the request's unit of work commits once, at the end.
    integrate_pending()

    query = (
        select(AuditEvent)
        .where(AuditEvent.person_id == person_id)
        .where(AuditEvent.action.in_([a.value for a in PERSON_FACING_ACTIONS]))
        .order_by(AuditEvent.seq.desc())
        .limit(limit + 1)
    )
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    if not is_self and not actor.scheme_wide:
        query = query.where(AuditEvent.actor_agency_id == actor.agency_id)
    events = list(db.session.execute(query).scalars())
    more = len(events) > limit
    events = events[:limit]
    names = _Names(person_id)
    items = [
        {
            "seq": e.seq,
            "at": e.occurred_at,
            "actor": names.actor(e.actor),
            "action": e.action,
            "sections": e.sections,
            "purpose": e.purpose,
            "outcome": e.outcome,
            "emergency": e.purpose == "emergency" or e.action == Action.EMERGENCY_OPEN,
        }
        for e in events
    ]
    audit.record(
        actor=actor.as_event(),
        action=Action.AUDIT_QUERY,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        basis={"kind": "self" if is_self else "role", "id": None},
        detail={"query": "person-access-log", "count": len(items)},
    )
    return AccessLogPage(items, events[-1].seq if more and events else None)


class _Names:
    def __init__(self, person_id: str) -> None:
        self.person_id = person_id
        self._staff: dict[str, Staff | None] = {}
        self._agencies: dict[str, str | None] = {}

    def _agency(self, agency_id: str | None) -> str | None:
        if agency_id is None:
            return None
        if agency_id not in self._agencies:
            agency = db.session.get(Agency, agency_id)
            self._agencies[agency_id] = agency.name if agency else None
        return self._agencies[agency_id]

    def actor(self, actor: dict[str, Any]) -> dict[str, Any]:
        kind = actor.get("kind")
        if kind == "person":
            name = "You" if actor.get("id") == self.person_id else "Another person"
            return {"name": name, "agency": None}
        if kind == "system":
            return {"name": "Passport", "agency": None}
        staff_id = str(actor.get("id"))
        if staff_id not in self._staff:
            self._staff[staff_id] = db.session.get(Staff, staff_id)
        staff = self._staff[staff_id]
        return {
            "name": staff.name if staff else "A former worker",
            "agency": self._agency(actor.get("agency_id")),
        }
