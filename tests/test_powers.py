"""Powers that must not mix (issue 11, item 7; API.md v1.1): reading and oversight roles are
never one account's, nobody reviews their own break-glass, MDT action owners are members of
that forum, and without a `profile` grant the legal name never leaks — on any surface."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from pypdf import PdfReader
from sqlalchemy import select

from passport import db
from passport.audit.models import AuditEvent
from passport.consent.emergency import open_emergency
from passport.errors import Invalid
from passport.identity.accounts import actor_for_staff, add_staff
from passport.identity.actor import SYSTEM, Actor
from passport.identity.models import Staff
from passport.mdt import operations as mdt

from .factories import PASSWORD, Factory, events_for, grant
from .test_cli import count, new_agency, run
from .web_helpers import csrf_from, post_form, sign_in, sign_in_with_code

TODAY = date.today()
MIXED_SETS = [
    ["caseworker", "dpo"],
    ["caseworker", "admin"],
    ["mdt_chair", "dpo"],
    ["mdt_chair", "admin"],
    ["caseworker", "mdt_chair", "dpo", "admin"],
]


def _events(action: str, outcome: str | None = None) -> list[AuditEvent]:
    from passport import audit

    audit.integrate_all()
    query = select(AuditEvent).where(AuditEvent.action == action)
    if outcome:
        query = query.where(AuditEvent.outcome == outcome)
    return list(db.session.execute(query.order_by(AuditEvent.seq)).scalars())


def _made_before_the_rule(make: Factory, actor: Actor, *roles: str) -> Actor:
    """An account that holds both kinds of role, as one made before the rule could."""
    row = db.session.get(Staff, actor.id)
    assert row is not None
    row.roles = sorted(roles)
    make.commit()
    return actor_for_staff(row)


# -- separation of duties ---------------------------------------------------------------------


@pytest.mark.parametrize("roles", MIXED_SETS)
def test_a_mixed_set_of_roles_is_refused(make: Factory, roles: list[str]) -> None:
    agency = make.agency()
    with pytest.raises(Invalid) as refused:
        add_staff(SYSTEM, username="both", password=PASSWORD, agency_id=agency.id, roles=roles)
    assert refused.value.status == 422
    assert "separation of duties" in refused.value.detail
    assert refused.value.errors is not None and "roles" in refused.value.errors
    assert db.session.execute(select(Staff).where(Staff.username == "both")).first() is None
    denied = _events("admin.staff_add", "denied")
    assert denied and denied[-1].reason == "mixed-duties"


@pytest.mark.parametrize(
    "roles", [["caseworker", "mdt_chair"], ["dpo", "admin"], ["caseworker"], ["dpo"]]
)
def test_roles_of_one_kind_are_allowed(make: Factory, roles: list[str]) -> None:
    agency = make.agency()
    staff = add_staff(
        SYSTEM, username="one-kind", password=PASSWORD, agency_id=agency.id, roles=roles
    )
    assert sorted(staff.roles) == sorted(roles)


def test_staff_add_on_the_command_line_refuses_a_mixed_set(fresh_app: Flask) -> None:
    agency_id = new_agency(fresh_app)
    args = ["staff", "add", "tom", "--agency", agency_id, "--role", "caseworker", "--role", "dpo"]
    result = run(fresh_app, *args, stdin=PASSWORD + "\n")
    assert result.exit_code != 0
    assert "separation of duties" in result.output
    assert "never both" in result.output
    assert "Traceback" not in result.output
    assert count(fresh_app, Staff) == 0


def test_the_admin_page_refuses_a_mixed_set_keeping_what_was_typed(
    client: FlaskClient, make: Factory
) -> None:
    admin = make.staff("admin")
    agency = make.agency("Teifi Valley Drug Service", "substance_use")
    sign_in_with_code(client, admin)
    page = client.get("/admin/staff").get_data(as_text=True)
    assert "never both" in page  # said before anyone tries
    refused = post_form(
        client,
        "/admin/staff",
        {
            "username": "rhian.both",
            "name": "Rhian Both",
            "password": "a-long-enough-password",
            "agency_id": agency.id,
            "roles": ["caseworker", "dpo"],
        },
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert "There is a problem" in html and 'href="#roles"' in html
    assert "not both. Someone who needs both needs two accounts." in html
    assert 'value="rhian.both"' in html and 'value="Rhian Both"' in html
    assert f'value="{agency.id}" selected' in html
    assert html.count("checked") == 2  # caseworker and dpo stay ticked
    assert db.session.execute(select(Staff).where(Staff.username == "rhian.both")).first() is None


def test_an_old_account_holding_both_reads_nothing_and_is_told_why(
    client: FlaskClient, make: Factory, api_as: Any
) -> None:
    agency = make.agency()
    worker = make.staff("caseworker", agency=agency, name="Tom Price")
    person = make.person()
    grant(person, "agency", agency.id, ["risk", "story", "profile"])
    before = api_as(worker).get(f"/api/v1/people/{person.id}/passport?purpose=direct_support")
    assert before.status_code == 200
    both = _made_before_the_rule(make, worker, "caseworker", "dpo")
    api = api_as(both)

    read = api.get(f"/api/v1/people/{person.id}/passport?purpose=direct_support")
    assert read.status_code == 403
    assert (
        "both reading roles" in read.json["detail"]
        and "two separate accounts" in read.json["detail"]
    )
    assert {e.reason for e in events_for(read, "record.view")} == {"mixed-duties"}
    assert api.get("/api/v1/people").json["items"] == []
    wrote = api.post(
        f"/api/v1/people/{person.id}/sections/story/entries", {"content": {"text": "hello"}}
    )
    assert wrote.status_code == 403 and "oversight" in wrote.json["detail"]
    glass = api.post(
        f"/api/v1/people/{person.id}/emergency-access", {"reason": "collapsed in the street"}
    )
    assert glass.status_code == 403 and "two separate accounts" in glass.json["detail"]
    assert [e.reason for e in events_for(glass, "emergency.open")] == ["mixed-duties"]

    # The pages say it plainly too (DPO: second factor first).
    sign_in_with_code(client, both)
    caseload = client.get("/caseload").get_data(as_text=True)
    assert "Ask an administrator for two separate accounts" in caseload
    brief = client.get(f"/people/{person.id}/brief?purpose=direct_support")
    assert brief.status_code == 403
    assert "two separate accounts" in brief.get_data(as_text=True)
    assert "Jessica" not in brief.get_data(as_text=True)


# -- nobody reviews their own break-glass -----------------------------------------------------


@pytest.fixture
def own_glass(make: Factory) -> dict[str, Any]:
    """A caseworker who opened break-glass, whose account later became a DPO's; and another
    DPO of the same agency."""
    agency = make.agency()
    worker = make.staff("caseworker", agency=agency, name="Siân Morgan")
    person = make.person()
    access = open_emergency(worker, person.id, "Collapsed at the day centre, unresponsive", 4)
    make.commit()
    reviewer = _made_before_the_rule(make, worker, "dpo")
    other = make.staff("dpo", agency=agency, name="Other DPO")
    return {"access": access, "reviewer": reviewer, "other": other, "person": person}


def test_the_api_refuses_to_let_a_dpo_review_their_own_break_glass(
    own_glass: dict[str, Any], api_as: Any
) -> None:
    path = f"/api/v1/audit/emergency-access/{own_glass['access'].id}/review"
    refused = api_as(own_glass["reviewer"]).post(
        path, {"outcome": "justified", "notes": "I was right"}
    )
    assert refused.status_code == 403
    assert refused.json["type"] == "/problems/forbidden"
    assert "own emergency access" in refused.json["detail"]
    [event] = events_for(refused, "emergency.review")
    assert (event.outcome, event.reason) == ("denied", "own-emergency")
    assert event.person_id == own_glass["person"].id
    # Still waiting, and another DPO may review it.
    other = api_as(own_glass["other"])
    assert [
        i["id"] for i in other.get("/api/v1/audit/emergency-access?reviewed=false").json["items"]
    ] == [own_glass["access"].id]
    assert other.post(path, {"outcome": "justified", "notes": "Proportionate"}).status_code == 200


def test_the_dpo_page_does_not_offer_their_own_break_glass(
    client: FlaskClient, own_glass: dict[str, Any]
) -> None:
    access = own_glass["access"]
    sign_in_with_code(client, own_glass["reviewer"])
    queue = client.get("/dpo/emergency").get_data(as_text=True)
    assert f"/dpo/emergency/{access.id}" not in queue
    assert "You opened this: another data protection officer must review it" in queue
    page = client.get(f"/dpo/emergency/{access.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="own-emergency"' in html
    assert 'name="outcome"' not in html  # no form
    refused = client.post(
        f"/dpo/emergency/{access.id}",
        data={"outcome": "justified", "notes": "Fine", "csrf_token": csrf_from(html)},
    )
    assert refused.status_code == 403
    assert 'id="own-emergency"' in refused.get_data(as_text=True)
    assert [e.reason for e in events_for(refused, "emergency.review")] == ["own-emergency"]


# -- MDT action owners are members of that forum ---------------------------------------------


@pytest.fixture
def meeting(make: Factory) -> dict[str, Any]:
    housing = make.agency("Riverside Housing First", "housing")
    admin = make.staff("admin", agency=housing)
    chair = make.staff("caseworker", "mdt_chair", agency=housing, name="Gareth Lewis")
    member = make.staff("caseworker", agency=housing, name="Amara Okafor")
    outsider = make.staff("caseworker", agency=housing, name="Owen Outsider")
    forum = mdt.create_forum(admin, "Riverside MDT", [housing.id])
    mdt.add_member(admin, forum.id, chair.id, "chair")
    mdt.add_member(admin, forum.id, member.id, "member")
    held = mdt.create_meeting(chair, forum.id, TODAY, "November", [])
    make.commit()
    person = make.person()
    grant(person, "mdt", forum.id, ["risk", "story"], purpose="mdt")
    mdt.add_to_agenda(chair, held.id, person.id)
    make.commit()
    return {
        "chair": chair,
        "member": member,
        "outsider": outsider,
        "forum": forum,
        "meeting": held,
        "person": person,
    }


def test_the_api_refuses_an_action_owner_outside_the_forum(
    meeting: dict[str, Any], api_as: Any
) -> None:
    chair = api_as(meeting["chair"])
    path = f"/api/v1/meetings/{meeting['meeting'].id}/actions"
    body = {
        "person_id": meeting["person"].id,
        "text": "Ask the GP to review the dose",
        "due_on": (TODAY + timedelta(days=7)).isoformat(),
    }
    refused = chair.post(path, {**body, "owner_staff_id": meeting["outsider"].id})
    assert refused.status_code == 422
    assert refused.json["type"] == "/problems/validation-error"
    assert "member of this MDT" in refused.json["detail"]
    assert "owner_staff_id" in refused.json["errors"]
    [event] = events_for(refused, "mdt.action_add")
    assert (event.outcome, event.reason) == ("denied", "not-forum-member")
    assert event.detail["owner_id"] == meeting["outsider"].id
    assert chair.post(path, {**body, "owner_staff_id": meeting["member"].id}).status_code == 201


def test_the_action_page_offers_members_only_and_refuses_anyone_else(
    client: FlaskClient, meeting: dict[str, Any]
) -> None:
    path = f"/mdt/meetings/{meeting['meeting'].id}/actions/new"
    sign_in(client, meeting["chair"])
    form = client.get(path).get_data(as_text=True)
    assert meeting["member"].id in form and meeting["outsider"].id not in form
    refused = post_form(
        client,
        path,
        {
            "person_id": meeting["person"].id,
            "owner_staff_id": meeting["outsider"].id,
            "text": "Call her",
            "due_on": (TODAY + timedelta(days=40)).isoformat(),
        },
    )
    html = refused.get_data(as_text=True)
    assert "There is a problem" in html and "from the MDT" in html
    assert 'value="Call her"' in html or "Call her</textarea>" in html
    assert [e.reason for e in events_for(refused, "mdt.action_add")] == ["not-forum-member"]


# -- the legal name without a profile grant ---------------------------------------------------

LEGAL = ("Jessica Hartley", "Hartley", "Ciaran Byrne", "Byrne")


@pytest.fixture
def named(make: Factory) -> dict[str, Any]:
    """Jess (legal name Jessica Hartley) and Ciaran Byrne, who gave no preferred name; both
    share their story and risks — not their profile — with an agency and an MDT."""
    housing = make.agency("Riverside Housing First", "housing")
    admin = make.staff("admin", agency=housing)
    worker = make.staff("caseworker", agency=housing, name="Amara Okafor")
    chair = make.staff("caseworker", "mdt_chair", agency=housing, name="Gareth Lewis")
    forum = mdt.create_forum(admin, "Riverside MDT", [housing.id])
    mdt.add_member(admin, forum.id, chair.id, "chair")
    mdt.add_member(admin, forum.id, worker.id, "member")
    held = mdt.create_meeting(chair, forum.id, TODAY, "November", [])
    make.commit()
    jess = make.person("Jessica Hartley", "Jess", date(1992, 3, 14))
    ciaran = make.person("Ciaran Byrne", None, date(2003, 7, 1))
    for person in (jess, ciaran):
        make.entry(person, person, "story", {"text": "I want a flat near my sister."})
        make.entry(person, person, "risk", {"flags": [{"kind": "overdose", "level": "high"}]})
        grant(person, "agency", housing.id, ["story", "risk"])
        grant(person, "mdt", forum.id, ["story", "risk"], purpose="mdt")
        mdt.add_to_agenda(chair, held.id, person.id)
        mdt.add_action(chair, held.id, person.id, worker.id, "Find a flat", TODAY)
    make.commit()
    return {
        "agency": housing,
        "worker": worker,
        "chair": chair,
        "meeting": held,
        "jess": jess,
        "ciaran": ciaran,
    }


def _no_legal_name(body: str, where: str) -> None:
    for name in LEGAL:
        assert name not in body, f"{name!r} leaked on {where}"


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_no_legal_name_in_the_api_without_a_profile_grant(
    named: dict[str, Any], api_as: Any
) -> None:
    worker, chair = api_as(named["worker"]), api_as(named["chair"])
    jess, ciaran = named["jess"].id, named["ciaran"].id
    caseload = worker.get("/api/v1/people")
    assert sorted((p["preferred_name"] or "") for p in caseload.json["items"]) == ["", "Jess"]
    paths = ["/api/v1/people"]
    for pid in (jess, ciaran):
        paths += [
            f"/api/v1/people/{pid}/passport?purpose=direct_support",
            f"/api/v1/people/{pid}/brief?purpose=direct_support",
            f"/api/v1/people/{pid}/history?purpose=direct_support",
        ]
    for path in paths:
        response = worker.get(path)
        assert response.status_code == 200, path
        _no_legal_name(response.get_data(as_text=True), path)
    passport = worker.get(f"/api/v1/people/{ciaran}/passport?purpose=direct_support").json
    assert passport["person"] == {
        "id": ciaran,
        "preferred_name": None,
        "date_of_birth": "2003-07-01",
    }
    # The person wrote their own story: the author is shown by preferred name, or neutrally.
    assert {e["author"]["name"] for e in passport["sections"]["story"]} == {"The passport holder"}
    jess_view = worker.get(f"/api/v1/people/{jess}/passport?purpose=direct_support").json
    assert {e["author"]["name"] for e in jess_view["sections"]["story"]} == {"Jess"}

    summary_path = f"/api/v1/meetings/{named['meeting'].id}/summary"
    summary = chair.get(summary_path)
    assert summary.status_code == 200
    _no_legal_name(summary.get_data(as_text=True), summary_path)
    assert sorted((p["person"]["preferred_name"] or "") for p in summary.json["people"]) == [
        "",
        "Jess",
    ]
    printed = chair.get(f"{summary_path}.html")
    assert printed.status_code == 200
    _no_legal_name(printed.get_data(as_text=True), "the print view")
    assert "Name not shared" in printed.get_data(as_text=True)
    pdf = chair.get(f"{summary_path}.pdf")
    assert pdf.status_code == 200
    _no_legal_name(_pdf_text(pdf.data), "the PDF")


def test_no_legal_name_on_the_pages_without_a_profile_grant(
    client: FlaskClient, named: dict[str, Any]
) -> None:
    m = named["meeting"].id
    sign_in(client, named["worker"])
    for path in [
        "/caseload",
        f"/people/{named['jess'].id}/brief?purpose=direct_support",
        f"/people/{named['ciaran'].id}/brief?purpose=direct_support",
        "/mdt/actions",
        f"/mdt/meetings/{m}",
        f"/mdt/meetings/{m}/summary",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        _no_legal_name(response.get_data(as_text=True), path)
    caseload = client.get("/caseload").get_data(as_text=True)
    assert "Jess" in caseload and "Name not shared" in caseload
    refresh()  # the test's app context outlives requests; Flask-Babel caches the locale on it
    welsh = client.get("/caseload?lang=cy").get_data(as_text=True)
    assert "Enw heb ei rannu" in welsh
    _no_legal_name(welsh, "the Welsh caseload")
    refresh()
    client.get("/caseload?lang=en")
    refresh()

    post_form(client, "/logout", {}, page="/caseload")
    sign_in(client, named["chair"])
    for path in [
        f"/mdt/meetings/{m}",
        f"/mdt/meetings/{m}/summary",
        f"/mdt/meetings/{m}/summary/print",
        f"/mdt/meetings/{m}/actions/new",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        _no_legal_name(response.get_data(as_text=True), path)
    pdf = client.get(f"/mdt/meetings/{m}/summary.pdf")
    assert pdf.status_code == 200
    text = _pdf_text(pdf.data)
    _no_legal_name(text, "the PDF page")
    assert "Name not shared" in text and "Jess" in text


def test_a_profile_grant_shows_the_legal_name(
    client: FlaskClient, named: dict[str, Any], api_as: Any
) -> None:
    for person in (named["jess"], named["ciaran"]):
        grant(person, "agency", named["agency"].id, ["profile"])
    worker = api_as(named["worker"])
    ciaran = worker.get(f"/api/v1/people/{named['ciaran'].id}/passport?purpose=direct_support")
    assert ciaran.json["person"]["preferred_name"] == "Ciaran Byrne"
    jess = worker.get(f"/api/v1/people/{named['jess'].id}/passport?purpose=direct_support")
    assert jess.json["person"]["preferred_name"] == "Jess"
    assert jess.json["sections"]["profile"][0]["content"]["name"] == "Jessica Hartley"
    caseload = worker.get("/api/v1/people").get_data(as_text=True)
    assert "Ciaran Byrne" in caseload
    sign_in(client, named["worker"])
    assert "Ciaran Byrne" in client.get("/caseload").get_data(as_text=True)
