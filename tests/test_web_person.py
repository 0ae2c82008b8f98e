"""The person's pages: over the same domain functions as the API, refusals included."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from passport import db
from passport.consent.models import Grant

from .factories import SAMPLE_CONTENT, Factory, grant
from .web_helpers import csrf_from, post_form, sign_in


def _person_with_record(make: Factory) -> object:
    person = make.person()
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
    return person


def test_my_passport_shows_every_section_with_author_and_date(
    client: FlaskClient, make: Factory
) -> None:
    person = _person_with_record(make)
    sign_in(client, person)
    html = client.get("/me").get_data(as_text=True)
    for words in ("Methadone", "carries naloxone", "Amara Okafor", "My life so far", "Afternoons"):
        assert words in html
    assert "Written by Jess on" in html


def test_staff_cannot_open_the_person_pages(client: FlaskClient, make: Factory) -> None:
    worker = make.staff("caseworker")
    sign_in(client, worker)
    for path in ["/me", "/me/sharing", "/me/looked", "/me/download/passport.json"]:
        response = client.get(path)
        assert response.status_code == 403
        assert "You cannot see this page" in response.get_data(as_text=True)


def test_write_and_change_my_story(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    sign_in(client, person)
    empty = post_form(client, "/me/story/new", {"title": "", "text": ""})
    assert empty.status_code == 200 and "Write something" in empty.get_data(as_text=True)
    saved = post_form(client, "/me/story/new", {"title": "Hostels", "text": "Two hostels."})
    assert saved.status_code == 302
    html = client.get("/me").get_data(as_text=True)
    assert "Two hostels." in html
    import re

    change = re.search(r'href="(/me/story/[0-9a-f-]+/change)"', html)
    assert change
    post_form(client, change.group(1), {"title": "Hostels", "text": "Three hostels."})
    html = client.get("/me").get_data(as_text=True)
    assert "Three hostels." in html and "Two hostels." not in html
    assert "changed 1 times" in html


def test_what_works_for_me(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    sign_in(client, person)
    response = post_form(
        client,
        "/me/what-works",
        {
            "contact-0-method": "in_person",
            "contact-1-method": "via_worker",
            "appointment_times": "Afternoons, not mornings",
        },
    )
    assert response.status_code == 302
    html = client.get("/me").get_data(as_text=True)
    assert "Afternoons, not mornings" in html and "Through my worker" in html


def test_who_can_see_what_in_one_sentence_and_revoke_with_confirmation(
    client: FlaskClient, make: Factory
) -> None:
    person = make.person()
    agency = make.agency("Riverside Mental Health", "mental_health")
    row = grant(person, "agency", agency.id, ["medication", "risk"])
    sign_in(client, person)
    html = client.get("/me/sharing").get_data(as_text=True)
    assert "Riverside Mental Health can see your risks and your medication from" in html
    confirm = client.get(f"/me/sharing/{row.id}/stop")
    assert "Yes, stop sharing" in confirm.get_data(as_text=True)
    done = client.post(
        f"/me/sharing/{row.id}/stop", data={"csrf_token": csrf_from(confirm.get_data(as_text=True))}
    )
    assert done.status_code == 302
    db.session.expire_all()
    stored = db.session.get(Grant, row.id)
    assert stored is not None and stored.revocation is not None
    again = client.get("/me/sharing").get_data(as_text=True)
    assert "cannot see your information any more" in again
    assert "Stopped" in again


def test_revoking_someone_elses_grant_is_not_found(client: FlaskClient, make: Factory) -> None:
    owner = make.person()
    other = make.person(name="Ciaran Doyle", preferred_name="Ciaran")
    agency = make.agency()
    row = grant(owner, "agency", agency.id, ["story"])
    sign_in(client, other)
    assert client.get(f"/me/sharing/{row.id}/stop").status_code == 404


def test_guided_share_with_a_service(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    agency = make.agency("Hillside Housing", "housing")
    sign_in(client, person)
    assert client.get("/me/sharing/new").status_code == 302
    # Skipping ahead goes back to the first question.
    assert client.get("/me/sharing/new/check").headers["Location"].endswith("/who")
    missing = post_form(client, "/me/sharing/new/who", {})
    assert missing.status_code == 200 and "Choose who" in missing.get_data(as_text=True)
    post_form(client, "/me/sharing/new/who", {"agency_id": agency.id})
    post_form(client, "/me/sharing/new/what", {"sections": ["medication"]})
    post_form(client, "/me/sharing/new/why", {"purpose": "direct_support"})
    post_form(client, "/me/sharing/new/how-long", {"days": "3m"})
    check = client.get("/me/sharing/new/check").get_data(as_text=True)
    assert "Hillside Housing can see your medication from" in check
    shared = post_form(client, "/me/sharing/new/check", {})
    assert shared.status_code == 302
    assert "Hillside Housing can see your medication" in client.get("/me/sharing").get_data(
        as_text=True
    )


def test_who_has_looked(client: FlaskClient, make: Factory) -> None:
    person = _person_with_record(make)
    agency = make.agency("Riverside Mental Health")
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    grant(person, "agency", agency.id, ["medication"])
    sign_in(client, worker)
    assert client.get(f"/people/{person.id}/brief?purpose=direct_support").status_code == 200
    post_form(client, "/logout", {}, page="/caseload")
    sign_in(client, person)
    html = client.get("/me/looked").get_data(as_text=True)
    assert "Amara Okafor" in html and "Read a summary before seeing you" in html


def test_download_json_and_pdf(client: FlaskClient, make: Factory) -> None:
    person = _person_with_record(make)
    sign_in(client, person)
    response = client.get("/me/download/passport.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = json.loads(response.data)
    assert body["sections"]["medication"][0]["content"]["name"] == "Methadone"
    pdf = client.get("/me/download/passport.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    from io import BytesIO

    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.data)).pages)
    assert "Methadone" in text
