"""Assisted consent is the person's: a worker records it within what they were trusted with,
never for themself; it lasts at most 30 days until the person confirms it (on the spot with
their own passphrase, or when they next sign in); removing the worker stops what they
recorded and the person did not confirm. API and pages, success and refusal paths."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from passport import db
from passport.consent.models import Confirmation, Contributor, Grant
from passport.identity.actor import Actor
from passport.records.operations import add_contributor

from .factories import PASSWORD, SAMPLE_CONTENT, Factory, events_for, grant
from .web_helpers import csrf_from, post_form, sign_in

TODAY = date.today()


def _body(grantee_type: str, grantee_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "grantee": {"type": grantee_type, "id": grantee_id},
        "sections": ["medication", "risk"],
        "purpose": "direct_support",
        "expires_on": (TODAY + timedelta(days=365)).isoformat(),
        "obtained": {"method": "verbal"},
    }
    body.update(overrides)
    return body


def _delegate(make: Factory, person: Actor, worker: Actor, sections: list[str]) -> None:
    add_contributor(person, person.id, worker.id, sections)
    make.commit()


@pytest.fixture
def scene(make: Factory) -> dict[str, Any]:
    hope = make.agency("Hope Housing")
    other = make.agency("Riverside Mental Health", "mental_health")
    tom = make.staff("caseworker", agency=hope, name="Tom Price")
    person = make.person()
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
    _delegate(make, person, tom, ["medication", "risk"])
    return {
        "hope": hope,
        "other": other,
        "tom": tom,
        "person": person,
        "reader": make.staff("caseworker", agency=other, name="Priya Shah"),
        "stranger": make.staff("caseworker", agency=other),
    }


def _record(api_as: Any, worker: Actor, person: Actor, body: dict[str, Any]) -> Any:
    return api_as(worker).post(f"/api/v1/people/{person.id}/consents", body)


def _confirm(api_as: Any, actor: Actor, person: Actor, grant_id: str) -> Any:
    return api_as(actor).post(f"/api/v1/people/{person.id}/consents/{grant_id}/confirm", {})


# -- recording: bounds --------------------------------------------------------------------------


def test_a_contributor_records_within_their_sections_and_it_starts_unconfirmed(
    scene: dict[str, Any], api_as: Any
) -> None:
    made = _record(api_as, scene["tom"], scene["person"], _body("agency", scene["other"].id))
    assert made.status_code == 201, made.json
    assert made.json["confirmed"] is False and made.json["confirmed_at"] is None
    assert made.json["status"] == "active"
    own = api_as(scene["person"]).post(
        f"/api/v1/people/{scene['person'].id}/consents",
        _body("agency", scene["other"].id, obtained={"method": "self"}),
    )
    assert own.json["confirmed"] is True and own.json["confirmed_at"] is not None


def test_sections_outside_the_delegation_are_refused_and_logged(
    scene: dict[str, Any], api_as: Any
) -> None:
    body = _body("agency", scene["other"].id, sections=["medication", "story"])
    refused = _record(api_as, scene["tom"], scene["person"], body)
    assert refused.status_code == 403, refused.json
    assert refused.json["type"] == "/problems/forbidden"
    assert "story" in refused.json["detail"]
    [event] = events_for(refused, "consent.grant")
    assert (event.outcome, event.reason, event.sections) == (
        "denied",
        "outside-delegation",
        ["story"],
    )
    everything = _body(
        "agency",
        scene["other"].id,
        sections=["profile", "story", "risk", "medication", "workers", "preferences"],
    )
    assert _record(api_as, scene["tom"], scene["person"], everything).status_code == 403
    assert not db.session.execute(select(Grant)).unique().scalars().all()


def test_the_recorder_cannot_be_the_grantee(scene: dict[str, Any], api_as: Any) -> None:
    refused = _record(api_as, scene["tom"], scene["person"], _body("staff", scene["tom"].id))
    assert refused.status_code == 422, refused.json
    assert "grantee.id" in refused.json["errors"]
    [event] = events_for(refused, "consent.grant")
    assert (event.outcome, event.reason) == ("denied", "recorder-as-grantee")
    # Another named worker is fine.
    named = _record(api_as, scene["tom"], scene["person"], _body("staff", scene["reader"].id))
    assert named.status_code == 201, named.json


def test_a_removed_contributor_and_a_stranger_cannot_record(
    scene: dict[str, Any], api_as: Any
) -> None:
    person = scene["person"]
    body = _body("agency", scene["other"].id)
    stranger = _record(api_as, scene["stranger"], person, body)
    assert stranger.status_code == 403
    assert [e.reason for e in events_for(stranger, "consent.grant")] == ["not-contributor"]
    gone = api_as(person).delete(f"/api/v1/people/{person.id}/contributors/{scene['tom'].id}")
    assert gone.status_code == 204
    assert _record(api_as, scene["tom"], person, body).status_code == 403


# -- the 30-day limit and confirming ------------------------------------------------------------


def old_assisted(
    person: Actor,
    recorder: Actor,
    grantee_type: str,
    grantee_id: str,
    sections: list[str],
    days_ago: int,
    expires_in: int = 300,
    confirmed: bool = False,
) -> Grant:
    """An assisted grant recorded `days_ago` days ago. Grants are append-only and consent
    cannot be backdated, so it is written as a row, as it would stand after that time."""
    today = db.utcnow().date()
    row = Grant(
        id=db.new_id(),
        person_id=person.id,
        grantee_type=grantee_type,
        grantee_id=grantee_id,
        sections=sorted(sections),
        purpose="direct_support",
        starts_on=today - timedelta(days=days_ago),
        expires_on=today + timedelta(days=expires_in),
        obtained_method="verbal",
        recorded_by_kind="staff",
        recorded_by_id=recorder.id,
        wording_sha256="0" * 64,
        receipt={"wording": {"text": "test grant", "sha256": "0" * 64}},
        created_at=db.utcnow() - timedelta(days=days_ago),
    )
    db.session.add(row)
    if confirmed:
        db.session.add(
            Confirmation(
                grant_id=row.id,
                confirmed_at=db.utcnow() - timedelta(days=days_ago),
                confirmed_via="signed_in",
            )
        )
    Factory().commit()
    return row


def _read(api_as: Any, reader: Actor, person: Actor) -> Any:
    return api_as(reader).get(f"/api/v1/people/{person.id}/passport?purpose=direct_support")


def test_an_unconfirmed_grant_ends_after_30_days_and_a_confirmed_one_does_not(
    scene: dict[str, Any], api_as: Any
) -> None:
    person, reader, tom, other = scene["person"], scene["reader"], scene["tom"], scene["other"]
    day_30 = old_assisted(person, tom, "agency", other.id, ["medication"], days_ago=30)
    assert _read(api_as, reader, person).status_code == 200  # day 30: still in
    listed = api_as(person).get(f"/api/v1/people/{person.id}/consents").json["items"]
    assert [(g["status"], g["confirmed"]) for g in listed] == [("active", False)]
    api_as(person).post(f"/api/v1/people/{person.id}/consents/{day_30.id}/revoke", {})

    day_31 = old_assisted(person, tom, "agency", other.id, ["medication"], days_ago=31)
    late = _read(api_as, reader, person)
    assert late.status_code == 403
    listed = api_as(person).get(f"/api/v1/people/{person.id}/consents").json["items"]
    assert {g["id"]: g["status"] for g in listed}[day_31.id] == "expired"
    # Ended: confirming it cannot bring it back.
    ended = _confirm(api_as, person, person, day_31.id)
    assert ended.status_code == 409 and "already stopped" in ended.json["detail"]

    old_assisted(person, tom, "agency", other.id, ["medication"], days_ago=200, confirmed=True)
    assert _read(api_as, reader, person).status_code == 200


def test_confirming_lifts_the_30_day_limit(scene: dict[str, Any], api_as: Any) -> None:
    person = scene["person"]
    made = _record(api_as, scene["tom"], person, _body("agency", scene["other"].id)).json
    confirmed = _confirm(api_as, person, person, made["id"])
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["confirmed"] is True and confirmed.json["confirmed_at"]
    assert confirmed.json["status"] == "active"
    [event] = events_for(confirmed, "consent.confirm")
    assert event.outcome == "allowed" and event.detail == {
        "grant_id": made["id"],
        "via": "signed_in",
    }
    who = api_as(person).get(f"/api/v1/people/{person.id}/who-can-see").json["items"]
    [item] = [i for i in who if i.get("grant_id") == made["id"]]
    assert item["until"] == made["expires_on"] and item["confirmed"] is True


def test_only_the_person_confirms(scene: dict[str, Any], api_as: Any, make: Factory) -> None:
    person = scene["person"]
    made = _record(api_as, scene["tom"], person, _body("agency", scene["other"].id)).json
    for staff in (scene["tom"], scene["reader"]):
        refused = _confirm(api_as, staff, person, made["id"])
        assert refused.status_code == 403, refused.json
        [event] = events_for(refused, "consent.confirm")
        assert (event.outcome, event.reason) == ("denied", "not-person")
    other = make.person(name="Ciaran Doyle", preferred_name="Ciaran")
    assert _confirm(api_as, other, person, made["id"]).status_code == 403
    assert _confirm(api_as, other, other, made["id"]).status_code == 404
    assert _confirm(api_as, person, person, db.new_id()).status_code == 404
    assert (
        api_as(person).get(f"/api/v1/people/{person.id}/consents").json["items"][0]["confirmed"]
        is False
    )


def test_confirming_twice_revoked_or_self_grants_is_a_plain_409(
    scene: dict[str, Any], api_as: Any
) -> None:
    person = scene["person"]
    made = _record(api_as, scene["tom"], person, _body("agency", scene["other"].id)).json
    assert _confirm(api_as, person, person, made["id"]).status_code == 200
    twice = _confirm(api_as, person, person, made["id"])
    assert twice.status_code == 409 and "already confirmed" in twice.json["detail"]
    own = grant(person, "agency", scene["other"].id, ["story"])
    assert _confirm(api_as, person, person, own.id).status_code == 409
    stopped = _record(api_as, scene["tom"], person, _body("agency", scene["hope"].id)).json
    api_as(person).post(f"/api/v1/people/{person.id}/consents/{stopped['id']}/revoke", {})
    refused = _confirm(api_as, person, person, stopped["id"])
    assert refused.status_code == 409 and "already stopped" in refused.json["detail"]
    assert refused.json["type"] == "/problems/conflict"


def test_confirm_refuses_unknown_body_fields(scene: dict[str, Any], api_as: Any) -> None:
    person = scene["person"]
    made = _record(api_as, scene["tom"], person, _body("agency", scene["other"].id)).json
    response = api_as(person).post(
        f"/api/v1/people/{person.id}/consents/{made['id']}/confirm", {"by": "me"}
    )
    assert response.status_code == 422


# -- removing the contributor -------------------------------------------------------------------


def test_removing_a_contributor_stops_their_unconfirmed_grants_and_their_reads(
    scene: dict[str, Any], api_as: Any
) -> None:
    person, tom, reader = scene["person"], scene["tom"], scene["reader"]
    kept = _record(api_as, tom, person, _body("agency", scene["other"].id)).json
    _confirm(api_as, person, person, kept["id"])
    dropped = _record(
        api_as, tom, person, _body("agency", scene["hope"].id, sections=["medication"])
    ).json
    assert _read(api_as, tom, person).status_code == 200  # as a contributor, and via Hope
    gone = api_as(person).delete(f"/api/v1/people/{person.id}/contributors/{tom.id}")
    assert gone.status_code == 204
    statuses = {
        g["id"]: g["status"]
        for g in api_as(person).get(f"/api/v1/people/{person.id}/consents").json["items"]
    }
    assert statuses == {kept["id"]: "active", dropped["id"]: "revoked"}
    # Tom's reads stop on the very next request; the confirmed grant to Riverside stays.
    after = _read(api_as, tom, person)
    assert after.status_code == 403
    assert _read(api_as, reader, person).status_code == 200
    assert {e.detail.get("grant_id") for e in events_for(gone, "consent.revoke")} == {dropped["id"]}


# -- pages: the worker's side -------------------------------------------------------------------


def _new_path(person: Actor) -> str:
    return f"/people/{person.id}/consent/new"


def _form(**overrides: Any) -> dict[str, Any]:
    form = {
        "grantee_type": "agency",
        "sections": ["medication"],
        "purpose": "direct_support",
        "days": "1y",
        "method": "verbal",
        "present": "yes",
    }
    form.update(overrides)
    return form


def test_the_form_names_the_person_and_offers_only_what_the_worker_may_record(
    client: FlaskClient, scene: dict[str, Any]
) -> None:
    sign_in(client, scene["tom"])
    page = client.get(_new_path(scene["person"])).get_data(as_text=True)
    assert "Jess" in page and "Jessica" not in page
    assert 'value="medication"' in page and 'value="risk"' in page
    assert 'name="sections" type="checkbox" value="story"' not in page
    assert 'value="story"' not in page
    for choice in ("3m", "6m", "1y", "1m"):
        assert f'name="days" type="radio" value="{choice}"' in page
    assert f'value="{scene["reader"].id}"' in page  # a named worker can be chosen
    assert f'value="{scene["tom"].id}"' not in page  # never the recorder
    assert 'name="expires_on"' not in page


def test_the_form_is_refused_to_workers_who_may_not_use_it(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    person = scene["person"]
    grant(person, "agency", scene["other"].id, ["medication"])
    sign_in(client, scene["reader"])  # can read, is not a contributor
    brief = client.get(f"/people/{person.id}/brief").get_data(as_text=True)
    assert _new_path(person) not in brief
    refused = client.get(_new_path(person))
    assert refused.status_code == 403
    assert "chose you to help" in refused.get_data(as_text=True)
    post_form(client, "/logout", {}, page="/caseload")
    sign_in(client, scene["tom"])
    assert _new_path(person) in client.get(f"/people/{person.id}/brief").get_data(as_text=True)


def test_the_form_refuses_tampered_choices_with_field_errors(
    client: FlaskClient, scene: dict[str, Any]
) -> None:
    person, tom = scene["person"], scene["tom"]
    sign_in(client, tom)
    path = _new_path(person)
    cases = [
        (_form(agency_id=scene["other"].id, sections=["story"]), "chose you to help"),
        (_form(grantee_type="staff", staff_id=tom.id), "gives you access"),
        (_form(agency_id=scene["other"].id, purpose="referral", days="1y"), "1 month or"),
        (_form(agency_id=scene["other"].id, present=""), "here with you"),
        (_form(agency_id=""), "Choose which service"),
        (_form(grantee_type="staff", staff_id=""), "Choose which worker"),
    ]
    for form, message in cases:
        response = post_form(client, path, form)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, (form, html)
        assert "govuk-error-summary" in html and message in html, (form, message)
    assert not db.session.execute(select(Grant)).unique().scalars().all()


def _record_on_page(client: FlaskClient, scene: dict[str, Any], **overrides: Any) -> Any:
    form = _form(agency_id=scene["other"].id, **overrides)
    recorded = post_form(client, _new_path(scene["person"]), form)
    assert recorded.status_code == 302, recorded.get_data(as_text=True)
    return recorded


def test_the_person_confirms_on_the_spot_with_their_own_passphrase(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    sign_in(client, scene["tom"])
    recorded = _record_on_page(client, scene)
    ask = recorded.headers["Location"]
    page = client.get(ask).get_data(as_text=True)
    assert "Ask Jess to confirm now" in page and "Not now" in page
    assert "Tom Price recorded that you agreed to share your risks" not in page
    assert "your medication with Riverside Mental Health" in page
    wrong = post_form(client, ask, {"password": "not-their-passphrase"})
    assert wrong.status_code == 200
    assert "not right" in wrong.get_data(as_text=True)
    [stored] = db.session.execute(select(Grant)).unique().scalars().all()
    assert stored.confirmed_at is None
    done = post_form(client, ask, {"password": PASSWORD})
    assert done.status_code == 302
    db.session.expire_all()
    [stored] = db.session.execute(select(Grant)).unique().scalars().all()
    assert stored.confirmed_at is not None
    assert stored.confirmation is not None and stored.confirmation.confirmed_via == "on_the_spot"
    [event] = events_for(done, "consent.confirm")
    assert event.actor["id"] == scene["person"].id and event.actor["kind"] == "person"
    # Asking again says it is done, plainly.
    again = client.get(ask).get_data(as_text=True)
    assert "already confirmed" in again


def test_on_the_spot_failures_are_throttled(
    client: FlaskClient, scene: dict[str, Any], ctx: Any
) -> None:
    sign_in(client, scene["tom"])
    ask = _record_on_page(client, scene).headers["Location"]
    html = client.get(ask).get_data(as_text=True)
    token = csrf_from(html)
    codes = [
        client.post(ask, data={"password": "wrong-guess-x", "csrf_token": token}).status_code
        for _ in range(6)
    ]
    assert codes[:5] == [200] * 5 and codes[5] == 429


def test_a_person_without_a_passphrase_is_asked_when_they_sign_in(
    client: FlaskClient, make: Factory
) -> None:
    agency = make.agency("Riverside Mental Health")
    tom = make.staff("caseworker", name="Tom Price")
    person = make.person(login=False, registered_by=tom)
    sign_in(client, tom)
    form = _form(agency_id=agency.id)
    recorded = post_form(client, _new_path(person), form)
    assert recorded.status_code == 302
    page = client.get(recorded.headers["Location"]).get_data(as_text=True)
    assert "asked when they next sign in" in page and 'name="password"' not in page


def test_only_the_recorder_gets_the_ask_page(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    sign_in(client, scene["tom"])
    ask = _record_on_page(client, scene).headers["Location"]
    post_form(client, "/logout", {}, page="/caseload")
    sign_in(client, scene["reader"])
    assert client.get(ask).status_code == 404


# -- pages: the person's side -------------------------------------------------------------------


def _two_recorded(api_as: Any, scene: dict[str, Any]) -> tuple[str, str]:
    first = _record(api_as, scene["tom"], scene["person"], _body("agency", scene["other"].id))
    second = _record(
        api_as,
        scene["tom"],
        scene["person"],
        _body("agency", scene["hope"].id, sections=["medication"]),
    )
    return first.json["id"], second.json["id"]


def test_at_sign_in_the_person_is_asked_grant_by_grant(
    client: FlaskClient, scene: dict[str, Any], api_as: Any
) -> None:
    first, second = _two_recorded(api_as, scene)
    sign_in(client, scene["person"])
    home = client.get("/me")
    assert home.status_code == 302 and home.headers["Location"].endswith(f"/me/confirm/{first}")
    page = client.get(f"/me/confirm/{first}").get_data(as_text=True)
    until = TODAY + timedelta(days=365)
    assert (
        "Tom Price recorded that you agreed to share your risks and your medication with "
        f"Riverside Mental Health to support you, until {until.day} {until:%B %Y}." in page
    )
    assert "Is that right?" in page and "Yes" in page and "No, stop it" in page
    yes = post_form(client, f"/me/confirm/{first}", {"answer": "yes"})
    assert yes.status_code == 302 and yes.headers["Location"].endswith(f"/me/confirm/{second}")
    no = post_form(client, f"/me/confirm/{second}", {"answer": "no"})
    assert no.status_code == 302 and no.headers["Location"].endswith("/me")
    db.session.expire_all()
    kept, stopped = db.session.get(Grant, first), db.session.get(Grant, second)
    assert kept is not None and kept.confirmation is not None
    assert kept.confirmation.confirmed_via == "signed_in"
    assert stopped is not None and stopped.revocation is not None
    assert stopped.revocation.receipt["event"] == "revocation"
    assert client.get("/me").status_code == 200


def test_the_question_needs_an_answer_and_can_wait(
    client: FlaskClient, scene: dict[str, Any], api_as: Any
) -> None:
    first, _ = _two_recorded(api_as, scene)
    sign_in(client, scene["person"])
    blank = post_form(client, f"/me/confirm/{first}", {})
    assert blank.status_code == 200 and "govuk-error-summary" in blank.get_data(as_text=True)
    later = post_form(client, "/me/confirm/later", {}, page=f"/me/confirm/{first}")
    assert later.status_code == 302
    assert client.get("/me").status_code == 200  # not asked again in this visit
    # Someone else's grant, or a settled one, is not asked about.
    assert client.get(f"/me/confirm/{db.new_id()}").status_code == 404


def test_answering_a_grant_already_settled_says_so(
    client: FlaskClient, scene: dict[str, Any], api_as: Any
) -> None:
    first, _ = _two_recorded(api_as, scene)
    _confirm(api_as, scene["person"], scene["person"], first)
    sign_in(client, scene["person"])
    page = client.get(f"/me/confirm/{first}")
    assert page.status_code == 302
    assert "already" in client.get(page.headers["Location"]).get_data(as_text=True)


def test_contributor_rows_are_marked_removed_not_deleted(
    scene: dict[str, Any], api_as: Any
) -> None:
    person = scene["person"]
    api_as(person).delete(f"/api/v1/people/{person.id}/contributors/{scene['tom'].id}")
    rows = db.session.execute(select(Contributor)).scalars().all()
    assert rows and all(r.removed_at is not None for r in rows)
