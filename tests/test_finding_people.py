"""Finding people (issue 11, item 8; API.md v1.1): the caseload search matches the preferred
or the legal name without regard to case or spaces; the emergency search finds anyone, even
someone who has shared nothing, by exact name and date of birth, logged without the name; and
break-glass starts from that search and the brief says when it ends."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh

from passport.identity.actor import Actor
from passport.identity.models import Person
from passport.records.operations import erase_person

from .factories import Factory, events_for, grant
from .web_helpers import csrf_from, post_form, sign_in

SEARCH = "/api/v1/people/emergency-search"


@pytest.fixture
def people(make: Factory) -> dict[str, Any]:
    housing = make.agency("Riverside Housing First", "housing")
    worker = make.staff("caseworker", agency=housing, name="Amara Okafor")
    jess = make.person("Jessica Hartley", "Jess", date(1992, 3, 14))
    ciaran = make.person("Ciaran Byrne", None, date(2003, 7, 1))
    mariam = make.person("Mariam Haddad", "Mimi", date(1988, 11, 2))  # has shared nothing
    for person in (jess, ciaran):
        grant(person, "agency", housing.id, ["risk", "story"])
    return {"worker": worker, "jess": jess, "ciaran": ciaran, "mariam": mariam, "agency": housing}


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [p["id"] for p in response.json["items"]]


# -- the caseload search ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("name=Jess", "jess"),
        ("name=jess", "jess"),
        ("name=%20%20JESS%20", "jess"),
        ("name=Jessica%20Hartley", "jess"),
        ("name=jessica%20%20%20HARTLEY%20", "jess"),
        ("name=ciaran%20byrne", "ciaran"),
        ("name=jess&date_of_birth=1992-03-14", "jess"),
        ("name=JESSICA%20HARTLEY&date_of_birth=1992-03-14", "jess"),
        ("name=Jessica", None),  # exact, not a prefix
        ("name=Hartley", None),
        ("name=jess&date_of_birth=1992-03-15", None),
        ("name=Mimi", None),  # not in this worker's caseload
        ("name=Mariam%20Haddad", None),
    ],
)
def test_the_caseload_search_matches_preferred_or_legal_name_in_any_case(
    people: dict[str, Any], api_as: Any, query: str, who: str | None
) -> None:
    found = _ids(api_as(people["worker"]).get(f"/api/v1/people?{query}"))
    assert found == ([people[who].id] if who else [])


def test_a_new_preferred_name_is_found_once_the_profile_changes(
    people: dict[str, Any], api_as: Any
) -> None:
    jess = api_as(people["jess"])
    profile = jess.get(f"/api/v1/people/{people['jess'].id}/passport").json["sections"]["profile"]
    changed = jess.put(
        f"/api/v1/people/{people['jess'].id}/sections/profile/entries/{profile[0]['id']}",
        {"content": {**profile[0]["content"], "preferred_name": "Jessie"}},
    )
    assert changed.status_code == 200
    worker = api_as(people["worker"])
    assert _ids(worker.get("/api/v1/people?name=JESSIE")) == [people["jess"].id]
    assert _ids(worker.get("/api/v1/people?name=Jess")) == []
    assert _ids(worker.get("/api/v1/people?name=jessica%20hartley")) == [people["jess"].id]


def test_erasure_removes_the_preferred_name_index(make: Factory, people: dict[str, Any]) -> None:
    from passport import db
    from passport.identity.actor import SYSTEM

    erase_person(SYSTEM, people["mariam"].id)
    make.commit()
    row = db.session.get(Person, people["mariam"].id)
    assert row is not None
    assert (row.preferred_name_index, row.preferred_name_dob_index) == (None, None)


def test_the_caseload_page_searches_either_name(
    client: FlaskClient, people: dict[str, Any]
) -> None:
    sign_in(client, people["worker"])
    page = client.get("/caseload").get_data(as_text=True)
    assert 'href="/emergency/find"' in page
    found = client.get("/caseload?name=%20JESSICA%20hartley").get_data(as_text=True)
    assert f"/people/{people['jess'].id}/brief" in found
    assert f"/people/{people['ciaran'].id}/brief" not in found
    by_preferred = client.get("/caseload?name=jess").get_data(as_text=True)
    assert f"/people/{people['jess'].id}/brief" in by_preferred
    assert "Nobody found." in client.get("/caseload?name=Jessica").get_data(as_text=True)


# -- the emergency search (API) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "born", "who"),
    [
        ("Mimi", "1988-11-02", "mariam"),
        ("  MARIAM   haddad ", "1988-11-02", "mariam"),
        ("jess", "1992-03-14", "jess"),
        ("Ciaran Byrne", "2003-07-01", "ciaran"),
        ("Mariam", "1988-11-02", None),
        ("Mimi", "1988-11-03", None),
    ],
)
def test_the_emergency_search_finds_anyone_by_exact_name_and_birth_date(
    people: dict[str, Any], api_as: Any, name: str, born: str, who: str | None
) -> None:
    response = api_as(people["worker"]).get(
        SEARCH, query_string={"name": name, "date_of_birth": born}
    )
    assert _ids(response) == ([people[who].id] if who else [])


def test_the_emergency_search_shows_the_preferred_name_and_birth_date_only(
    people: dict[str, Any], api_as: Any
) -> None:
    worker = api_as(people["worker"])
    mariam = worker.get(SEARCH, query_string={"name": "mimi", "date_of_birth": "1988-11-02"})
    assert mariam.json["items"] == [
        {"id": people["mariam"].id, "preferred_name": "Mimi", "date_of_birth": "1988-11-02"}
    ]
    assert "Haddad" not in mariam.get_data(as_text=True)
    ciaran = worker.get(
        SEARCH, query_string={"name": "ciaran byrne", "date_of_birth": "2003-07-01"}
    )
    assert ciaran.json["items"] == [
        {"id": people["ciaran"].id, "preferred_name": None, "date_of_birth": "2003-07-01"}
    ]
    assert "Byrne" not in ciaran.get_data(as_text=True)
    # Finding someone is not reading them: without break-glass their passport stays closed.
    closed = worker.get(f"/api/v1/people/{people['mariam'].id}/passport?purpose=emergency")
    assert closed.status_code == 403


def test_every_emergency_search_is_logged_without_the_name(
    people: dict[str, Any], api_as: Any
) -> None:
    worker = api_as(people["worker"])
    found = worker.get(
        SEARCH, query_string={"name": "Mariam Haddad", "date_of_birth": "1988-11-02"}
    )
    [event] = events_for(found, "person.emergency_search")
    assert event.outcome == "allowed" and event.purpose == "emergency"
    assert event.detail == {"count": 1, "person_ids": [people["mariam"].id]}
    nobody = worker.get(
        SEARCH, query_string={"name": "Nobody Atall", "date_of_birth": "2000-01-01"}
    )
    [empty] = events_for(nobody, "person.emergency_search")
    assert empty.detail == {"count": 0, "person_ids": []}
    for row in (event, empty):
        logged = json.dumps(row.exported(), default=str).casefold()
        for word in ("mariam", "haddad", "mimi", "nobody", "atall", "1988-11-02", "2000-01-01"):
            assert word not in logged


@pytest.mark.parametrize(
    "query",
    [
        {"name": "Mimi"},
        {"date_of_birth": "1988-11-02"},
        {},
        {"name": "", "date_of_birth": "1988-11-02"},
        {"name": "Mimi", "date_of_birth": "not-a-date"},
        {"name": "Mimi", "date_of_birth": "1988-11-02", "agency": "x"},
    ],
)
def test_the_emergency_search_needs_both_name_and_birth_date(
    people: dict[str, Any], api_as: Any, query: dict[str, str]
) -> None:
    refused = api_as(people["worker"]).get(SEARCH, query_string=query)
    assert refused.status_code == 422
    assert refused.json["type"] == "/problems/validation-error"


def test_a_blank_name_is_refused_by_the_domain(people: dict[str, Any], api_as: Any) -> None:
    refused = api_as(people["worker"]).get(
        SEARCH, query_string={"name": "   ", "date_of_birth": "1988-11-02"}
    )
    assert refused.status_code == 422 and "name" in refused.json["errors"]


@pytest.mark.parametrize("roles", [("mdt_chair",), ("dpo",), ("admin",), ("person",)])
def test_only_caseworkers_search_in_an_emergency(
    make: Factory, people: dict[str, Any], api_as: Any, roles: tuple[str, ...]
) -> None:
    actor: Actor = make.person("Someone Else") if roles == ("person",) else make.staff(*roles)
    refused = api_as(actor).get(
        SEARCH, query_string={"name": "Mimi", "date_of_birth": "1988-11-02"}
    )
    assert refused.status_code == 403
    assert refused.json["type"] == "/problems/forbidden"
    assert "Mimi" not in refused.get_data(as_text=True)
    [event] = events_for(refused, "person.emergency_search")
    assert (event.outcome, event.reason) == ("denied", "role")


def test_the_search_route_is_not_taken_for_a_person_id(client: FlaskClient) -> None:
    anonymous = client.get(SEARCH, query_string={"name": "Mimi", "date_of_birth": "1988-11-02"})
    assert anonymous.status_code == 401
    assert anonymous.json["type"] == "/problems/unauthenticated"


def test_an_erased_person_is_not_found(make: Factory, people: dict[str, Any], api_as: Any) -> None:
    from passport.identity.actor import SYSTEM

    erase_person(SYSTEM, people["mariam"].id)
    make.commit()
    gone = api_as(people["worker"]).get(
        SEARCH, query_string={"name": "Mimi", "date_of_birth": "1988-11-02"}
    )
    assert _ids(gone) == []


# -- the emergency search (pages), break-glass and the brief --------------------------------


def test_break_glass_starts_from_a_name_and_keeps_purpose_emergency(
    client: FlaskClient, people: dict[str, Any], make: Factory
) -> None:
    mariam = people["mariam"]
    make.entry(mariam, mariam, "risk", {"flags": [{"kind": "overdose", "level": "high"}]})
    sign_in(client, people["worker"])
    form = client.get("/emergency/find")
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    for field in ('name="name"', 'name="date_of_birth-day"', 'name="date_of_birth-month"'):
        assert field in html
    assert 'name="date_of_birth-year"' in html

    missing = post_form(client, "/emergency/find", {"name": "", "date_of_birth-day": "31"})
    page = missing.get_data(as_text=True)
    assert missing.status_code == 200 and "There is a problem" in page
    assert 'href="#name"' in page and 'href="#date_of_birth-day"' in page
    assert 'value="31"' in page  # what was typed stays

    found = post_form(
        client,
        "/emergency/find",
        {
            "name": " mariam HADDAD",
            "date_of_birth-day": "2",
            "date_of_birth-month": "11",
            "date_of_birth-year": "1988",
        },
    )
    page = found.get_data(as_text=True)
    assert found.status_code == 200 and "Mimi" in page and "2 November 1988" in page
    assert "Haddad" not in page.replace('value=" mariam HADDAD"', "")  # only as typed
    link = f"/people/{mariam.id}/emergency"
    assert f'href="{link}"' in page
    assert [e.detail["count"] for e in events_for(found, "person.emergency_search")] == [1]

    nobody = post_form(
        client,
        "/emergency/find",
        {
            "name": "Mimi",
            "date_of_birth-day": "3",
            "date_of_birth-month": "11",
            "date_of_birth-year": "1988",
        },
    )
    assert 'id="nobody"' in nobody.get_data(as_text=True)

    opened = post_form(client, link, {"reason": "Found collapsed at the hub, not breathing well"})
    assert opened.status_code == 302
    brief_path = opened.headers["Location"]
    assert brief_path == f"/people/{mariam.id}/brief?purpose=emergency"
    brief = client.get(brief_path).get_data(as_text=True)
    assert "You are using emergency access" in brief
    ends = re.search(r'id="emergency-ends">([^<]+)<', brief)
    assert ends and re.fullmatch(
        r"Emergency access ends at \d\d:\d\d (today|on .+)\.", ends.group(1)
    )
    assert "Overdose" in brief and "Haddad" not in brief
    # Every way to this page again keeps purpose=emergency: the language switch too.
    assert "?purpose=emergency&amp;lang=cy" in brief
    refresh()
    welsh = client.get(brief_path + "&lang=cy").get_data(as_text=True)
    assert "purpose=emergency&amp;lang=en" in welsh
    assert 'id="emergency-ends"' in welsh
    refresh()


def test_the_emergency_page_refuses_anyone_but_caseworkers(
    client: FlaskClient, make: Factory
) -> None:
    chair = make.staff("mdt_chair")
    sign_in(client, chair)
    refused = client.get("/emergency/find")
    assert refused.status_code == 403
    assert [e.reason for e in events_for(refused, "person.emergency_search")] == ["role"]
    # and a page never shows a form token to POST a search with
    assert 'name="name"' not in refused.get_data(as_text=True)


def test_the_emergency_page_needs_a_csrf_token(client: FlaskClient, people: dict[str, Any]) -> None:
    sign_in(client, people["worker"])
    html = client.get("/emergency/find").get_data(as_text=True)
    assert csrf_from(html)
    forged = client.post(
        "/emergency/find",
        data={
            "name": "Mimi",
            "date_of_birth-day": "2",
            "date_of_birth-month": "11",
            "date_of_birth-year": "1988",
        },
    )
    assert forged.status_code == 400
    assert "Mimi" not in forged.get_data(as_text=True)
