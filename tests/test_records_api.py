"""The record over HTTP (API.md "People and their record"): successes and every refusal of
issue 2, each refusal checked for its problem+json shape and, where it is a decision about a
person's record, for the access-log event it leaves."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from passport import db
from passport.audit.models import AuditEvent
from passport.identity.models import AccessToken
from passport.vocabulary import Section

from .conftest import Api
from .factories import SAMPLE_CONTENT

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == PROBLEM
    body = response.get_json(force=True)
    assert body["type"] == type_
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.get_data(as_text=True)
    return dict(body)


def events_of(response: Any) -> list[AuditEvent]:
    """The access-log events written by the request that produced `response`."""
    request_id = response.headers["X-Request-Id"]
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.request_id == request_id).order_by(AuditEvent.seq)
        ).scalars()
    )


def entries_url(person: Any, section: str) -> str:
    return f"/api/v1/people/{person.id}/sections/{section}/entries"


@pytest.fixture
def owner(make: Any) -> Any:
    return make.person()


@pytest.fixture
def caseworker(make: Any) -> Any:
    return make.staff("caseworker")


# -- registering a person -------------------------------------------------------------------


def test_caseworker_registers_a_person_and_becomes_contributor(api_as, caseworker):
    api = api_as(caseworker)
    response = api.post(
        "/api/v1/people",
        json={"name": "Ciaran Doyle", "preferred_name": "Ciaran", "date_of_birth": "2004-08-02"},
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["preferred_name"] == "Ciaran"
    assert body["date_of_birth"] == "2004-08-02"
    [created] = [e for e in events_of(response) if e.action == "person.create"]
    assert created.outcome == "allowed" and created.person_id == body["id"]

    view = api.get(f"/api/v1/people/{body['id']}/passport?purpose=direct_support")
    assert view.status_code == 200, view.json
    assert set(view.json["sections"]) == {s.value for s in Section}
    assert view.json["withheld"] == []
    [profile] = view.json["sections"]["profile"]
    assert profile["content"]["name"] == "Ciaran Doyle"
    assert profile["author"]["id"] == caseworker.id
    [allowed] = [e for e in events_of(view) if e.action == "record.view"]
    assert allowed.outcome == "allowed"
    assert allowed.basis["kind"] == "contributor"
    assert allowed.purpose == "direct_support"

    write = api.post(entries_url(Actor(body["id"]), "story"), json={"content": {"text": "hello"}})
    assert write.status_code == 201, write.json


class Actor:
    """Just an id, for building URLs of people created over HTTP."""

    def __init__(self, id: str) -> None:
        self.id = id


def test_registration_with_login_gives_a_set_up_code_and_the_person_signs_in(
    api_as, caseworker, client
):
    from passport.identity.accounts import authenticate

    response = api_as(caseworker).post(
        "/api/v1/people", json={"name": "Ada Person", "username": "Ada-Person"}
    )
    assert response.status_code == 201, response.json
    assert "password" not in response.json
    code = response.json["setup_code"]
    assert response.json["setup_code_expires_at"]
    done = client.post(
        "/api/v1/account/setup",
        json={"username": "ada-person", "setup_code": code, "password": "a-long-password"},
    )
    assert done.status_code == 200, done.json
    assert authenticate("ADA-PERSON", "a-long-password") is not None


@pytest.mark.parametrize("roles", [("dpo",), ("admin",), ("mdt_chair",)])
def test_registering_needs_the_caseworker_role(make, api_as, roles):
    response = api_as(make.staff(*roles)).post("/api/v1/people", json={"name": "Someone"})
    assert_problem(response, 403, "/problems/forbidden")
    [refused] = [e for e in events_of(response) if e.action == "person.create"]
    assert refused.outcome == "denied" and refused.reason == "role"


def test_a_person_cannot_register_people(api_as, owner):
    response = api_as(owner).post("/api/v1/people", json={"name": "Someone"})
    assert_problem(response, 403, "/problems/forbidden")
    [refused] = [e for e in events_of(response) if e.action == "person.create"]
    assert refused.outcome == "denied"


def test_registration_refuses_unknown_fields(api_as, caseworker):
    response = api_as(caseworker).post("/api/v1/people", json={"name": "A", "nhs_number": "1"})
    body = assert_problem(response, 422, "/problems/validation-error")
    assert body["errors"]


def test_registration_needs_a_name(api_as, caseworker):
    response = api_as(caseworker).post("/api/v1/people", json={"preferred_name": "A"})
    body = assert_problem(response, 422, "/problems/validation-error")
    assert "name" in body["errors"]


# -- entries and revisions --------------------------------------------------------------------


def test_entry_create_revise_and_history(api_as, owner):
    api = api_as(owner)
    created = api.post(entries_url(owner, "story"), json={"content": {"text": "first"}})
    assert created.status_code == 201, created.json
    entry = created.json
    assert entry["revision"] == 1
    assert entry["status"] == "current"
    assert entry["hidden"] is False
    assert entry["section"] == "story"
    assert entry["author"]["id"] == owner.id
    [write] = [e for e in events_of(created) if e.action == "record.write"]
    assert write.outcome == "allowed" and write.basis == {"kind": "self", "id": owner.id}

    revised = api.put(
        f"{entries_url(owner, 'story')}/{entry['id']}", json={"content": {"text": "second"}}
    )
    assert revised.status_code == 200, revised.json
    assert revised.json["revision"] == 2
    assert revised.json["id"] == entry["id"]
    assert revised.json["content"]["text"] == "second"

    view = api.get(f"/api/v1/people/{owner.id}/passport")
    [story] = view.json["sections"]["story"]
    assert story["revision"] == 2 and story["content"]["text"] == "second"

    history = api.get(f"/api/v1/people/{owner.id}/history")
    assert history.status_code == 200, history.json
    story_revisions = [i for i in history.json["items"] if i["id"] == entry["id"]]
    assert [(i["revision"], i["content"]["text"]) for i in story_revisions] == [
        (2, "second"),
        (1, "first"),
    ]
    assert history.json["withheld"] == []


def test_retired_entry_leaves_the_view_but_stays_in_history(api_as, owner):
    api = api_as(owner)
    entry = api.post(entries_url(owner, "medication"), json={"content": {"name": "Zopiclone"}}).json
    retired = api.post(f"{entries_url(owner, 'medication')}/{entry['id']}/retire")
    assert retired.status_code == 200, retired.json
    assert retired.json["status"] == "retired"
    assert retired.json["revision"] == 2
    assert retired.json["content"]["name"] == "Zopiclone"

    view = api.get(f"/api/v1/people/{owner.id}/passport").json
    assert view["sections"]["medication"] == []
    history = api.get(f"/api/v1/people/{owner.id}/history").json["items"]
    assert {(i["revision"], i["status"]) for i in history if i["id"] == entry["id"]} == {
        (1, "current"),
        (2, "retired"),
    }

    again = api.post(f"{entries_url(owner, 'medication')}/{entry['id']}/retire")
    assert_problem(again, 409, "/problems/conflict")
    revise = api.put(
        f"{entries_url(owner, 'medication')}/{entry['id']}", json={"content": {"name": "X"}}
    )
    assert_problem(revise, 409, "/problems/conflict")


def test_hidden_entry_is_hidden_from_contributors_but_not_the_person(make, api_as, caseworker):
    person = make.person(registered_by=caseworker)
    mine = api_as(person)
    worker = api_as(caseworker)
    secret = worker.post(entries_url(person, "story"), json={"content": {"text": "private"}}).json
    kept = worker.post(entries_url(person, "story"), json={"content": {"text": "shared"}}).json

    hidden = mine.post(f"{entries_url(person, 'story')}/{secret['id']}/hide", json={"hidden": True})
    assert hidden.status_code == 200, hidden.json
    assert hidden.json["hidden"] is True
    assert hidden.json["revision"] == 2

    seen = worker.get(f"/api/v1/people/{person.id}/passport?purpose=direct_support").json
    assert [e["id"] for e in seen["sections"]["story"]] == [kept["id"]]
    history = worker.get(f"/api/v1/people/{person.id}/history?purpose=direct_support").json
    assert secret["id"] not in {i["id"] for i in history["items"]}
    assert kept["id"] in {i["id"] for i in history["items"]}

    own = mine.get(f"/api/v1/people/{person.id}/passport").json
    assert {e["id"] for e in own["sections"]["story"]} == {secret["id"], kept["id"]}
    own_history = mine.get(f"/api/v1/people/{person.id}/history").json["items"]
    assert secret["id"] in {i["id"] for i in own_history}

    shown = mine.post(f"{entries_url(person, 'story')}/{secret['id']}/hide", json={"hidden": False})
    assert shown.json["hidden"] is False
    seen = worker.get(f"/api/v1/people/{person.id}/passport?purpose=direct_support").json
    assert {e["id"] for e in seen["sections"]["story"]} == {secret["id"], kept["id"]}


def test_only_the_person_can_hide(make, api_as, caseworker):
    person = make.person(registered_by=caseworker)
    entry = make.entry(caseworker, person, "story", {"text": "x"})
    response = api_as(caseworker).post(
        f"{entries_url(person, 'story')}/{entry.id}/hide", json={"hidden": True}
    )
    assert_problem(response, 403, "/problems/forbidden")
    [refused] = [e for e in events_of(response) if e.action == "record.write"]
    assert refused.outcome == "denied" and refused.reason
    assert refused.detail == {"change": "hide"}


def test_person_reads_whole_passport(api_as, owner, make):
    for section, content in SAMPLE_CONTENT.items():
        make.entry(owner, owner, section, content)
    response = api_as(owner).get(f"/api/v1/people/{owner.id}/passport")
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body["sections"]) == {s.value for s in Section}
    assert body["withheld"] == []
    assert body["purpose"] is None
    assert body["person"] == {
        "id": owner.id,
        "preferred_name": "Jess",
        "date_of_birth": "1992-03-14",
    }
    assert body["access_id"] == response.headers["X-Request-Id"]
    for section in SAMPLE_CONTENT:
        assert len(body["sections"][section.value]) == 1
    [event] = [e for e in events_of(response) if e.action == "record.view"]
    assert event.outcome == "allowed"
    assert event.basis == {"kind": "self", "id": owner.id}
    assert event.sections == sorted(s.value for s in Section)


def test_risk_ndt_total_counts_risk_to_and_from_others_double(api_as, owner):
    ndt = {
        "engagement": 1,
        "intentional_self_harm": 1,
        "unintentional_self_harm": 1,
        "risk_to_others": 3,
        "risk_from_others": 4,
        "stress_and_anxiety": 1,
        "social_effectiveness": 1,
        "alcohol_drug_abuse": 1,
        "impulse_control": 1,
        "housing": 1,
    }
    response = api_as(owner).post(
        entries_url(owner, "risk"), json={"content": {"flags": [], "ndt": ndt}}
    )
    assert response.status_code == 201, response.json
    assert response.json["content"]["ndt_total"] == 8 + 2 * (3 + 4)
    stored = api_as(owner).get(f"/api/v1/people/{owner.id}/passport").json
    assert stored["sections"]["risk"][0]["content"]["ndt_total"] == 22

    top = api_as(owner).post(
        entries_url(owner, "risk"), json={"content": {"flags": [], "ndt": dict.fromkeys(ndt, 4)}}
    )
    assert top.json["content"]["ndt_total"] == 48

    client_total = api_as(owner).post(
        entries_url(owner, "risk"), json={"content": {"flags": [], "ndt_total": 1}}
    )
    assert_problem(client_total, 422, "/problems/validation-error")


# -- contributors ---------------------------------------------------------------------------


def test_person_adds_lists_and_removes_a_contributor(api_as, owner, caseworker):
    mine = api_as(owner)
    worker = api_as(caseworker)
    refused = worker.post(entries_url(owner, "risk"), json={"content": {"flags": []}})
    assert_problem(refused, 403, "/problems/forbidden")

    added = mine.post(
        f"/api/v1/people/{owner.id}/contributors",
        json={"staff_id": caseworker.id, "sections": ["risk", "workers"]},
    )
    assert added.status_code == 201, added.json
    assert added.json["staff_id"] == caseworker.id
    assert added.json["sections"] == ["risk", "workers"]
    [event] = [e for e in events_of(added) if e.action == "contributor.add"]
    assert event.outcome == "allowed"

    listed = mine.get(f"/api/v1/people/{owner.id}/contributors")
    assert listed.status_code == 200
    assert [c["staff_id"] for c in listed.json["items"]] == [caseworker.id]

    write = worker.post(entries_url(owner, "risk"), json={"content": {"flags": []}})
    assert write.status_code == 201, write.json
    [allowed] = [e for e in events_of(write) if e.action == "record.write"]
    assert allowed.basis["kind"] == "contributor"
    # Delegated sections only.
    other = worker.post(entries_url(owner, "story"), json={"content": {"text": "x"}})
    assert_problem(other, 403, "/problems/forbidden")
    # A contributor reads what they write, and nothing else.
    view = worker.get(f"/api/v1/people/{owner.id}/passport?purpose=direct_support").json
    assert set(view["sections"]) == {"risk", "workers"}
    assert set(view["withheld"]) == {"profile", "story", "medication", "preferences"}

    removed = mine.delete(f"/api/v1/people/{owner.id}/contributors/{caseworker.id}")
    assert removed.status_code == 204
    assert removed.get_data() == b""
    assert mine.get(f"/api/v1/people/{owner.id}/contributors").json["items"] == []

    after = worker.post(entries_url(owner, "risk"), json={"content": {"flags": []}})
    assert_problem(after, 403, "/problems/forbidden")
    [denied] = [e for e in events_of(after) if e.action == "record.write"]
    assert denied.outcome == "denied" and denied.reason == "not-contributor"

    again = mine.delete(f"/api/v1/people/{owner.id}/contributors/{caseworker.id}")
    assert_problem(again, 404, "/problems/not-found")


def test_only_the_person_manages_contributors(api_as, make, owner, caseworker):
    other = make.staff("caseworker")
    worker = api_as(caseworker)
    add = worker.post(
        f"/api/v1/people/{owner.id}/contributors", json={"staff_id": other.id, "sections": ["risk"]}
    )
    assert_problem(add, 403, "/problems/forbidden")
    [denied] = [e for e in events_of(add) if e.action == "contributor.add"]
    assert denied.outcome == "denied"

    remove = worker.delete(f"/api/v1/people/{owner.id}/contributors/{other.id}")
    assert_problem(remove, 403, "/problems/forbidden")
    listing = worker.get(f"/api/v1/people/{owner.id}/contributors")
    assert_problem(listing, 403, "/problems/forbidden")

    stranger = make.person(name="Somebody Else")
    cross = api_as(stranger).post(
        f"/api/v1/people/{owner.id}/contributors", json={"staff_id": other.id, "sections": ["risk"]}
    )
    assert_problem(cross, 403, "/problems/forbidden")


def test_contributor_must_be_a_caseworker_and_sections_known(api_as, make, owner):
    mine = api_as(owner)
    dpo = make.staff("dpo")
    not_caseworker = mine.post(
        f"/api/v1/people/{owner.id}/contributors", json={"staff_id": dpo.id, "sections": ["risk"]}
    )
    assert_problem(not_caseworker, 422, "/problems/validation-error")
    worker = make.staff("caseworker")
    bad_section = mine.post(
        f"/api/v1/people/{owner.id}/contributors",
        json={"staff_id": worker.id, "sections": ["diary"]},
    )
    body = assert_problem(bad_section, 422, "/problems/validation-error")
    assert body["errors"]


# -- refusals -------------------------------------------------------------------------------


def test_staff_without_delegation_cannot_write(api_as, owner, caseworker):
    response = api_as(caseworker).post(entries_url(owner, "story"), json={"content": {"text": "x"}})
    body = assert_problem(response, 403, "/problems/forbidden")
    assert "read-only" in body["detail"]
    [denied] = [e for e in events_of(response) if e.action == "record.write"]
    assert denied.outcome == "denied"
    assert denied.reason == "not-contributor"
    assert denied.sections == ["story"]
    assert denied.person_id == owner.id
    assert denied.basis is None


def test_staff_without_delegation_cannot_revise_or_retire(api_as, make, owner, caseworker):
    entry = make.entry(owner, owner, "story", {"text": "mine"})
    url = f"{entries_url(owner, 'story')}/{entry.id}"
    worker = api_as(caseworker)
    assert_problem(worker.put(url, json={"content": {"text": "x"}}), 403, "/problems/forbidden")
    assert_problem(worker.post(f"{url}/retire"), 403, "/problems/forbidden")
    history = api_as(owner).get(f"/api/v1/people/{owner.id}/history").json["items"]
    assert [i["revision"] for i in history if i["id"] == entry.id] == [1]


def test_stranger_reading_is_refused_and_logged(api_as, owner, caseworker):
    response = api_as(caseworker).get(f"/api/v1/people/{owner.id}/passport?purpose=direct_support")
    body = assert_problem(response, 403, "/problems/consent-required")
    assert "sections" not in body
    denied = [e for e in events_of(response) if e.action == "record.view"]
    assert denied and all(e.outcome == "denied" for e in denied)
    assert {s for e in denied for s in e.sections} == {s.value for s in Section}
    assert {e.reason for e in denied} == {"no-grant"}


def test_another_person_cannot_read_or_write(api_as, make, owner):
    other = make.person(name="Other Person")
    api = api_as(other)
    read = api.get(f"/api/v1/people/{owner.id}/passport")
    assert_problem(read, 403, "/problems/consent-required")
    write = api.post(entries_url(owner, "story"), json={"content": {"text": "x"}})
    assert_problem(write, 403, "/problems/forbidden")


@pytest.mark.parametrize("roles", [("dpo",), ("admin",)])
def test_dpo_and_admin_read_no_content_even_as_contributor(api_as, make, owner, roles):
    member = make.staff(*roles)
    response = api_as(member).get(f"/api/v1/people/{owner.id}/passport?purpose=direct_support")
    assert_problem(response, 403, "/problems/consent-required")
    [denied] = [e for e in events_of(response) if e.action == "record.view"]
    assert denied.reason == "role"


def test_unknown_section_is_404(api_as, owner):
    response = api_as(owner).post(entries_url(owner, "diary"), json={"content": {"text": "x"}})
    body = assert_problem(response, 404, "/problems/not-found")
    assert "story" in body["detail"]


def test_unknown_field_in_body_is_422(api_as, owner):
    response = api_as(owner).post(
        entries_url(owner, "story"), json={"content": {"text": "x"}, "author": "me"}
    )
    body = assert_problem(response, 422, "/problems/validation-error")
    assert body["errors"] == {"body": ["Contains a field that is not allowed here."]}


def test_unknown_field_in_content_is_422(api_as, owner):
    response = api_as(owner).post(
        entries_url(owner, "story"), json={"content": {"text": "x", "mood": "fine"}}
    )
    body = assert_problem(response, 422, "/problems/validation-error")
    # The made-up field is reported on the object that holds it, and never echoed.
    assert body["errors"] == {"content": ["Contains a field that is not allowed here."]}
    nothing = api_as(owner).get(f"/api/v1/people/{owner.id}/passport").json
    assert nothing["sections"]["story"] == []


@pytest.mark.parametrize(
    ("section", "content", "field"),
    [
        ("story", {}, "content.text"),
        ("risk", {"flags": [{"kind": "dragons", "level": "high"}]}, "content.flags.0.kind"),
        ("risk", {"flags": [], "ndt": {"housing": 5}}, "content.ndt.housing"),
        ("medication", {"dose": "1 mg"}, "content.name"),
        ("workers", {"name": "A", "email": "not-an-email"}, "content.email"),
        ("preferences", {"contact": [{"method": "pigeon"}]}, "content.contact.0.method"),
        ("profile", {"name": "A", "date_of_birth": "14/03/1992"}, "content.date_of_birth"),
    ],
)
def test_invalid_content_names_the_field(api_as, owner, section, content, field):
    response = api_as(owner).post(entries_url(owner, section), json={"content": content})
    body = assert_problem(response, 422, "/problems/validation-error")
    assert field in body["errors"], body["errors"]


def test_story_text_over_20000_characters_is_422(api_as, owner):
    api = api_as(owner)
    too_long = api.post(entries_url(owner, "story"), json={"content": {"text": "a" * 20001}})
    body = assert_problem(too_long, 422, "/problems/validation-error")
    assert "content.text" in body["errors"]
    just_fits = api.post(entries_url(owner, "story"), json={"content": {"text": "a" * 20000}})
    assert just_fits.status_code == 201, just_fits.json


def test_malformed_json_is_400(client, make, owner):
    token = make.token(owner)
    response = client.post(
        entries_url(owner, "story"),
        data=b'{"content": {"text": "unterminated',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    body = assert_problem(response, 400, "/problems/malformed-request")
    assert "JSON" in body["detail"]


def test_second_current_lead_worker_is_409(api_as, owner):
    api = api_as(owner)
    lead = {"name": "Amara Okafor", "is_lead": True}
    first = api.post(entries_url(owner, "workers"), json={"content": lead})
    assert first.status_code == 201, first.json
    second = api.post(
        entries_url(owner, "workers"), json={"content": {"name": "Tom", "is_lead": True}}
    )
    assert_problem(second, 409, "/problems/conflict")
    # A worker who is not the lead is fine, and so is changing the lead's own entry.
    other = api.post(entries_url(owner, "workers"), json={"content": {"name": "Tom"}})
    assert other.status_code == 201
    same = api.put(
        f"{entries_url(owner, 'workers')}/{first.json['id']}",
        json={"content": {**lead, "role": "key worker"}},
    )
    assert same.status_code == 200, same.json
    promote = api.put(
        f"{entries_url(owner, 'workers')}/{other.json['id']}",
        json={"content": {"name": "Tom", "is_lead": True}},
    )
    assert_problem(promote, 409, "/problems/conflict")
    # Once the lead's entry has ended, another may lead.
    ended = api.put(
        f"{entries_url(owner, 'workers')}/{first.json['id']}",
        json={"content": {**lead, "until": "2000-01-01"}},
    )
    assert ended.status_code == 200, ended.json
    promote = api.put(
        f"{entries_url(owner, 'workers')}/{other.json['id']}",
        json={"content": {"name": "Tom", "is_lead": True}},
    )
    assert promote.status_code == 200, promote.json


def test_missing_token_is_401(client, owner):
    response = client.get(f"/api/v1/people/{owner.id}/passport")
    assert_problem(response, 401, "/problems/unauthenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    response = client.get("/api/v1/me")
    assert_problem(response, 401, "/problems/unauthenticated")


def test_bad_token_is_401(client, owner):
    api = Api(client, "not-a-real-token")
    response = api.get(f"/api/v1/people/{owner.id}/passport")
    assert_problem(response, 401, "/problems/unauthenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    basic = client.get("/api/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(basic, 401, "/problems/unauthenticated")


def test_expired_and_revoked_tokens_are_401(client, make, owner):
    token = make.token(owner)
    api = Api(client, token)
    assert api.get("/api/v1/me").status_code == 200
    db.session.execute(update(AccessToken).values(expires_at=db.utcnow() - timedelta(seconds=1)))
    make.commit()
    response = api.get("/api/v1/me")
    assert_problem(response, 401, "/problems/unauthenticated")
    assert "WWW-Authenticate" in response.headers

    token = make.token(owner)
    db.session.execute(update(AccessToken).values(revoked_at=db.utcnow()))
    make.commit()
    assert_problem(Api(client, token).get("/api/v1/me"), 401, "/problems/unauthenticated")


def test_unknown_person_is_404(api_as, owner, caseworker):
    missing = "00000000-0000-4000-8000-000000000000"
    mine = api_as(owner)
    assert_problem(mine.get(f"/api/v1/people/{missing}/passport"), 404, "/problems/not-found")
    assert_problem(
        api_as(caseworker).get(f"/api/v1/people/{missing}/passport?purpose=direct_support"),
        404,
        "/problems/not-found",
    )
    assert_problem(
        mine.post(
            f"/api/v1/people/{missing}/sections/story/entries", json={"content": {"text": "x"}}
        ),
        404,
        "/problems/not-found",
    )
    assert_problem(mine.get(f"/api/v1/people/{missing}/history"), 404, "/problems/not-found")
    assert_problem(mine.get("/api/v1/people/not-a-uuid/passport"), 404, "/problems/not-found")


def test_unknown_entry_is_404(api_as, owner):
    missing = "00000000-0000-4000-8000-000000000000"
    response = api_as(owner).put(
        f"{entries_url(owner, 'story')}/{missing}", json={"content": {"text": "x"}}
    )
    assert_problem(response, 404, "/problems/not-found")


def test_entry_of_another_section_is_404(api_as, make, owner):
    entry = make.entry(owner, owner, "story", {"text": "x"})
    response = api_as(owner).post(f"{entries_url(owner, 'medication')}/{entry.id}/retire")
    assert_problem(response, 404, "/problems/not-found")


def test_unknown_route_is_404_problem(api_as, owner):
    assert_problem(api_as(owner).get("/api/v1/nothing-here"), 404, "/problems/not-found")


def test_wrong_method_is_405(api_as, owner):
    response = api_as(owner).delete(f"/api/v1/people/{owner.id}/passport")
    body = assert_problem(response, 405, "/problems/method-not-allowed")
    assert body["status"] == 405
    assert "GET" in response.headers["Allow"]


def test_staff_must_say_why_they_read(api_as, owner, caseworker):
    response = api_as(caseworker).get(f"/api/v1/people/{owner.id}/passport")
    body = assert_problem(response, 422, "/problems/validation-error")
    assert "purpose" in body["errors"]
    unknown = api_as(caseworker).get(f"/api/v1/people/{owner.id}/passport?purpose=curiosity")
    body = assert_problem(unknown, 422, "/problems/validation-error")
    assert "purpose" in body["errors"]
    history = api_as(caseworker).get(f"/api/v1/people/{owner.id}/history")
    assert_problem(history, 422, "/problems/validation-error")


def test_me_for_person_and_staff(api_as, owner, caseworker):
    me = api_as(owner).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json == {
        "id": owner.id,
        "kind": "person",
        "name": "Jess",
        "roles": [],
        "agency_id": None,
    }
    staff = api_as(caseworker).get("/api/v1/me").json
    assert staff["kind"] == "staff"
    assert staff["roles"] == ["caseworker"]
    assert staff["agency_id"] == caseworker.agency_id


def test_a_write_that_fails_validation_is_not_logged_as_done(api_as, owner):
    client = api_as(owner)
    refused = client.post(entries_url(owner, "story"), json={"content": {"text": ""}})
    assert refused.status_code == 422
    assert [e for e in events_of(refused) if e.action == "record.write"] == []

    written = client.post(entries_url(owner, "story"), json={"content": {"text": "Hello"}})
    assert written.status_code == 201
    [event] = [e for e in events_of(written) if e.action == "record.write"]
    assert event.outcome == "allowed"
    assert event.detail == {"change": "create", "entry_id": written.json["id"], "revision": 1}


def test_a_racing_duplicate_revision_is_a_conflict_and_the_transaction_survives(make, owner):
    """Two writers computing the same next revision number: the second gets a Conflict (409),
    not a broken transaction that would fail its commit (and its log events) with a 503."""
    from passport.errors import Conflict
    from passport.records.operations import _append

    view = make.entry(owner, owner, "story", {"text": "first"})
    _append(owner, owner.id, Section.STORY, view.id, {"text": "second"}, 2, "current", False)
    with pytest.raises(Conflict):
        _append(owner, owner.id, Section.STORY, view.id, {"text": "racer"}, 2, "current", False)
    db.session.commit()  # the transaction is still usable
    from passport.records.models import Revision

    numbers = db.session.execute(
        select(Revision.revision).where(Revision.entry_id == view.id).order_by(Revision.revision)
    ).scalars()
    assert list(numbers) == [1, 2]
