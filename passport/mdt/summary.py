"""The shared summary of a meeting: for each person on the agenda, exactly what their `mdt`
grant to this forum allows — decided at the moment the summary is pulled, so a person who
withdraws drops out at once. One `mdt.summary` event per person per pull.

The whole agenda is decided in one pass and read in one query (`decide_people`, `Reader`), so
the summary's queries do not grow with the people on it."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy import select

from .. import audit, db
from ..consent.decision import Decision, decide_people
from ..identity.actor import Actor
from ..records import layout
from ..records.content import EntryView, Reader
from ..vocabulary import ALL_SECTIONS, Action, Outcome, Purpose, Section
from .models import AgendaItem, Forum, Meeting
from .operations import ActionView, get_meeting, open_actions_of, require_member


def _previous_meeting(meeting: Meeting) -> Meeting | None:
    return db.session.execute(
        select(Meeting)
        .where(Meeting.forum_id == meeting.forum_id, Meeting.held_on < meeting.held_on)
        .order_by(Meeting.held_on.desc())
        .limit(1)
    ).scalar_one_or_none()


def _event(
    actor: Actor, person_id: str, decisions: list[Decision], meeting: Meeting, fmt: str
) -> audit.Event:
    allowed = [d for d in decisions if d.allowed]
    withheld = sorted(d.section.value for d in decisions if not d.allowed)
    if allowed:
        grant_ids = sorted({str(d.basis_id) for d in allowed})
        return audit.Event(
            actor=actor.as_event(),
            action=Action.MDT_SUMMARY,
            outcome=Outcome.ALLOWED,
            person_id=person_id,
            sections=[d.section for d in allowed],
            purpose="mdt",
            basis={"kind": "grant", "id": grant_ids[0]},
            detail={"meeting_id": meeting.id, "withheld": withheld, "format": fmt},
        )
    reasons = sorted({d.reason.value for d in decisions if d.reason})
    return audit.Event(
        actor=actor.as_event(),
        action=Action.MDT_SUMMARY,
        outcome=Outcome.DENIED,
        person_id=person_id,
        purpose="mdt",
        reason=reasons[0] if reasons else "no-grant",
        detail={"meeting_id": meeting.id, "format": fmt},
    )


def build_summary(actor: Actor, meeting_id: str, fmt: str = "json") -> dict[str, Any]:
    meeting = get_meeting(meeting_id)
    require_member(actor, meeting.forum_id)
    forum = db.session.get(Forum, meeting.forum_id)
    assert forum is not None
    previous = _previous_meeting(meeting)
    since = (
        datetime.combine(previous.held_on, time.min, tzinfo=UTC) if previous is not None else None
    )
    today = db.utcnow().date().isoformat()
    agenda = list(
        db.session.execute(
            select(AgendaItem.person_id)
            .where(AgendaItem.meeting_id == meeting.id)
            .order_by(AgendaItem.added_at)
        ).scalars()
    )
    decided = decide_people(
        actor, dict.fromkeys(agenda, Purpose.MDT), ALL_SECTIONS, forum_id=meeting.forum_id
    )
    # Logged before anything is read.
    audit.record_many(_event(actor, pid, decided[pid], meeting, fmt) for pid in decided)
    shown = [pid for pid in decided if any(d.allowed for d in decided[pid])]
    reader = Reader([d for pid in shown for d in decided[pid]])
    actions_of = open_actions_of(meeting.forum_id, shown)

    people: list[dict[str, Any]] = []
    dropped_out = len(decided) - len(shown)  # withdrawn or expired: nothing shown, not a name
    for person_id in shown:
        decisions = decided[person_id]
        allowed = {d.section: d for d in decisions if d.allowed}
        identity = reader.identity(decisions)
        name = identity["preferred_name"]
        sections = {s.value: reader.section(d, name) for s, d in allowed.items()}
        workers = layout.current(sections.get(Section.WORKERS.value, []), "until", today)
        changed: list[EntryView] = []
        for decision in allowed.values():
            changed.extend(reader.history(decision, since, name))
        changed.sort(key=lambda v: (v.created_at, v.revision), reverse=True)
        actions: list[ActionView] = actions_of[person_id]
        people.append(
            {
                "person": identity,
                "alerts": layout.alerts(sections.get(Section.RISK.value, [])),
                "lead_worker": layout.lead_worker(workers),
                "workers": workers,
                "medication": layout.current(
                    sections.get(Section.MEDICATION.value, []), "stopped_on", today
                ),
                "changed_since_last_meeting": changed,
                "preferences": sections.get(Section.PREFERENCES.value, []),
                "actions": actions,
                "sections": sections,
                "withheld": sorted(d.section.value for d in decisions if not d.allowed),
                # For the screen and print: what the person says is wrong (issue 16).
                "disputed": layout.disputed([v for vs in sections.values() for v in vs]),
            }
        )
    return {
        "meeting": {
            "id": meeting.id,
            "forum": {"id": forum.id, "name": forum.name},
            "held_on": meeting.held_on,
            "title": meeting.title,
            "previous_held_on": previous.held_on if previous else None,
        },
        "people": people,
        "dropped_out": dropped_out,
    }
