"""The emergency search: a caseworker finds a person by exact name and date of birth across
everyone — someone who has shared nothing too — so break-glass starts from a name, not an id.

It shows who matches by preferred name and date of birth only (never the legal name, never
any section content), through identity-only decisions of the consent decision point. Every
search is logged, refusals too, with identifiers only: never the name searched for.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select

from .. import audit, db
from ..consent.decision import decide_identity
from ..crypto import data_keys
from ..errors import Forbidden, Invalid
from ..identity.actor import Actor
from ..identity.models import Person
from ..vocabulary import Action, Outcome, Reason, Role, mixes_duties
from .content import person_identity


def require_searcher(actor: Actor) -> None:
    """Caseworkers only (and not an account that also oversees): refuse anyone else, logged."""
    if not actor.has_role(Role.CASEWORKER) or mixes_duties(actor.roles):
        mixed = mixes_duties(actor.roles)
        audit.record(
            actor=actor.as_event(),
            action=Action.PERSON_EMERGENCY_SEARCH,
            outcome=Outcome.DENIED,
            reason=Reason.MIXED_DUTIES if mixed else Reason.ROLE,
        )
        raise Forbidden(
            "this account holds both reading and oversight roles, so it reads nothing; ask "
            "an administrator for two separate accounts"
            if mixed
            else "only caseworkers can search for a person in an emergency"
        )


def emergency_search(actor: Actor, name: str, date_of_birth: date | None) -> list[dict[str, Any]]:
    require_searcher(actor)
    errors: dict[str, list[str]] = {}
    if not name.strip():
        errors["name"] = ["Missing data for required field."]
    if date_of_birth is None:
        errors["date_of_birth"] = ["Missing data for required field."]
    if errors:
        raise Invalid("give the person's full name and date of birth", errors)
    assert date_of_birth is not None
    index = data_keys.blind_index("name+dob", name, date_of_birth.isoformat())
    found = list(
        db.session.execute(
            select(Person.id)
            .where(
                Person.erased_at.is_(None),
                or_(Person.name_dob_index == index, Person.preferred_name_dob_index == index),
            )
            .order_by(Person.created_at, Person.id)
        ).scalars()
    )
    people = [person_identity([decide_identity(actor, person_id)]) for person_id in found]
    audit.record(
        actor=actor.as_event(),
        action=Action.PERSON_EMERGENCY_SEARCH,
        outcome=Outcome.ALLOWED,
        purpose="emergency",
        basis={"kind": "role", "id": None},
        detail={"count": len(found), "person_ids": found},
    )
    return people
