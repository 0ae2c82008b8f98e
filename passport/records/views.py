"""Reading a passport: the whole view, the history, the pre-visit brief.

Each asks the decision point for every section in one pass, logs every decision (allowed and
refused) in the same transaction, and only then reads content — through `content.Reader`, which
needs the decisions and reads every allowed section in one query. No allowed section at all is a `ConsentRequired` refusal, logged like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date as date_type
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select

from .. import db
from ..audit.models import AuditEvent
from ..consent import Decision, decide_people, decide_sections, log_decisions
from ..consent.grants import sharing_ends
from ..errors import ConsentRequired, Invalid
from ..identity.actor import Actor
from ..notifications import first_look
from ..vocabulary import ALL_SECTIONS, Action, Purpose, Section
from . import layout, refusals
from .content import EntryView, Reader
from .operations import require_person


@dataclass(frozen=True)
class PassportView:
    person: dict[str, Any]
    purpose: str | None
    sections: dict[str, list[EntryView]]
    withheld: list[str]
    decisions: list[Decision]


def _today() -> str:
    return db.utcnow().date().isoformat()


def parse_purpose(actor: Actor, value: str | None) -> Purpose | None:
    if value in (None, ""):
        if actor.is_staff:
            raise Invalid(
                "say why you are reading: purpose is direct_support, referral, mdt or emergency",
                {"purpose": ["Missing data for required field."]},
            )
        return None
    try:
        return Purpose(value)
    except ValueError:
        raise Invalid(
            "unknown purpose",
            {"purpose": ["Must be one of: direct_support, referral, mdt, emergency."]},
        ) from None


def decide_all(
    actor: Actor,
    person_id: str,
    purpose: Purpose | None,
    action: Action,
    sections: tuple[Section, ...] = ALL_SECTIONS,
    detail: dict[str, Any] | None = None,
) -> list[Decision]:
    """Decide every section and log the decisions; refuse if nothing at all is allowed."""
    require_person(person_id)
    decisions = decide_sections(actor, person_id, sections, purpose)
    log_decisions(actor, action, person_id, decisions, purpose.value if purpose else None, detail)
    if not any(d.allowed for d in decisions):
        raise _refusal_message(decisions)
    if actor.is_staff and actor.agency_id and purpose is not Purpose.EMERGENCY:
        first_look(person_id, actor.agency_id)  # told once per agency (emergency: its own)
    return decisions


def _refusal_message(decisions: list[Decision]) -> ConsentRequired:
    reasons = sorted({d.reason.value for d in decisions if d.reason})
    return ConsentRequired(refusals.no_consent(reasons), reasons=reasons)


def passport(actor: Actor, person_id: str, purpose_value: str | None) -> PassportView:
    purpose = parse_purpose(actor, purpose_value)
    decisions = decide_all(actor, person_id, purpose, Action.RECORD_VIEW)
    reader = Reader(decisions)
    identity = reader.identity(decisions)
    name = identity["preferred_name"]
    sections = {d.section.value: reader.section(d, name) for d in decisions if d.allowed}
    withheld = [d.section.value for d in decisions if not d.allowed]
    return PassportView(identity, purpose_value or None, sections, withheld, decisions)


def history(
    actor: Actor, person_id: str, purpose_value: str | None, since: datetime | None
) -> tuple[list[EntryView], list[str]]:
    purpose = parse_purpose(actor, purpose_value)
    decisions = decide_all(actor, person_id, purpose, Action.RECORD_HISTORY)
    reader = Reader(decisions)
    name = reader.identity(decisions)["preferred_name"]
    items: list[EntryView] = []
    for decision in decisions:
        if decision.allowed:
            items.extend(reader.history(decision, since, name))
    items.sort(key=lambda v: (v.created_at, v.revision), reverse=True)
    return items, [d.section.value for d in decisions if not d.allowed]


def _last_look(actor: Actor, person_id: str) -> datetime | None:
    """When this worker last read this person's record (before this request)."""
    occurred = db.session.execute(_LAST_LOOK, {"actor_id": actor.id, "person_id": person_id})
    found = occurred.scalar()
    return datetime.fromisoformat(found.replace("Z", "+00:00")) if found else None


