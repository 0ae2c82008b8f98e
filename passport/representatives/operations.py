"""Appointing, listing, stopping and reviewing representatives. These functions flush and
log; the caller's unit of work commits.

- The person appoints a representative (`view` or `help`); a new account gets a set-up code,
  with which the representative chooses their own passphrase. Nobody acting for the person —
  not even a `help` representative — appoints others.
- A caseworker who is a contributor records a legal representative (lasting power of
  attorney, deputy, appointee) with the evidence seen; it acts only once a DPO approves it, and
  nobody reviews one they recorded.
- The person stops any representative in one step, effective on the next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from .. import audit, db
from ..consent import acting_as_person, decide_people, log_decisions
from ..consent.decision import RepresentationStatus, representation_status
from ..consent.grants import is_contributor
from ..crypto import data_keys
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..identity import setup_codes
from ..identity.accounts import find_account, normalise_username
from ..identity.actor import Actor
from ..identity.models import Person, Staff
from ..notifications import representative_added
from ..records.content import person_identity
from ..vocabulary import (
    Action,
    BasisKind,
    LegalBasis,
    Outcome,
    Power,
    Reason,
    RepresentativeAccess,
    Role,
    Section,
    mixes_duties,
)
from .models import (
    Representation,
    RepresentationEnding,
    RepresentationReview,
    RepresentativeAccount,
)

REVIEW_OUTCOMES = ("approved", "refused")
NOT_APPOINTER = (
    "only the person can choose who acts for them: someone helping them cannot appoint others"
)


@dataclass(frozen=True)
class Appointed:
    representation: Representation
    # The set-up code for a new account, shown once; None when the account existed already
    # (its holder signs in with the passphrase they chose).
    setup_code: str | None
    expires_at: datetime | None


def _person(person_id: str) -> Person:
    person = db.session.get(Person, person_id)
    if person is None or person.erased_at is not None:
        raise NotFound("there is no passport with that id")
    return person


def _refuse(
    actor: Actor, action: Action, person_id: str | None, reason: str, **detail: str
) -> None:
    audit.record(
        actor=actor.as_event(),
        action=action,
        outcome=Outcome.DENIED,
        person_id=person_id,
        reason=reason,
        detail=detail or None,
    )


def _access(value: str) -> RepresentativeAccess:
    try:
        return RepresentativeAccess(value)
    except ValueError:
        raise Invalid(
            "access must be view or help", {"access": ["Must be view or help."]}
        ) from None


def _account_for(name: str, username: str) -> tuple[RepresentativeAccount, bool]:
    """The representative account with this username, made if new (True when made). A
    username held by a person or a worker is a conflict: usernames are one space."""
    name = name.strip()
    username = normalise_username(username)
    errors = {}
    if not name:
        errors["name"] = ["Enter their name."]
    if not username:
        errors["username"] = ["Enter a username for them."]
    if errors:
        raise Invalid("a representative needs a name and a username", errors)
    existing = find_account(username)
    if isinstance(existing, RepresentativeAccount):
        return existing, False
    if existing is not None:
        raise Conflict("that username is already in use", {"username": ["Already in use."]})
    account = RepresentativeAccount(id=db.new_id(), username=username, name=name)
    db.session.add(account)
    db.session.flush()
    return account, True


def _refuse_duplicate(person_id: str, account: RepresentativeAccount) -> None:
    for row in representations_of(person_id):
        if row.account_id == account.id and representation_status(row) in (
            RepresentationStatus.ACTIVE,
            RepresentationStatus.PENDING,
        ):
            raise Conflict("this representative already acts for this person")


def appoint(actor: Actor, person_id: str, *, name: str, username: str, access: str) -> Appointed:
    """The person appoints someone to act for them, `view` or `help`."""
    _person(person_id)
    acting = acting_as_person(actor, person_id, Power.APPOINT)
    if not acting.allowed:
        _refuse(actor, Action.REPRESENTATIVE_ADD, person_id, acting.reason or Reason.NOT_PERSON)
        raise Forbidden(NOT_APPOINTER)
    chosen = _access(access)
    account, new = _account_for(name, username)
    _refuse_duplicate(person_id, account)
    row = Representation(
        id=db.new_id(),
        person_id=person_id,
        account_id=account.id,
        access=chosen.value,
        recorded_by_kind=actor.kind.value,
        recorded_by_id=actor.id,
        created_at=db.utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        actor=actor.as_event(),
        action=Action.REPRESENTATIVE_ADD,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        basis=acting.basis,
        detail={"representation_id": row.id, "account_id": account.id, "access": chosen.value},
    )
    representative_added(person_id, row.id)
    code, expires = _code_for(actor, account, person_id, new, acting.basis)
    return Appointed(row, code, expires)


def _code_for(
    actor: Actor,
    account: RepresentativeAccount,
    person_id: str,
    new: bool,
    basis: dict[str, Any] | None,
) -> tuple[str | None, datetime | None]:
    if not new and account.password_hash is not None:
        return None, None
    code, expires = setup_codes.issue_for_representative(
        actor, account, person_id, basis or {"kind": "role", "id": None}
    )
    return code, expires


def record_legal(
    actor: Actor,
    person_id: str,
    *,
    name: str,
    username: str,
    legal_basis: str,
    evidence: str,
    access: str = RepresentativeAccess.HELP.value,
) -> Appointed:
    """A contributor caseworker records a legal representative; it waits for a DPO."""
    _person(person_id)
    reader = actor.has_role(Role.CASEWORKER) and not mixes_duties(actor.roles)
    if not (reader and is_contributor(actor, person_id)):
        _refuse(actor, Action.REPRESENTATIVE_ADD, person_id, Reason.NOT_CONTRIBUTOR)
        raise Forbidden(
            "only a caseworker the person chose to help with their passport can record a "
            "legal representative"
        )
    errors: dict[str, list[str]] = {}
    if legal_basis not in {b.value for b in LegalBasis}:
        errors["legal_basis"] = [
            "Choose the legal basis: lasting power of attorney (lpa), deputy or appointee."
        ]
    if not evidence.strip():
        errors["evidence"] = ["Say what you saw: the document and its reference."]
    if errors:
        raise Invalid("this legal representative cannot be recorded as it is", errors)
    chosen = _access(access)
    account, new = _account_for(name, username)
    _refuse_duplicate(person_id, account)
    row = Representation(
        id=db.new_id(),
        person_id=person_id,
        account_id=account.id,
        access=chosen.value,
        legal_basis=legal_basis,
        recorded_by_kind=actor.kind.value,
        recorded_by_id=actor.id,
        created_at=db.utcnow(),
    )
    row.evidence = data_keys.seal_json(person_id, "representations", "evidence", row.id, evidence)
    db.session.add(row)
    db.session.flush()
    basis: dict[str, Any] = {"kind": BasisKind.CONTRIBUTOR.value, "id": actor.id}
    audit.record(
        actor=actor.as_event(),
        action=Action.REPRESENTATIVE_ADD,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        basis=basis,
        detail={
            "representation_id": row.id,
            "account_id": account.id,
            "access": chosen.value,
            "legal_basis": legal_basis,
        },
    )
    code, expires = _code_for(actor, account, person_id, new, basis)
    return Appointed(row, code, expires)


def representations_of(person_id: str) -> list[Representation]:
    """Every appointment for this person, oldest first, ended ones too (no decision: the
    callers decide who may see them)."""
    return list(
        db.session.execute(
            select(Representation)
            .where(Representation.person_id == person_id)
            .order_by(Representation.created_at, Representation.id)
        )
        .unique()
        .scalars()
    )


def list_for_person(actor: Actor, person_id: str) -> list[Representation]:
    """Everyone appointed for this person, past ones included (the person, and their
    representatives: who acts for them is part of who can see)."""
    _person(person_id)
    acting = acting_as_person(actor, person_id, Power.READ)
    if not acting.allowed:
        _refuse(actor, Action.REPRESENTATIVE_LIST, person_id, acting.reason or Reason.NOT_PERSON)
        raise Forbidden("only the person and their representatives can see who acts for them")
    rows = representations_of(person_id)
    audit.record(
        actor=actor.as_event(),
        action=Action.REPRESENTATIVE_LIST,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        basis=acting.basis,
        detail={"count": len(rows)},
    )
    return rows


def get_for_person(actor: Actor, person_id: str, representation_id: str) -> Representation:
    """One of the person's representatives, for the page that asks before stopping it."""
    _person(person_id)
    if not acting_as_person(actor, person_id, Power.APPOINT).allowed:
        raise Forbidden(NOT_APPOINTER)
    row = db.session.get(Representation, representation_id)
    if row is None or row.person_id != person_id:
        raise NotFound("there is no such representative for this passport")
    return row


