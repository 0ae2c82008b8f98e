"""Opening a passport to write in it: which sections this actor may write for this person, and
the section as they may read it while they change it.

The rule itself is the consent decision point's (`decide_write`: the person writes any section,
a contributor the sections delegated to them); the pages ask here and never decide it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from .. import db
from ..consent import decide, decide_writes, log_decisions
from ..errors import Forbidden
from ..identity.actor import Actor
from ..identity.models import Agency, Staff
from ..vocabulary import ALL_SECTIONS, Action, Purpose, Role, Section
from .content import EntryView, person_identity, read_section
from .operations import _authorise_write, get_person


@dataclass(frozen=True)
class OpenSection:
    """One section, opened by someone allowed to write it."""

    person: dict[str, Any]  # the identity anyone with an allowed section sees
    section: Section
    entries: list[EntryView]  # current entries, as this writer may read them

    def entry(self, entry_id: str) -> EntryView | None:
        return next((e for e in self.entries if e.id == entry_id), None)


def writable_sections(actor: Actor, person_id: str) -> list[Section]:
    """The sections this actor may write for this person (nothing is read, nothing logged)."""
    get_person(person_id)
    return [d.section for d in decide_writes(actor, person_id, ALL_SECTIONS) if d.allowed]


def open_section(actor: Actor, person_id: str, section: Section) -> OpenSection:
    """Refuse, and log the refusal, unless this actor may write the section; then read it as
    they may (the person: everything, hidden entries too; a contributor: what a contributor
    reads), logged like every other read."""
    _authorise_write(actor, person_id, section, {"change": "open"})
    # The person and someone acting for them read as the person does: no agency purpose.
    purpose = None if actor.is_person or actor.is_representative else Purpose.DIRECT_SUPPORT
    read = decide(actor, person_id, section, purpose)
    log_decisions(
        actor,
        Action.RECORD_VIEW,
        person_id,
        [read],
        purpose.value if purpose else None,
        {"to_write": True},
    )
    if not read.allowed:  # a writer always reads what they write; kept as a second lock
        raise Forbidden("you cannot read this section of this passport")
    person = person_identity([read])
    return OpenSection(person, section, read_section(read, person["preferred_name"]))


def worker_accounts() -> list[tuple[str, str]]:
    """Caseworkers' accounts, as (id, "Name (Agency)"), for naming a worker's own account.
    Names and agencies only, as on every author line."""
    rows = db.session.execute(select(Staff).order_by(Staff.name)).scalars()
    return [(s.id, f"{s.name} ({s.agency.name})") for s in rows if Role.CASEWORKER.value in s.roles]


def agency_names() -> dict[str, str]:
    return {row.id: row.name for row in db.session.execute(select(Agency.id, Agency.name))}
