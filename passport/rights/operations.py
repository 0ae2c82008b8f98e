"""Data-protection rights as operations: recording and answering subject access requests,
asking for erasure and deciding it. Every step — allowed or refused — is logged; these
functions flush, the caller's unit of work commits.

Who may do what:
- a subject access request is recorded by a DPO: a scheme-wide DPO for anyone, an agency DPO
  only for a person their own agency's staff have read or written
  (`consent.decision.subject_access_refusal`); only that DPO (and the person) get the pack;
- erasure is asked for by the person themself, and decided by a scheme-wide DPO only: the
  person cannot decide their own, an agency DPO cannot decide anyone's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from .. import audit, db
from ..audit.integrator import integrate_pending
from ..consent.decision import acting_as_person, subject_access_refusal
from ..crypto import KeyUnavailable, data_keys
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..identity.actor import Actor
from ..identity.models import Person, Staff
from ..records.operations import erase_person, get_person
from ..vocabulary import Action, Outcome, Power, Reason, Role, mixes_duties
from .clock import one_month_after
from .models import ErasureDecision, ErasureRequest, SubjectAccessAnswer, SubjectAccessRequest
from .telling import Told, tell_person

MAX_REASON = 2000
EARLIEST_RECEIVED = date(2018, 5, 25)  # the day UK GDPR's access right began (as GDPR)
ERASURE_OUTCOMES = ("approved", "refused")

REFUSALS = {
    Reason.ROLE: "only a data protection officer can do this",
    Reason.MIXED_DUTIES: (
        "this account holds both reading and oversight roles, so it does neither; ask an "
        "administrator for two separate accounts"
    ),
    Reason.OUTSIDE_AGENCY: (
        "an agency data protection officer answers only for people their own agency's staff "
        "have read or written; ask a scheme-wide data protection officer"
    ),
    Reason.NOT_REQUESTER: (
        "only the data protection officer who recorded this request, and the person, can see "
        "its pack"
    ),
    Reason.NOT_PERSON: "only the person it is about can see this",
    Reason.NOT_SCHEME_WIDE: "only a scheme-wide data protection officer decides erasure",
}


# -- subject access requests -------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectAccessItem:
    id: str
    person_id: str
    dpo_id: str
    dpo_name: str | None
    reason: str | None
    received_on: date
    due_on: date
    created_at: datetime
    answered_at: datetime | None
    erased: bool

    @property
    def open(self) -> bool:
        return self.answered_at is None and not self.erased


def _open_text(
    person_id: str, table: str, field: str, row_id: str, token: bytes | None
) -> str | None:
    """A sealed free text, or None when there is none or the person has been erased."""
    if token is None:
        return None
    try:
        return str(data_keys.open_json(person_id, table, field, row_id, token))
    except KeyUnavailable:
        return None


def _refuse(
    actor: Actor, action: Action, person_id: str | None, reason: Reason, **detail: str
) -> Forbidden:
    audit.record(
        actor=actor.as_event(),
        action=action,
        outcome=Outcome.DENIED,
        person_id=person_id,
        reason=reason.value,
        detail=dict(detail) or None,
    )
    return Forbidden(REFUSALS.get(reason, "not allowed"))


def record_subject_access_request(
    actor: Actor, person_id: str, reason: str, received_on: date, today: date | None = None
) -> SubjectAccessRequest:
    """A DPO records a person's request for everything held about them."""
    get_person(person_id)
    integrate_pending()  # the agency rule reads the chained log
    refusal = subject_access_refusal(actor, person_id)
    if refusal is not None:
        raise _refuse(actor, Action.SUBJECT_ACCESS_REQUEST, person_id, refusal)
    today = today or db.utcnow().date()
    errors: dict[str, list[str]] = {}
    if not reason.strip():
        errors["reason"] = ["Say who asked and how, for example: by letter from the person."]
    elif len(reason) > MAX_REASON:
        errors["reason"] = [f"The reason must be {MAX_REASON} characters or fewer."]
    if received_on > today:
        errors["received_on"] = ["The day the request was received cannot be in the future."]
    elif received_on < EARLIEST_RECEIVED:
        errors["received_on"] = ["Enter the day the request was received."]
    if errors:
        raise Invalid("the request could not be recorded", errors)
    request = SubjectAccessRequest(
        id=db.new_id(),
        person_id=person_id,
        dpo_id=actor.id,
        received_on=received_on,
        created_at=db.utcnow(),
    )
    request.reason = data_keys.seal_json(
        person_id, "subject_access_requests", "reason", request.id, reason.strip()
    )
    db.session.add(request)
    audit.record(
        actor=actor.as_event(),
        action=Action.SUBJECT_ACCESS_REQUEST,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        basis={"kind": "role", "id": None},
        detail={"subject_access_id": request.id},
    )
    db.session.flush()
    return request


