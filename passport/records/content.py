"""The only way to section content: every function here takes a consent `Decision`.

Decrypting a revision is private to this module, and the public readers refuse anything but
an allowing `Decision` for the same person and section — so no view, query or export can reach
content without having asked `passport.consent.decide` first.
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
from ..representatives.models import RepresentativeAccount
from ..vocabulary import BasisKind, Section
from .disputed import (
    DisputeView,
    answerer_ids,
    is_restricted,
    latest_per_entry,
    rows_of,
    sees_restricted,
    view_of_dispute,
)
from .models import Dispute, DisputeAnswer, Revision


class NotAllowed(RuntimeError):
    """A reader was called without an allowing decision: a programming error, never served."""


@dataclass(frozen=True)
class EntryView:
    id: str
    section: str
    revision: int
    status: str
    hidden: bool
    content: dict[str, Any]
    author: dict[str, Any]
    created_at: datetime
    revision_id: str
    # A worker wrote this revision with the person there (story, what works).
    written_with_person: bool = False
    # The person's statement that this entry is wrong, and the answer (issue 16).
    dispute: DisputeView | None = None


def _require(decision: Decision, person_id: str | None = None) -> None:
    if not isinstance(decision, Decision) or not decision.allowed or decision.identity_only:
        raise NotAllowed("section content needs an allowing decision")
    if person_id is not None and decision.person_id != person_id:
        raise NotAllowed("decision is for another person")


def _open(revision: Revision) -> dict[str, Any]:
    value = data_keys.open_json(
        revision.person_id, "revisions", "content", revision.id, revision.content
    )
    assert isinstance(value, dict)
    return value


def seal_content(person_id: str, revision_id: str, content: dict[str, Any]) -> bytes:
    return data_keys.seal_json(person_id, "revisions", "content", revision_id, content)


def _author(revision: Revision, person_name: str | None, staff: dict[str, Staff]) -> dict[str, Any]:
    if revision.author_kind == "person":
        name = person_name or "The passport holder"
        return {"id": revision.author_id, "name": name, "agency_id": None}
    if revision.author_kind == "representative":
        # Someone acting for the person wrote it on their behalf (their own account's name).
        account = db.session.get(RepresentativeAccount, revision.author_id)
        return {
            "id": revision.author_id,
            "name": account.name if account else "A representative",
            "agency_id": None,
        }
    member = staff.get(revision.author_id)
    return {
        "id": revision.author_id,
        "name": member.name if member else "Unknown worker",
        "agency_id": revision.author_agency_id,
    }


def view_of(
    revision: Revision,
    content: dict[str, Any],
    author: dict[str, Any],
    dispute: DisputeView | None = None,
) -> EntryView:
    return EntryView(
        id=revision.entry_id,
        section=revision.section,
        revision=revision.revision,
        status=revision.status,
        hidden=revision.hidden,
        content=content,
        author=author,
        created_at=revision.created_at,
        revision_id=revision.id,
        written_with_person=bool(revision.written_with_person),
        dispute=dispute,
    )


def _revisions(person_id: str, section: str) -> list[Revision]:
    return _revisions_of({(person_id, section)}).get((person_id, section), [])


def _revisions_of(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], list[Revision]]:
    """Every revision of each (person, section) asked for, oldest first, in one query."""
    if not pairs:
        return {}
    people = sorted({p for p, _ in pairs})
    sections = sorted({s for _, s in pairs})
    found: dict[tuple[str, str], list[Revision]] = {pair: [] for pair in pairs}
    for revision in db.session.execute(
        _REVISIONS, {"people": people, "sections": sections}
    ).scalars():
        key = (revision.person_id, revision.section)
        if key in found:
            found[key].append(revision)
    return found


# Built once: every read of content runs it.
_REVISIONS = (
    select(Revision)
    .where(
        Revision.person_id.in_(bindparam("people", expanding=True)),
        Revision.section.in_(bindparam("sections", expanding=True)),
    )
    .order_by(Revision.created_at, Revision.entry_id, Revision.revision)
)


def _latest_per_entry(revisions: Iterable[Revision]) -> dict[str, Revision]:
    latest: dict[str, Revision] = {}
    for revision in revisions:
        if (
            revision.entry_id not in latest
            or revision.revision > latest[revision.entry_id].revision
        ):
            latest[revision.entry_id] = revision
    return latest


def _sees_hidden(decision: Decision) -> bool:
    # Hidden entries are hidden from every agency, contributors included: only the person sees
    # them — and the pack answering their subject access request, which is the whole record.
    return decision.basis_kind in (BasisKind.SELF, BasisKind.SUBJECT_ACCESS)


class Reader:
    """Reads what a set of decisions allows: every allowed section of every person they are
    for (and each person's profile, for their identity) in one query, each worker named as an
    author in one more. Built per request from the decisions just made; nothing kept beyond.

    Each reader method still refuses anything but an allowing decision, so content is only
    reached through the decision point."""

    def __init__(self, decisions: Iterable[Decision], *, sections: bool = True) -> None:
        allowed = [d for d in decisions if isinstance(d, Decision) and d.allowed]
        pairs = {(d.person_id, Section.PROFILE.value) for d in allowed}
        if sections:
            pairs |= {(d.person_id, d.section.value) for d in allowed if not d.identity_only}
        self._revisions = _revisions_of(pairs)
        self._staff: dict[str, Staff] = {}
        # Each entry's latest dispute, for the people whose sections are read (issue 16).
        self._disputes: dict[str, tuple[Dispute, DisputeAnswer | None]] = {}
        self._disputes_of: set[str] = set()
        readers: set[str] = set()
        if sections:
            readers = self._load_disputes({d.person_id for d in allowed})
            readers |= {d.actor_id for d in allowed if d.basis_kind is BasisKind.CONTRIBUTOR}
        self._load_authors(self._revisions.values(), readers)

    def _load_disputes(self, people: set[str]) -> set[str]:
        """Load the disputes of these people; returns who answered them (to name)."""
        people -= self._disputes_of
        if not people:
            return set()
        rows = rows_of(people)
        self._disputes_of |= people
        self._disputes.update(latest_per_entry(rows))
        return answerer_ids(rows)

    def _load_authors(self, lists: Iterable[list[Revision]], more: Iterable[str] = ()) -> None:
        ids = {
            r.author_id
            for revisions in lists
            for r in revisions
            if r.author_kind == "staff" and r.author_id not in self._staff
        } | {i for i in more if i not in self._staff}
        if ids:
            rows = db.session.execute(select(Staff).where(Staff.id.in_(sorted(ids)))).scalars()
            self._staff.update({member.id: member for member in rows})

    def _of(self, person_id: str, section: str) -> list[Revision]:
        key = (person_id, section)
        if key not in self._revisions:  # a decision this reader was not built from
            more = _revisions_of({key})
            self._load_authors(more.values(), self._load_disputes({person_id}))
            self._revisions.update(more)
        return self._revisions[key]

    def _shown(self, decision: Decision, entry_id: str) -> tuple[bool, DisputeView | None]:
        """Whether this reader sees the entry under its disputes (see `disputed`), and the
        dispute to show beside it."""
        if decision.person_id not in self._disputes_of:
            self._load_authors((), self._load_disputes({decision.person_id}))
        found = self._disputes.get(entry_id)
        if found is None:
            return True, None
        if is_restricted(found):
            if decision.basis_kind is BasisKind.CONTRIBUTOR:
                self._load_authors((), {decision.actor_id})
            member = self._staff.get(decision.actor_id)
            if not sees_restricted(decision, found[0], member.agency_id if member else None):
                return False, None
        return True, view_of_dispute(found[0], found[1], self._staff)

    def section(self, decision: Decision, person_name: str | None = None) -> list[EntryView]:
        """The current revision of every entry in the section that is neither retired nor
        hidden from this reader, oldest first."""
        _require(decision)
        latest = _latest_per_entry(self._of(decision.person_id, decision.section.value))
        views = []
        for revision in latest.values():
            if revision.status == "retired":
                continue
            if revision.hidden and not _sees_hidden(decision):
                continue
            shown, dispute = self._shown(decision, revision.entry_id)
            if not shown:
                continue
            author = _author(revision, person_name, self._staff)
            views.append(view_of(revision, _open(revision), author, dispute))
        return sorted(views, key=lambda v: (v.created_at, v.id))

    def history(
        self, decision: Decision, since: datetime | None = None, person_name: str | None = None
    ) -> list[EntryView]:
        """Every revision in the section (newest first), leaving out entries hidden from this
        reader."""
        _require(decision)
        revisions = self._of(decision.person_id, decision.section.value)
        latest = _latest_per_entry(revisions)
        hidden_entries = {
            entry_id
            for entry_id, rev in latest.items()
            if rev.hidden and not _sees_hidden(decision)
        }
        disputes = {entry_id: self._shown(decision, entry_id) for entry_id in latest}
        hidden_entries |= {entry_id for entry_id, (shown, _) in disputes.items() if not shown}
        views = [
            view_of(
                rev,
                _open(rev),
                _author(rev, person_name, self._staff),
                disputes[rev.entry_id][1],
            )
            for rev in revisions
            if rev.entry_id not in hidden_entries and (since is None or rev.created_at >= since)
        ]
        return sorted(views, key=lambda v: (v.created_at, v.revision), reverse=True)

    def identity(self, decisions: Iterable[Decision]) -> dict[str, Any]:
        """Preferred name and date of birth — shown to anyone with at least one allowed
        section, so staff know they have the right person.

        The legal name is profile content: it stands in for a missing preferred name only for
        a reader allowed the profile section. Anyone else gets `preferred_name: null` then."""
        allowed = [d for d in decisions if isinstance(d, Decision) and d.allowed]
        if not allowed:
            raise NotAllowed("identity needs at least one allowing decision")
        person_id = allowed[0].person_id
        if any(d.person_id != person_id for d in allowed):
            raise NotAllowed("decisions are for more than one person")
        latest = _latest_per_entry(self._of(person_id, Section.PROFILE.value))
        current = [r for r in latest.values() if r.status != "retired"]
        profile = _open(current[-1]) if current else {}
        reads_profile = any(d.section is Section.PROFILE and not d.identity_only for d in allowed)
        legal_name = profile.get("name") if reads_profile else None
        return {
            "id": person_id,
            "preferred_name": profile.get("preferred_name") or legal_name,
            "date_of_birth": profile.get("date_of_birth"),
        }


def read_section(decision: Decision, person_name: str | None = None) -> list[EntryView]:
    """One section (see `Reader.section`)."""
    return Reader([decision]).section(decision, person_name)


def read_history(
    decision: Decision, since: datetime | None = None, person_name: str | None = None
) -> list[EntryView]:
    """One section's history (see `Reader.history`)."""
    return Reader([decision]).history(decision, since, person_name)


def read_entry(decision: Decision, entry_id: str) -> tuple[Revision, dict[str, Any]] | None:
    """The latest revision of one entry and its content, for a writer about to revise it."""
    _require(decision)
    latest = db.session.execute(
        select(Revision)
        .where(Revision.entry_id == entry_id, Revision.person_id == decision.person_id)
        .order_by(Revision.revision.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None or latest.section != decision.section.value:
        return None
    if decision.basis_kind is not BasisKind.SELF and not _sees_restricted_entry(decision, entry_id):
        return None
    return latest, _open(latest)


def _sees_restricted_entry(decision: Decision, entry_id: str) -> bool:
    """A writer from outside the author's agency cannot reach a restricted entry to change
    it either (its content would come back in the answer)."""
    found = latest_per_entry(rows_of({decision.person_id}, entry_id)).get(entry_id)
    if not is_restricted(found):
        return True
    assert found is not None
    member = db.session.get(Staff, decision.actor_id)
    return sees_restricted(decision, found[0], member.agency_id if member else None)


def person_identity(decisions: Iterable[Decision]) -> dict[str, Any]:
    """The person's identity as these decisions let it be shown (see `Reader.identity`)."""
    chosen = list(decisions)
    return Reader(chosen, sections=False).identity(chosen)
