"""What is disputed, as readers see it, and whom a restriction hides an entry from.

The person may say an entry is wrong, in their own words, and may ask that it be restricted
until the agency that wrote it answers (UK GDPR Articles 16 and 18). The rule, applied by
`content.Reader` — the one place content is read — so that no agency path can show it:

- Every reader who sees an entry sees the person's statement beside it, and the answer.
- An entry under an open restricted dispute (asked, not yet answered) is seen only by
  * the person themself (basis `self`), those who act for them (basis `representative`) and
    the person's own subject access pack (basis `subject_access`), and
  * the agency that wrote the disputed revision, through its caseworkers who are
    contributors to that section (basis `contributor`): they are the ones who answer, so
    they must see what they answer. A caseworker of that agency reading through a grant,
    any other agency (grants, contributors), an MDT and break-glass do not see it, nor any
    revision of it in the history.
- The answer ("corrected" or "upheld") lifts the restriction.

Statements and notes are sealed like other content, bound to their own rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from .. import db
from ..consent.decision import Decision
from ..crypto import data_keys
from ..identity.models import Staff
from ..vocabulary import BasisKind
from .models import Dispute, DisputeAnswer

STATEMENT_MAX = 2000
NOTES_MAX = 2000


@dataclass(frozen=True)
class AnswerView:
    outcome: str  # "corrected" | "upheld"
    notes: str | None
    revision: int | None  # "corrected": the revision that corrects the entry
    answered_at: datetime
    answered_by: dict[str, Any]  # {id, name, agency_id}


@dataclass(frozen=True)
class DisputeView:
    id: str
    entry_id: str
    section: str
    revision: int  # the revision the person disputed
    statement: str
    restricted: bool  # hidden from agencies now: asked for, and not yet answered
    restrict_asked: bool
    raised_at: datetime
    author_agency_id: str
    answer: AnswerView | None

    @property
    def open(self) -> bool:
        return self.answer is None


def seal_text(person_id: str, table: str, field: str, row_id: str, value: str) -> bytes:
    return data_keys.seal_json(person_id, table, field, row_id, value)


def _open_text(person_id: str, table: str, field: str, row_id: str, token: bytes) -> str:
    value = data_keys.open_json(person_id, table, field, row_id, token)
    assert isinstance(value, str)
    return value


def rows_of(
    people: Iterable[str], entry_id: str | None = None
) -> list[tuple[Dispute, DisputeAnswer | None]]:
    """Every dispute of these people (or of one entry), oldest first, with its answer: one
    query."""
    wanted = sorted(set(people))
    if not wanted:
        return []
    if entry_id is None:
        found = db.session.execute(_DISPUTES_OF_PEOPLE, {"people": wanted})
    else:
        found = db.session.execute(_DISPUTES_OF_ENTRY, {"people": wanted, "entry_id": entry_id})
    return [(row[0], row[1]) for row in found.all()]


# Built once: every read of content runs the first.
_DISPUTES_OF_PEOPLE = (
    select(Dispute, DisputeAnswer)
    .outerjoin(DisputeAnswer, DisputeAnswer.dispute_id == Dispute.id)
    .where(Dispute.person_id.in_(bindparam("people", expanding=True)))
    .order_by(Dispute.raised_at, Dispute.id)
)
_DISPUTES_OF_ENTRY = _DISPUTES_OF_PEOPLE.where(Dispute.entry_id == bindparam("entry_id"))


def latest_per_entry(
    rows: Iterable[tuple[Dispute, DisputeAnswer | None]],
) -> dict[str, tuple[Dispute, DisputeAnswer | None]]:
    """Each entry's latest dispute (an entry has at most one open dispute at a time)."""
    latest: dict[str, tuple[Dispute, DisputeAnswer | None]] = {}
    for dispute, answer in rows:
        latest[dispute.entry_id] = (dispute, answer)
    return latest


def view_of_dispute(
    dispute: Dispute, answer: DisputeAnswer | None, staff: dict[str, Staff]
) -> DisputeView:
    answer_view = None
    if answer is not None:
        member = staff.get(answer.answered_by_id)
        notes = (
            _open_text(answer.person_id, "entry_dispute_answers", "notes", answer.id, answer.notes)
            if answer.notes is not None
            else None
        )
        answer_view = AnswerView(
            outcome=answer.outcome,
            notes=notes,
            revision=answer.corrected_revision,
            answered_at=answer.answered_at,
            answered_by={
                "id": answer.answered_by_id,
                "name": member.name if member else "Unknown worker",
                "agency_id": answer.answered_by_agency_id,
            },
        )
    return DisputeView(
        id=dispute.id,
        entry_id=dispute.entry_id,
        section=dispute.section,
        revision=dispute.revision,
        statement=_open_text(
            dispute.person_id, "entry_disputes", "statement", dispute.id, dispute.statement
        ),
        restricted=bool(dispute.restricted) and answer is None,
        restrict_asked=bool(dispute.restricted),
        raised_at=dispute.raised_at,
        author_agency_id=dispute.author_agency_id,
        answer=answer_view,
    )


def is_restricted(found: tuple[Dispute, DisputeAnswer | None] | None) -> bool:
    return found is not None and bool(found[0].restricted) and found[1] is None


def sees_restricted(decision: Decision, dispute: Dispute, reader_agency_id: str | None) -> bool:
    """May the reader behind this decision see an entry its person restricted? The person,
    those who act for the person (their representatives), the person's own subject access pack
    (it holds everything, with the dispute beside it), and contributors from the agency that
    wrote the disputed revision (they answer)."""
    if decision.basis_kind in (BasisKind.SELF, BasisKind.REPRESENTATIVE, BasisKind.SUBJECT_ACCESS):
        return True
    return (
        decision.basis_kind is BasisKind.CONTRIBUTOR
        and reader_agency_id is not None
        and reader_agency_id == dispute.author_agency_id
    )


def answerer_ids(rows: Iterable[tuple[Dispute, DisputeAnswer | None]]) -> set[str]:
    return {answer.answered_by_id for _, answer in rows if answer is not None}


def as_json(view: DisputeView | None) -> dict[str, Any] | None:
    """A dispute as the person's download holds it (the API's `dispute` object)."""
    if view is None:
        return None
    answer = view.answer
    return {
        "id": view.id,
        "revision": view.revision,
        "statement": view.statement,
        "restricted": view.restricted,
        "raised_at": view.raised_at.isoformat(),
        "answer": None
        if answer is None
        else {
            "outcome": answer.outcome,
            "notes": answer.notes,
            "revision": answer.revision,
            "answered_at": answer.answered_at.isoformat(),
            "answered_by": answer.answered_by,
        },
    }
