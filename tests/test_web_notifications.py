"""The messages pages: the inbox for people and staff with the unread count in the menu,
marking read (one's own only), and the person's choice of how to be told (validated, sealed,
round-tripping every field)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from flask_babel import refresh
from sqlalchemy import select

from passport import db, notifications
from passport.notifications.models import Notification, NotifyPreference
from passport.vocabulary import NotificationKind

from .factories import Factory
from .web_helpers import csrf_from, post_form, sign_in


def test_the_person_sees_their_messages_and_marks_them_read(
    client: FlaskClient, make: Factory
) -> None:
    person = make.person()
    notifications.tell_person(person.id, NotificationKind.CONSENT_ENDED)
    notifications.tell_person(person.id, NotificationKind.SETUP_CODE_ISSUED)
    db.session.commit()
    sign_in(client, person)
    html = client.get("/me").get_data(as_text=True)
    assert re.search(r'passport-count">2<span class="govuk-visually-hidden"> unread', html)
    page = client.get("/me/messages").get_data(as_text=True)
    assert "Some sharing of your passport has stopped." in page
    assert page.count("Mark as read") == 2
    first = re.search(r'action="(/me/messages/[0-9a-f-]+/read)"', page)
    assert first
    done = client.post(first.group(1), data={"csrf_token": csrf_from(page)})
    assert done.status_code == 302
    page = client.get("/me/messages").get_data(as_text=True)
    assert page.count("Mark as read") == 1
    assert re.search(r'passport-count">1<', page)
    post_form(client, "/me/messages/read-all", {}, page="/me/messages")
    page = client.get("/me/messages").get_data(as_text=True)
    assert "Mark as read" not in page and "passport-count" not in page


def test_someone_elses_message_cannot_be_marked(client: FlaskClient, make: Factory) -> None:
    person, other = make.person(), make.person(name="Ciaran Doyle", preferred_name="Ciaran")
    theirs = notifications.tell_person(other.id, NotificationKind.CONSENT_ENDED)
    db.session.commit()
    sign_in(client, person)
    page = client.get("/me/messages").get_data(as_text=True)
    response = client.post(f"/me/messages/{theirs}/read", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 404
    row = db.session.get(Notification, theirs)
    assert row is not None and row.read_at is None


def test_staff_have_an_inbox_too(client: FlaskClient, make: Factory) -> None:
    worker = make.staff("caseworker")
    notifications.tell_staff(worker.id, NotificationKind.ACTION_ASSIGNED)
    db.session.commit()
    sign_in(client, worker)
    page = client.get("/me/messages").get_data(as_text=True)
    assert "You have a new action from an MDT meeting." in page
    assert "Choose how we tell you" not in page
    assert client.get("/me/messages/how").status_code == 403


def test_welsh_inbox(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    notifications.tell_person(person.id, NotificationKind.CONSENT_ENDED)
    db.session.commit()
    sign_in(client, person)
    refresh()  # the test's app context outlives its requests: forget the cached locale
    page = client.get("/me/messages?lang=cy").get_data(as_text=True)
    assert "Mae peth rhannu o’ch pasbort wedi dod i ben." in page


def test_the_choice_round_trips_and_is_sealed(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    sign_in(client, person)
    page = client.get("/me/messages/how").get_data(as_text=True)
    assert 'value="inbox" checked' in page
    refused = post_form(client, "/me/messages/how", {"channel": "sms", "phone": "12345"})
    assert refused.status_code == 200
    html = refused.get_data(as_text=True)
    assert "Enter a UK mobile number" in html and 'value="12345"' in html
    saved = post_form(
        client,
        "/me/messages/how",
        {"channel": "sms", "phone": "07700 900123", "fuller_inbox": "yes"},
    )
    assert saved.status_code == 302
    page = client.get("/me/messages/how").get_data(as_text=True)
    assert 'value="sms" checked' in page and 'value="07700900123"' in page
    assert re.search(r'name="fuller_inbox"[^>]*value="yes"[^>]*checked', page)
    row = db.session.execute(select(NotifyPreference)).scalar_one()
    assert row.contact is not None and b"900123" not in row.contact
    letter = post_form(
        client,
        "/me/messages/how",
        {"channel": "letter", "address": "c/o Riverside Housing First\n1 High Street\nCF10 1AA"},
    )
    assert letter.status_code == 302
    page = client.get("/me/messages/how").get_data(as_text=True)
    assert "c/o Riverside Housing First\n1 High Street\nCF10 1AA" in page
    assert 'value="07700900123"' not in page  # only the chosen way's detail is kept
    email = post_form(client, "/me/messages/how", {"channel": "email", "email": "nope"})
    assert "Enter an email address" in email.get_data(as_text=True)
    missing = post_form(client, "/me/messages/how", {"channel": ""})
    assert "Choose how you want to be told" in missing.get_data(as_text=True)
