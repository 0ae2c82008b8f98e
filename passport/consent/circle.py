"""Who can see my information: everyone who can read or change any part of a person's record,
and why (API.md v1.1 `GET /who-can-see`).

The list is built from the same rows the decision point reads (grants with their revocations
and confirmations, contributors, emergency accesses), and a grant's status and end come from
the decision point's own `grant_status` / `active_until`, so the list and `decide` cannot
disagree about who is in. Stopped and ended items stay in the list with their status, so the
person can see who once could; `status` says who can now. tests/test_who_can_see.py checks,
over varied scenarios, that every staff account `decide` lets in is covered by a live item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from .. import audit, db
from ..errors import Forbidden, NotFound
from ..identity.actor import Actor
from ..identity.models import Agency, Person, Staff
from ..mdt.models import Forum
from ..representatives.models import Representation
from ..vocabulary import ALL_SECTIONS, EMERGENCY_SECTIONS, Action, Outcome, Power, Reason
from .decision import (
    GrantStatus,
    RepresentationStatus,
    acting_as_person,
    active_until,
    grant_status,
    representation_status,
)
from .models import Contributor, EmergencyAccess, EmergencyReview, Grant


class CircleStatus:
    """Statuses beyond a grant's own (pending, active, expired, revoked)."""

    ACTIVE = "active"  # a contributor who can write now, emergency access open now
    REMOVED = "removed"  # a contributor the person stopped
    ENDED = "ended"  # emergency access whose time is over


# The DPO's finding on a past (or live) emergency look.
FINDING_NOT_CHECKED = "not_checked"

# Items whose status means "can read (or write) now".
LIVE = frozenset({GrantStatus.ACTIVE, CircleStatus.ACTIVE, RepresentationStatus.ACTIVE})


@dataclass(frozen=True)
class CircleItem:
    kind: str  # agency | staff | mdt | contributor | emergency | representative
    id: str  # the agency, staff account or forum (for emergency: the staff account)
    name: str
    sections: list[str]
    status: str
    agency: dict[str, str] | None = None
    purpose: str | None = None
    since: date | datetime | None = None
    until: date | datetime | None = None  # a grant's last day; emergency access's end time
    ended_at: datetime | None = None  # when it was stopped (revoked, removed)
    recorded_by: dict[str, Any] | None = None
    confirmed: bool | None = None
    grant_id: str | None = None
    access_id: str | None = None
    finding: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.status in LIVE


def who_can_see(actor: Actor, person_id: str, now: datetime | None = None) -> list[CircleItem]:
    """Every grant, contributor, emergency access and representative of this passport, past
    ones included, each with its status. The person only (their representatives, once they
    exist); the look is logged."""
    person = db.session.get(Person, person_id)
    if person is None or person.erased_at is not None:
        raise NotFound("there is no passport with that id")
    acting = acting_as_person(actor, person_id, Power.READ)  # the person, or their representative
    if not acting.allowed:
        audit.record(
            actor=actor.as_event(),
            action=Action.CONSENT_WHO_CAN_SEE,
            outcome=Outcome.DENIED,
            person_id=person_id,
            reason=acting.reason or Reason.NOT_PERSON,
        )
        raise Forbidden("only the person can see everyone who can see their passport")
    now = now or db.utcnow()
    items = [
        *_grant_items(person_id, now.date()),
        *_contributor_items(person_id),
        *_emergency_items(person_id, now),
        *_representative_items(person_id),
    ]
    audit.record(
        actor=actor.as_event(),
        action=Action.CONSENT_WHO_CAN_SEE,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        basis=acting.basis,
        detail={"count": len(items), "live": sum(1 for i in items if i.live)},
    )
    return items


class _Names:
    """Names of agencies, staff and forums, each looked up once per list."""

    def __init__(self) -> None:
        self._staff: dict[str, Staff | None] = {}

    def staff(self, staff_id: str) -> Staff | None:
        if staff_id not in self._staff:
            self._staff[staff_id] = db.session.get(Staff, staff_id)
        return self._staff[staff_id]

    def staff_name(self, staff_id: str) -> str:
        staff = self.staff(staff_id)
        return staff.name if staff else ""

    def staff_agency(self, staff_id: str) -> dict[str, str] | None:
        staff = self.staff(staff_id)
        return {"id": staff.agency.id, "name": staff.agency.name} if staff else None


