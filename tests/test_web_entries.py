"""Writing in a passport on the pages: the person in any section, a contributor in the
sections delegated to them, everyone else refused (and the refusal logged by the domain)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh

from passport import db
from passport.audit.models import AuditEvent
from passport.identity.actor import Actor
from passport.records import writing
from passport.vocabulary import Section

from .factories import SAMPLE_CONTENT, Factory, events_for
from .web_helpers import csrf_from, post_form, revision_from, sign_in, sign_in_with_code


def _contributor(make: Factory, sections: list[str] | None = None) -> tuple[Actor, Actor]:
    """A person and the caseworker who registered them (a contributor to every section), or
    a caseworker the person chose for some sections."""
    if sections is None:
        worker = make.staff("caseworker", name="Tom Price")
        return make.person(registered_by=worker), worker
    from passport.records.operations import add_contributor

    person = make.person()
    worker = make.staff("caseworker", name="Tom Price")
    add_contributor(person, person.id, worker.id, sections)
    make.commit()
    return person, worker


def _current(make: Factory, person: Actor, section: str) -> list[Any]:
    return writing.open_section(person, person.id, Section(section)).entries


def _base(person: Actor, worker: Actor | None) -> str:
    return f"/people/{person.id}" if worker else "/me"


RISK_FORM = {
    "flags-0-kind": "overdose",
    "flags-0-level": "high",
    "flags-0-detail": "Carries naloxone",
    "flags-1-kind": "",
    "flags-1-level": "",
    "flags-1-detail": "",
    "summary": "Safer in the afternoon",
    "ndt-engagement": "3",
    "ndt-risk_to_others": "2",
    "ndt-housing": "4",
    "review_on-day": "3",
    "review_on-month": "3",
    "review_on-year": "2027",
}


@pytest.mark.parametrize("who", ["person", "contributor"])
def test_risk_with_flags_ndt_and_review_date(client: FlaskClient, make: Factory, who: str) -> None:
    person, worker = _contributor(make)
    sign_in(client, worker if who == "contributor" else person)
    base = _base(person, worker if who == "contributor" else None)
    page = client.get(f"{base}/risk/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="ndt-housing"' in html and "Working with services" in html
    saved = post_form(client, f"{base}/risk/new", RISK_FORM)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    (entry,) = _current(make, person, "risk")
    assert entry.content == {
        "flags": [{"kind": "overdose", "level": "high", "detail": "Carries naloxone"}],
        "summary": "Safer in the afternoon",
        "ndt": {"engagement": 3, "risk_to_others": 2, "housing": 4},
        "ndt_total": 3 + 4 + 4,
        "review_on": "2027-03-03",
    }
    back = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "NDT total: 11 out of 48" in back
    change = client.get(f"{base}/risk/{entry.id}/change").get_data(as_text=True)
    assert "NDT total now: 11 out of 48" in change


def test_add_another_flag_keeps_everything_typed(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    sign_in(client, person)
    page = client.get("/me/risk/new").get_data(as_text=True)
    response = client.post(
        "/me/risk/new",
        data={**RISK_FORM, "add_row": "flags", "csrf_token": csrf_from(page)},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="flags-2-kind"' in html  # one more row
    assert "Carries naloxone" in html and "Safer in the afternoon" in html
    assert 'value="2027"' in html
    assert _current(make, person, "risk") == []  # nothing saved yet


def test_bad_input_shows_errors_and_keeps_what_was_typed(
    client: FlaskClient, make: Factory
) -> None:
    person = make.person()
    sign_in(client, person)
    response = post_form(
        client,
        "/me/risk/new",
        {
            "flags-0-kind": "made_up",
            "flags-0-level": "",
            "flags-0-detail": "x" * 5001,
            "summary": "Kept summary",
            "ndt-housing": "9",
            "review_on-day": "31",
            "review_on-month": "2",
            "review_on-year": "2027",
        },
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "There is a problem" in html
    for link in ("#flags-0-kind", "#flags-0-level", "#flags-0-detail", "#ndt-housing"):
        assert f'href="{link}"' in html
    assert 'href="#review_on-day"' in html and "must be a real date" in html
    assert "Kept summary" in html and 'value="31"' in html
    assert _current(make, person, "risk") == []


def test_medication_every_field_then_stop_it(client: FlaskClient, make: Factory) -> None:
    person, worker = _contributor(make, ["medication"])
    sign_in(client, worker)
    base = f"/people/{person.id}/medication"
    form = {
        "name": "Methadone",
        "dose": "60 mg",
        "frequency": "Once a day",
        "route": "Liquid",
        "prescriber": "Dr Shah",
        "reason": "Opiate substitution",
        "started_on-day": "1",
        "started_on-month": "6",
        "started_on-year": "2026",
        "notes": "Collected daily",
    }
    assert post_form(client, f"{base}/new", form).status_code == 302
    (entry,) = _current(make, person, "medication")
    assert entry.content["started_on"] == "2026-06-01" and entry.content["notes"]
    stop_page = client.get(f"{base}/{entry.id}/end")
    html = stop_page.get_data(as_text=True)
    assert stop_page.status_code == 200 and "Stop this medicine" in html
    today = db.utcnow().date()
    assert f'value="{today.year}"' in html  # today by default
    stopped = client.post(
        f"{base}/{entry.id}/end",
        data={
            "stopped_on-day": "2",
            "stopped_on-month": "12",
            "stopped_on-year": "2026",
            "csrf_token": csrf_from(html),
            **revision_from(html),
        },
    )
    assert stopped.status_code == 302
    (entry,) = _current(make, person, "medication")
    assert entry.revision == 2 and entry.content["stopped_on"] == "2026-12-02"
    assert entry.content["dose"] == "60 mg"


def test_one_lead_worker_is_a_field_error_and_mark_as_left(
    client: FlaskClient, make: Factory
) -> None:
    person, worker = _contributor(make)
    sign_in(client, worker)
    base = f"/people/{person.id}/workers"
    page = client.get(f"{base}/new").get_data(as_text=True)
    assert "Tom Price" in page  # a caseworker's account can be chosen
    first = post_form(
        client,
        f"{base}/new",
        {"name": "Amara Okafor", "is_lead": "yes", "staff_id": worker.id, "email": "a@b.org"},
    )
    assert first.status_code == 302
    second = post_form(client, f"{base}/new", {"name": "Sam Lee", "is_lead": "yes"})
    assert second.status_code == 200
    html = second.get_data(as_text=True)
    assert "There is already a lead worker" in html and 'href="#is_lead"' in html
    assert 'value="Sam Lee"' in html
    (lead,) = _current(make, person, "workers")
    assert lead.content["staff_id"] == worker.id and lead.content["is_lead"] is True
    bad_email = post_form(client, f"{base}/new", {"name": "Sam Lee", "email": "not an email"})
    assert bad_email.status_code == 200
    assert "Enter an email address" in bad_email.get_data(as_text=True)
    left = post_form(
        client,
        f"{base}/{lead.id}/end",
        {"until-day": "1", "until-month": "1", "until-year": "2026"},
    )
    assert left.status_code == 302
    (lead,) = _current(make, person, "workers")
    assert lead.content["until"] == "2026-01-01" and lead.content["name"] == "Amara Okafor"


@pytest.mark.parametrize("who", ["person", "contributor"])
def test_remove_asks_first_then_retires(client: FlaskClient, make: Factory, who: str) -> None:
    person, worker = _contributor(make)
    entry = make.entry(person, person, "medication", SAMPLE_CONTENT[Section.MEDICATION])
    sign_in(client, worker if who == "contributor" else person)
    base = _base(person, worker if who == "contributor" else None)
    page = client.get(f"{base}/medication/{entry.id}/remove")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "services will no longer see it" in html and "history" in html
    assert "Methadone" in html
    assert len(_current(make, person, "medication")) == 1  # only asked
    done = client.post(
        f"{base}/medication/{entry.id}/remove",
        data={"csrf_token": csrf_from(html), **revision_from(html)},
    )
    assert done.status_code == 302
    assert _current(make, person, "medication") == []


@pytest.mark.parametrize("section", ["story", "preferences"])
def test_a_worker_writes_the_persons_words_only_with_them(
    client: FlaskClient, make: Factory, section: str
) -> None:
    person, worker = _contributor(make)
    sign_in(client, worker)
    form = (
        {"text": "Two hostels, then the street."}
        if section == "story"
        else {"contact-0-method": "phone", "contact-0-detail": "07700 900123", "goals": "A flat"}
    )
    url = f"/people/{person.id}/{section}/new"
    page = client.get(url).get_data(as_text=True)
    assert "I wrote this with Jess, who is here with me" in page
    refused = post_form(client, url, form)
    assert refused.status_code == 200
    assert 'href="#with_person"' in refused.get_data(as_text=True)
    assert _current(make, person, section) == []
    saved = post_form(client, url, {**form, "with_person": "yes"})
    assert saved.status_code == 302
    (entry,) = _current(make, person, section)
    assert entry.written_with_person is True
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    sign_in(client, person)
    mine = client.get("/me").get_data(as_text=True)
    assert "Written with you by Tom Price (" in mine


def test_the_person_writes_without_the_box(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    sign_in(client, person)
    page = client.get("/me/story/new").get_data(as_text=True)
    assert "with_person" not in page
    assert post_form(client, "/me/story/new", {"text": "Mine."}).status_code == 302
    (entry,) = _current(make, person, "story")
    assert entry.written_with_person is False


def test_what_works_keeps_contact_details(client: FlaskClient, make: Factory) -> None:
    """The old form dropped `detail` and `best_times`: saving unchanged keeps them."""
    person = make.person()
    content = {
        "contact": [
            {"method": "text", "detail": "07700 900123", "best_times": "After 2pm"},
            {"method": "via_worker"},
        ],
        "what_helps": "Afternoons",
    }
    make.entry(person, person, "preferences", content)
    sign_in(client, person)
    page = client.get("/me/what-works").get_data(as_text=True)
    assert "07700 900123" in page and "After 2pm" in page
    from .test_form_roundtrip import form_values

    values = form_values(page)
    assert client.post("/me/what-works", data=values).status_code == 302
    (entry,) = _current(make, person, "preferences")
    assert entry.revision == 2 and entry.content == {**content, "contact": content["contact"]}


def test_the_api_says_written_with_person(client: FlaskClient, make: Factory, api_as: Any) -> None:
    person, worker = _contributor(make)
    from passport.records.operations import add_entry

    add_entry(worker, person.id, Section.STORY, {"text": "Hi"}, written_with_person=True)
    make.commit()
    body = api_as(person).get(f"/api/v1/people/{person.id}/passport").get_json()
    (story,) = body["sections"]["story"]
    assert story["written_with_person"] is True
    assert body["sections"]["profile"][0]["written_with_person"] is False


# -- who may not write ------------------------------------------------------------------------

PAGES = [
    ("get", "risk/new"),
    ("post", "risk/new"),
    ("get", "medication/ENTRY/change"),
    ("post", "medication/ENTRY/change"),
    ("get", "medication/ENTRY/remove"),
    ("post", "medication/ENTRY/remove"),
    ("post", "medication/ENTRY/end"),
]


def _refusal_cases(make: Factory) -> tuple[Actor, Any, dict[str, Actor]]:
    person, _ = _contributor(make, ["story"])
    entry = make.entry(person, person, "medication", SAMPLE_CONTENT[Section.MEDICATION])
    agency_reader = make.staff("caseworker")
    from .factories import grant

    grant(person, "agency", agency_reader.agency_id or "", ["medication", "risk"])
    others = {
        "non_contributor": agency_reader,  # reads with a grant, never writes
        "outside_delegation": _contributor_for(make, person, ["story"]),
        "dpo": make.staff("dpo", scheme_wide=True),
        "admin": make.staff("admin"),
        "another_person": make.person(name="Ciaran Byrne", preferred_name="Ciaran"),
    }
    return person, entry, others


def _contributor_for(make: Factory, person: Actor, sections: list[str]) -> Actor:
    from passport.records.operations import add_contributor

    worker = make.staff("caseworker")
    add_contributor(person, person.id, worker.id, sections)
    make.commit()
    return worker


@pytest.mark.parametrize(
    "who", ["non_contributor", "outside_delegation", "dpo", "admin", "another_person"]
)
def test_everyone_else_is_refused_and_logged(client: FlaskClient, make: Factory, who: str) -> None:
    person, entry, others = _refusal_cases(make)
    actor = others[who]
    if who in ("dpo", "admin"):
        sign_in_with_code(client, actor)
    else:
        sign_in(client, actor)
    token = csrf_from(client.get("/account").get_data(as_text=True))
    for method, path in PAGES:
        url = f"/people/{person.id}/" + path.replace("ENTRY", entry.id)
        if method == "get":
            response = client.get(url)
        else:
            response = client.post(
                url, data={"csrf_token": token, "name": "Changed", "flags-0-kind": "other"}
            )
        assert response.status_code == 403, (method, url, response.status_code)
        assert "cannot change" in response.get_data(as_text=True)
        refused = [
            e
            for e in events_for(response, "record.write")
            if e.outcome == "denied" and e.actor_id == actor.id
        ]
        assert refused, (method, url)
    (medication,) = _current(make, person, "medication")
    assert medication.revision == 1 and medication.content["name"] == "Methadone"
    assert _current(make, person, "risk") == []


def test_staff_have_no_me_pages(client: FlaskClient, make: Factory) -> None:
    worker = make.staff("caseworker")
    sign_in(client, worker)
    assert client.get("/me/story/new").status_code == 403
    assert client.get("/me/what-works").status_code == 403


def test_the_brief_links_only_the_sections_the_worker_writes(
    client: FlaskClient, make: Factory
) -> None:
    person, worker = _contributor(make, ["medication", "workers"])
    sign_in(client, worker)
    html = client.get(f"/people/{person.id}/brief").get_data(as_text=True)
    sections = {s.value for s in Section}
    links = set(re.findall(rf'href="/people/{person.id}/([a-z]+)"', html)) & sections
    assert links == {"medication", "workers"}
    section = client.get(f"/people/{person.id}/medication")
    assert section.status_code == 200
    assert f'href="/people/{person.id}/medication/new"' in section.get_data(as_text=True)
    assert client.get(f"/people/{person.id}/risk").status_code == 403


def test_writing_pages_in_welsh(client: FlaskClient, make: Factory) -> None:
    person, worker = _contributor(make)
    entry = make.entry(person, person, "workers", SAMPLE_CONTENT[Section.WORKERS])
    sign_in(client, worker)
    base = f"/people/{person.id}"
    for path in (
        "risk/new",
        "medication/new",
        "workers/new",
        f"workers/{entry.id}/change",
        f"workers/{entry.id}/remove",
        f"workers/{entry.id}/end",
        "story/new",
        "preferences/new",
        "profile/new",
        "workers",
    ):
        refresh()  # the tests share one app context: forget the last request's language
        response = client.get(f"{base}/{path}?lang=cy")
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert '<html lang="cy"' in html, path
    refresh()
    welsh = client.get(f"{base}/risk/new?lang=cy").get_data(as_text=True)
    assert "Cadw" in welsh and "Ychwanegu risg arall" in welsh and "Save" not in welsh


def test_refusals_reach_the_log_with_the_reason(client: FlaskClient, make: Factory) -> None:
    person, _, others = _refusal_cases(make)
    sign_in(client, others["outside_delegation"])
    response = client.get(f"/people/{person.id}/risk/new")
    assert response.status_code == 403
    (event,) = [e for e in events_for(response, "record.write") if e.outcome == "denied"]
    assert isinstance(event, AuditEvent) and event.reason == "not-contributor"