def _require_dpo(actor: Actor, action: Action) -> None:
    if not actor.has_role(Role.DPO) or mixes_duties(actor.roles):
        reason = Reason.MIXED_DUTIES if mixes_duties(actor.roles) else Reason.ROLE
        raise _refuse(actor, action, None, reason)


def subject_access_requests(actor: Actor) -> list[SubjectAccessItem]:
    """The requests this DPO recorded, newest first (each DPO answers their own)."""
    _require_dpo(actor, Action.AUDIT_QUERY)
    rows = list(
        db.session.execute(
            select(SubjectAccessRequest)
            .where(SubjectAccessRequest.dpo_id == actor.id)
            .order_by(SubjectAccessRequest.created_at.desc(), SubjectAccessRequest.id)
        ).scalars()
    )
    items = _items(rows)
    audit.record(
        actor=actor.as_event(),
        action=Action.AUDIT_QUERY,
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"query": "subject-access-requests", "count": len(items)},
    )
    return items


def _items(rows: list[SubjectAccessRequest]) -> list[SubjectAccessItem]:
    ids = [r.id for r in rows]
    answers = (
        {
            a.request_id: a
            for a in db.session.execute(
                select(SubjectAccessAnswer).where(SubjectAccessAnswer.request_id.in_(ids))
            ).scalars()
        }
        if ids
        else {}
    )
    people = {r.person_id for r in rows}
    erased = (
        set(
            db.session.execute(
                select(Person.id).where(Person.id.in_(people), Person.erased_at.is_not(None))
            ).scalars()
        )
        if people
        else set()
    )
    dpos = {r.dpo_id for r in rows}
    names = (
        dict(db.session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(dpos))).all())
        if dpos
        else {}
    )
    items = []
    for row in rows:
        answer = answers.get(row.id)
        items.append(
            SubjectAccessItem(
                id=row.id,
                person_id=row.person_id,
                dpo_id=row.dpo_id,
                dpo_name=names.get(row.dpo_id),
                reason=_open_text(
                    row.person_id, "subject_access_requests", "reason", row.id, row.reason
                ),
                received_on=row.received_on,
                due_on=one_month_after(row.received_on),
                created_at=row.created_at,
                answered_at=answer.answered_at if answer else None,
                erased=row.person_id in erased,
            )
        )
    return items


def subject_access_item(request_id: str) -> SubjectAccessItem | None:
    """One request as an item (for the pack: its caller has been decided already)."""
    row = db.session.get(SubjectAccessRequest, request_id)
    return _items([row])[0] if row is not None else None


def requests_for_person(actor: Actor, person_id: str) -> list[SubjectAccessItem]:
    """The person's own subject access requests, newest first, to download their pack."""
    if not (actor.is_person and actor.id == person_id):
        raise _refuse(actor, Action.AUDIT_QUERY, person_id, Reason.NOT_PERSON)
    rows = list(
        db.session.execute(
            select(SubjectAccessRequest)
            .where(SubjectAccessRequest.person_id == person_id)
            .order_by(SubjectAccessRequest.created_at.desc(), SubjectAccessRequest.id)
        ).scalars()
    )
    return _items(rows)


