"""The person's pages: over the same domain functions as the API, refusals included."""

from __future__ import annotations

import json
import re

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


def _looked(client: FlaskClient, person: object, signed_in_on: str | None = "/caseload") -> str:
    """Sign out (from a page the signed-in user can open), sign in as the person, and read
    "Who has looked"."""
    if signed_in_on:
        post_form(client, "/logout", {}, page=signed_in_on)
    sign_in(client, person)  # type: ignore[arg-type]
    return str(client.get("/me/looked").get_data(as_text=True))


def test_who_has_looked_says_what_was_seen_without_calling_a_partial_read_refused(
    client: FlaskClient, make: Factory
) -> None:
    person = _person_with_record(make)
    agency = make.agency("Riverside Mental Health")
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    grant(person, "agency", agency.id, ["medication"])
    sign_in(client, worker)
    assert client.get(f"/people/{person.id}/brief").status_code == 200
    html = _looked(client, person)
    look = html[html.index('id="other-looks"') : html.index('id="own"')]
    assert "Amara Okafor" in look and "They saw: Medication." in look
    assert "You have not shared with them:" in look and "Your story" in look
    assert "not allowed" not in html and "saw nothing" not in look


def test_who_has_looked_puts_other_people_first_and_folds_my_own_views(
    client: FlaskClient, make: Factory
) -> None:
    person = _person_with_record(make)
    agency = make.agency("Riverside Mental Health")
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    grant(person, "agency", agency.id, ["medication"])
    sign_in(client, person)
    for _ in range(3):
        assert client.get("/me").status_code == 200
    post_form(client, "/logout", {}, page="/me")
    sign_in(client, worker)
    assert client.get(f"/people/{person.id}/brief").status_code == 200
    html = _looked(client, person)
    assert html.index("Amara Okafor") < html.index('id="own"')
    own = html[html.index('id="own-looks"') :]
    assert own.count("You looked at your passport") == 1
    # Three visits here, and the page sign-in lands on: one line for the day.
    folded = re.search(r"You looked at your passport (\d+) times on", own)
    assert folded and int(folded.group(1)) >= 3


def test_who_has_looked_tells_refusals_that_mattered(client: FlaskClient, make: Factory) -> None:
    from passport.consent.grants import revoke_grant

    person = _person_with_record(make)
    agency = make.agency("Riverside Mental Health")
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    stranger = make.staff("caseworker", name="Tom Reilly")
    stopped = grant(person, "agency", agency.id, ["medication"])
    revoke_grant(person, person.id, stopped.id, None)
    make.commit()
    sign_in(client, worker)
    assert client.get(f"/people/{person.id}/brief").status_code == 403
    post_form(client, "/logout", {}, page="/caseload")
    sign_in(client, stranger)
    assert client.get(f"/people/{person.id}/brief").status_code == 403
    html = _looked(client, person)
    assert "They tried to look after you stopped sharing with them. They saw nothing." in html
    assert "you have not shared anything with them. They saw nothing." in html


def test_who_has_looked_shows_the_dpo_finding_and_dpo_queries(
    client: FlaskClient, make: Factory
) -> None:
    from passport.audit.operations import EventFilter, search
    from passport.consent import emergency

    person = _person_with_record(make)
    worker = make.staff("caseworker", name="Amara Okafor")
    dpo = make.staff("dpo", name="Dee Pryce", scheme_wide=True)
    access = emergency.open_emergency(
        worker, person.id, "Found unconscious, paramedics asking about medication", 4
    )
    make.commit()
    html = _looked(client, person, signed_in_on=None)
    assert "has not checked this emergency look yet" in html
    emergency.review(dpo, access.id, "not_justified", "No emergency: a routine visit.")
    search(dpo, EventFilter(person_id=person.id))
    make.commit()
    html = _looked(client, person, signed_in_on="/me")
    assert "found it was not needed" in html
    assert "Checked the list of who has looked at your passport" in html
    assert "Dee Pryce" in html


def test_who_has_looked_is_paged(client: FlaskClient, make: Factory) -> None:
    person = _person_with_record(make)
    agency = make.agency("Riverside Mental Health")
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    grant(person, "agency", agency.id, ["medication"])
    sign_in(client, worker)
    for _ in range(65):
        assert client.get(f"/people/{person.id}/brief").status_code == 200
    html = _looked(client, person)
    assert html.count('class="passport-look"') < 65 and "Older" in html
    older = html.split('href="/me/looked?before=')[1].split('"')[0]
    rest = client.get(f"/me/looked?before={older}").get_data(as_text=True)
    assert "Amara Okafor" in rest


def test_my_passport_and_downloads_hold_everything(client: FlaskClient, make: Factory) -> None:
    from io import BytesIO

    from pypdf import PdfReader

    person = _person_with_record(make)
    make.entry(
        person,
        person,
        "risk",
        {"flags": [], "ndt": {"engagement": 3, "risk_to_others": 2}},
    )
    make.entry(
        person, person, "preferences", {"contact": [{"method": "phone", "detail": "07700 900123"}]}
    )
    agency = make.agency("Riverside Mental Health")
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    grant(person, "agency", agency.id, ["medication"])
    sign_in(client, worker)
    assert client.get(f"/people/{person.id}/brief").status_code == 200
    post_form(client, "/logout", {}, page="/caseload")
    sign_in(client, person)
    html = client.get("/me").get_data(as_text=True)
    assert "NDT total: 7 out of 48" in html and "07700 900123" in html
    body = json.loads(client.get("/me/download/passport.json").data)
    assert any(e["action"] == "record.brief" for e in body["access_log"])
    assert body["consents"] and all(c["receipt"] for c in body["consents"])
    pdf = client.get("/me/download/passport.pdf")
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.data)).pages)
    assert "Who can see my information" in text and "Riverside Mental Health" in text
    assert "Who has looked at my passport" in text and "Amara Okafor" in text
    assert "They saw: Medication." in text
