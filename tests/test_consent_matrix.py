"""The authorization matrix: every role × every section × every grant state.

Each cell reads the passport over HTTP and asserts the exact outcome — in the response and in
the access-log event written by that request, with its basis or refusal reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from passport.vocabulary import Section

from .factories import SAMPLE_CONTENT, events_for, forum, forum_member, grant

ROLES = [
    "person",
    "contributor",
    "grantee_caseworker",
    "named_worker",
    "caseworker_elsewhere",
    "mdt_chair",
    "dpo",
    "admin",
]
STATES = ["none", "pending", "active", "expired", "revoked", "wrong_purpose"]
REFUSAL_FOR_STATE = {
    "none": "no-grant",
    "pending": "grant-pending",
    "expired": "grant-expired",
    "revoked": "grant-revoked",
    "wrong_purpose": "wrong-purpose",
}


@dataclass
class World:
    person: Any
    actors: dict[str, Any]
    agency: Any
    forum: Any


@pytest.fixture
def world(make: Any) -> World:
    grantee_agency = make.agency("Riverside Mental Health", "mental_health")
    contributor = make.staff("caseworker", name="Amara Okafor")
    person = make.person(registered_by=contributor)
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
    chair = make.staff("mdt_chair", name="Gareth Lewis")
    mdt = forum("Riverside MDT", [grantee_agency])
    forum_member(mdt, chair, role="chair")
    actors = {
        "person": person,
        "contributor": contributor,
        "grantee_caseworker": make.staff("caseworker", agency=grantee_agency),
        "named_worker": make.staff("caseworker"),
        "caseworker_elsewhere": make.staff("caseworker"),
        "mdt_chair": chair,
        "dpo": make.staff("dpo", agency=grantee_agency),
        "admin": make.staff("admin", agency=grantee_agency),
    }
    return World(person, actors, grantee_agency, mdt)


def _grant_for(world: World, role: str, section: Section, state: str) -> Any:
    """The grant (if any) that would concern this role, covering just this section."""
    if state == "none":
        return None
    if role == "named_worker":
        grantee = ("staff", world.actors["named_worker"].id)
    elif role == "mdt_chair":
        grantee = ("mdt", world.forum.id)
    else:
        grantee = ("agency", world.agency.id)
    purpose = "mdt" if grantee[0] == "mdt" else "direct_support"
    if state == "wrong_purpose" and grantee[0] != "mdt":
        purpose = "referral"
    return grant(
        world.person,
        grantee[0],
        grantee[1],
        [section.value],
        purpose=purpose,
        state="active" if state == "wrong_purpose" else state,
    )


def _read_purpose(role: str, state: str) -> str | None:
    if role == "person":
        return None
    if role == "mdt_chair":
        # The forum's grant is for `mdt`; reading it for direct support is the wrong purpose.
        return "direct_support" if state == "wrong_purpose" else "mdt"
    return "direct_support"


def _expected(role: str, state: str, grant_row: Any, world: World) -> tuple[str, Any]:
    """(outcome, basis dict or refusal reason)."""
    if role == "person":
        return "allowed", {"kind": "self", "id": world.person.id}
    if role == "contributor":
        return "allowed", "contributor"
    if role in ("dpo", "admin"):
        return "denied", "role"
    if role == "caseworker_elsewhere":
        return "denied", "no-grant"
    if state == "active":
        return "allowed", {"kind": "grant", "id": grant_row.id}
    return "denied", REFUSAL_FOR_STATE[state]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_matrix(world: World, api_as: Any, role: str, state: str) -> None:
    actor = world.actors[role]
    client = api_as(actor)
    purpose = _read_purpose(role, state)
    for section in Section:
        grant_row = _grant_for(world, role, section, state)
        query = f"?purpose={purpose}" if purpose else ""
        response = client.get(f"/api/v1/people/{world.person.id}/passport{query}")
        outcome, expected = _expected(role, state, grant_row, world)

        events = [e for e in events_for(response, "record.view") if section.value in e.sections]
        assert len(events) == 1, (role, state, section, [e.sections for e in events])
        event = events[0]
        assert event.outcome == outcome, (role, state, section)
        assert event.actor["id"] == actor.id
        assert event.person_id == world.person.id
        assert event.purpose == purpose

        if outcome == "allowed":
            assert response.status_code == 200, (role, state, section, response.json)
            assert section.value in response.json["sections"]
            assert section.value not in response.json["withheld"]
            if expected == "contributor":
                assert event.basis["kind"] == "contributor"
            else:
                assert event.basis == expected
            assert event.reason is None
        else:
            assert event.basis is None
            assert event.reason == expected, (role, state, section)
            if response.status_code == 200:
                assert section.value in response.json["withheld"]
                assert section.value not in response.json["sections"]
            else:
                # Nothing allowed at all: a refusal that names no content.
                assert response.status_code == 403
                assert response.json["type"] == "/problems/consent-required"
                assert set(response.json) == {"type", "title", "status", "detail"}
                body = response.get_data(as_text=True)
                assert "Methadone" not in body and "naloxone" not in body


@pytest.mark.parametrize("state", STATES)
def test_a_dpo_with_a_subject_access_request_still_reads_nothing_elsewhere(
    world: World, api_as: Any, make: Any, state: str
) -> None:
    """The matrix's DPO row, with the one exception in place: a scheme-wide DPO who recorded
    the person's subject access request gets the pack, and every ordinary read path still
    refuses them for their role, whatever the grants (rights, issue 16)."""
    from datetime import date

    from passport.rights.operations import record_subject_access_request

    for section in Section:
        _grant_for(world, "grantee_caseworker", section, state)
    dpo = make.staff("dpo", agency=world.agency, scheme_wide=True)
    request = record_subject_access_request(dpo, world.person.id, "Letter", date.today())
    make.commit()
    client = api_as(dpo)
    person = world.person.id
    for path in ("passport", "brief", "history"):
        for purpose in ("direct_support", "referral", "mdt", "emergency"):
            response = client.get(f"/api/v1/people/{person}/{path}?purpose={purpose}")
            assert response.status_code == 403, (path, purpose)
            assert "Methadone" not in response.get_data(as_text=True)
            assert {e.reason for e in events_for(response) if e.person_id == person} == {"role"}
    pack = client.get(f"/api/v1/people/{person}/subject-access/{request.id}.json")
    assert pack.status_code == 200
    assert pack.json["sections"]["medication"][0]["content"]["name"] == "Methadone"
    [event] = events_for(pack, "record.subject_access")
    assert event.basis == {"kind": "subject_access", "id": request.id}
