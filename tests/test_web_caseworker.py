"""Caseworkers' pages: caseload, the brief (consent decided on every load), assisted consent,
break-glass."""

from __future__ import annotations

from flask.testing import FlaskClient

from passport.consent.grants import revoke_grant

from .factories import SAMPLE_CONTENT, Factory, grant
from .web_helpers import post_form, sign_in


def _setup(make: Factory) -> tuple[object, object, object]:
    agency = make.agency("Riverside Mental Health", "mental_health")
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    person = make.person()
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
    return agency, worker, person


def test_caseload_and_brief_show_only_what_is_shared(client: FlaskClient, make: Factory) -> None:
    agency, worker, person = _setup(make)
    grant(person, "agency", agency.id, ["medication", "preferences"])
    sign_in(client, worker)
    caseload = client.get("/caseload").get_data(as_text=True)
    assert "Jess" in caseload and f"/people/{person.id}/brief" in caseload
    brief = client.get(f"/people/{person.id}/brief?purpose=direct_support").get_data(as_text=True)
    assert "Methadone" in brief and "Afternoons" in brief
    assert "carries naloxone" not in brief  # risk not shared
    assert "Not shared with you" in brief


def test_brief_puts_alerts_first(client: FlaskClient, make: Factory) -> None:
    agency, worker, person = _setup(make)
    grant(person, "agency", agency.id, ["risk", "medication"])
    sign_in(client, worker)
    brief = client.get(f"/people/{person.id}/brief").get_data(as_text=True)
    assert brief.index("carries naloxone") < brief.index("Methadone")


def test_revocation_shows_on_the_next_page_load(client: FlaskClient, make: Factory) -> None:
    agency, worker, person = _setup(make)
    grant(person, "agency", agency.id, ["preferences"])
    meds = grant(person, "agency", agency.id, ["medication"])
    sign_in(client, worker)
    assert "Methadone" in client.get(f"/people/{person.id}/brief").get_data(as_text=True)
    revoke_grant(person, person.id, meds.id, None)
    make.commit()
    again = client.get(f"/people/{person.id}/brief").get_data(as_text=True)
    assert "Methadone" not in again and 'id="medication-withheld"' in again


def test_no_consent_at_all_is_a_403_page_offering_break_glass(
    client: FlaskClient, make: Factory
) -> None:
    _, worker, person = _setup(make)
    sign_in(client, worker)
    response = client.get(f"/people/{person.id}/brief")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "not shared with you" in html and "Methadone" not in html
    assert f"/people/{person.id}/emergency" in html


def test_wrong_role_is_403(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    sign_in(client, person)
    for path in ["/caseload", f"/people/{person.id}/brief", f"/people/{person.id}/emergency"]:
        assert client.get(path).status_code == 403


def test_break_glass_warns_and_opens_access(client: FlaskClient, make: Factory) -> None:
    _, worker, person = _setup(make)
    sign_in(client, worker)
    page = client.get(f"/people/{person.id}/emergency").get_data(as_text=True)
    assert "The person will be told" in page and "data protection officer" in page
    short = post_form(client, f"/people/{person.id}/emergency", {"reason": "urgent"})
    assert short.status_code == 200 and "at least 10 characters" in short.get_data(as_text=True)
    opened = post_form(
        client,
        f"/people/{person.id}/emergency",
        {"reason": "Found unconscious at the hostel, paramedics asking about medication"},
    )
    assert opened.status_code == 302 and "purpose=emergency" in opened.headers["Location"]
    brief = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert "Methadone" in brief and "emergency access" in brief
    assert "Afternoons" not in brief  # preferences are not an emergency section


def test_assisted_consent_needs_the_person_present_and_a_contributor(
    client: FlaskClient, make: Factory
) -> None:
    agency = make.agency("Hillside Housing")
    worker = make.staff("caseworker", agency=agency)
    person = make.person(registered_by=worker)  # the registering worker is a contributor
    sign_in(client, worker)
    path = f"/people/{person.id}/consent/new"
    form = {
        "grantee_type": "agency",
        "agency_id": agency.id,
        "sections": ["medication"],
        "purpose": "direct_support",
        "days": "6m",
        "method": "verbal",
    }
    absent = post_form(client, path, form)
    assert absent.status_code == 200 and "here with you" in absent.get_data(as_text=True)
    recorded = post_form(client, path, {**form, "present": "yes"})
    assert recorded.status_code == 302
    stranger = make.staff("caseworker", agency=agency)
    post_form(client, "/logout", {}, page="/caseload")
    sign_in(client, stranger)
    refused = post_form(client, path, {**form, "present": "yes"})
    assert refused.status_code == 403
