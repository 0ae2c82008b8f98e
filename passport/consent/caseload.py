"""Whose passports a worker may open: people with a live grant covering them, or who chose
them as a contributor."""

from __future__ import annotations

from sqlalchemy import or_, select

from .. import db
from ..identity.actor import Actor
from ..identity.models import Person
from ..vocabulary import Purpose
from .decision import GRANTS_FOR_ACTOR, GrantStatus, grant_status, grantee_params
from .models import Contributor, Grant

_PREFERENCE = [Purpose.DIRECT_SUPPORT, Purpose.REFERRAL, Purpose.MDT, Purpose.EMERGENCY]


def caseload(
    actor: Actor, name_index: str | None = None, name_dob_index: str | None = None
) -> list[tuple[str, Purpose]]:
    """(person id, a purpose under which they can read something), one per person: direct
    support if they can read anything for it, else referral, else MDT — whatever order the
    database returns the grants in."""
    if not actor.is_staff:
        return []
    today = db.utcnow().date()
    found: dict[str, Purpose] = {}

    def offer(person_id: str, purpose: Purpose) -> None:
        held = found.get(person_id)
        if held is None or _PREFERENCE.index(purpose) < _PREFERENCE.index(held):
            found[person_id] = purpose

    for person_id in db.session.execute(
        select(Contributor.person_id)
        .where(Contributor.staff_id == actor.id, Contributor.removed_at.is_(None))
        .order_by(Contributor.added_at, Contributor.id)
    ).scalars():
        offer(person_id, Purpose.DIRECT_SUPPORT)
    grants = GRANTS_FOR_ACTOR.order_by(Grant.created_at, Grant.id)
    for grant in db.session.execute(grants, grantee_params(actor)).unique().scalars():
        if grant_status(grant, today) == GrantStatus.ACTIVE:
            offer(grant.person_id, Purpose(grant.purpose))
    if not found:
        return []
    query = select(Person.id).where(Person.id.in_(list(found)), Person.erased_at.is_(None))
    # A search matches the legal name or the preferred name (the same keyed index of each).
    if name_index is not None:
        query = query.where(
            or_(Person.name_index == name_index, Person.preferred_name_index == name_index)
        )
    if name_dob_index is not None:
        query = query.where(
            or_(
                Person.name_dob_index == name_dob_index,
                Person.preferred_name_dob_index == name_dob_index,
            )
        )
    live = set(db.session.execute(query).scalars())
    return [(pid, purpose) for pid, purpose in found.items() if pid in live]