def mark_answered(actor: Actor, request_id: str) -> SubjectAccessItem:
    """The DPO who recorded a request marks it answered."""
    _require_dpo(actor, Action.SUBJECT_ACCESS_ANSWERED)
    request = db.session.get(SubjectAccessRequest, request_id)
    if request is None:
        raise NotFound("there is no such subject access request")
    if request.dpo_id != actor.id:
        raise _refuse(
            actor,
            Action.SUBJECT_ACCESS_ANSWERED,
            request.person_id,
            Reason.NOT_REQUESTER,
            subject_access_id=request.id,
        )
    answer = SubjectAccessAnswer(
        id=db.new_id(), request_id=request.id, answered_by_id=actor.id, answered_at=db.utcnow()
    )
    db.add_unique(answer, Conflict("this request has already been marked answered"))
    audit.record(
        actor=actor.as_event(),
        action=Action.SUBJECT_ACCESS_ANSWERED,
        outcome=Outcome.ALLOWED,
        person_id=request.person_id,
        basis={"kind": "role", "id": None},
        detail={"subject_access_id": request.id},
    )
    db.session.flush()
    return _items([request])[0]


def refusal_message(reason: Reason | None) -> str:
    return REFUSALS.get(reason, "not allowed") if reason else "not allowed"


# -- erasure ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErasureItem:
    id: str
    person_id: str
    reason: str | None
    created_at: datetime
    status: str  # "waiting", "approved" or "refused"
    decided_at: datetime | None
    decided_by: str | None
    # The DPO's reason: kept for the person when refused; unreadable once erased.
    decision_reason: str | None


def request_erasure(actor: Actor, person_id: str, reason: str | None) -> ErasureItem:
    """The person asks for their passport to be erased. One waiting request at a time."""
    get_person(person_id)
    # Only the person: a representative, even one helping them, never asks for erasure.
    acting = acting_as_person(actor, person_id, Power.ERASE)
    if not acting.allowed:
        raise _refuse(actor, Action.ERASURE_REQUEST, person_id, acting.reason or Reason.NOT_PERSON)
    text = (reason or "").strip()
    if len(text) > MAX_REASON:
        raise Invalid(
            "the reason is too long",
            {"reason": [f"Your reason must be {MAX_REASON} characters or fewer."]},
        )
    if any(item.status == "waiting" for item in _erasure_items(person_id)):
        raise Conflict("you have already asked: a data protection officer will decide soon")
    request = ErasureRequest(id=db.new_id(), person_id=person_id, created_at=db.utcnow())
    if text:
        request.reason = data_keys.seal_json(
            person_id, "erasure_requests", "reason", request.id, text
        )
    db.session.add(request)
    audit.record(
        actor=actor.as_event(),
        action=Action.ERASURE_REQUEST,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        basis={"kind": "self", "id": actor.id},
        detail={"erasure_request_id": request.id},
    )
    db.session.flush()
    return _erasure_item(request, None, {})


def erasure_requests_for_person(actor: Actor, person_id: str) -> list[ErasureItem]:
    """The person's own erasure requests, newest first, with any refusal's reason."""
    get_person(person_id)
    if not (actor.is_person and actor.id == person_id):
        raise _refuse(actor, Action.AUDIT_QUERY, person_id, Reason.NOT_PERSON)
    return _erasure_items(person_id)


def _erasure_items(person_id: str | None) -> list[ErasureItem]:
    query = select(ErasureRequest).order_by(ErasureRequest.created_at.desc(), ErasureRequest.id)
    if person_id is not None:
        query = query.where(ErasureRequest.person_id == person_id)
    rows = list(db.session.execute(query).scalars())
    ids = [r.id for r in rows]
    decisions = (
        {
            d.request_id: d
            for d in db.session.execute(
                select(ErasureDecision).where(ErasureDecision.request_id.in_(ids))
            ).scalars()
        }
        if ids
        else {}
    )
    deciders = {d.decided_by_id for d in decisions.values()}
    names = (
        dict(db.session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(deciders))).all())
        if deciders
        else {}
    )
    return [_erasure_item(r, decisions.get(r.id), names) for r in rows]


