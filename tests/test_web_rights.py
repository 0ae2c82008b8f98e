"""Rights on the pages (issue 16 part 1): the DPO's subject access requests and erasure
decisions, retention, the person's erasure request — and the rule that a subject access pack is
the only content a DPO ever sees, on any page or endpoint."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.routing import AnyConverter

from passport import db
from passport.identity.accounts import actor_for_staff
from passport.identity.models import Person, Staff
from passport.rights import operations as rights
from passport.vocabulary import Section

from .conftest import Api
from .factories import SAMPLE_CONTENT, Factory, events_for, grant
from .test_pages_fuzz import scene
from .web_helpers import post_form, sign_in, sign_in_with_code

__all__ = ["scene"]

# Words that are only ever in the record's content (tests/factories.py SAMPLE_CONTENT) and
# the legal name: none may reach a DPO except through a subject access pack.
CONTENT = ["Methadone", "naloxone", "slept rough", "Afternoons", "Hartley"]
PACK_ENDPOINTS = {
    "web.dpo_subject_access_json",
    "web.dpo_subject_access_pdf",
    "rights.SubjectAccessJson",
    "rights.SubjectAccessPdf",
}


def _text(response: Any) -> str:
    if response.mimetype == "application/pdf" and response.status_code == 200:
        return "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    return response.get_data(as_text=True)


def _paths(app: Flask, values: dict[str, str], api: bool) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        is_api = rule.rule.startswith("/api/")
        if is_api != api or "GET" not in (rule.methods or ()):
            continue
        if not is_api and not rule.endpoint.startswith("web."):
            continue
        if rule.endpoint in {"web.static", "web.govuk_assets"}:
            continue
        given = {k: values.get(k, values["person_id"]) for k in rule.arguments}
        for name, converter in rule._converters.items():
            if isinstance(converter, AnyConverter) and given[name] not in converter.items:
                given[name] = sorted(converter.items)[0]
        found.append((rule.endpoint, rule.build(given, append_unknown=False)[1]))
    return sorted(found)


def test_a_subject_access_pack_is_the_only_content_a_dpo_ever_sees(
    app: Flask, scene: dict[str, Any]
) -> None:
    values = scene["values"]
    dpo_row = db.session.execute(select(Staff).where(Staff.scheme_wide.is_(True))).scalar_one()
    token = Factory().token(actor_for_staff(dpo_row))
    api = Api(app.test_client(), token)
    page_client: FlaskClient = scene["clients"]["dpo"]
    seen_in_pack = 0
    checked = 0
    for endpoint, path in _paths(app, values, api=False):
        response = page_client.get(path)
        assert response.status_code < 500, path
        text = _text(response)
        leaked = [w for w in CONTENT if w in text]
        if endpoint in PACK_ENDPOINTS:
            assert response.status_code == 200 and leaked, path  # the control
            seen_in_pack += 1
        else:
            assert not leaked, (path, leaked)
        checked += 1
    for endpoint, path in _paths(app, values, api=True):
        for query in ("", "?purpose=direct_support", "?purpose=emergency"):
            response = api.get(path + query)
            assert response.status_code < 500, path
            text = _text(response)
            leaked = [w for w in CONTENT if w in text]
            if endpoint in PACK_ENDPOINTS:
                assert response.status_code == 200 and leaked, path
                seen_in_pack += 1
            else:
                assert not leaked, (path + query, leaked)
            checked += 1
    assert checked > 60 and seen_in_pack == 2 + 2 * 3


def _dpo_page(client: FlaskClient, **data: str) -> Any:
    return post_form(client, "/dpo/subject-access", data)


def test_the_dpo_records_a_request_on_the_page_and_sees_when_it_is_due(make: Factory) -> None:
    from passport.rights.clock import one_month_after

    agency = make.agency("Riverside Housing First")
    jess = make.person()
    make.entry(jess, jess, "medication", SAMPLE_CONTENT[Section.MEDICATION])
    dpo = make.staff("dpo", agency=agency, scheme_wide=True)
    client = _app_client()
    sign_in_with_code(client, dpo)
    # Everything typed comes back when something is wrong.
    wrong = _dpo_page(
        client,
        person_id=jess.id,
        reason="Letter from Jess <b>by hand</b>",
        **{"received_on-day": "31", "received_on-month": "2", "received_on-year": "2027"},
    )
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 200 and "There is a problem" in page
    assert f'value="{jess.id}"' in page
    assert "Letter from Jess &lt;b&gt;by hand&lt;/b&gt;" in page
    assert 'value="31"' in page and 'value="2027"' in page
    received = date.today() - timedelta(days=2)
    done = _dpo_page(
        client,
        person_id=jess.id,
        reason="Letter from Jess",
        **{
            "received_on-day": str(received.day),
            "received_on-month": str(received.month),
            "received_on-year": str(received.year),
        },
    )
    assert done.status_code == 302
    page = client.get("/dpo/subject-access").get_data(as_text=True)
    due = one_month_after(received)
    assert f"{due.day} " in page and str(due.year) in page
    assert "Letter from Jess" in page
    assert 'Mark as answered<span class="govuk-visually-hidden"> for the request' in page
    assert "&lt;span" not in page
    [item] = rights.subject_access_requests(dpo)
    pdf = client.get(f"/dpo/subject-access/{item.id}/pack.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Cache-Control"] == "no-store"
    assert [e.outcome for e in events_for(pdf, "record.subject_access")] == ["allowed"]
    answered = post_form(
        client, f"/dpo/subject-access/{item.id}/answered", {}, "/dpo/subject-access"
    )
    assert answered.status_code == 302
    page = client.get("/dpo/subject-access").get_data(as_text=True)
    assert "Mark as answered" not in page
    # The person sees the copy on their download page, and in who has looked.
    person = _app_client()
    sign_in(person, jess)
    download = person.get("/me/download").get_data(as_text=True)
    assert f"/me/subject-access/{item.id}/pack.pdf" in download
    looked = person.get("/me/looked").get_data(as_text=True)
    assert "A data protection officer made a copy of your passport for your request" in looked
    assert person.get(f"/me/subject-access/{item.id}/pack.pdf").status_code == 200


def test_an_agency_dpo_is_told_why_on_the_page(make: Factory) -> None:
    jess = make.person()
    dpo = make.staff("dpo")
    client = _app_client()
    sign_in_with_code(client, dpo)
    today = date.today()
    refused = _dpo_page(
        client,
        person_id=jess.id,
        reason="Phone call",
        **{
            "received_on-day": str(today.day),
            "received_on-month": str(today.month),
            "received_on-year": str(today.year),
        },
    )
    assert refused.status_code == 403
    assert "agency data protection officer" in refused.get_data(as_text=True)


def _app_client() -> FlaskClient:
    from flask import current_app

    return current_app.test_client()


def test_the_person_asks_for_erasure_and_sees_a_refusal_with_its_reason(make: Factory) -> None:
    jess = make.person()
    dpo = make.staff("dpo", scheme_wide=True)
    person = _app_client()
    sign_in(person, jess)
    page = person.get("/me/erasure").get_data(as_text=True)
    assert "What goes" in page and "What stays" in page
    # Without the confirmation nothing is asked, and the reason typed comes back.
    unconfirmed = post_form(person, "/me/erasure", {"reason": "Moving away"})
    assert unconfirmed.status_code == 200
    body = unconfirmed.get_data(as_text=True)
    assert "There is a problem" in body and "Moving away" in body
    assert rights.erasure_requests_for_person(jess, jess.id) == []
    asked = post_form(person, "/me/erasure", {"reason": "Moving away", "confirm": "yes"})
    assert asked.status_code == 302
    assert 'id="waiting"' in person.get("/me/erasure").get_data(as_text=True)

    staff = _app_client()
    sign_in_with_code(staff, dpo)
    queue = staff.get("/dpo/erasure").get_data(as_text=True)
    assert "Moving away" in queue
    [item] = rights.erasure_queue(dpo)
    form = f"/dpo/erasure/{item.id}"
    missing = post_form(staff, form, {"reason": "Probation needs it until May"})
    assert missing.status_code == 200 and "Probation needs it until May" in missing.get_data(
        as_text=True
    )
    decided = post_form(
        staff, form, {"outcome": "refused", "reason": "Probation needs it until May"}
    )
    assert decided.status_code == 302
    page = person.get("/me/erasure").get_data(as_text=True)
    assert 'id="refused"' in page and "Probation needs it until May" in page
    assert db.session.get(Person, jess.id).erased_at is None  # type: ignore[union-attr]


def test_an_agency_dpo_cannot_open_the_erasure_pages(make: Factory) -> None:
    jess = make.person()
    rights.request_erasure(jess, jess.id, None)
    make.commit()
    dpo = make.staff("dpo")
    client = _app_client()
    sign_in_with_code(client, dpo)
    assert client.get("/dpo/erasure").status_code == 403
    [item] = rights.erasure_queue(make.staff("dpo", scheme_wide=True))
    assert client.get(f"/dpo/erasure/{item.id}").status_code == 403
    assert "/dpo/erasure" not in client.get("/dpo/log").get_data(as_text=True)


def test_the_retention_page_lists_what_is_due_without_content(make: Factory) -> None:
    old = Person(id=db.new_id(), created_at=db.utcnow() - timedelta(days=7 * 366))
    db.session.add(old)
    jess = make.person()
    make.entry(jess, jess, "story", {"text": "slept rough"})
    dpo = make.staff("dpo", scheme_wide=True)
    client = _app_client()
    sign_in_with_code(client, dpo)
    page = client.get("/dpo/retention").get_data(as_text=True)
    assert old.id in page and jess.id not in page
    assert "slept rough" not in page
    worker = _app_client()
    sign_in(worker, make.staff("caseworker"))
    assert worker.get("/dpo/retention").status_code == 403


def test_the_pack_json_on_the_page_matches_the_api(make: Factory, api_as: Any) -> None:
    agency = make.agency()
    jess = make.person()
    grant(jess, "agency", agency.id, ["risk"])
    dpo = make.staff("dpo", scheme_wide=True)
    request = rights.record_subject_access_request(dpo, jess.id, "Email", date.today())
    make.commit()
    client = _app_client()
    sign_in_with_code(client, dpo)
    page = json.loads(client.get(f"/dpo/subject-access/{request.id}/pack.json").data)
    api = api_as(dpo).get(f"/api/v1/people/{jess.id}/subject-access/{request.id}.json").json
    assert page["grants"] == api["grants"]
    assert set(page) == set(api)


def test_the_privacy_notice_is_served_at_about_in_english_and_welsh(client: FlaskClient) -> None:
    english = client.get("/about?lang=en").get_data(as_text=True)
    assert 'id="privacy"' in english
    assert "kept for 6 years after the last time" in english
    assert "ico.org.uk" in english
    refresh()  # the tests share one app context: forget its language
    welsh = client.get("/about?lang=cy").get_data(as_text=True)
    assert "Eich gwybodaeth a’ch hawliau" in welsh
    assert "6 mlynedd" in welsh
    assert "kept for 6 years" not in welsh
    refresh()
