"""Refusals in the page's language (issue 14, item 8): "No consent: …" is put together from
the refusal's reasons in Welsh on a Welsh page, and stays English — marked lang="en" — only
where a detail has no translation. The API's problem detail stays the domain's English."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh

from passport.consent.grants import revoke_grant
from passport.errors import ConsentRequired, Forbidden
from passport.mdt import operations
from passport.records import refusals
from passport.web.common import refusal_detail

from .factories import SAMPLE_CONTENT, Factory, forum, forum_member, grant
from .web_helpers import post_form, sign_in

NOT_AGREED_CY = "Dim caniatâd: nid yw’r unigolyn wedi cytuno i rannu hyn gyda chi."


def _brief(client: FlaskClient, person_id: str, lang: str) -> str:
    refresh()  # the test client shares one app context: forget the last page's language
    response = client.get(f"/people/{person_id}/brief?lang={lang}")
    assert response.status_code == 403
    return response.get_data(as_text=True)


def test_a_refused_brief_says_why_in_welsh(client: FlaskClient, make: Factory) -> None:
    agency = make.agency("Riverside Mental Health", "mental_health")
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    person = make.person()
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
    sign_in(client, worker)
    welsh = _brief(client, person.id, "cy")
    assert f'<p class="govuk-body" id="refusal" >{NOT_AGREED_CY}</p>' in welsh
    assert "No consent" not in welsh and "has not agreed" not in welsh
    english = _brief(client, person.id, "en")
    assert "No consent: the person has not agreed to share this with you." in english
    assert "Dim caniatâd" not in english

    # Shared, then stopped: the withdrawn reason, in Welsh.
    shared = grant(person, "agency", agency.id, ["medication"])
    make.commit()
    revoke_grant(person, person.id, shared.id, None)
    make.commit()
    page = _brief(client, person.id, "cy")
    assert "Dim caniatâd: mae’r unigolyn wedi tynnu ei gytundeb yn ôl; " in page
    assert "the person has withdrawn their agreement" in _brief(client, person.id, "en")


def test_the_mdt_refusals_are_welsh_on_welsh_pages(client: FlaskClient, make: Factory) -> None:
    housing = make.agency("Riverside Housing First", "housing")
    chair = make.staff("caseworker", "mdt_chair", agency=housing, name="Gareth Lewis")
    board = forum("Riverside MDT", [housing])
    forum_member(board, chair, "chair")
    meeting = operations.create_meeting(chair, board.id, date.today(), "December", [])
    stuart = make.person("Stuart Bell", "Stuart", date(1983, 6, 1))
    make.commit()
    sign_in(client, chair)
    path = f"/mdt/meetings/{meeting.id}"
    refresh()
    client.get(f"{path}?lang=cy")
    refused = post_form(client, path, {"person_id": stuart.id})
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert "nid yw’r unigolyn hwn wedi cytuno i gael ei drafod yn yr MDT hwn" in html
    assert "not agreed to be discussed" not in html and "Stuart" not in html


def test_a_detail_without_welsh_stays_english_and_is_marked(app: Flask) -> None:
    untranslated = Forbidden("a sentence nobody has translated yet")
    refusal = ConsentRequired(refusals.no_consent(["grant-expired"]), reasons=["grant-expired"])
    with app.test_request_context("/?lang=cy"):
        assert refusal_detail(untranslated) == ("a sentence nobody has translated yet", "en")
        assert refusal_detail(refusal) == (
            "Dim caniatâd: mae cytundeb yr unigolyn wedi dod i ben.",
            None,
        )
    with app.test_request_context("/?lang=en"):
        refresh()
        assert refusal_detail(untranslated) == ("a sentence nobody has translated yet", None)
        assert refusal_detail(refusal) == ("No consent: the person's agreement has ended.", None)


def test_every_reason_phrase_has_welsh(app: Flask) -> None:
    """Each phrase a refusal can carry is translated, so no Welsh refusal is half English."""
    with app.test_request_context("/?lang=cy"):
        for reason in refusals.REASON_PHRASES:
            text, lang = refusal_detail(ConsentRequired("x", reasons=[reason]))
            assert lang is None and refusals.REASON_PHRASES[reason] not in text, reason


def test_the_api_keeps_the_domain_english(client: FlaskClient, make: Factory) -> None:
    agency = make.agency("Riverside Mental Health", "mental_health")
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    person = make.person()
    make.entry(person, person, "medication", SAMPLE_CONTENT["medication"])  # type: ignore[index]
    token = make.token(worker)
    response = client.get(
        f"/api/v1/people/{person.id}/passport?purpose=direct_support",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert response.json is not None
    assert (
        response.json["detail"] == "No consent: the person has not agreed to share this with you."
    )