def _erasure_item(
    request: ErasureRequest, decision: ErasureDecision | None, names: dict[str, str]
) -> ErasureItem:
    return ErasureItem(
        id=request.id,
        person_id=request.person_id,
        reason=_open_text(
            request.person_id, "erasure_requests", "reason", request.id, request.reason
        ),
        created_at=request.created_at,
        status=decision.outcome if decision else "waiting",
        decided_at=decision.decided_at if decision else None,
        decided_by=names.get(decision.decided_by_id) if decision else None,
        decision_reason=_open_text(
            request.person_id, "erasure_decisions", "reason", decision.id, decision.reason
        )
        if decision
        else None,
    )


def _require_decider(actor: Actor, action: Action, person_id: str | None = None) -> None:
    if not actor.has_role(Role.DPO) or mixes_duties(actor.roles):
        reason = Reason.MIXED_DUTIES if mixes_duties(actor.roles) else Reason.ROLE
        raise _refuse(actor, action, person_id, reason)
    if not actor.scheme_wide:
        raise _refuse(actor, action, person_id, Reason.NOT_SCHEME_WIDE)


def erasure_queue(actor: Actor) -> list[ErasureItem]:
    """Every erasure request, newest first, for a scheme-wide DPO to decide."""
    _require_decider(actor, Action.AUDIT_QUERY)
    items = _erasure_items(None)
    audit.record(
        actor=actor.as_event(),
        action=Action.AUDIT_QUERY,
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"query": "erasure-requests", "count": len(items)},
    )
    return items


def erasure_item(actor: Actor, request_id: str) -> ErasureItem:
    _require_decider(actor, Action.AUDIT_QUERY)
    request = db.session.get(ErasureRequest, request_id)
    if request is None:
        raise NotFound("there is no such erasure request")
    return next(i for i in _erasure_items(request.person_id) if i.id == request_id)


def decide_erasure(actor: Actor, request_id: str, outcome: str, reason: str) -> ErasureItem:
    """A scheme-wide DPO approves (the passport is crypto-shredded, as `passport person
    erase` does) or refuses (the person sees why) an erasure request."""
    request = db.session.get(ErasureRequest, request_id)
    person_id = request.person_id if request is not None else None
    _require_decider(actor, Action.ERASURE_DECISION, person_id)
    if request is None:
        raise NotFound("there is no such erasure request")
    errors: dict[str, list[str]] = {}
    if outcome not in ERASURE_OUTCOMES:
        errors["outcome"] = ["Choose approved or refused."]
    if not reason.strip():
        errors["reason"] = ["Say why: the person reads this."]
    elif len(reason) > MAX_REASON:
        errors["reason"] = [f"The reason must be {MAX_REASON} characters or fewer."]
    if errors:
        raise Invalid("the decision could not be recorded", errors)
    person = db.session.get(Person, request.person_id)
    if person is None or person.erased_at is not None:
        raise Conflict("this passport has already been erased")
    decision = ErasureDecision(
        id=db.new_id(),
        request_id=request.id,
        decided_by_id=actor.id,
        outcome=outcome,
        decided_at=db.utcnow(),
    )
    decision.reason = data_keys.seal_json(
        request.person_id, "erasure_decisions", "reason", decision.id, reason.strip()
    )
    db.add_unique(decision, Conflict("this request has already been decided"))
    audit.record(
        actor=actor.as_event(),
        action=Action.ERASURE_DECISION,
        outcome=Outcome.ALLOWED,
        person_id=request.person_id,
        basis={"kind": "role", "id": None},
        detail={"erasure_request_id": request.id, "outcome": outcome},
    )
    db.session.flush()
    if outcome == "approved":
        erase_person(actor, request.person_id, detail={"erasure_request_id": request.id})
        tell_person(request.person_id, Told.ERASURE_APPROVED, request.id)
    else:
        tell_person(request.person_id, Told.ERASURE_REFUSED, request.id)
    names = {actor.id: actor.name}
    return _erasure_item(request, decision, names)