# Built once: every brief runs it.
_LAST_LOOK = (
    select(AuditEvent.occurred_at)
    .where(
        AuditEvent.actor_id == bindparam("actor_id"),
        AuditEvent.person_id == bindparam("person_id"),
        AuditEvent.outcome == "allowed",
        AuditEvent.action.in_(
            [Action.RECORD_VIEW.value, Action.RECORD_BRIEF.value, Action.RECORD_HISTORY.value]
        ),
    )
    .order_by(AuditEvent.seq.desc())
    .limit(1)
)


CHANGES_SHOWN = 20


def brief(actor: Actor, person_id: str, purpose_value: str | None) -> dict[str, Any]:
    """The pre-visit brief: alerts first (high before low), the lead worker, who else is
    involved, current medication, what works, recent story, and what changed since this worker
    last looked — all from allowed sections only."""
    purpose = parse_purpose(actor, purpose_value)
    last_look = _last_look(actor, person_id) if actor.is_staff else None
    decisions = decide_all(actor, person_id, purpose, Action.RECORD_BRIEF)
    reader = Reader(decisions)
    identity = reader.identity(decisions)
    name = identity["preferred_name"]
    allowed = {d.section: d for d in decisions if d.allowed}
    today = _today()

    def entries(section: Section) -> list[EntryView]:
        return reader.section(allowed[section], name) if section in allowed else []

    workers = layout.current(entries(Section.WORKERS), "until", today)
    medication = layout.current(entries(Section.MEDICATION), "stopped_on", today)
    story = sorted(entries(Section.STORY), key=lambda v: v.created_at, reverse=True)[:3]
    changed: list[EntryView] = []
    for decision in allowed.values():
        changed.extend(reader.history(decision, last_look, name))
    changed.sort(key=lambda v: (v.created_at, v.revision), reverse=True)
    risk = sorted(entries(Section.RISK), key=lambda v: v.created_at, reverse=True)
    preferences = entries(Section.PREFERENCES)
    return {
        "person": identity,
        "purpose": purpose_value or None,
        "alerts": layout.alerts(risk),
        "risk_notes": layout.risk_notes(risk, today),
        "communication": layout.communication(entries(Section.PROFILE), preferences),
        "sharing_ends": sharing_ends(decisions),
        "lead_worker": layout.lead_worker(workers),
        "workers": workers,
        "medication": medication,
        "preferences": preferences,
        "recent_story": story,
        "changed_since_last_view": changed[:CHANGES_SHOWN],
        "last_viewed_at": last_look,
        "withheld": [d.section.value for d in decisions if not d.allowed],
        # For the pages: what the person says is wrong, beside the brief (issue 16).
        "disputed": layout.disputed(
            [*risk, *medication, *workers, *preferences, *story, *entries(Section.PROFILE)]
        ),
    }


def caseload(
    actor: Actor, name: str | None = None, date_of_birth: date_type | None = None
) -> list[dict[str, Any]]:
    """The worker's caseload with the identity shown to any grantee, optionally filtered by
    exact name (and date of birth) through the blind index."""
    from .. import audit
    from ..consent.caseload import caseload as covered
    from ..crypto import data_keys
    from ..vocabulary import Outcome

    name_index = data_keys.blind_index("name", name) if name and not date_of_birth else None
    name_dob_index = (
        data_keys.blind_index("name+dob", name, date_of_birth.isoformat())
        if name and date_of_birth
        else None
    )
    if date_of_birth and not name:
        raise Invalid(
            "search by name, or by name and date of birth",
            {"name": ["Needed with date_of_birth."]},
        )
    # Every person decided once, in one pass for the whole list; their identities in one read.
    decided = decide_people(actor, dict(covered(actor, name_index, name_dob_index)), ALL_SECTIONS)
    shown = [decisions for decisions in decided.values() if any(d.allowed for d in decisions)]
    reader = Reader([d for decisions in shown for d in decisions], sections=False)
    people = [reader.identity(decisions) for decisions in shown]
    audit.record(
        actor=actor.as_event(),
        action=Action.PERSON_LIST,
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"count": len(people), "search": bool(name)},
    )
    people.sort(key=lambda p: (p["preferred_name"] or "").casefold())
    return people
