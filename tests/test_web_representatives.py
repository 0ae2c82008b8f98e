"""The representatives' pages (issue 15), through the real forms: the person appoints and
stops; a representative's own pages reach only the people they act for, and only with the
powers their access holds; a caseworker contributor records a legal one and a DPO reviews it.
Refusals first-class: every page below is also tried by someone who may not use it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from passport import db
from passport.representatives.models import Representation

from .factories import PASSWORD, SAMPLE_CONTENT, grant, representative
from .web_helpers import csrf_from, post_form, sign_in, sign_in_with_code


@pytest.fixture
def world(make: Any) -> dict[str, Any]:
    agency = make.agency("Hillside Housing Options", "housing")
    worker = make.staff("caseworker", agency=agency, name="Tom Price")
    stuart = make.person(name="Stuart Campbell", preferred_name="Stuart", registered_by=worker)
    jess = make.person(name="Jessica Hartley", preferred_name="Jess", registered_by=worker)
    for section, content in SAMPLE_CONTENT.items():
        make.entry(stuart, stuart, section, content)
        make.entry(jess, jess, section, content)
    dpo = make.staff("dpo", agency=agency, name="Dee Patel")
    return {"agency": agency, "worker": worker, "stuart": stuart, "jess": jess, "dpo": dpo}


def _client(app: Flask, actor: Any) -> FlaskClient:
    client = app.test_client()
    if actor.is_staff and any(r.value in ("dpo", "admin") for r in actor.roles):
        sign_in_with_code(client, actor)
    else:
        sign_in(client, actor)
    return client


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_person_appoints_sees_the_code_once_and_stops(
    app: Flask, world: dict[str, Any], lang: str
) -> None:
    client = _client(app, world["stuart"])
    client.get(f"/me/sharing?lang={lang}")
    form = "/me/representatives/new"
    empty = post_form(client, form, {"name": "", "username": "", "access": ""})
    assert empty.status_code == 200 and "govuk-error-summary" in empty.get_data(as_text=True)
    # Every field comes back as typed.
    kept = post_form(client, form, {"name": "Lorna", "username": "lorna", "access": ""})
    page = kept.get_data(as_text=True)
    assert 'value="Lorna"' in page and 'value="lorna"' in page
    done = post_form(client, form, {"name": "Lorna", "username": "lorna", "access": "help"})
    assert done.status_code == 302
    code_page = client.get(done.headers["Location"]).get_data(as_text=True)
    code = re.search(r'id="setup-code">([A-Z0-9-]+)<', code_page)
    assert code
    assert code.group(1) not in client.get(done.headers["Location"]).get_data(as_text=True)

    row = db.session.query(Representation).filter_by(person_id=world["stuart"].id).one()
    sharing = client.get("/me/sharing").get_data(as_text=True)
    assert f'id="representative-{row.id}"' in sharing
    stop = f"/me/representatives/{row.id}/stop"
    assert client.get(stop).status_code == 200
    assert post_form(client, stop, {}).status_code == 302
    assert f'id="representative-{row.id}"' not in client.get("/me/sharing").get_data(as_text=True)


def test_only_the_person_appoints_or_stops_on_the_pages(app: Flask, world: dict[str, Any]) -> None:
    helper, row = representative(world["stuart"], access="help")
    for actor in (helper, world["worker"]):
        client = _client(app, actor)
        assert client.get("/me/representatives/new").status_code == 403
        assert client.get(f"/me/representatives/{row.id}/stop").status_code == 403
    # Jess cannot stop Stuart's representative.
    jess = _client(app, world["jess"])
    assert jess.get(f"/me/representatives/{row.id}/stop").status_code == 404


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_a_helper_reads_writes_and_confirms_for_the_person_only(
    app: Flask, world: dict[str, Any], lang: str
) -> None:
    stuart, jess = world["stuart"], world["jess"]
    helper, _ = representative(stuart, access="help", username="lorna")
    assisted = grant(stuart, "agency", world["agency"].id, ["risk"], recorded_by=world["worker"])
    client = _client(app, helper)
    home = client.get(f"/represent?lang={lang}")
    assert home.status_code == 200
    assert f"/represent/{stuart.id}" in home.get_data(as_text=True)
    passport = client.get(f"/represent/{stuart.id}").get_data(as_text=True)
    assert "Methadone" in passport and f"/people/{stuart.id}/story/new" in passport
    assert 'id="switch-person"' not in passport  # Stuart is the only one
    written = post_form(
        client, f"/people/{stuart.id}/story/new", {"text": "Lorna wrote this with Stuart."}
    )
    assert written.status_code == 302
    assert "Lorna wrote this" in client.get(f"/represent/{stuart.id}").get_data(as_text=True)
    # Not the risks: a helper writes the story and what works only.
    assert client.get(f"/people/{stuart.id}/risk/new").status_code == 403
    sharing = client.get(f"/represent/{stuart.id}/sharing").get_data(as_text=True)
    assert f"confirm-{assisted.id}" in sharing
    confirm = f"/represent/{stuart.id}/confirm/{assisted.id}"
    assert post_form(client, confirm, {"answer": "yes"}).status_code == 302
    assert "confirm-" not in client.get(f"/represent/{stuart.id}/sharing").get_data(as_text=True)

    # Nobody else's pages: Jess is not someone Lorna acts for.
    for path in (
        f"/represent/{jess.id}",
        f"/represent/{jess.id}/sharing",
        f"/people/{jess.id}/story/new",
        f"/people/{jess.id}/story",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Methadone" not in response.get_data(as_text=True)
    # Nor the person's own pages, nor staff pages.
    for path in ("/me", "/me/sharing", "/caseload", "/dpo/representatives"):
        assert client.get(path).status_code in (302, 403), path


def test_a_viewer_reads_but_writes_and_shares_nothing(app: Flask, world: dict[str, Any]) -> None:
    stuart = world["stuart"]
    viewer, _ = representative(stuart, access="view", username="viewer")
    assisted = grant(stuart, "agency", world["agency"].id, ["risk"], recorded_by=world["worker"])
    client = _client(app, viewer)
    passport = client.get(f"/represent/{stuart.id}").get_data(as_text=True)
    assert "Methadone" in passport and "/story/new" not in passport
    assert client.get(f"/people/{stuart.id}/story/new").status_code == 403
    assert client.get(f"/represent/{stuart.id}/confirm/{assisted.id}").status_code == 403
    page = client.get(f"/represent/{stuart.id}/sharing").get_data(as_text=True)
    assert "confirm-" not in page
    html = client.get(f"/represent/{stuart.id}").get_data(as_text=True)
    refused = client.post(
        f"/represent/{stuart.id}/confirm/{assisted.id}",
        data={"answer": "yes", "csrf_token": csrf_from(html)},
    )
    assert refused.status_code == 403


def test_a_removed_representative_is_refused_on_the_next_page(
    app: Flask, world: dict[str, Any]
) -> None:
    stuart = world["stuart"]
    helper, row = representative(stuart, access="help")
    client = _client(app, helper)
    assert client.get(f"/represent/{stuart.id}").status_code == 200
    person = _client(app, stuart)
    post_form(person, f"/me/representatives/{row.id}/stop", {})
    response = client.get(f"/represent/{stuart.id}")
    assert response.status_code == 403
    assert "Methadone" not in response.get_data(as_text=True)
    assert f"/represent/{stuart.id}" not in client.get("/represent").get_data(as_text=True)


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_a_contributor_records_a_legal_representative_and_a_dpo_reviews_it(
    app: Flask, world: dict[str, Any], make: Any, lang: str
) -> None:
    stuart = world["stuart"]
    worker = _client(app, world["worker"])
    form = f"/people/{stuart.id}/representatives/legal"
    worker.get(f"{form}?lang={lang}")
    values = {
        "name": "Morag Reid",
        "username": "morag",
        "legal_basis": "",
        "evidence": "Court of Protection order 12345, seen today",
        "access": "help",
    }
    kept = post_form(worker, form, values).get_data(as_text=True)
    assert "govuk-error-summary" in kept and "Court of Protection order 12345" in kept
    done = post_form(worker, form, {**values, "legal_basis": "deputy"})
    assert done.status_code == 302
    assert "setup-code" in worker.get(done.headers["Location"]).get_data(as_text=True)
    row = db.session.query(Representation).filter_by(legal_basis="deputy").one()

    # A caseworker who is not a contributor cannot open the form.
    stranger = _client(app, make.staff("caseworker"))
    assert stranger.get(form).status_code == 403

    dpo = _client(app, world["dpo"])
    queue = dpo.get("/dpo/representatives").get_data(as_text=True)
    assert f"/dpo/representatives/{row.id}" in queue
    review = f"/dpo/representatives/{row.id}"
    assert "Court of Protection order 12345" in dpo.get(review).get_data(as_text=True)
    empty = post_form(dpo, review, {"outcome": "", "notes": ""})
    assert "govuk-error-summary" in empty.get_data(as_text=True)
    saved = post_form(dpo, review, {"outcome": "approved", "notes": "Order checked."})
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Representation, row.id).review.outcome == "approved"
    # The caseworker cannot review.
    assert worker.get(review).status_code == 403


def test_signing_in_as_a_representative_lands_on_their_home_page(
    app: Flask, world: dict[str, Any]
) -> None:
    helper, _ = representative(world["stuart"], access="help", username="lorna")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"username": "LORNA", "password": PASSWORD, "csrf_token": csrf_from(page)},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/represent")
    assert helper.is_representative


def test_a_representative_of_two_people_switches_between_them(
    app: Flask, world: dict[str, Any], api_as: Any
) -> None:
    stuart, jess = world["stuart"], world["jess"]
    helper, _ = representative(stuart, access="help", username="ann")
    assert (
        api_as(jess)
        .post(
            f"/api/v1/people/{jess.id}/representatives",
            json={"name": "Ann", "username": "ann", "access": "view"},
        )
        .status_code
        == 201
    )
    client = _client(app, helper)
    home = client.get("/represent").get_data(as_text=True)
    assert f"/represent/{stuart.id}" in home and f"/represent/{jess.id}" in home
    stuart_page = client.get(f"/represent/{stuart.id}").get_data(as_text=True)
    assert 'id="switch-person"' in stuart_page
    jess_page = client.get(f"/represent/{jess.id}").get_data(as_text=True)
    assert "/story/new" not in jess_page  # she only sees Jess's
