"""Disputing an entry, and answering the dispute (UK GDPR Articles 16 and 18; issue 16).

- The person says an entry a worker wrote is wrong, in their own words, and may ask that it be
  restricted: hidden from every agency but the one that wrote it until that agency answers
  (who sees what is decided in `disputed`, applied by `content.Reader`).
- The agency that wrote the disputed revision answers, once, through a caseworker who is a
  contributor to the entry's section: "corrected" — after changing the entry (a new revision,
  made with PUT or the edit page); the answer records that revision — or "upheld", with notes
  the person sees. Either answer lifts the restriction. The person may dispute again later.

Append-only: a dispute and its answer are rows of their own. Every step, refusals included, is
logged. These functions flush; the caller's unit of work commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from .. import audit, db
from ..consent.decision import Decision, acting_as_person, decide_people, decide_write
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..identity.actor import Actor
from ..identity.models import Person, Staff
from ..vocabulary import (
    ALL_SECTIONS,
    Action,
    BasisKind,
    Outcome,
    Power,
    Purpose,
    Reason,
    Section,
)
from .content import Reader
from .disputed import (
    NOTES_MAX,
    STATEMENT_MAX,
    DisputeView,
    latest_per_entry,
    rows_of,
    seal_text,
    view_of_dispute,
)
from .models import Dispute, DisputeAnswer, Entry, Revision
from .operations import _lock_person, get_person

OUTCOMES = ("corrected", "upheld")


def _latest_revision(entry_id: str) -> Revision:
    latest = db.session.execute(
        select(Revision)
        .where(Revision.entry_id == entry_id)
        .order_by(Revision.revision.desc())
        .limit(1)
    ).scalar_one()
    return latest


def _entry(person_id: str, entry_id: str) -> Entry | None:
    entry = db.session.get(Entry, entry_id)
    return entry if entry is not None and entry.person_id == person_id else None


def _refuse(
    actor: Actor,
    action: Action,
    person_id: str,
    reason: Reason,
    detail: dict[str, Any],
    section: str | None = None,
) -> None:
    audit.record(
        actor=actor.as_event(),
        action=action,
        outcome=Outcome.DENIED,
        person_id=person_id,
        sections=[section] if section else [],
        reason=reason,
        detail=detail,
    )


def _text(value: str | None, field: str, maximum: int, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise Invalid(f"write the {field}", {field: ["Missing data for required field."]})
        return None
    if len(text) > maximum:
        raise Invalid(
            f"the {field} can have at most {maximum} characters",
            {field: [f"Longer than maximum length {maximum}."]},
        )
    return text


def raise_dispute(
    actor: Actor, person_id: str, entry_id: str, statement: str, restrict: bool = False
) -> DisputeView:
    """The person disputes an entry of their own passport that a worker wrote."""
    get_person(person_id)
    detail: dict[str, Any] = {"entry_id": entry_id}
    # The person, or a `help` representative for them (the same power as writing their story).
    acting = acting_as_person(actor, person_id, Power.WRITE)
    if not acting.allowed:
        _refuse(actor, Action.RECORD_DISPUTE, person_id, acting.reason or Reason.NOT_PERSON, detail)
        raise Forbidden(
            "only the person, or someone helping them, can say that an entry of their passport "
            "is wrong"
        )
    entry = _entry(person_id, entry_id)
    if entry is None:
        _refuse(actor, Action.RECORD_DISPUTE, person_id, Reason.NOT_FOUND, detail)
        raise NotFound("there is no such entry in this passport")
    text = _text(statement, "statement", STATEMENT_MAX, required=True)
    assert text is not None
    _lock_person(person_id)  # two disputes at once: the second waits, then sees the first
    latest = _latest_revision(entry.id)
    if entry.section == Section.PROFILE.value:
        raise Conflict("these are your own details: change them yourself instead")
    if latest.status == "retired":
        raise Conflict("this entry is no longer in use, so there is nothing to dispute")
    if latest.author_kind != "staff" or latest.author_agency_id is None:
        raise Conflict("you wrote this entry yourself: change it instead")
    found = latest_per_entry(rows_of({person_id}, entry.id)).get(entry.id)
    if found is not None and found[1] is None:
        raise Conflict("you have already said this entry is wrong; wait for the answer")
    dispute = Dispute(
        id=db.new_id(),
        person_id=person_id,
        entry_id=entry.id,
        section=entry.section,
        revision=latest.revision,
        author_agency_id=latest.author_agency_id,
        restricted=bool(restrict),
        raised_by_kind=actor.kind.value,
        raised_by_id=actor.id,
        raised_at=db.utcnow(),
    )
    dispute.statement = seal_text(person_id, "entry_disputes", "statement", dispute.id, text)
    db.session.add(dispute)
    db.session.flush()
    audit.record(
        actor=actor.as_event(),
        action=Action.RECORD_DISPUTE,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        sections=[entry.section],
        basis={"kind": BasisKind.SELF.value, "id": actor.id},
        detail={
            "entry_id": entry.id,
            "dispute_id": dispute.id,
            "revision": latest.revision,
            "restrict": bool(restrict),
        },
    )
    return view_of_dispute(dispute, None, {})


def open_dispute(person_id: str, entry_id: str) -> Dispute | None:
    """The entry's dispute waiting for an answer, if any."""
    found = latest_per_entry(rows_of({person_id}, entry_id)).get(entry_id)
    return found[0] if found is not None and found[1] is None else None


def may_answer(actor: Actor, dispute: Dispute) -> bool:
    """A caseworker of the agency that wrote the disputed revision, who is a contributor to
    the entry's section (so they can correct it)."""
    return _answering(actor, dispute) is not None


