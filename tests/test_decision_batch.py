"""One decision pass for many people decides each exactly as one pass per person does.

`decide_people` loads the actor's grants, contributor rows and emergency accesses for all the
people at once and buckets them by person; a row put in the wrong bucket would allow one
person's section on another's consent. Each person here stands in a different state, so a
mix-up changes an outcome.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from passport import db
from passport.consent.decision import (
    Decision,
    decide,
    decide_people,
    decide_sections,
    decide_write,
    decide_writes,
)
from passport.consent.emergency import open_emergency
from passport.identity.accounts import actor_for_staff
from passport.identity.models import Staff
from passport.records.operations import add_contributor
from passport.vocabulary import ALL_SECTIONS, Purpose, Section

from .factories import forum, forum_member, grant


def _outcome(decision: Decision) -> tuple[str, str | None]:
    if decision.allowed:
        assert decision.basis_kind is not None
        return ("allowed", decision.basis_kind.value)
    assert decision.reason is not None
    return ("denied", decision.reason.value)


@pytest.fixture
def people(make: Any) -> dict[str, Any]:
    agency = make.agency("Riverside Housing First")
    worker = make.staff("caseworker", agency=agency)
    room = forum("Riverside MDT", [agency])
    forum_member(room, worker, "member")
    other_room = forum("Elsewhere MDT", [agency])
    forum_member(other_room, worker, "member")
    who = {
        name: make.person(name=name.title(), preferred_name=name)
        for name in (
            "nothing",
            "pending",
            "active",
            "expired",
            "revoked",
            "wrong",
            "contributor",
            "mdt",
            "emergency",
            "emergency_over",
        )
    }
    grant(who["pending"], "agency", agency.id, ["risk"], state="pending")
    grant(who["active"], "agency", agency.id, ["risk", "story"])
    grant(who["expired"], "agency", agency.id, ["risk"], state="expired")
    grant(who["revoked"], "agency", agency.id, ["risk"], state="revoked")
    grant(who["wrong"], "agency", agency.id, ["risk"], purpose="referral")
    add_contributor(who["contributor"], who["contributor"].id, worker.id, ["medication"])
    make.commit()
    grant(who["mdt"], "mdt", room.id, ["workers"], purpose="mdt")
    grant(who["mdt"], "mdt", other_room.id, ["risk"], purpose="mdt")
    open_emergency(worker, who["emergency"].id, "found unconscious", 8)
    open_emergency(worker, who["emergency_over"].id, "found unconscious", 1)
    make.commit()
    return {"worker": worker, "who": who, "room": room}


def test_a_batch_decides_each_person_as_alone(people: dict[str, Any]) -> None:
    worker, who = people["worker"], people["who"]
    purposes = {
        person.id: (Purpose.EMERGENCY if name.startswith("emergency") else Purpose.DIRECT_SUPPORT)
        for name, person in who.items()
    }
    # Two hours on: the one-hour emergency access has ended, the eight-hour one has not.
    now = db.utcnow() + timedelta(hours=2)
    batch = decide_people(worker, purposes, ALL_SECTIONS, now)
    alone = {pid: decide_sections(worker, pid, ALL_SECTIONS, p, now) for pid, p in purposes.items()}
    one_by_one = {
        pid: [decide(worker, pid, s, p, now) for s in ALL_SECTIONS] for pid, p in purposes.items()
    }
    assert batch == alone == one_by_one

    risk = ALL_SECTIONS.index(Section.RISK)
    medication = ALL_SECTIONS.index(Section.MEDICATION)
    expected_risk = {
        "nothing": ("denied", "no-grant"),
        "pending": ("denied", "grant-pending"),
        "active": ("allowed", "grant"),
        "expired": ("denied", "grant-expired"),
        "revoked": ("denied", "grant-revoked"),
        "wrong": ("denied", "wrong-purpose"),
        "contributor": ("denied", "no-grant"),
        "mdt": ("denied", "wrong-purpose"),
        "emergency": ("allowed", "emergency"),
        "emergency_over": ("denied", "emergency-expired"),
    }
    assert {name: _outcome(batch[p.id][risk]) for name, p in who.items()} == expected_risk
    assert _outcome(batch[who["contributor"].id][medication]) == ("allowed", "contributor")
    assert _outcome(batch[who["active"].id][medication]) == ("denied", "no-grant")
    # Story is never an emergency section, live access or not.
    story = ALL_SECTIONS.index(Section.STORY)
    assert _outcome(batch[who["emergency"].id][story]) == ("denied", "no-grant")


def test_a_batch_for_a_forum_uses_only_that_forums_grants(people: dict[str, Any]) -> None:
    worker, person, room = people["worker"], people["who"]["mdt"], people["room"]
    [decisions] = decide_people(
        worker, {person.id: Purpose.MDT}, ALL_SECTIONS, forum_id=room.id
    ).values()
    allowed = {d.section for d in decisions if d.allowed}
    assert allowed == {Section.WORKERS}  # its risk grant is to the other forum
    anywhere = decide_sections(worker, person.id, ALL_SECTIONS, Purpose.MDT)
    assert {d.section for d in anywhere if d.allowed} == {Section.WORKERS, Section.RISK}


def test_a_person_decides_only_for_themselves(people: dict[str, Any]) -> None:
    who = people["who"]
    me, other = who["nothing"], who["active"]
    batch = decide_people(me, {me.id: None, other.id: None}, ALL_SECTIONS)
    assert all(_outcome(d) == ("allowed", "self") for d in batch[me.id])
    assert all(_outcome(d) == ("denied", "no-grant") for d in batch[other.id])


def test_writes_for_every_section_decide_each_as_alone(make: Any, people: dict[str, Any]) -> None:
    """`decide_writes` (the brief page's "what may I write") reads a contributor's rows once
    and decides each section as `decide_write` does."""
    worker, who = people["worker"], people["who"]
    contributor = who["contributor"]
    add_contributor(contributor, contributor.id, worker.id, ["story", "risk"])
    make.commit()
    # An account holding both kinds of role, as one made before the rule could be.
    mixed_row = db.session.get(Staff, make.staff("caseworker").id)
    assert mixed_row is not None
    mixed_row.roles = ["caseworker", "dpo"]
    make.commit()
    mixed = actor_for_staff(mixed_row)
    # A contributor row made before then: still writes nothing.
    add_contributor(contributor, contributor.id, mixed.id, ["risk"])
    make.commit()
    cases = [
        (worker, contributor),  # now story and risk (in place of medication)
        (worker, who["active"]),  # a read grant writes nothing
        (contributor, contributor),  # the person: every section
        (contributor, who["active"]),  # another person's: nothing
        (mixed, contributor),  # mixed duties: nothing, and why
    ]
    for actor, person in cases:
        together = decide_writes(actor, person.id, ALL_SECTIONS)
        alone = [decide_write(actor, person.id, section) for section in ALL_SECTIONS]
        assert together == alone
    together = decide_writes(worker, contributor.id, ALL_SECTIONS)
    assert {d.section for d in together if d.allowed} == {Section.STORY, Section.RISK}
    assert _outcome(decide_writes(mixed, contributor.id, [Section.RISK])[0]) == (
        "denied",
        "mixed-duties",
    )