def remove(actor: Actor, person_id: str, representation_id: str) -> Representation:
    """The person stops a representative: refused from their very next request."""
    _person(person_id)
    acting = acting_as_person(actor, person_id, Power.APPOINT)
    if not acting.allowed:
        _refuse(
            actor,
            Action.REPRESENTATIVE_REMOVE,
            person_id,
            acting.reason or Reason.NOT_PERSON,
            representation_id=representation_id,
        )
        raise Forbidden(
            "only the person can stop someone acting for them: someone helping them cannot"
        )
    row = db.session.get(Representation, representation_id)
    if row is None or row.person_id != person_id:
        raise NotFound("there is no such representative for this passport")
    if row.ending is not None:
        raise Conflict("this representative was already stopped")
    ending = RepresentationEnding(
        id=db.new_id(),
        representation_id=row.id,
        ended_at=db.utcnow(),
        ended_by_kind=actor.kind.value,
        ended_by_id=actor.id,
    )
    db.add_unique(ending, Conflict("this representative was already stopped"))
    audit.record(
        actor=actor.as_event(),
        action=Action.REPRESENTATIVE_REMOVE,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        basis=acting.basis,
        detail={"representation_id": row.id, "account_id": row.account_id},
    )
    db.session.flush()
    db.session.refresh(row)
    return row


