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

from sqlalchemy import select

from .. import db
from ..consent.decision import Decision
from ..crypto import data_keys
from ..identity.models import Staff
from ..vocabulary import BasisKind, Section
from .models import Revision


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


class _Authors:
    """Resolves author names once per read."""

    def __init__(self, person_name: str | None) -> None:
        self._person_name = person_name or "The passport holder"
        self._staff: dict[str, Staff | None] = {}

    def __call__(self, revision: Revision) -> dict[str, Any]:
        if revision.author_kind == "person":
            return {"id": revision.author_id, "name": self._person_name, "agency_id": None}
        if revision.author_id not in self._staff:
            self._staff[revision.author_id] = db.session.get(Staff, revision.author_id)
        staff = self._staff[revision.author_id]
        return {
            "id": revision.author_id,
            "name": staff.name if staff else "Unknown worker",
            "agency_id": revision.author_agency_id,
        }


def view_of(revision: Revision, content: dict[str, Any], author: dict[str, Any]) -> EntryView:
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
    )


def _revisions(person_id: str, section: str) -> list[Revision]:
    return list(
        db.session.execute(
            select(Revision)
            .where(Revision.person_id == person_id, Revision.section == section)
            .order_by(Revision.created_at, Revision.entry_id, Revision.revision)
        ).scalars()
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
    # Hidden entries are hidden from every agency, contributors included: only the person sees them.
    return decision.basis_kind is BasisKind.SELF


def read_section(decision: Decision, person_name: str | None = None) -> list[EntryView]:
    """The current revision of every entry in the section that is neither retired nor hidden
    from this reader, oldest first."""
    _require(decision)
    authors = _Authors(person_name)
    latest = _latest_per_entry(_revisions(decision.person_id, decision.section.value))
    views = []
    for revision in latest.values():
        if revision.status == "retired":
            continue
        if revision.hidden and not _sees_hidden(decision):
            continue
        views.append(view_of(revision, _open(revision), authors(revision)))
    return sorted(views, key=lambda v: (v.created_at, v.id))


def read_history(
    decision: Decision, since: datetime | None = None, person_name: str | None = None
) -> list[EntryView]:
    """Every revision in the section (newest first), leaving out entries hidden from this reader."""
    _require(decision)
    authors = _Authors(person_name)
    revisions = _revisions(decision.person_id, decision.section.value)
    latest = _latest_per_entry(revisions)
    hidden_entries = {
        entry_id for entry_id, rev in latest.items() if rev.hidden and not _sees_hidden(decision)
    }
    views = [
        view_of(rev, _open(rev), authors(rev))
        for rev in revisions
        if rev.entry_id not in hidden_entries and (since is None or rev.created_at >= since)
    ]
    return sorted(views, key=lambda v: (v.created_at, v.revision), reverse=True)


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
    return latest, _open(latest)


def person_identity(decisions: Iterable[Decision]) -> dict[str, Any]:
    """Preferred name and date of birth — shown to anyone with at least one allowed section,
    so staff know they have the right person.

    The legal name is profile content: it stands in for a missing preferred name only for a
    reader allowed the profile section. Anyone else gets `preferred_name: null` then."""
    allowed = [d for d in decisions if isinstance(d, Decision) and d.allowed]
    if not allowed:
        raise NotAllowed("identity needs at least one allowing decision")
    person_id = allowed[0].person_id
    if any(d.person_id != person_id for d in allowed):
        raise NotAllowed("decisions are for more than one person")
    latest = _latest_per_entry(_revisions(person_id, Section.PROFILE.value))
    current = [r for r in latest.values() if r.status != "retired"]
    profile = _open(current[-1]) if current else {}
    reads_profile = any(d.section is Section.PROFILE and not d.identity_only for d in allowed)
    legal_name = profile.get("name") if reads_profile else None
    return {
        "id": person_id,
        "preferred_name": profile.get("preferred_name") or legal_name,
        "date_of_birth": profile.get("date_of_birth"),
    }
