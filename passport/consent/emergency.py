"""Break-glass: a caseworker opens time-limited access to risk, medication and workers without a
grant, giving a reason. Every read under it is logged as emergency; a DPO must review it; the
person sees it in their access log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from .. import audit, db
from ..crypto import data_keys
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..identity.actor import Actor
from ..identity.models import Person, Staff
from ..notifications import tell_person
from ..vocabulary import (
    EMERGENCY_SECTIONS,
    Action,
    NotificationKind,
    Outcome,
    Reason,
    Role,
    mixes_duties,
)
from .models import EmergencyAccess, EmergencyReview

MIN_REASON_LENGTH = 10
REVIEW_OUTCOMES = ("justified", "not_justified")


def open_emergency(actor: Actor, person_id: str, reason: str, hours: int) -> EmergencyAccess:
    person = db.session.get(Person, person_id)
    if person is None or person.erased_at is not None:
        raise NotFound("there is no passport with that id")
    if not actor.has_role(Role.CASEWORKER):
        audit.record(
            actor=actor.as_event(),
            action=Action.EMERGENCY_OPEN,
            outcome=Outcome.DENIED,
            person_id=person_id,
            reason="role",
        )
        raise Forbidden("only caseworkers can open emergency access")
    if mixes_duties(actor.roles):
        audit.record(
            actor=actor.as_event(),
            action=Action.EMERGENCY_OPEN,
            outcome=Outcome.DENIED,
            person_id=person_id,
            reason=Reason.MIXED_DUTIES,
        )
        raise Forbidden(
            "this account holds both reading and oversight roles, so it reads nothing, in an "
            "emergency too; ask an administrator for two separate accounts"
        )
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise Invalid(
            f"say why in at least {MIN_REASON_LENGTH} characters",
            {"reason": [f"Shorter than minimum length {MIN_REASON_LENGTH}."]},
        )
    assert actor.agency_id is not None
    access = EmergencyAccess(
        id=db.new_id(),
        person_id=person_id,
        staff_id=actor.id,
        agency_id=actor.agency_id,
        opened_at=db.utcnow(),
        expires_at=db.utcnow() + timedelta(hours=hours),
    )
    access.reason = data_keys.seal_json(
        person_id, "emergency_accesses", "reason", access.id, reason.strip()
    )
    db.session.add(access)
    audit.record(
        actor=actor.as_event(),
        action=Action.EMERGENCY_OPEN,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        sections=EMERGENCY_SECTIONS,
        purpose="emergency",
        basis={"kind": "emergency", "id": access.id},
        detail={"emergency_access_id": access.id, "hours": hours},
    )
    tell_person(
        person_id,
        NotificationKind.EMERGENCY_ACCESS,
        {"emergency_access_id": access.id, "agency_id": access.agency_id},
    )
    db.session.flush()
    return access


def live_access(actor: Actor, person_id: str) -> EmergencyAccess | None:
    """This worker's emergency access to this person that is open now (the latest ending),
    so the brief can say when it ends."""
    return db.session.execute(
        select(EmergencyAccess)
        .where(
            EmergencyAccess.person_id == person_id,
            EmergencyAccess.staff_id == actor.id,
            EmergencyAccess.expires_at > db.utcnow(),
        )
        .order_by(EmergencyAccess.expires_at.desc())
        .limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class EmergencyItem:
    id: str
    person_id: str
    staff: dict[str, str | None]
    opened_at: datetime
    expires_at: datetime
    reason: str
    review: dict[str, object] | None


def _require_dpo(actor: Actor, action: str) -> None:
    if not actor.has_role(Role.DPO):
        audit.record(actor=actor.as_event(), action=action, outcome=Outcome.DENIED, reason="role")
        raise Forbidden("this needs the data protection officer (dpo) role")


def review_queue(actor: Actor, reviewed: bool | None) -> list[EmergencyItem]:
    """Break-glass accesses for the DPO: an agency DPO sees their own agency's staff's only."""
    _require_dpo(actor, Action.AUDIT_QUERY)
    query = select(EmergencyAccess).order_by(EmergencyAccess.opened_at.desc())
    if not actor.scheme_wide:
        query = query.where(EmergencyAccess.agency_id == actor.agency_id)
    reviews = {
        r.emergency_access_id: r for r in db.session.execute(select(EmergencyReview)).scalars()
    }
    items = []
    for access in db.session.execute(query).scalars():
        review = reviews.get(access.id)
        if reviewed is not None and (review is not None) != reviewed:
            continue
        items.append(_item(access, review))
    audit.record(
        actor=actor.as_event(),
        action=Action.AUDIT_QUERY,
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"query": "emergency-access", "count": len(items)},
    )
    return items


def review(actor: Actor, access_id: str, outcome: str, notes: str) -> EmergencyItem:
    _require_dpo(actor, Action.EMERGENCY_REVIEW)
    access = db.session.get(EmergencyAccess, access_id)
    if access is None or (not actor.scheme_wide and access.agency_id != actor.agency_id):
        raise NotFound("there is no such emergency access for you to review")
    if access.staff_id == actor.id:
        audit.record(
            actor=actor.as_event(),
            action=Action.EMERGENCY_REVIEW,
            outcome=Outcome.DENIED,
            person_id=access.person_id,
            reason=Reason.OWN_EMERGENCY,
            detail={"emergency_access_id": access.id},
        )
        raise Forbidden(
            "nobody reviews their own emergency access: another data protection officer "
            "must review it"
        )
    if outcome not in REVIEW_OUTCOMES:
        raise Invalid("outcome must be justified or not_justified", {"outcome": ["Unknown."]})
    record = EmergencyReview(
        id=db.new_id(),
        emergency_access_id=access.id,
        reviewer_id=actor.id,
        outcome=outcome,
        reviewed_at=db.utcnow(),
    )
    record.notes = data_keys.seal_json(
        access.person_id, "emergency_reviews", "notes", record.id, notes
    )
    db.add_unique(record, Conflict("this emergency access has already been reviewed"))
    audit.record(
        actor=actor.as_event(),
        action=Action.EMERGENCY_REVIEW,
        outcome=Outcome.ALLOWED,
        person_id=access.person_id,
        basis={"kind": "role", "id": None},
        detail={"emergency_access_id": access.id, "review": outcome},
    )
    tell_person(
        access.person_id,
        NotificationKind.EMERGENCY_REVIEWED,
        {"emergency_access_id": access.id, "agency_id": access.agency_id},
    )
    return _item(access, record)


def _item(access: EmergencyAccess, review: EmergencyReview | None) -> EmergencyItem:
    staff = db.session.get(Staff, access.staff_id)
    return EmergencyItem(
        id=access.id,
        person_id=access.person_id,
        staff={
            "id": access.staff_id,
            "name": staff.name if staff else None,
            "agency_id": access.agency_id,
        },
        opened_at=access.opened_at,
        expires_at=access.expires_at,
        reason=str(
            data_keys.open_json(
                access.person_id, "emergency_accesses", "reason", access.id, access.reason
            )
        ),
        review=None
        if review is None
        else {
            "outcome": review.outcome,
            "reviewer_id": review.reviewer_id,
            "reviewed_at": review.reviewed_at,
            "notes": data_keys.open_json(
                access.person_id, "emergency_reviews", "notes", review.id, review.notes
            ),
        },
    )
