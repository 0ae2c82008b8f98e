"""Caseworkers' pages: caseload, the brief (consent decided on every load), assisted consent,
break-glass."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from passport import db
from passport.consent.grants import revoke_grant
from passport.identity.actor import Actor
from passport.records.models import Entry
from passport.records.operations import revise_entry
from passport.vocabulary import Section

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


def _set_language(make: Factory, person: Actor, name: str, language: str) -> None:
    profile = db.session.execute(
        select(Entry.id).where(Entry.person_id == person.id, Entry.section == "profile")
    ).scalar_one()
    revise_entry(person, person.id, Section.PROFILE, profile, {"name": name, "language": language})
    make.commit()


FULL_RISK = {
    "summary": "Lone working: meet at the hub.",
    "flags": [
        {"kind": "lone_working", "level": "medium", "detail": "two workers at the flat"},
        {"kind": "overdose", "level": "high", "detail": "carries naloxone"},
    ],
    "ndt": {"engagement": 3, "risk_to_others": 2, "housing": 4},
    "review_on": "2020-01-31",
}


def test_brief_order_alerts_then_how_to_talk_then_changes_then_when_sharing_ends(
    client: FlaskClient, make: Factory
) -> None:
    agency, worker, person = _setup(make)
    make.entry(person, person, "risk", FULL_RISK)
    make.entry(
        person,
        person,
        "preferences",
        {"interpreter": "Arabic (female interpreter, please)", "communication_needs": "Go slowly"},
    )
    grant(person, "agency", agency.id, ["risk", "medication", "preferences"])
    sign_in(client, worker)
    html = client.get(f"/people/{person.id}/brief").get_data(as_text=True)
    # High before medium, each with its detail; then the summary and the (overdue) review.
    order = [
        "carries naloxone",
        "two workers at the flat",
        "Lone working: meet at the hub.",
        "Overdue: these risks were due to be looked at again on 31 January 2020",
        'id="communication"',
        "Interpreter: Arabic (female interpreter, please)",
        "Go slowly",
        'id="changed"',
        'id="sharing-ends"',
        "Methadone",
        'id="ndt"',
    ]
    positions = [html.index(text) for text in order]
    assert positions == sorted(positions)
    # The interpreter is an alert, not a line under "What works".
    assert html.count("Interpreter: Arabic") == 1
    # NDT scores with their total (risk to others counts double: 3 + 2*2 + 4 = 11).
    assert "NDT total: 11 out of 48" in html
    # The sharing ends on the grant's day (180 days by default in the factory).
    ends = html[html.index('id="sharing-ends"') : html.index("Methadone")]
    assert "Medication" in ends and "until" in ends


def test_brief_never_shows_risk_or_interpreter_that_is_not_shared(
    client: FlaskClient, make: Factory
) -> None:
    agency, worker, person = _setup(make)
    make.entry(person, person, "risk", FULL_RISK)
    make.entry(person, person, "preferences", {"interpreter": "Arabic (female)"})
    _set_language(make, person, "Jess Example", "Welsh")
    grant(person, "agency", agency.id, ["medication"])
    sign_in(client, worker)
    html = client.get(f"/people/{person.id}/brief").get_data(as_text=True)
    for secret in ("naloxone", "meet at the hub", "NDT total", "Arabic", "Language: Welsh"):
        assert secret not in html
    assert "No alerts shared with you." in html


def test_brief_shows_language_from_a_shared_profile(client: FlaskClient, make: Factory) -> None:
    agency, worker, person = _setup(make)
    _set_language(make, person, "Dafydd Morgan", "Welsh")
    grant(person, "agency", agency.id, ["profile", "medication"])
    sign_in(client, worker)
    html = client.get(f"/people/{person.id}/brief").get_data(as_text=True)
    assert html.index("Language: Welsh") < html.index("Methadone")
