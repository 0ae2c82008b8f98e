"""The subject access pack: everything held about a person, for the DPO answering their request
and for the person — the whole record with every revision (hidden and retired ones too), every
event about them in the access log (refusals too), every grant with its receipts, emergency
accesses with their reviews, the workers they chose, representatives, and how it is all
processed.

The one place a DPO reads content: it is decided at the decision point
(`consent.decision.decide_subject_access`, basis `subject_access`), logged as
`record.subject_access` before anything is read, and the person is told.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from .. import db
from ..audit.events import format_time
from ..audit.integrator import integrate_pending
from ..audit.models import AuditEvent
from ..consent import log_decisions
from ..consent.decision import (
    Decision,
    decide_subject_access,
    grant_status,
    representation_status,
)
from ..consent.grants import grantee_of
from ..consent.models import Contributor, EmergencyAccess, EmergencyReview, Grant
from ..crypto import data_keys
from ..errors import Forbidden, NotFound
from ..identity.actor import Actor
from ..identity.models import Agency, Staff
from ..records.content import EntryView, Reader
from ..representatives.operations import representations_of
from ..vocabulary import Action, Reason, Section
from .operations import refusal_message, subject_access_item
from .telling import Told, tell_person

PACK_VERSION = 1


def representatives_for_pack(person_id: str) -> list[dict[str, Any]]:
    """Everyone appointed to act for the person, past ones too: who, with what access, on
    what legal basis (if any) and where it stands (the evidence stays out: it is the
    recording worker's document, not the person's data to be read back here)."""
    return [
        {
            "id": row.id,
            "name": row.account.name,
            "access": row.access,
            "legal_basis": row.legal_basis,
            "status": representation_status(row),
            "appointed_at": format_time(row.created_at),
            "review": None
            if row.review is None
            else {"outcome": row.review.outcome, "at": format_time(row.review.reviewed_at)},
            "ended_at": None if row.ending is None else format_time(row.ending.ended_at),
        }
        for row in representations_of(person_id)
    ]


def build_pack(
    actor: Actor, request_id: str, fmt: str, processing: dict[str, Any], today: date | None = None
) -> dict[str, Any]:
    """The pack as data (JSON-ready), for `fmt` "json" or "pdf". Refused (403) to anyone but
    the person and the DPO who recorded the request; every attempt is logged."""
    integrate_pending()  # the agency rule, and the events in the pack, read the chained log
    decisions = decide_subject_access(actor, request_id)
    first = decisions[0]
    if first.reason in (Reason.NOT_FOUND, Reason.ERASED):
        raise NotFound("there is no such subject access request")
    person_id = first.person_id
    log_decisions(
        actor,
        Action.SUBJECT_ACCESS,
        person_id,
        decisions,
        None,
        {"subject_access_id": request_id, "format": fmt},
    )
    if not first.allowed:
        raise Forbidden(refusal_message(first.reason))
    integrate_pending()  # so the pack holds its own disclosure too
    tell_person(person_id, Told.SUBJECT_ACCESS_MADE, request_id)
    item = subject_access_item(request_id)
    assert item is not None
    reader = Reader(decisions)
    identity = reader.identity(decisions)
    name = identity["preferred_name"]
    sections = {d.section.value: _revisions(reader, d, name) for d in decisions}
    return {
        "pack_version": PACK_VERSION,
        "made_at": format_time(db.utcnow()),
        "made_by": {"kind": actor.kind.value, "id": actor.id, "name": actor.name},
        "request": {
            "id": item.id,
            "received_on": item.received_on.isoformat(),
            "due_on": item.due_on.isoformat(),
            "reason": item.reason,
            "recorded_by": item.dpo_name,
            "recorded_at": format_time(item.created_at),
        },
        "person": identity,
        "sections": sections,
        "grants": _grants(person_id, today or db.utcnow().date()),
        "contributors": _contributors(person_id),
        "emergency_accesses": _emergency(person_id),
        "representatives": representatives_for_pack(person_id),
        "access_log": _access_log(person_id),
        "processing": processing,
    }


def _revisions(reader: Reader, decision: Decision, name: str | None) -> list[dict[str, Any]]:
    """Every revision of every entry in the section, oldest first."""
    views = reader.history(decision, None, name)
    return [_revision(v) for v in reversed(views)]


def _revision(view: EntryView) -> dict[str, Any]:
    return {
        "entry_id": view.id,
        "revision": view.revision,
        "status": view.status,
        "hidden": view.hidden,
        "written_at": format_time(view.created_at),
        "author": view.author.get("name"),
        "written_with_person": view.written_with_person,
        "content": view.content,
    }


class _Names:
    """Staff and agency names by id, each read once."""

    def __init__(self) -> None:
        self.staff: dict[str, str | None] = {}
        self.agencies: dict[str, str | None] = {}

    def load(self, staff_ids: set[str], agency_ids: set[str]) -> None:
        staff_ids -= set(self.staff)
        agency_ids -= set(self.agencies)
        if staff_ids:
            rows = db.session.execute(
                select(Staff.id, Staff.name).where(Staff.id.in_(sorted(staff_ids)))
            ).all()
            self.staff.update({sid: name for sid, name in rows})
        if agency_ids:
            rows = db.session.execute(
                select(Agency.id, Agency.name).where(Agency.id.in_(sorted(agency_ids)))
            ).all()
            self.agencies.update({aid: name for aid, name in rows})

    def person_or_staff(self, kind: str, ident: str | None) -> str | None:
        if kind == "staff" and ident is not None:
            self.load({ident}, set())
            return self.staff.get(ident)
        return None

    def agency(self, ident: str | None) -> str | None:
        if ident is None:
            return None
        self.load(set(), {ident})
        return self.agencies.get(ident)


def _open(person_id: str, table: str, field: str, row_id: str, token: bytes | None) -> Any:
    if token is None:
        return None
    return data_keys.open_json(person_id, table, field, row_id, token)


def _grants(person_id: str, today: date) -> list[dict[str, Any]]:
    rows = list(
        db.session.execute(
            select(Grant).where(Grant.person_id == person_id).order_by(Grant.created_at, Grant.id)
        )
        .unique()
        .scalars()
    )
    out = []
    for grant in rows:
        revocation = grant.revocation
        out.append(
            {
                "id": grant.id,
                "grantee": {
                    "type": grant.grantee_type,
                    "id": grant.grantee_id,
                    "name": grantee_of(grant).name,
                },
                "sections": list(grant.sections),
                "purpose": grant.purpose,
                "starts_on": grant.starts_on.isoformat(),
                "expires_on": grant.expires_on.isoformat(),
                "obtained": grant.obtained_method,
                "notes": _open(
                    person_id, "consent_grants", "obtained_notes", grant.id, grant.obtained_notes
                ),
                "recorded_by": {"kind": grant.recorded_by_kind, "id": grant.recorded_by_id},
                "confirmed_at": _when(grant.confirmed_at),
                "status": grant_status(grant, today),
                "receipt": grant.receipt,
                "revocation": None
                if revocation is None
                else {
                    "revoked_at": format_time(revocation.revoked_at),
                    "revoked_by": {
                        "kind": revocation.revoked_by_kind,
                        "id": revocation.revoked_by_id,
                    },
                    "reason": _open(
                        person_id,
                        "consent_revocations",
                        "reason",
                        revocation.id,
                        revocation.reason,
                    ),
                    "receipt": revocation.receipt,
                },
            }
        )
    return out


def _when(moment: datetime | None) -> str | None:
    return format_time(moment) if moment is not None else None


def _contributors(person_id: str) -> list[dict[str, Any]]:
    rows = list(
        db.session.execute(
            select(Contributor)
            .where(Contributor.person_id == person_id)
            .order_by(Contributor.added_at, Contributor.id)
        ).scalars()
    )
    names = _Names()
    names.load({c.staff_id for c in rows}, set())
    return [
        {
            "staff_id": c.staff_id,
            "name": names.staff.get(c.staff_id),
            "sections": list(c.sections),
            "added_at": format_time(c.added_at),
            "removed_at": _when(c.removed_at),
        }
        for c in rows
    ]


def _emergency(person_id: str) -> list[dict[str, Any]]:
    rows = list(
        db.session.execute(
            select(EmergencyAccess)
            .where(EmergencyAccess.person_id == person_id)
            .order_by(EmergencyAccess.opened_at, EmergencyAccess.id)
        ).scalars()
    )
    ids = [a.id for a in rows]
    reviews = (
        {
            r.emergency_access_id: r
            for r in db.session.execute(
                select(EmergencyReview).where(EmergencyReview.emergency_access_id.in_(ids))
            ).scalars()
        }
        if ids
        else {}
    )
    names = _Names()
    names.load(
        {a.staff_id for a in rows} | {r.reviewer_id for r in reviews.values()},
        {a.agency_id for a in rows},
    )
    out = []
    for access in rows:
        review = reviews.get(access.id)
        out.append(
            {
                "id": access.id,
                "worker": names.staff.get(access.staff_id),
                "agency": names.agencies.get(access.agency_id),
                "opened_at": format_time(access.opened_at),
                "expires_at": format_time(access.expires_at),
                "reason": _open(
                    person_id, "emergency_accesses", "reason", access.id, access.reason
                ),
                "review": None
                if review is None
                else {
                    "outcome": review.outcome,
                    "reviewer": names.staff.get(review.reviewer_id),
                    "reviewed_at": format_time(review.reviewed_at),
                    "notes": _open(
                        person_id, "emergency_reviews", "notes", review.id, review.notes
                    ),
                },
            }
        )
    return out


def _access_log(person_id: str) -> list[dict[str, Any]]:
    """Every event about the person in the access log, oldest first: identifiers, and the
    names of the staff and services who acted."""
    events = list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.person_id == person_id).order_by(AuditEvent.seq)
        ).scalars()
    )
    names = _Names()
    names.load(
        {str(e.actor.get("id")) for e in events if e.actor.get("kind") == "staff"},
        {str(e.actor_agency_id) for e in events if e.actor_agency_id},
    )
    out = []
    for event in events:
        kind = str(event.actor.get("kind"))
        actor_id = event.actor.get("id")
        out.append(
            {
                "seq": event.seq,
                "at": event.occurred_at,
                "action": event.action,
                "outcome": event.outcome,
                "actor": {
                    "kind": kind,
                    "id": actor_id,
                    "name": names.staff.get(str(actor_id)) if kind == "staff" else None,
                    "agency": names.agencies.get(str(event.actor_agency_id))
                    if event.actor_agency_id
                    else None,
                    "roles": list(event.actor.get("roles") or []),
                },
                "sections": list(event.sections),
                "purpose": event.purpose,
                "basis": (event.basis or {}).get("kind"),
                "reason": event.reason,
            }
        )
    return out


SECTION_ORDER = [
    Section.PROFILE.value,
    Section.STORY.value,
    Section.PREFERENCES.value,
    Section.MEDICATION.value,
    Section.RISK.value,
    Section.WORKERS.value,
]
