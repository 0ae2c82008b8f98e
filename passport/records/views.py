"""Reading a passport: the whole view, the history, the pre-visit brief.

Each asks the decision point for every section, logs every decision (allowed and refused) in
the same transaction, and only then reads content — through `content`, which needs the
decisions. No allowed section at all is a `ConsentRequired` refusal, logged like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..consent import Decision, decide, log_decisions
from ..errors import ConsentRequired, Invalid
from ..identity.actor import Actor
from ..vocabulary import ALL_SECTIONS, Action, Purpose, Section
from .content import EntryView, person_identity, read_history, read_section
from .operations import get_person


@dataclass(frozen=True)
class PassportView:
    person: dict[str, Any]
    purpose: str | None
    sections: dict[str, list[EntryView]]
    withheld: list[str]
    decisions: list[Decision]


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
            f"unknown purpose {value!r}",
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
    get_person(person_id)
    decisions = [decide(actor, person_id, section, purpose) for section in sections]
    log_decisions(actor, action, person_id, decisions, purpose.value if purpose else None, detail)
    if not any(d.allowed for d in decisions):
        raise ConsentRequired(_refusal_message(decisions))
    return decisions


def _refusal_message(decisions: list[Decision]) -> str:
    reasons = sorted({d.reason.value for d in decisions if d.reason})
    plain = {
        "no-grant": "the person has not agreed to share this with you",
        "grant-expired": "the person's agreement has ended",
        "grant-revoked": "the person has withdrawn their agreement",
        "grant-pending": "the person's agreement has not started yet",
        "wrong-purpose": "the person agreed to share for a different purpose",
        "emergency-expired": "your emergency access has ended",
        "role": "your role does not read passport content",
    }
    return "No consent: " + "; ".join(plain.get(r, r) for r in reasons) + "."


def passport(actor: Actor, person_id: str, purpose_value: str | None) -> PassportView:
    purpose = parse_purpose(actor, purpose_value)
    decisions = decide_all(actor, person_id, purpose, Action.RECORD_VIEW)
    identity = person_identity(decisions)
    name = identity["preferred_name"]
    sections = {d.section.value: read_section(d, name) for d in decisions if d.allowed}
    withheld = [d.section.value for d in decisions if not d.allowed]
    return PassportView(identity, purpose_value or None, sections, withheld, decisions)


def history(
    actor: Actor, person_id: str, purpose_value: str | None, since: datetime | None
) -> tuple[list[EntryView], list[str]]:
    purpose = parse_purpose(actor, purpose_value)
    decisions = decide_all(actor, person_id, purpose, Action.RECORD_HISTORY)
    name = person_identity(decisions)["preferred_name"]
    items: list[EntryView] = []
    for decision in decisions:
        if decision.allowed:
            items.extend(read_history(decision, since, name))
    items.sort(key=lambda v: (v.created_at, v.revision), reverse=True)
    return items, [d.section.value for d in decisions if not d.allowed]