def _answering(actor: Actor, dispute: Dispute) -> Decision | None:
    """The contributor decision that lets this actor answer, if any (see `may_answer`)."""
    if not actor.is_staff or actor.agency_id != dispute.author_agency_id:
        return None
    decision = decide_write(actor, dispute.person_id, Section(dispute.section))
    allowed = decision.allowed and decision.basis_kind is BasisKind.CONTRIBUTOR
    return decision if allowed else None


def answer_dispute(
    actor: Actor, person_id: str, entry_id: str, outcome: str, notes: str | None
) -> DisputeView:
    """The author's agency answers: "corrected" once the entry has a newer revision than the
    one disputed, or "upheld" with notes the person sees. Answering twice is a conflict."""
    get_person(person_id)
    detail: dict[str, Any] = {"entry_id": entry_id}
    entry = _entry(person_id, entry_id)
    found = latest_per_entry(rows_of({person_id}, entry_id)).get(entry_id) if entry else None
    if entry is None or found is None:
        _refuse(actor, Action.RECORD_DISPUTE_ANSWER, person_id, Reason.NOT_FOUND, detail)
        raise NotFound("nobody has disputed this entry")
    dispute, answer = found
    detail["dispute_id"] = dispute.id
    answering = _answering(actor, dispute)
    if answering is None:
        reason = (
            Reason.NOT_AUTHOR_AGENCY
            if not actor.is_staff or actor.agency_id != dispute.author_agency_id
            else Reason.NOT_CONTRIBUTOR
        )
        _refuse(actor, Action.RECORD_DISPUTE_ANSWER, person_id, reason, detail, dispute.section)
        raise Forbidden(
            "only the agency that wrote this entry answers the person, through a worker who "
            "can change this section of their passport"
        )
    if answer is not None:
        raise Conflict("this dispute has been answered already")
    if outcome not in OUTCOMES:
        raise Invalid(
            "say corrected or upheld", {"outcome": ["Must be one of: corrected, upheld."]}
        )
    text = _text(notes, "notes", NOTES_MAX, required=outcome == "upheld")
    _lock_person(person_id)
    corrected: int | None = None
    if outcome == "corrected":
        latest = _latest_revision(entry_id)
        if latest.revision <= dispute.revision:
            raise Conflict(
                "change the entry first (a new revision), then answer that it is corrected"
            )
        corrected = latest.revision
    assert actor.agency_id is not None
    row = DisputeAnswer(
        id=db.new_id(),
        dispute_id=dispute.id,
        person_id=person_id,
        outcome=outcome,
        corrected_revision=corrected,
        answered_by_id=actor.id,
        answered_by_agency_id=actor.agency_id,
        answered_at=db.utcnow(),
    )
    if text is not None:
        row.notes = seal_text(person_id, "entry_dispute_answers", "notes", row.id, text)
    db.add_unique(row, Conflict("this dispute has been answered already"))
    audit.record(
        actor=actor.as_event(),
        action=Action.RECORD_DISPUTE_ANSWER,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        sections=[dispute.section],
        basis=answering.basis,
        detail={
            "entry_id": entry_id,
            "dispute_id": dispute.id,
            "outcome": outcome,
            "revision": corrected,
        },
    )
    db.session.flush()
    member = db.session.get(Staff, actor.id)
    return view_of_dispute(dispute, row, {actor.id: member} if member else {})


@dataclass(frozen=True)
class OpenDispute:
    """A dispute waiting for this worker's agency, as its list shows it: who, which section,
    when, whether it is restricted. No content: the statement is read with the entry."""

    person: dict[str, Any]
    entry_id: str
    section: str
    raised_at: Any
    restricted: bool


def waiting_for(actor: Actor) -> list[OpenDispute]:
    """Open disputes of entries this worker's agency wrote, for people who made this worker a
    contributor to the entry's section (the ones they can answer), oldest first. Logged as a
    list, like the caseload."""
    if not actor.is_staff or actor.agency_id is None:
        return []
    rows = db.session.execute(
        select(Dispute)
        .outerjoin(DisputeAnswer, DisputeAnswer.dispute_id == Dispute.id)
        .join(Person, Person.id == Dispute.person_id)
        .where(
            Dispute.author_agency_id == actor.agency_id,
            DisputeAnswer.id.is_(None),
            Person.erased_at.is_(None),  # erased: nothing left to read or answer
        )
        .order_by(Dispute.raised_at, Dispute.id)
    ).scalars()
    disputes = list(rows)
    people = {d.person_id for d in disputes}
    decided = decide_people(actor, dict.fromkeys(people, Purpose.DIRECT_SUPPORT), ALL_SECTIONS)
    shown = []
    for dispute in disputes:
        decisions = decided.get(dispute.person_id, [])
        writes = next(
            (
                d
                for d in decisions
                if d.section.value == dispute.section
                and d.allowed
                and d.basis_kind is BasisKind.CONTRIBUTOR
            ),
            None,
        )
        if writes is not None:
            shown.append((dispute, decisions))
    reader = Reader([d for _, decisions in shown for d in decisions], sections=False)
    found = [
        OpenDispute(
            person=reader.identity(decisions),
            entry_id=dispute.entry_id,
            section=dispute.section,
            raised_at=dispute.raised_at,
            restricted=bool(dispute.restricted),
        )
        for dispute, decisions in shown
    ]
    audit.record(
        actor=actor.as_event(),
        action=Action.PERSON_LIST,
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"count": len(found), "disputes": True},
    )
    return found
