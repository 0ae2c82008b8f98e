"""MDT meetings: agenda only with consent, a summary built only from each person's grant to
this forum, actions that carry forward, and a printable PDF."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from passport import db
from passport.mdt.models import Action as MdtAction

from .factories import SAMPLE_CONTENT, events_for, grant

TODAY = date.today()


@pytest.fixture
def mdt(make: Any, api_as: Any) -> dict[str, Any]:
    housing = make.agency("Riverside Housing First", "housing")
    probation = make.agency("City Probation Service", "probation")
    admin = make.staff("admin", agency=housing)
    chair = make.staff("caseworker", "mdt_chair", agency=probation, name="Gareth Lewis")
    member = make.staff("caseworker", agency=housing, name="Amara Okafor")
    outsider = make.staff("caseworker", agency=housing)
    forum = api_as(admin).post(
        "/api/v1/mdts", {"name": "Riverside MDT", "agency_ids": [housing.id, probation.id]}
    )
    assert forum.status_code == 201, forum.json
    forum_id = forum.json["id"]
    for staff, role in ((chair, "chair"), (member, "member")):
        added = api_as(admin).post(
            f"/api/v1/mdts/{forum_id}/members", {"staff_id": staff.id, "role": role}
        )
        assert added.status_code == 201, added.json
    meeting = api_as(chair).post(
        f"/api/v1/mdts/{forum_id}/meetings",
        {"held_on": TODAY.isoformat(), "title": "November", "attendee_ids": [member.id]},
    )
    assert meeting.status_code == 201, meeting.json
    person = make.person()
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
    return {
        "admin": admin,
        "chair": chair,
        "member": member,
        "outsider": outsider,
        "forum_id": forum_id,
        "meeting_id": meeting.json["id"],
        "person": person,
        "housing": housing,
    }


def _consent(mdt: dict[str, Any], sections: list[str], person: Any = None) -> Any:
    return grant(person or mdt["person"], "mdt", mdt["forum_id"], sections, purpose="mdt")


def test_forum_setup_refusals(mdt: dict[str, Any], api_as: Any, make: Any) -> None:
    admin, chair = api_as(mdt["admin"]), api_as(mdt["chair"])
    assert (
        chair.post("/api/v1/mdts", {"name": "X", "agency_ids": [mdt["housing"].id]}).status_code
        == 403
    )
    unknown = admin.post("/api/v1/mdts", {"name": "X", "agency_ids": [db.new_id()]})
    assert unknown.status_code == 422 and "agency_ids" in unknown.json["errors"]
    members = f"/api/v1/mdts/{mdt['forum_id']}/members"
    assert admin.post(members, {"staff_id": mdt["member"].id, "role": "member"}).status_code == 409
    not_a_chair = admin.post(members, {"staff_id": mdt["outsider"].id, "role": "chair"})
    assert not_a_chair.status_code == 422
    elsewhere = make.staff("caseworker")
    assert admin.post(members, {"staff_id": elsewhere.id, "role": "member"}).status_code == 422
    meetings = f"/api/v1/mdts/{mdt['forum_id']}/meetings"
    assert api_as(mdt["member"]).post(meetings, {"held_on": TODAY.isoformat()}).status_code == 403
    assert api_as(mdt["outsider"]).get(meetings).status_code == 403
    assert [f["name"] for f in api_as(mdt["member"]).get("/api/v1/mdts").json["items"]] == [
        "Riverside MDT"
    ]


def test_agenda_needs_mdt_consent_to_this_forum(mdt: dict[str, Any], api_as: Any) -> None:
    chair, person = api_as(mdt["chair"]), mdt["person"]
    agenda = f"/api/v1/meetings/{mdt['meeting_id']}/agenda"
    refused = chair.post(agenda, {"person_id": person.id})
    assert refused.status_code == 403
    assert refused.json["type"] == "/problems/consent-required"
    [event] = events_for(refused, "mdt.agenda_add")
    assert (event.outcome, event.reason) == ("denied", "no-grant")

    # A grant to the person's agency for direct support is not MDT consent.
    grant(person, "agency", mdt["housing"].id, ["risk"])
    assert chair.post(agenda, {"person_id": person.id}).status_code == 403

    made = _consent(mdt, ["risk"])
    accepted = chair.post(agenda, {"person_id": person.id})
    assert accepted.status_code == 201
    [event] = events_for(accepted, "mdt.agenda_add")
    assert event.basis == {"kind": "grant", "id": made.id}
    assert chair.post(agenda, {"person_id": person.id}).status_code == 409
    assert api_as(mdt["member"]).post(agenda, {"person_id": person.id}).status_code == 403


def test_summary_holds_exactly_what_the_grant_allows(
    mdt: dict[str, Any], api_as: Any, make: Any
) -> None:
    person = mdt["person"]
    make.entry(person, person, "risk", {"flags": [{"kind": "lone_working", "level": "low"}]})
    _consent(mdt, ["risk", "medication", "workers"])
    chair = api_as(mdt["chair"])
    chair.post(f"/api/v1/meetings/{mdt['meeting_id']}/agenda", {"person_id": person.id})

    response = api_as(mdt["member"]).get(f"/api/v1/meetings/{mdt['meeting_id']}/summary")
    assert response.status_code == 200, response.json
    [item] = response.json["people"]
    assert item["person"]["preferred_name"] == "Jess"
    assert sorted(item["sections"]) == ["medication", "risk", "workers"]
    assert item["withheld"] == ["preferences", "profile", "story"]
    assert [a["level"] for a in item["alerts"]] == ["high", "low"]
    assert item["lead_worker"]["content"]["name"] == "Amara Okafor"
    assert [m["content"]["name"] for m in item["medication"]] == ["Methadone"]
    assert item["preferences"] == []
    body = response.get_data(as_text=True)
    assert SAMPLE_CONTENT["story"]["text"] not in body  # withheld content never appears

    [event] = events_for(response, "mdt.summary")
    assert event.outcome == "allowed" and event.person_id == person.id
    assert event.sections == ["medication", "risk", "workers"]
    assert event.detail["withheld"] == ["preferences", "profile", "story"]


def test_one_event_per_person_per_pull(mdt: dict[str, Any], api_as: Any, make: Any) -> None:
    second = make.person(name="Ciaran Doyle", preferred_name="Ciaran")
    _consent(mdt, ["risk"])
    _consent(mdt, ["story"], person=second)
    chair = api_as(mdt["chair"])
    for person in (mdt["person"], second):
        chair.post(f"/api/v1/meetings/{mdt['meeting_id']}/agenda", {"person_id": person.id})
    for _ in range(2):
        response = chair.get(f"/api/v1/meetings/{mdt['meeting_id']}/summary")
        events = events_for(response, "mdt.summary")
        assert sorted(e.person_id for e in events) == sorted([mdt["person"].id, second.id])


def test_revocation_drops_a_person_out_at_once(mdt: dict[str, Any], api_as: Any) -> None:
    from passport.consent.grants import revoke_grant

    person = mdt["person"]
    made = _consent(mdt, ["risk", "medication"])
    chair = api_as(mdt["chair"])
    chair.post(f"/api/v1/meetings/{mdt['meeting_id']}/agenda", {"person_id": person.id})
    assert len(chair.get(f"/api/v1/meetings/{mdt['meeting_id']}/summary").json["people"]) == 1

    revoke_grant(person, person.id, made.id, None)
    db.session.commit()
    response = chair.get(f"/api/v1/meetings/{mdt['meeting_id']}/summary")
    assert response.json["people"] == [] and response.json["dropped_out"] == 1
    assert "Methadone" not in response.get_data(as_text=True)
    assert "Jess" not in response.get_data(as_text=True)
    [event] = events_for(response, "mdt.summary")
    assert (event.outcome, event.reason) == ("denied", "grant-revoked")


def test_non_members_and_admins_read_nothing(mdt: dict[str, Any], api_as: Any) -> None:
    _consent(mdt, ["risk"])
    api_as(mdt["chair"]).post(
        f"/api/v1/meetings/{mdt['meeting_id']}/agenda", {"person_id": mdt["person"].id}
    )
    for who in ("outsider", "admin"):
        for suffix in ("summary", "summary.pdf", "summary.html"):
            response = api_as(mdt[who]).get(f"/api/v1/meetings/{mdt['meeting_id']}/{suffix}")
            assert response.status_code == 403, (who, suffix)
            assert "naloxone" not in response.get_data(as_text=True)


def test_actions_carry_forward_and_flag_overdue(mdt: dict[str, Any], api_as: Any) -> None:
    person, chair_actor, member = mdt["person"], mdt["chair"], mdt["member"]
    _consent(mdt, ["risk"])
    chair = api_as(chair_actor)
    chair.post(f"/api/v1/meetings/{mdt['meeting_id']}/agenda", {"person_id": person.id})
    actions = f"/api/v1/meetings/{mdt['meeting_id']}/actions"
    late = chair.post(
        actions,
        {
            "person_id": person.id,
            "owner_staff_id": member.id,
            "text": "Register Jess with a GP",
            "due_on": (TODAY - timedelta(days=2)).isoformat(),
        },
    )
    # An action cannot be due in the past; it becomes overdue as time passes.
    assert late.status_code == 422, late.json
    late = chair.post(
        actions,
        {
            "person_id": person.id,
            "owner_staff_id": member.id,
            "text": "Register Jess with a GP",
            "due_on": (TODAY + timedelta(days=1)).isoformat(),
        },
    )
    assert late.status_code == 201 and late.json["overdue"] is False
    row = db.session.get(MdtAction, late.json["id"])
    assert row is not None
    row.due_on = TODAY - timedelta(days=2)  # two days on, it was not done
    db.session.commit()
    done = chair.post(
        actions,
        {
            "person_id": person.id,
            "owner_staff_id": member.id,
            "text": "Book a housing viewing",
            "due_on": (TODAY + timedelta(days=7)).isoformat(),
        },
    )
    assert done.json["overdue"] is False
    assert (
        api_as(mdt["outsider"])
        .post(f"/api/v1/actions/{done.json['id']}", {"status": "done"})
        .status_code
        == 403
    )
    assert (
        api_as(member).post(f"/api/v1/actions/{done.json['id']}", {"status": "done"}).status_code
        == 200
    )
    assert (
        chair.post(
            actions,
            {
                "person_id": mdt["outsider"].id,
                "owner_staff_id": member.id,
                "text": "x",
                "due_on": TODAY.isoformat(),
            },
        ).status_code
        == 422
    )

    following = chair.post(
        f"/api/v1/mdts/{mdt['forum_id']}/meetings",
        {"held_on": (TODAY + timedelta(days=28)).isoformat()},
    ).json
    chair.post(f"/api/v1/meetings/{following['id']}/agenda", {"person_id": person.id})
    summary = chair.get(f"/api/v1/meetings/{following['id']}/summary").json
    [item] = summary["people"]
    assert [(a["text"], a["overdue"]) for a in item["actions"]] == [
        ("Register Jess with a GP", True)
    ]
    assert summary["meeting"]["previous_held_on"] == TODAY.isoformat()

    mine = api_as(member).get("/api/v1/actions").json["items"]
    assert sorted(a["text"] for a in mine) == ["Book a housing viewing", "Register Jess with a GP"]
    assert api_as(mdt["outsider"]).get("/api/v1/actions").json["items"] == []


def test_printable_pdf(mdt: dict[str, Any], api_as: Any) -> None:
    _consent(mdt, ["medication", "risk"])
    chair = api_as(mdt["chair"])
    chair.post(f"/api/v1/meetings/{mdt['meeting_id']}/agenda", {"person_id": mdt["person"].id})
    response = chair.get(f"/api/v1/meetings/{mdt['meeting_id']}/summary.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "OFFICIAL-SENSITIVE" in text
    assert "Methadone" in text and "naloxone" in text
    assert SAMPLE_CONTENT["story"]["text"] not in text  # withheld
    assert "Amara Okafor" not in text  # workers withheld: the lead worker is not printed
    assert "Printed by Gareth Lewis" in text
    assert "Page 1 of" in text
    [event] = events_for(response, "mdt.summary")
    assert event.detail["format"] == "pdf"

    html = chair.get(f"/api/v1/meetings/{mdt['meeting_id']}/summary.html")
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert "OFFICIAL-SENSITIVE" in html.get_data(as_text=True)
    assert '<html lang="en">' in html.get_data(as_text=True)
    assert "SWYDDOGOL" not in html.get_data(as_text=True)


def test_printable_summary_in_welsh_by_accept_language(mdt: dict[str, Any], api_as: Any) -> None:
    _consent(mdt, ["medication", "risk"])
    chair = api_as(mdt["chair"])
    chair.post(f"/api/v1/meetings/{mdt['meeting_id']}/agenda", {"person_id": mdt["person"].id})
    path = f"/api/v1/meetings/{mdt['meeting_id']}/summary"
    welsh = chair.get(f"{path}.html", headers={"Accept-Language": "cy"}).get_data(as_text=True)
    assert '<html lang="cy">' in welsh and "OFFICIAL-SENSITIVE / SWYDDOGOL-SENSITIF" in welsh
    assert "Meddyginiaeth bresennol" in welsh and "Rhybuddion" in welsh
    assert "Current medication" not in welsh
    pdf = chair.get(f"{path}.pdf", headers={"Accept-Language": "cy, en;q=0.5"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "OFFICIAL-SENSITIVE / SWYDDOGOL-SENSITIF" in text and "Tudalen 1 o" in text
    assert "Meddyginiaeth bresennol" in text and "Argraffwyd gan Gareth Lewis" in text
    # Regional tags count as their language, in the client's order of preference.
    regional = chair.get(f"{path}.html", headers={"Accept-Language": "cy-GB, en;q=0.5"})
    assert '<html lang="cy">' in regional.get_data(as_text=True)
    english_first = (
        {"Accept-Language": "en-GB, en;q=0.9, cy;q=0.5"},
        {"Accept-Language": "en-GB, cy;q=0.5"},
    )
    for header in ({}, *english_first, {"Accept-Language": "fr"}):
        english = chair.get(f"{path}.html", headers=header).get_data(as_text=True)
        assert '<html lang="en">' in english and "Current medication" in english
        assert "SWYDDOGOL" not in english