# -- the DPO's review of legal representatives ------------------------------------------------


def _require_dpo(actor: Actor, action: Action) -> None:
    if not actor.has_role(Role.DPO):
        _refuse(actor, action, None, Reason.ROLE)
        raise Forbidden("this needs the data protection officer (dpo) role")


def _in_scope(actor: Actor, row: Representation) -> bool:
    """An agency DPO reviews what their own agency's workers recorded; scheme-wide, all."""
    if actor.scheme_wide:
        return True
    recorder = db.session.get(Staff, row.recorded_by_id)
    return recorder is not None and recorder.agency_id == actor.agency_id


def legal_queue(actor: Actor, reviewed: bool | None = False) -> list[Representation]:
    """Legal representatives for the DPO: waiting ones (`reviewed=False`), reviewed ones, or
    all (None). Stopped ones that were never reviewed are not waiting any more."""
    _require_dpo(actor, Action.AUDIT_QUERY)
    rows = db.session.execute(
        select(Representation)
        .where(Representation.legal_basis.is_not(None))
        .order_by(Representation.created_at)
    )
    items = []
    for row in rows.unique().scalars():
        if not _in_scope(actor, row):
            continue
        if reviewed is False and (row.review is not None or row.ending is not None):
            continue
        if reviewed is True and row.review is None:
            continue
        items.append(row)
    audit.record(
        actor=actor.as_event(),
        action=Action.AUDIT_QUERY,
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"query": "legal-representatives", "count": len(items)},
    )
    return items


def legal_for_review(actor: Actor, representation_id: str) -> Representation:
    _require_dpo(actor, Action.AUDIT_QUERY)
    row = db.session.get(Representation, representation_id)
    if row is None or row.legal_basis is None or not _in_scope(actor, row):
        raise NotFound("there is no such legal representative for you to review")
    return row


def evidence_of(row: Representation) -> str:
    """The evidence the worker recorded, opened for the DPO reviewing it."""
    if row.evidence is None:
        return ""
    return str(
        data_keys.open_json(row.person_id, "representations", "evidence", row.id, row.evidence)
    )


