"""The registration pages, the set-up code shown once, giving a new code, /account/setup, and
the notice at the next sign-in — through the real forms."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from passport import db
from passport.identity.accounts import authenticate
from passport.identity.models import Person
from passport.web.auth import limiter

from .factories import PASSWORD, Factory
from .web_helpers import csrf_from, post_form, sign_in, username_of

NEW = "blue kettle on the hill"
NAME_STEP = {
    "name": "Stuart Mills",
    "preferred_name": "Stu",
    "date_of_birth-day": "3",
    "date_of_birth-month": "11",
    "date_of_birth-year": "1983",
}


def hidden(html: str) -> dict[str, str]:
    """The hidden fields a page carries (the answers so far), as a browser would send them."""
    found = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    return found


def step(client: FlaskClient, page: str, answers: dict[str, str], **extra: str) -> str:
    """Submit the form on `page` with its carried fields plus `answers`."""
    response = client.post("/people/register", data={**hidden(page), **answers, **extra})
    assert response.status_code in (200, 302), response.get_data(as_text=True)
    return str(response.get_data(as_text=True))


def register_through_pages(
    client: FlaskClient, username: str = "stuart", worker: str = "me", **more: str
) -> Any:
    page = client.get("/people/register").get_data(as_text=True)
    page = step(client, page, NAME_STEP)
    page = step(client, page, {"username": username})
    page = step(client, page, {"worker": worker, **more})
    assert "Check the answers" in page
    return client.post("/people/register", data=hidden(page))


def code_on(html: str) -> str:
    found = re.search(r'id="setup-code">([A-Z0-9-]+)<', html)
    assert found, html
    return found.group(1)


def test_caseload_links_to_register(client: FlaskClient, make: Factory) -> None:
    sign_in(client, make.staff("caseworker"))
    html = client.get("/caseload").get_data(as_text=True)
    assert 'href="/people/register"' in html


def test_only_caseworkers_register(client: FlaskClient, make: Factory) -> None:
    sign_in(client, make.person())
    assert client.get("/people/register").status_code == 403


def test_a_caseworker_registers_a_person_and_sees_the_code_once(
    client: FlaskClient, make: Factory
) -> None:
    worker = make.staff("caseworker", name="Amara Okafor")
    sign_in(client, worker)
    page = client.get("/people/register").get_data(as_text=True)
    page = step(client, page, NAME_STEP)
    assert "Their username" in page and 'value="stu"' in page  # a suggestion they can change
    page = step(client, page, {"username": " Stuart "})
    page = step(client, page, {"worker": "me"})
    assert 'id="check-name">Stuart Mills<' in page and "3 November 1983" in page
    assert 'id="check-username">stuart<' in page and 'id="check-worker">Amara Okafor<' in page
    done = client.post("/people/register", data=hidden(page))
    assert done.status_code == 302
    shown = client.get(done.headers["Location"])
    html = shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    code = code_on(html)
    assert "/account/setup" in html and "never sees your passphrase" in html
    assert "data-passport-print" in html
    # Reloading does not show it again.
    again = client.get(done.headers["Location"]).get_data(as_text=True)
    assert code not in again and 'id="code-gone"' in again
    # The person made: lower-case username, no passphrase, the worker as lead worker.
    person = db.session.execute(select(Person).where(Person.username == "stuart")).scalar_one()
    assert person.password_hash is None
    brief = client.get(f"/people/{person.id}/brief?purpose=direct_support").get_data(as_text=True)
    assert "Amara Okafor" in brief and "Lead worker" in brief
    # The person chooses their passphrase with the code.
    post_form(client, "/logout", {}, page="/caseload")
    response = post_form(
        client,
        "/account/setup",
        {
            "username": "STUART",
            "setup_code": code.lower(),
            "password": NEW,
            "password_confirm": NEW,
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert authenticate("stuart", NEW) is not None


def test_another_worker_or_nobody_as_their_worker(client: FlaskClient, make: Factory) -> None:
    from passport.consent import decide
    from passport.identity.models import Agency
    from passport.records.content import read_section
    from passport.vocabulary import Purpose, Section

    worker = make.staff("caseworker")
    agency = db.session.get(Agency, worker.agency_id)
    colleague = make.staff("caseworker", agency=agency, name="Tom Reid")
    sign_in(client, worker)
    page = client.get("/people/register").get_data(as_text=True)
    assert 'value="' + colleague.id + '"' in step(
        client, step(client, page, NAME_STEP), {"username": "stuart"}
    )
    done = register_through_pages(client, "stuart2", "other", worker_staff_id=colleague.id)
    assert done.status_code == 302
    person = db.session.execute(select(Person).where(Person.username == "stuart2")).scalar_one()
    [entry] = read_section(decide(worker, person.id, Section.WORKERS, Purpose.DIRECT_SUPPORT))
    assert entry.content["staff_id"] == colleague.id and entry.content["is_lead"] is True
    none = register_through_pages(client, "stuart3", "nobody")
    assert none.status_code == 302
    person = db.session.execute(select(Person).where(Person.username == "stuart3")).scalar_one()
    assert read_section(decide(worker, person.id, Section.WORKERS, Purpose.DIRECT_SUPPORT)) == []


def test_every_step_keeps_every_answer_when_a_step_has_an_error(
    client: FlaskClient, make: Factory
) -> None:
    make.person()  # "person<n>" usernames exist; take one
    taken = db.session.execute(select(Person.username)).scalars().first()
    sign_in(client, make.staff("caseworker"))
    page = client.get("/people/register").get_data(as_text=True)
    bad_date = {**NAME_STEP, "date_of_birth-month": "13"}
    page = step(client, page, bad_date)
    assert "There is a problem" in page and 'href="#date_of_birth-day"' in page
    for value in ("Stuart Mills", "Stu", 'value="13"', 'value="1983"'):
        assert value in page
    page = step(client, page, NAME_STEP)
    page = step(client, page, {"username": str(taken).upper()})
    assert "That username is taken" in page
    assert hidden(page)["name"] == "Stuart Mills" and hidden(page)["date_of_birth-day"] == "3"
    page = step(client, page, {"username": "stuart"})
    page = step(client, page, {"worker": "other", "worker_staff_id": ""})
    assert "Choose a worker at your agency" in page
    assert hidden(page)["username"] == "stuart" and hidden(page)["preferred_name"] == "Stu"
    page = step(client, page, {"worker": "nobody"})
    # Change the name from the check page: the other answers come back with it.
    page = step(client, page, {}, change="name")
    assert 'value="Stuart Mills"' in page and hidden(page)["username"] == "stuart"
    page = step(client, page, {**NAME_STEP, "name": "Stuart James Mills"})
    assert "Check the answers" in page and "Stuart James Mills" in page
    assert 'id="check-username">stuart<' in page


def test_a_tampered_carried_answer_is_checked_again(client: FlaskClient, make: Factory) -> None:
    sign_in(client, make.staff("caseworker"))
    page = client.get("/people/register").get_data(as_text=True)
    page = step(client, page, NAME_STEP)
    page = step(client, page, {"username": "stuart"})
    page = step(client, page, {"worker": "me"})
    fields = {**hidden(page), "name": ""}
    response = client.post("/people/register", data=fields)
    assert response.status_code == 200 and "Enter their full name" in response.get_data(
        as_text=True
    )


def test_the_sign_in_page_points_to_getting_back_in(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert "set-up code" in html and 'href="/account/setup"' in html


# -- /account/setup ----------------------------------------------------------------------------


def test_setup_page_refuses_plainly_and_keeps_what_was_typed(
    client: FlaskClient, make: Factory
) -> None:
    limiter.reset()
    html = client.get("/account/setup").get_data(as_text=True)
    token = csrf_from(html)
    wrong = client.post(
        "/account/setup",
        data={
            "username": "Stuart",
            "setup_code": "AAAA-AAAA-AAAA",
            "password": NEW,
            "password_confirm": NEW,
            "csrf_token": token,
        },
    )
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 200 and "not right" in page and 'value="Stuart"' in page
    mismatch = client.post(
        "/account/setup",
        data={
            "username": "stuart",
            "setup_code": "x",
            "password": NEW,
            "password_confirm": NEW + "!",
            "csrf_token": token,
        },
    )
    assert "not the same" in mismatch.get_data(as_text=True)
    limiter.reset()


def test_failed_setup_on_the_page_is_throttled(client: FlaskClient) -> None:
    limiter.reset()
    token = csrf_from(client.get("/account/setup").get_data(as_text=True))
    bad = {
        "username": "stuart",
        "setup_code": "WRNG-WRNG-WRNG",
        "password": NEW,
        "password_confirm": NEW,
        "csrf_token": token,
    }
    statuses = [client.post("/account/setup", data=bad).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    limiter.reset()


# -- a new set-up code, and the notice at the next sign-in -----------------------------------


def test_a_contributor_gives_a_new_code_the_person_is_told_once(
    client: FlaskClient, make: Factory
) -> None:
    worker = make.staff("caseworker")
    person = make.person(registered_by=worker)
    username = username_of(person)
    other = FlaskClient(client.application, use_cookies=True)
    sign_in(other, person)  # signed in with the old passphrase elsewhere
    assert other.get("/me").status_code == 200

    sign_in(client, worker)
    brief = client.get(f"/people/{person.id}/brief?purpose=direct_support").get_data(as_text=True)
    assert f"/people/{person.id}/setup-code" in brief
    page = client.get(f"/people/{person.id}/setup-code").get_data(as_text=True)
    assert "old passphrase will stop working" in page and "Jess" in page
    unconfirmed = post_form(client, f"/people/{person.id}/setup-code", {})
    assert "with the person here" in unconfirmed.get_data(as_text=True)
    given = post_form(client, f"/people/{person.id}/setup-code", {"present": "yes"})
    assert given.status_code == 302
    code = code_on(client.get(given.headers["Location"]).get_data(as_text=True))

    assert authenticate(username, PASSWORD) is None  # stopped at once
    assert other.get("/me").status_code == 302  # and the session signed in with it
    post_form(client, "/logout", {}, page="/caseload")
    post_form(
        client,
        "/account/setup",
        {"username": username, "setup_code": code, "password": NEW, "password_confirm": NEW},
    )
    first = sign_in(client, person, NEW)
    html = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "a worker gave you a new set-up code" in html and "tell a worker you trust" in html
    post_form(client, "/logout", {}, page="/me")
    sign_in(client, person, NEW)
    assert "a worker gave you a new set-up code" not in client.get("/me").get_data(as_text=True)


def test_a_newly_registered_person_gets_no_replaced_notice(
    client: FlaskClient, make: Factory
) -> None:
    worker = make.staff("caseworker")
    person = make.person(registered_by=worker)
    sign_in(client, person)
    assert "new set-up code" not in client.get("/me").get_data(as_text=True)


def test_others_cannot_give_a_new_code_on_the_pages(client: FlaskClient, make: Factory) -> None:
    from .factories import grant

    person = make.person(registered_by=make.staff("caseworker"))
    reader = make.staff("caseworker")
    grant(person, "staff", reader.id, ["workers", "story"])
    sign_in(client, reader)
    brief = client.get(f"/people/{person.id}/brief?purpose=direct_support").get_data(as_text=True)
    assert "setup-code" not in brief
    assert client.get(f"/people/{person.id}/setup-code").status_code == 403
    refused = post_form(
        client, f"/people/{person.id}/setup-code", {"present": "yes"}, page="/caseload"
    )
    assert refused.status_code == 403
    assert authenticate(username_of(person), PASSWORD) is not None


def test_the_new_code_page_logs_its_look_at_who_the_person_is(
    client: FlaskClient, make: Factory
) -> None:
    from .factories import events_for

    worker = make.staff("caseworker")
    person = make.person(registered_by=worker)
    sign_in(client, worker)
    page = client.get(f"/people/{person.id}/setup-code")
    assert page.status_code == 200 and "Jess" in page.get_data(as_text=True)
    views = events_for(page, "record.view")
    assert views and all(e.detail == {"page": "setup-code"} for e in views)
    assert {e.person_id for e in views} == {person.id}
