"""The person's view of who looked: every access to their record, allowed or refused."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from .. import audit, db
from ..audit.integrator import integrate_for_reader
from ..audit.models import AuditEvent
from ..errors import Forbidden, NotFound
from ..identity.actor import Actor
from ..identity.models import Agency, Person, Staff
from ..representatives.models import Representation, RepresentativeAccount
from ..vocabulary import Action, Outcome, Role
from .models import EmergencyReview

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
    Action.RECORD_DISPUTE,
    Action.RECORD_DISPUTE_ANSWER,
    # A DPO's copy of the whole passport for the person's subject access request (rights).
    Action.SUBJECT_ACCESS,
    Action.REPRESENTATIVE_ADD,
    Action.REPRESENTATIVE_REMOVE,
    Action.REPRESENTATIVE_REVIEW,
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
    # Chain what is committed so far, as the DPO's queries do (on PostgreSQL in a transaction
    # of its own, so this read never holds the integrator's lock).
    integrate_for_reader()

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
    names.preload(e.actor for e in events)
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
        self._representatives: dict[str, dict[str, Any]] = {}
        self._agencies: dict[str, str | None] = {}

    def _representative(self, account_id: str) -> dict[str, Any]:
        """Someone acting for the person: their name, and how they act (`acting`: view,
        help, or a legal basis), so the page can say "Ann (helping you)"."""
        if account_id not in self._representatives:
            account = db.session.get(RepresentativeAccount, account_id)
            row = db.session.execute(
                select(Representation)
                .where(
                    Representation.account_id == account_id,
                    Representation.person_id == self.person_id,
                )
                .order_by(Representation.created_at.desc())
                .limit(1)
            ).scalar()
            acting = (row.legal_basis or row.access) if row is not None else None
            self._representatives[account_id] = {
                "name": account.name if account else "A former representative",
                "agency": None,
                "acting": acting,
            }
        return self._representatives[account_id]

    def preload(self, actors: Iterable[dict[str, Any]]) -> None:
        """Every worker and agency a page names, in two queries (not two for each worker:
        a page of fifty looks by fifty workers once took a hundred)."""
        workers = [a for a in actors if a.get("kind") not in ("person", "representative", "system")]
        staff_ids = {str(a.get("id")) for a in workers} - self._staff.keys()
        if staff_ids:
            found = db.session.execute(select(Staff).where(Staff.id.in_(staff_ids))).scalars()
            by_id = {member.id: member for member in found}
            for staff_id in staff_ids:
                self._staff[staff_id] = by_id.get(staff_id)
        agency_ids = {str(a["agency_id"]) for a in workers if a.get("agency_id")}
        agency_ids -= self._agencies.keys()
        if agency_ids:
            rows = db.session.execute(
                select(Agency.id, Agency.name).where(Agency.id.in_(agency_ids))
            ).all()
            names = {str(agency_id): str(name) for agency_id, name in rows}
            for agency_id in agency_ids:
                self._agencies[agency_id] = names.get(agency_id)

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
        if kind == "representative":
            return self._representative(str(actor.get("id")))
        staff_id = str(actor.get("id"))
        if staff_id not in self._staff:
            self._staff[staff_id] = db.session.get(Staff, staff_id)
        staff = self._staff[staff_id]
        return {
            "name": staff.name if staff else "A former worker",
            "agency": self._agency(actor.get("agency_id")),
        }


# The page "Who has looked" also tells the person what else the log holds about them: a
# worker's confirmation of consent, a data protection officer's queries about them, and MDT
# actions about them. (The API's access log keeps PERSON_FACING_ACTIONS, as API.md says.)
LOOKED_ACTIONS = {a.value for a in PERSON_FACING_ACTIONS} | {
    Action.CONSENT_CONFIRM.value,
    Action.AUDIT_QUERY.value,
    Action.AUDIT_EXPORT.value,
    "mdt.action_add",
    "mdt.action_update",
    Action.SUBJECT_ACCESS_REQUEST.value,
    Action.ERASURE_REQUEST.value,
    Action.ERASURE_DECISION.value,
}
READS = {Action.RECORD_VIEW.value, Action.RECORD_HISTORY.value, Action.RECORD_BRIEF.value}
# A part not shared is ordinary; a part refused because sharing ended or was stopped is told.
ENDED_REASONS = {"grant-expired", "grant-revoked", "emergency-expired"}


@dataclass(frozen=True)
class Look:
    """One thing that happened, folded from the events one request wrote."""

    seq: int
    at: str
    actor: dict[str, Any]
    action: str
    seen: list[str]
    not_shared: list[str]
    # Why a look was refused, when it mattered: the whole look refused, or sharing ended.
    refused: str | None
    ended: list[str]
    emergency: bool
    # For an emergency look: the data protection officer's finding, or "waiting".
    finding: str | None
    count: int = 1


@dataclass(frozen=True)
class LookedPage:
    others: list[Look]
    own: list[Look]
    next_before_seq: int | None


def looked_page(
    actor: Actor, person_id: str, before_seq: int | None = None, limit: int = 60
) -> LookedPage:
    """The person's own page of who has looked: other people's looks first, newest first,
    each saying what was seen and what was not shared; the person's own reads folded into
    one line per day. Paged by the log's sequence number."""
    if not (actor.is_person and actor.id == person_id):
        raise Forbidden("only the person sees this page")
    integrate_for_reader()
    query = (
        select(AuditEvent)
        .where(AuditEvent.person_id == person_id, AuditEvent.action.in_(sorted(LOOKED_ACTIONS)))
        .order_by(AuditEvent.seq.desc())
        .limit(limit + 1)
    )
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    events = list(db.session.execute(query).scalars())
    more = len(events) > limit
    events = events[:limit]
    # Keep one request's events on one page: drop a group the limit cut in two.
    if more and events:
        last = _group_key(events[-1])
        kept = [e for e in events if _group_key(e) != last]
        events = kept or events
    groups: dict[tuple[Any, ...], list[AuditEvent]] = {}
    for event in events:
        if event.action == Action.AUDIT_QUERY.value and _is_self(event, person_id):
            continue  # the person reading their own log
        groups.setdefault(_group_key(event), []).append(event)
    names = _Names(person_id)
    names.preload(e.actor for e in events)
    others: list[Look] = []
    own: list[Look] = []
    own_reads: dict[str, Look] = {}
    for group in groups.values():
        look = _look(group, names)
        if not _is_self(group[0], person_id):
            others.append(look)
        elif look.action in READS:
            day = look.at[:10]
            if day in own_reads:
                folded = own_reads[day]
                own_reads[day] = Look(**{**folded.__dict__, "count": folded.count + 1})
            else:
                own_reads[day] = look
                own.append(look)
        else:
            own.append(look)
    own = [own_reads.get(x.at[:10], x) if x.action in READS else x for x in own]
    audit.record(
        actor=actor.as_event(),
        action=Action.AUDIT_QUERY,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        basis={"kind": "self", "id": None},
        detail={"query": "person-access-log", "count": len(others) + len(own)},
    )
    next_before = events[-1].seq if more and events else None
    return LookedPage(others, own, next_before)