def review(actor: Actor, representation_id: str, outcome: str, notes: str) -> Representation:
    """A DPO approves or refuses a legal representative. Nobody reviews one they recorded;
    each is reviewed once."""
    _require_dpo(actor, Action.REPRESENTATIVE_REVIEW)
    row = db.session.get(Representation, representation_id)
    if row is None or row.legal_basis is None or not _in_scope(actor, row):
        raise NotFound("there is no such legal representative for you to review")
    if row.recorded_by_id == actor.id:
        _refuse(
            actor,
            Action.REPRESENTATIVE_REVIEW,
            row.person_id,
            Reason.OWN_RECORDING,
            representation_id=row.id,
        )
        raise Forbidden(
            "nobody reviews a representative they recorded: another data protection officer "
            "must review it"
        )
    errors: dict[str, list[str]] = {}
    if outcome not in REVIEW_OUTCOMES:
        errors["outcome"] = ["Choose approved or refused."]
    if not notes.strip():
        errors["notes"] = ["Say why, in a few words."]
    if errors:
        raise Invalid("this review cannot be recorded as it is", errors)
    if row.review is not None:
        raise Conflict("this legal representative has already been reviewed")
    if row.ending is not None:
        raise Conflict("this representative was stopped, so there is nothing to review")
    record = RepresentationReview(
        id=db.new_id(),
        representation_id=row.id,
        reviewer_id=actor.id,
        outcome=outcome,
        reviewed_at=db.utcnow(),
    )
    record.notes = data_keys.seal_json(
        row.person_id, "representation_reviews", "notes", record.id, notes
    )
    db.add_unique(record, Conflict("this legal representative has already been reviewed"))
    audit.record(
        actor=actor.as_event(),
        action=Action.REPRESENTATIVE_REVIEW,
        outcome=Outcome.ALLOWED,
        person_id=row.person_id,
        basis={"kind": "role", "id": None},
        detail={"representation_id": row.id, "review": outcome},
    )
    if outcome == "approved":  # a legal representative can act for the person from now on
        representative_added(row.person_id, row.id)
    db.session.flush()
    db.session.refresh(row)
    return row


# -- the representative's own view ------------------------------------------------------------


@dataclass(frozen=True)
class Represented:
    person_id: str
    preferred_name: str | None
    access: str
    representation_id: str


def _live_people(actor: Actor) -> dict[str, Representation]:
    """The people this representative acts for now (an erased passport is nobody's), each
    with the appointment they act under (`help` before `view`). Nothing is read or logged."""
    rows = db.session.execute(
        select(Representation)
        .where(Representation.account_id == actor.id)
        .order_by(Representation.created_at)
    )
    live: dict[str, Representation] = {}
    for row in rows.unique().scalars():
        if representation_status(row) != RepresentationStatus.ACTIVE:
            continue
        person = db.session.get(Person, row.person_id)
        if person is None or person.erased_at is not None:
            continue
        kept = live.get(row.person_id)
        if kept is None or row.access == RepresentativeAccess.HELP.value:
            live[row.person_id] = row
    return live


def represents_anyone_else(actor: Actor, person_id: str) -> bool:
    """For the "switch to someone else" link: nothing is read or logged."""
    return actor.is_representative and bool(set(_live_people(actor)) - {person_id})


def represented_by(actor: Actor) -> list[Represented]:
    """The people this representative acts for now, with the name each goes by. The name
    is read through the decision point (a read of the profile, logged on the person's
    behalf) — one decision per person, made now: someone who stopped them is not listed."""
    if not actor.is_representative:
        return []
    live = _live_people(actor)
    if not live:
        return []
    decisions = decide_people(actor, dict.fromkeys(live), (Section.PROFILE,))
    out = []
    for person_id, row in live.items():
        made = decisions[person_id]
        log_decisions(actor, Action.RECORD_VIEW, person_id, made, None, {"for": "represents"})
        name = person_identity(made)["preferred_name"] if any(d.allowed for d in made) else None
        out.append(Represented(person_id, name, row.access, row.id))
    return out
