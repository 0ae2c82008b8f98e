"""MDT forums, members, meetings, agenda and actions.

Admins set forums up but read nothing; chairs run meetings; members read the summary.
A person goes on an agenda only with a live `mdt` grant to that forum.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from .. import audit, db
from ..consent.decision import GrantStatus, grant_status
from ..consent.models import Grant
from ..crypto import data_keys
from ..errors import Conflict, ConsentRequired, Forbidden, Invalid, NotFound
from ..identity.accounts import name_key, tidy_name
from ..identity.actor import Actor
from ..identity.models import Agency, Person, Staff
from ..languages import N_
from ..notifications import tell_staff
from ..vocabulary import Action as LogAction
from ..vocabulary import NotificationKind, Outcome, Reason, Role
from .models import Action, AgendaItem, Forum, ForumMember, Meeting

ACTION_STATUSES = ("open", "done", "dropped")
MEMBER_ROLES = ("chair", "member")
FORUM_NAME_MAX = 100  # read in lists and menus, like agency names


# -- who is who ---------------------------------------------------------------------------


def _require_admin(actor: Actor) -> None:
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("only an administrator can set up MDTs")


def get_forum(forum_id: str) -> Forum:
    forum = db.session.get(Forum, forum_id)
    if forum is None:
        raise NotFound("there is no such MDT")
    return forum


def get_meeting(meeting_id: str) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("there is no such meeting")
    return meeting


def membership(actor: Actor, forum_id: str) -> ForumMember | None:
    if not actor.is_staff:
        return None
    return db.session.execute(
        select(ForumMember).where(
            ForumMember.forum_id == forum_id, ForumMember.staff_id == actor.id
        )
    ).scalar_one_or_none()


def require_member(actor: Actor, forum_id: str) -> ForumMember:
    member = membership(actor, forum_id)
    if member is None:
        raise Forbidden("only members of this MDT can see its meetings")
    return member


def require_chair(actor: Actor, forum_id: str) -> ForumMember:
    member = require_member(actor, forum_id)
    if member.role != "chair":
        raise Forbidden("only the chair of this MDT can do this")
    return member


# -- set-up (admin) -------------------------------------------------------------------------


def create_forum(actor: Actor, name: str, agency_ids: list[str]) -> Forum:
    """A new MDT forum: a name (at most FORUM_NAME_MAX characters, not another forum's name
    whatever the case or spacing) and at least one known agency."""
    _require_admin(actor)
    problems: dict[str, list[str]] = {}
    name = tidy_name(name)
    if not name:
        problems["name"] = ["Must not be empty."]
    elif len(name) > FORUM_NAME_MAX:
        problems["name"] = [f"Longer than maximum length {FORUM_NAME_MAX}."]
    unknown = [a for a in agency_ids if db.session.get(Agency, a) is None]
    if unknown or not agency_ids:
        problems["agency_ids"] = ["Unknown agency." if unknown else "Name at least one agency."]
    if problems:
        raise Invalid("the MDT needs a name and at least one known agency", problems)
    if any(name_key(n) == name_key(name) for n in db.session.execute(select(Forum.name)).scalars()):
        raise Conflict(f"there is already an MDT forum called {name!r}")
    forum = Forum(id=db.new_id(), name=name, agency_ids=sorted(set(agency_ids)))
    db.session.add(forum)
    audit.record(
        actor=actor.as_event(),
        action="admin.mdt_create",
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"forum_id": forum.id, "agencies": len(forum.agency_ids)},
    )
    db.session.flush()
    return forum


def add_member(actor: Actor, forum_id: str, staff_id: str, role: str) -> ForumMember:
    _require_admin(actor)
    forum = get_forum(forum_id)
    staff = db.session.get(Staff, staff_id)
    if staff is None:
        raise Invalid("there is no such staff member", {"staff_id": ["Unknown staff member."]})
    if staff.agency_id not in forum.agency_ids:
        raise Invalid(
            "this worker's agency is not part of this MDT",
            {"staff_id": ["Their agency is not a member agency."]},
        )
    if role not in MEMBER_ROLES:
        raise Invalid("role must be chair or member", {"role": ["Must be chair or member."]})
    if role == "chair" and Role.MDT_CHAIR.value not in staff.roles:
        raise Invalid(
            "a chair needs the mdt_chair role", {"role": ["This worker is not an MDT chair."]}
        )
    member = ForumMember(id=db.new_id(), forum_id=forum.id, staff_id=staff.id, role=role)
    db.add_unique(member, Conflict("this worker is already a member of this MDT"))
    audit.record(
        actor=actor.as_event(),
        action="admin.mdt_member_add",
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"forum_id": forum.id, "staff_id": staff.id, "role": role},
    )
    return member


def forums_for(actor: Actor) -> list[Forum]:
    if actor.has_role(Role.ADMIN):
        return list(db.session.execute(select(Forum).order_by(Forum.name)).scalars())
    return list(
        db.session.execute(
            select(Forum)
            .join(ForumMember, ForumMember.forum_id == Forum.id)
            .where(ForumMember.staff_id == actor.id)
            .order_by(Forum.name)
        ).scalars()
    )


# -- meetings and agenda (chair) ------------------------------------------------------------

# Sensible dates: a meeting recorded up to a year after it was held or planned up to two years
# ahead; an action due from today to two years ahead (it becomes overdue only as time passes).
MEETING_DAYS_BACK = 366
DAYS_AHEAD = 731


def meeting_day_bounds(today: date | None = None) -> tuple[date, date]:
    today = today or db.utcnow().date()
    return today - timedelta(days=MEETING_DAYS_BACK), today + timedelta(days=DAYS_AHEAD)


def due_day_bounds(today: date | None = None) -> tuple[date, date]:
    today = today or db.utcnow().date()
    return today, today + timedelta(days=DAYS_AHEAD)


def _refuse_outside(field: str, day: date, bounds: tuple[date, date]) -> None:
    first, last = bounds
    if not first <= day <= last:
        raise Invalid(
            f"{field} must be between {first.isoformat()} and {last.isoformat()}",
            {field: [f"Must be between {first.isoformat()} and {last.isoformat()}."]},
        )


def create_meeting(
    actor: Actor, forum_id: str, held_on: date, title: str | None, attendee_ids: list[str]
) -> Meeting:
    get_forum(forum_id)
    require_chair(actor, forum_id)
    _refuse_outside("held_on", held_on, meeting_day_bounds())
    members = {
        m.staff_id
        for m in db.session.execute(
            select(ForumMember).where(ForumMember.forum_id == forum_id)
        ).scalars()
    }
    strangers = [a for a in attendee_ids if a not in members]
    if strangers:
        raise Invalid("attendees must be members of this MDT", {"attendee_ids": ["Not a member."]})
    meeting = Meeting(
        id=db.new_id(),
        forum_id=forum_id,
        held_on=held_on,
        title=title,
        attendee_ids=sorted(set(attendee_ids)),
        created_by=actor.id,
    )
    db.session.add(meeting)
    db.session.flush()
    return meeting


def meetings_of(actor: Actor, forum_id: str) -> list[Meeting]:
    get_forum(forum_id)
    require_member(actor, forum_id)
    return list(
        db.session.execute(
            select(Meeting).where(Meeting.forum_id == forum_id).order_by(Meeting.held_on.desc())
        ).scalars()
    )


def live_mdt_grant(person_id: str, forum_id: str) -> Grant | None:
    today = db.utcnow().date()
    grants = (
        db.session.execute(
            select(Grant).where(
                Grant.person_id == person_id,
                Grant.grantee_type == "mdt",
                Grant.grantee_id == forum_id,
                Grant.purpose == "mdt",
            )
        )
        .unique()
        .scalars()
    )
    return next((g for g in grants if grant_status(g, today) == GrantStatus.ACTIVE), None)


def add_to_agenda(actor: Actor, meeting_id: str, person_id: str) -> AgendaItem:
    meeting = get_meeting(meeting_id)
    require_chair(actor, meeting.forum_id)
    person = db.session.get(Person, person_id)
    if person is None or person.erased_at is not None:
        raise Invalid("there is no such person", {"person_id": ["Unknown person."]})
    grant = live_mdt_grant(person_id, meeting.forum_id)
    if grant is None:
        audit.record(
            actor=actor.as_event(),
            action=LogAction.MDT_AGENDA_ADD,
            outcome=Outcome.DENIED,
            person_id=person_id,
            purpose="mdt",
            reason="no-grant",
            detail={"meeting_id": meeting.id, "forum_id": meeting.forum_id},
        )
        raise ConsentRequired(
            N_("No consent: this person has not agreed to be discussed at this MDT.")
        )
    item = AgendaItem(id=db.new_id(), meeting_id=meeting.id, person_id=person_id, added_by=actor.id)
    db.add_unique(item, Conflict("this person is already on the agenda"))
    audit.record(
        actor=actor.as_event(),
        action=LogAction.MDT_AGENDA_ADD,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        purpose="mdt",
        basis={"kind": "grant", "id": grant.id},
        detail={"meeting_id": meeting.id, "forum_id": meeting.forum_id},
    )
    return item


# -- actions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionView:
    id: str
    person_id: str
    meeting_id: str
    forum_id: str
    owner: dict[str, Any]
    text: str
    due_on: date
    status: str
    overdue: bool
    created_at: datetime


def action_view(
    action: Action, today: date | None = None, owners: dict[str, Staff] | None = None
) -> ActionView:
    """`owners`: staff already read, by id (a list of actions reads its owners at once)."""
    today = today or db.utcnow().date()
    if owners is not None and action.owner_staff_id in owners:
        owner: Staff | None = owners[action.owner_staff_id]
    else:
        owner = db.session.get(Staff, action.owner_staff_id)
    return ActionView(
        id=action.id,
        person_id=action.person_id,
        meeting_id=action.meeting_id,
        forum_id=action.forum_id,
        owner={
            "id": action.owner_staff_id,
            "name": owner.name if owner else "A former worker",
            "agency_id": owner.agency_id if owner else None,
        },
        text=str(
            data_keys.open_json(action.person_id, "mdt_actions", "text", action.id, action.text)
        ),
        due_on=action.due_on,
        status=action.status,
        overdue=action.status == "open" and action.due_on < today,
        created_at=action.created_at,
    )


def add_action(
    actor: Actor, meeting_id: str, person_id: str, owner_staff_id: str, text: str, due_on: date
) -> ActionView:
    meeting = get_meeting(meeting_id)
    require_chair(actor, meeting.forum_id)
    _refuse_outside("due_on", due_on, due_day_bounds())
    on_agenda = db.session.execute(
        select(AgendaItem).where(
            AgendaItem.meeting_id == meeting.id, AgendaItem.person_id == person_id
        )
    ).scalar_one_or_none()
    if on_agenda is None:
        raise Invalid(
            "actions are for people on this meeting's agenda",
            {"person_id": ["Not on this meeting's agenda."]},
        )
    if live_mdt_grant(person_id, meeting.forum_id) is None:
        raise ConsentRequired(N_("No consent: this person has withdrawn their agreement."))
    owner = db.session.get(Staff, owner_staff_id)
    if owner is None:
        raise Invalid("there is no such staff member", {"owner_staff_id": ["Unknown."]})
    if owner.id not in {staff.id for staff, _ in members_of(meeting.forum_id)}:
        audit.record(
            actor=actor.as_event(),
            action="mdt.action_add",
            outcome=Outcome.DENIED,
            person_id=person_id,
            purpose="mdt",
            reason=Reason.NOT_FORUM_MEMBER,
            detail={"meeting_id": meeting.id, "owner_id": owner.id},
        )
        raise Invalid(
            "the owner of an action must be a member of this MDT",
            {"owner_staff_id": ["Not a member of this MDT."]},
        )
    if not text.strip():
        raise Invalid("say what will be done", {"text": ["Must not be empty."]})
    action = Action(
        id=db.new_id(),
        forum_id=meeting.forum_id,
        meeting_id=meeting.id,
        person_id=person_id,
        owner_staff_id=owner.id,
        due_on=due_on,
        status="open",
        created_by=actor.id,
        created_at=db.utcnow(),
    )
    action.text = data_keys.seal_json(person_id, "mdt_actions", "text", action.id, text.strip())
    db.session.add(action)
    audit.record(
        actor=actor.as_event(),
        action="mdt.action_add",
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        purpose="mdt",
        basis={"kind": "role", "id": None},
        detail={"action_id": action.id, "meeting_id": meeting.id, "owner_id": owner.id},
    )
    if owner.id != actor.id:
        tell_staff(
            owner.id,
            NotificationKind.ACTION_ASSIGNED,
            person_id=person_id,
            detail={"action_id": action.id, "meeting_id": meeting.id},
        )
    db.session.flush()
    return action_view(action)


def _changeable(actor: Actor, action_id: str) -> Action:
    action = db.session.get(Action, action_id)
    if action is None:
        raise NotFound("there is no such action")
    is_owner = actor.is_staff and actor.id == action.owner_staff_id
    member = membership(actor, action.forum_id)
    if not is_owner and (member is None or member.role != "chair"):
        raise Forbidden("only the action's owner or the MDT chair can change it")
    return action


def action_to_change(actor: Actor, action_id: str) -> ActionView:
    """An action its owner or the chair is about to change (to confirm dropping it): shown
    only while the person still shares with the MDT, as on the summary and "My actions"."""
    action = _changeable(actor, action_id)
    if live_mdt_grant(action.person_id, action.forum_id) is None:
        raise ConsentRequired(N_("No consent: this person has withdrawn their agreement."))
    return action_view(action)


def set_action_status(actor: Actor, action_id: str, status: str) -> ActionView:
    action = _changeable(actor, action_id)
    if status not in ACTION_STATUSES:
        raise Invalid("status must be open, done or dropped", {"status": ["Unknown status."]})
    action.status = status
    action.status_changed_at = db.utcnow()
    audit.record(
        actor=actor.as_event(),
        action="mdt.action_update",
        outcome=Outcome.ALLOWED,
        person_id=action.person_id,
        purpose="mdt",
        basis={"kind": "role", "id": None},
        detail={"action_id": action.id, "status": status},
    )
    db.session.flush()
    return action_view(action)


def open_actions(forum_id: str, person_id: str) -> list[ActionView]:
    """Open actions for a person in a forum, from this and every earlier meeting: they carry
    forward until done or dropped."""
    return open_actions_of(forum_id, [person_id])[person_id]


def open_actions_of(forum_id: str, person_ids: list[str]) -> dict[str, list[ActionView]]:
    """`open_actions` for several people: one query for the actions, one for their owners."""
    today = db.utcnow().date()
    found: dict[str, list[ActionView]] = {person_id: [] for person_id in person_ids}
    if not person_ids:
        return found
    rows = list(
        db.session.execute(
            select(Action)
            .where(
                Action.forum_id == forum_id,
                Action.person_id.in_(person_ids),
                Action.status == "open",
            )
            .order_by(Action.due_on, Action.created_at, Action.id)
        ).scalars()
    )
    owner_ids = sorted({a.owner_staff_id for a in rows})
    owners = {
        staff.id: staff
        for staff in (
            db.session.execute(select(Staff).where(Staff.id.in_(owner_ids))).scalars()
            if owner_ids
            else []
        )
    }
    for action in rows:
        found[action.person_id].append(action_view(action, today, owners))
    return found


def my_actions(actor: Actor) -> list[ActionView]:
    """An owner's actions — only for people whose MDT consent is still live."""
    if not actor.is_staff:
        raise Forbidden("actions are for staff")
    rows = db.session.execute(
        select(Action).where(Action.owner_staff_id == actor.id).order_by(Action.due_on)
    ).scalars()
    return [action_view(a) for a in rows if live_mdt_grant(a.person_id, a.forum_id) is not None]


def members_of(forum_id: str) -> list[tuple[Staff, str]]:
    """A forum's members and their role in it (names only, no record content)."""
    rows = db.session.execute(
        select(Staff, ForumMember.role)
        .join(ForumMember, ForumMember.staff_id == Staff.id)
        .where(ForumMember.forum_id == forum_id)
        .order_by(Staff.name)
    ).all()
    return [(staff, role) for staff, role in rows]


def agenda_person_ids(meeting_id: str) -> list[str]:
    """Who is on a meeting's agenda, in the order added. Identifiers only: whether anything
    about them may be shown is decided when the summary is pulled."""
    return list(
        db.session.execute(
            select(AgendaItem.person_id)
            .where(AgendaItem.meeting_id == meeting_id)
            .order_by(AgendaItem.added_at)
        ).scalars()
    )