def _grant_items(person_id: str, today: date) -> list[CircleItem]:
    names = _Names()
    grants = db.session.execute(
        select(Grant).where(Grant.person_id == person_id).order_by(Grant.created_at)
    )
    items = []
    for grant in grants.unique().scalars():
        agency = None
        if grant.grantee_type == "agency":
            found = db.session.get(Agency, grant.grantee_id)
            name = found.name if found else ""
        elif grant.grantee_type == "staff":
            name = names.staff_name(grant.grantee_id)
            agency = names.staff_agency(grant.grantee_id)
        else:
            forum = db.session.get(Forum, grant.grantee_id)
            name = forum.name if forum else ""
        recorder: dict[str, Any] = {"kind": grant.recorded_by_kind, "id": grant.recorded_by_id}
        if grant.recorded_by_kind == "staff":
            recorder["name"] = names.staff_name(grant.recorded_by_id)
        items.append(
            CircleItem(
                kind=grant.grantee_type,
                id=grant.grantee_id,
                name=name,
                agency=agency,
                sections=list(grant.sections),
                status=grant_status(grant, today),
                purpose=grant.purpose,
                since=grant.starts_on,
                until=active_until(grant),
                ended_at=grant.revocation.revoked_at if grant.revocation else None,
                recorded_by=recorder,
                confirmed=grant.confirmed_at is not None,
                grant_id=grant.id,
            )
        )
    return items


def _contributor_items(person_id: str) -> list[CircleItem]:
    """Contributors write (and so read) their sections: one item per worker. A worker who can
    write now is listed with every section of their live delegations (the decision point
    accepts any of them); one removed and never added again appears once, in the past tense."""
    names = _Names()
    rows = db.session.execute(
        select(Contributor)
        .where(Contributor.person_id == person_id)
        .order_by(Contributor.added_at.desc())
    ).scalars()
    by_staff: dict[str, list[Contributor]] = {}
    for row in rows:
        by_staff.setdefault(row.staff_id, []).append(row)
    items = []
    for staff_id, delegations in by_staff.items():
        live = [r for r in delegations if r.removed_at is None]
        latest = delegations[0]
        sections = sorted({s for r in (live or [latest]) for s in r.sections})
        items.append(
            CircleItem(
                kind="contributor",
                id=staff_id,
                name=names.staff_name(staff_id),
                agency=names.staff_agency(staff_id),
                sections=sections,
                status=CircleStatus.ACTIVE if live else CircleStatus.REMOVED,
                purpose="direct_support",
                since=min(r.added_at for r in live) if live else latest.added_at,
                ended_at=None if live else latest.removed_at,
                extra={"can_change": sections},
            )
        )
    return items


def _emergency_items(person_id: str, now: datetime) -> list[CircleItem]:
    names = _Names()
    reviews = {
        r.emergency_access_id: r.outcome
        for r in db.session.execute(
            select(EmergencyReview)
            .join(EmergencyAccess, EmergencyAccess.id == EmergencyReview.emergency_access_id)
            .where(EmergencyAccess.person_id == person_id)
        ).scalars()
    }
    accesses = db.session.execute(
        select(EmergencyAccess)
        .where(EmergencyAccess.person_id == person_id)
        .order_by(EmergencyAccess.opened_at.desc())
    ).scalars()
    return [
        CircleItem(
            kind="emergency",
            id=access.staff_id,
            name=names.staff_name(access.staff_id),
            agency=names.staff_agency(access.staff_id),
            sections=sorted(s.value for s in EMERGENCY_SECTIONS),
            status=CircleStatus.ACTIVE if access.expires_at > now else CircleStatus.ENDED,
            purpose="emergency",
            since=access.opened_at,
            until=access.expires_at,
            access_id=access.id,
            finding=reviews.get(access.id, FINDING_NOT_CHECKED),
        )
        for access in accesses
    ]


def _representative_items(person_id: str) -> list[CircleItem]:
    """Representatives (API.md v1.1): each appointment is an item, kind `representative`,
    over every section (`view` reads them all; `help` also changes the story and what works).
    `id` is the appointment's: what `DELETE .../representatives/{id}` stops. A legal one
    waiting for a DPO is `pending`, one a DPO refused `refused`: neither can read."""
    rows = db.session.execute(
        select(Representation)
        .where(Representation.person_id == person_id)
        .order_by(Representation.created_at)
    )
    items = []
    for row in rows.unique().scalars():
        status = representation_status(row)
        recorder: dict[str, Any] = {"kind": row.recorded_by_kind, "id": row.recorded_by_id}
        if row.recorded_by_kind == "staff":
            recorder["name"] = _Names().staff_name(row.recorded_by_id)
        items.append(
            CircleItem(
                kind="representative",
                id=row.id,
                name=row.account.name,
                sections=[s.value for s in ALL_SECTIONS],
                status=status,
                since=row.created_at,
                ended_at=row.ending.ended_at if row.ending else None,
                recorded_by=recorder,
                extra={"access": row.access, "legal_basis": row.legal_basis},
            )
        )
    return items
