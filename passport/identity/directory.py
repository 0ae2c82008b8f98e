"""Lists of agencies, staff and MDT forums: names and roles only, never record content.

Agency and forum names are public within the scheme (a person chooses whom to share with);
the staff list is for admins.
"""

from __future__ import annotations

from sqlalchemy import select

from .. import audit, db
from ..errors import Forbidden
from ..mdt.models import Forum
from ..vocabulary import Action, Outcome, Role
from .actor import Actor
from .models import Agency, Staff


def list_agencies() -> list[Agency]:
    return list(db.session.execute(select(Agency).order_by(Agency.name)).scalars())


def list_forums() -> list[Forum]:
    return list(db.session.execute(select(Forum).order_by(Forum.name)).scalars())


def list_staff(actor: Actor) -> list[Staff]:
    if not actor.has_role(Role.ADMIN):
        audit.record(
            actor=actor.as_event(), action=Action.AUDIT_QUERY, outcome=Outcome.DENIED, reason="role"
        )
        raise Forbidden("only admins can list staff accounts")
    return list(db.session.execute(select(Staff).order_by(Staff.name)).scalars())


def caseworkers_at(actor: Actor) -> list[Staff]:
    """The caseworkers at this caseworker's own agency (names only), to name as a person's
    worker when registering them."""
    if not actor.has_role(Role.CASEWORKER) or actor.agency_id is None:
        return []
    rows = db.session.execute(
        select(Staff).where(Staff.agency_id == actor.agency_id).order_by(Staff.name)
    ).scalars()
    return [s for s in rows if Role.CASEWORKER.value in s.roles]


def names_of(staff_ids: set[str], agency_ids: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Staff and agency names by id, for the data protection officer's log: names only."""
    staff = (
        dict(db.session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(staff_ids))).all())
        if staff_ids
        else {}
    )
    agencies = (
        dict(
            db.session.execute(
                select(Agency.id, Agency.name).where(Agency.id.in_(agency_ids))
            ).all()
        )
        if agency_ids
        else {}
    )
    return {str(k): v for k, v in staff.items()}, {str(k): v for k, v in agencies.items()}
