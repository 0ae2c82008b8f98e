"""Test data through the domain's own functions (so every rule applies), with traits."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy import select

from passport import audit, db
from passport.audit.models import AuditEvent
from passport.identity.accounts import (
    actor_for_person,
    actor_for_staff,
    add_agency,
    add_staff,
    issue_token,
)
from passport.identity.actor import SYSTEM, Actor
from passport.identity.setup_codes import complete_setup
from passport.records.operations import add_entry, register_person
from passport.vocabulary import Section

PASSWORD = "correct-horse-battery"
_counter = itertools.count(1)


class Factory:
    def commit(self) -> None:
        db.session.commit()
        audit.integrate_all()

    def agency(self, name: str | None = None, kind: str = "housing") -> Any:
        agency = add_agency(SYSTEM, name or f"Agency {next(_counter)}", kind)
        self.commit()
        return agency

    def staff(
        self, *roles: str, agency: Any = None, name: str | None = None, scheme_wide: bool = False
    ) -> Actor:
        agency = agency or self.agency()
        n = next(_counter)
        member = add_staff(
            SYSTEM,
            username=f"staff{n}",
            password=PASSWORD,
            agency_id=agency.id,
            roles=list(roles or ("caseworker",)),
            name=name or f"Worker {n}",
            scheme_wide=scheme_wide,
        )
        self.commit()
        return actor_for_staff(member)

    def person(
        self,
        name: str = "Jessica Hartley",
        preferred_name: str | None = "Jess",
        date_of_birth: date | None = date(1992, 3, 14),
        registered_by: Actor | None = None,
        login: bool = True,
    ) -> Actor:
        n = next(_counter)
        registrar = registered_by or SYSTEM
        # Only the system sets a password; a worker's registration gives a set-up code, with
        # which the person chooses theirs.
        person, out = register_person(
            registrar,
            name=name,
            preferred_name=preferred_name,
            date_of_birth=date_of_birth,
            username=f"person{n}" if login else None,
            password=PASSWORD if login and registrar is SYSTEM else None,
        )
        if login and registrar is not SYSTEM:
            complete_setup(f"person{n}", out["setup_code"], PASSWORD)
        self.commit()
        return actor_for_person(person)

    def entry(
        self, author: Actor, person: Actor, section: Section | str, content: dict[str, Any]
    ) -> Any:
        view = add_entry(author, person.id, Section(section), content)
        self.commit()
        return view

    def token(self, actor: Actor, ttl: int = 3600) -> str:
        token = issue_token(actor, ttl)
        self.commit()
        return token


# Valid content for each section, for tests that need "something in every section".
SAMPLE_CONTENT: dict[Section, dict[str, Any]] = {
    Section.STORY: {"text": "I have slept rough on and off for years.", "title": "My life so far"},
    Section.RISK: {"flags": [{"kind": "overdose", "level": "high", "detail": "carries naloxone"}]},
    Section.MEDICATION: {"name": "Methadone", "dose": "60 mg"},
    Section.WORKERS: {"name": "Amara Okafor", "role": "key worker", "is_lead": True},
    Section.PREFERENCES: {"contact": [{"method": "in_person"}], "what_helps": "Afternoons"},
}


def grant(
    person: Actor,
    grantee_type: str,
    grantee_id: str,
    sections: list[str],
    purpose: str = "direct_support",
    state: str = "active",
    recorded_by: Actor | None = None,
) -> Any:
    """A grant in the given state. Expired grants cannot be made through the API (consent
    cannot be backdated), so they are written as rows directly — as they would stand after
    time passed."""
    from datetime import timedelta

    from passport.consent.grants import create_grant, resolve_grantee, revoke_grant
    from passport.consent.models import Grant

    today = db.utcnow().date()
    if state == "expired":
        row = Grant(
            id=db.new_id(),
            person_id=person.id,
            grantee_type=grantee_type,
            grantee_id=resolve_grantee(grantee_type, grantee_id).id,
            sections=sorted(sections),
            purpose=purpose,
            starts_on=today - timedelta(days=60),
            expires_on=today - timedelta(days=1),
            obtained_method="self",
            recorded_by_kind="person",
            recorded_by_id=person.id,
            wording_sha256="0" * 64,
            receipt={"wording": {"text": "test grant", "sha256": "0" * 64}},
            created_at=db.utcnow() - timedelta(days=60),
        )
        db.session.add(row)
        Factory().commit()
        return row
    starts = today + timedelta(days=5) if state == "pending" else None
    row = create_grant(
        recorded_by or person,
        person.id,
        grantee_type=grantee_type,
        grantee_id=grantee_id,
        sections=sections,
        purpose=purpose,
        starts_on=starts,
        expires_on=today + timedelta(days=60),
        method="self" if (recorded_by or person).is_person else "verbal",
    )
    Factory().commit()
    if state == "revoked":
        revoke_grant(person, person.id, row.id, None)
        Factory().commit()
    return row


def forum(name: str = "Riverside MDT", agencies: list[Any] | None = None) -> Any:
    from passport.mdt.models import Forum

    row = Forum(name=name, agency_ids=[a.id for a in agencies or []])
    db.session.add(row)
    Factory().commit()
    return row


def forum_member(forum_row: Any, staff: Actor, role: str = "member") -> None:
    from passport.mdt.models import ForumMember

    db.session.add(ForumMember(forum_id=forum_row.id, staff_id=staff.id, role=role))
    Factory().commit()


def events_for(response: Any, action: str | None = None) -> list[Any]:
    """The access-log events written by the request that produced `response`."""
    audit.integrate_all()
    query = select(AuditEvent).where(AuditEvent.request_id == response.headers["X-Request-Id"])
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.execute(query.order_by(AuditEvent.seq)).scalars())


def logged_by(app: Any, request_id: str) -> list[tuple[str, str]]:
    """(action, outcome) of every access-log event of one request, in seq order, read in an
    app context of its own (for tests on `fresh_app`, whose commits are real)."""
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.outcome)
            .where(AuditEvent.request_id == request_id)
            .order_by(AuditEvent.seq)
        ).all()
        db.session.remove()
    return [(action, outcome) for action, outcome in rows]


def representative(
    person: Actor,
    access: str = "help",
    name: str = "Ann Hartley",
    recorded_by: Actor | None = None,
    legal_basis: str | None = None,
    username: str | None = None,
) -> tuple[Actor, Any]:
    """A representative of `person`, through the domain (appointed by the person, or a
    legal one recorded by `recorded_by`), who has chosen their passphrase with the set-up
    code. Returns (their actor, the appointment row)."""
    from passport.identity.accounts import actor_for_representative
    from passport.representatives import operations

    username = username or f"rep{next(_counter)}"
    if legal_basis is None:
        appointed = operations.appoint(
            person, person.id, name=name, username=username, access=access
        )
    else:
        assert recorded_by is not None
        appointed = operations.record_legal(
            recorded_by,
            person.id,
            name=name,
            username=username,
            legal_basis=legal_basis,
            evidence="LPA for health and welfare, reference 7000-1234-5678, seen today",
            access=access,
        )
    if appointed.setup_code is not None:
        complete_setup(username, appointed.setup_code, PASSWORD)
    row = appointed.representation
    Factory().commit()
    return actor_for_representative(row.account), row
