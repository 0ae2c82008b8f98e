"""Test data through the domain's own functions (so every rule applies), with traits."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from passport import audit, db
from passport.identity.accounts import (
    actor_for_person,
    actor_for_staff,
    add_agency,
    add_staff,
    issue_token,
)
from passport.identity.actor import SYSTEM, Actor
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
        person, _ = register_person(
            registered_by or SYSTEM,
            name=name,
            preferred_name=preferred_name,
            date_of_birth=date_of_birth,
            username=f"person{n}" if login else None,
            password=PASSWORD if login else None,
        )
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