def _is_self(event: AuditEvent, person_id: str) -> bool:
    return event.actor.get("kind") == "person" and event.actor.get("id") == person_id


def _group_key(event: AuditEvent) -> tuple[Any, ...]:
    # One request's events share its id; events written outside a request (the demo, the
    # command line) are told apart by their second.
    return (event.request_id or event.occurred_at[:19], event.actor_id, event.action)


def _look(group: list[AuditEvent], names: _Names) -> Look:
    first = group[0]
    seen = [s for e in group if e.outcome == "allowed" for s in e.sections]
    refused = [e for e in group if e.outcome != "allowed"]
    not_shared = [s for e in refused for s in e.sections]
    reasons = {e.reason for e in refused if e.reason}
    if refused and not seen:
        reason: str | None = next((r for r in _REASON_ORDER if r in reasons), "no-grant")
    else:
        reason = None
    ended = [s for e in refused if e.reason in ENDED_REASONS for s in e.sections]
    emergency = first.purpose == "emergency" or first.action == Action.EMERGENCY_OPEN.value
    finding = None
    access_id = (first.detail or {}).get("emergency_access_id")
    if first.action == Action.EMERGENCY_REVIEW.value:
        finding = (first.detail or {}).get("review")
    elif first.action == Action.EMERGENCY_OPEN.value and access_id and not refused:
        row = db.session.execute(
            select(EmergencyReview.outcome).where(EmergencyReview.emergency_access_id == access_id)
        ).scalar()
        finding = row or "waiting"
    return Look(
        seq=max(e.seq for e in group),
        at=max(e.occurred_at for e in group),
        actor=names.actor(first.actor),
        action=first.action,
        seen=sorted(set(seen)),
        not_shared=sorted(set(not_shared) - set(seen)),
        refused=reason,
        ended=sorted(set(ended)),
        emergency=emergency,
        finding=finding,
    )


_REASON_ORDER = [
    "grant-revoked",
    "grant-expired",
    "emergency-expired",
    "grant-pending",
    "wrong-purpose",
    "no-grant",
    "role",
    "mixed-duties",
]
