"""The daily job (`passport notify daily`, from cron or a timer, any time of day): tells
people whose sharing ends in 14 days or has ended, staff whose MDT actions are overdue, and,
once a week (ISO week), staff whose caseload has sharing ending within 14 days.

Idempotent: every message carries a key naming its event (one per grant per kind, one per
action, one per worker per week), so running it twice, or on two machines, tells nobody
twice. It commits nothing itself: the command is the unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from .. import db
from ..consent.decision import GrantStatus, active_until, grant_status
from ..consent.models import Grant
from ..identity.models import Person, Staff
from ..mdt.models import Action, ForumMember
from ..vocabulary import NotificationKind, Role
from .outbox import tell_person, tell_staff

EXPIRING_DAYS = 14
# A grant that ended longer ago than this (before the job first ran) is not told about.
ENDED_LOOKBACK_DAYS = 7


@dataclass
class Told:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: NotificationKind, told: object) -> None:
        if told is not None:
            self.counts[kind.value] = self.counts.get(kind.value, 0) + 1


def run_daily(today: date | None = None) -> Told:
    today = today or db.utcnow().date()
    told = Told()
    horizon = today + timedelta(days=EXPIRING_DAYS)
    grants = (
        db.session.execute(
            select(Grant)
            .join(Person, Person.id == Grant.person_id)
            .where(
                Person.erased_at.is_(None),
                Grant.starts_on <= horizon,
                Grant.expires_on >= today - timedelta(days=ENDED_LOOKBACK_DAYS + 31),
            )
        )
        .unique()
        .scalars()
    )
    caseload_ending: dict[tuple[str, str], set[str]] = {}  # (grantee type, id) -> people
    for grant in grants:
        state = grant_status(grant, today)
        last_day = active_until(grant)
        detail = {
            "grant_id": grant.id,
            "grantee": {"type": grant.grantee_type, "id": grant.grantee_id},
        }
        if state == GrantStatus.ACTIVE and last_day <= horizon:
            told.add(
                NotificationKind.CONSENT_EXPIRING,
                tell_person(
                    grant.person_id,
                    NotificationKind.CONSENT_EXPIRING,
                    detail,
                    once=f"consent_expiring:{grant.id}",
                ),
            )
        if state == GrantStatus.ACTIVE and last_day <= horizon:
            caseload_ending.setdefault((grant.grantee_type, grant.grantee_id), set()).add(
                grant.person_id
            )
        if state == GrantStatus.EXPIRED and today - last_day <= timedelta(days=ENDED_LOOKBACK_DAYS):
            told.add(
                NotificationKind.CONSENT_ENDED,
                tell_person(
                    grant.person_id,
                    NotificationKind.CONSENT_ENDED,
                    detail,
                    once=f"consent_ended:{grant.id}",
                ),
            )
    _weekly_digest(today, caseload_ending, told)
    _overdue_actions(today, told)
    return told


def _weekly_digest(today: date, ending: dict[tuple[str, str], set[str]], told: Told) -> None:
    """One message a week per worker with sharing ending on their caseload: grants to them,
    to their agency (its caseworkers) or to an MDT they sit on."""
    if not ending:
        return
    year, week, _ = today.isocalendar()
    people: dict[str, set[str]] = {}
    staff = list(db.session.execute(select(Staff).where(Staff.disabled_at.is_(None))).scalars())
    members: dict[str, set[str]] = {}
    for member in db.session.execute(select(ForumMember)).scalars():
        members.setdefault(member.forum_id, set()).add(member.staff_id)
    for (grantee_type, grantee_id), person_ids in ending.items():
        if grantee_type == "staff":
            reached = {grantee_id}
        elif grantee_type == "agency":
            reached = {
                s.id for s in staff if s.agency_id == grantee_id and Role.CASEWORKER in s.roles
            }
        else:
            reached = members.get(grantee_id, set())
        for staff_id in reached:
            people.setdefault(staff_id, set()).update(person_ids)
    live = {s.id for s in staff}
    for staff_id, person_ids in sorted(people.items()):
        if staff_id not in live:
            continue
        told.add(
            NotificationKind.CASELOAD_EXPIRING,
            tell_staff(
                staff_id,
                NotificationKind.CASELOAD_EXPIRING,
                detail={"people": len(person_ids)},
                once=f"caseload_expiring:{staff_id}:{year}-W{week:02d}",
            ),
        )


def _overdue_actions(today: date, told: Told) -> None:
    for action in db.session.execute(
        select(Action).where(Action.status == "open", Action.due_on < today)
    ).scalars():
        told.add(
            NotificationKind.ACTION_OVERDUE,
            tell_staff(
                action.owner_staff_id,
                NotificationKind.ACTION_OVERDUE,
                person_id=action.person_id,
                detail={"action_id": action.id, "meeting_id": action.meeting_id},
                once=f"action_overdue:{action.id}",
            ),
        )
