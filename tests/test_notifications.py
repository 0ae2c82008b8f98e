"""Notifications (issue 15): the inbox and outbox written with the event (and rolled back
with it), the sender against a local GOV.UK Notify (JWT, paths, bodies checked), retries,
backoff and giving up, the events that tell, the daily job's idempotency, and the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from flask_babel import refresh
from sqlalchemy import func, select, update

from passport import db, notifications
from passport.config import Settings
from passport.consent.emergency import open_emergency
from passport.mdt.models import Action
from passport.notifications import inbox, preferences, sender
from passport.notifications.channels import GovukNotify, NoChannel
from passport.notifications.daily import run_daily
from passport.notifications.models import Notification, NotifyPreference, OutboxMessage
from passport.vocabulary import NotificationKind

from . import notify_server
from .factories import Factory, forum, forum_member, grant

PHONE = "07700 900123"


@pytest.fixture
def fake() -> Iterator[notify_server.FakeNotify]:
    server = notify_server.start()
    yield server
    notify_server.stop(server)


@pytest.fixture
def settings(ctx: Any, fake: notify_server.FakeNotify, tmp_path: Any) -> Iterator[Settings]:
    """This deployment sends on every channel, to the local Notify."""
    found = Settings.from_env(
        {
            "PASSPORT_HOME": str(tmp_path),
            "PASSPORT_NOTIFY_MAX_ATTEMPTS": "3",
            "PASSPORT_NOTIFY_RETRY_SECONDS": "30",
            **fake.env(),
        }
    )
    notifications.configure(found.notify_channels)
    yield found
    notifications.configure(frozenset())


def inbox_of(account_id: str) -> list[Notification]:
    return list(
        db.session.execute(
            select(Notification)
            .where(Notification.recipient_id == account_id)
            .order_by(Notification.created_at)
        ).scalars()
    )


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.execute(select(OutboxMessage).order_by(OutboxMessage.created_at)).scalars()
    )


def choose_sms(person: Any) -> None:
    preferences.choose(person, "sms", phone=PHONE)
    db.session.commit()


def test_an_emergency_look_tells_the_person_in_the_same_transaction(
    make: Factory, settings: Settings
) -> None:
    person = make.person()
    choose_sms(person)
    worker = make.staff("caseworker")
    open_emergency(worker, person.id, "found unconscious at the hub", 4)
    # Not committed yet, but already in the same transaction: inbox and outbox.
    told = inbox_of(person.id)
    assert [n.kind for n in told] == ["emergency_access"]
    assert told[0].detail == {
        "emergency_access_id": told[0].detail["emergency_access_id"],
        "agency_id": worker.agency_id,
    }
    queued = outbox()
    assert [(m.channel, m.state, m.notification_id) for m in queued] == [
        ("sms", "pending", told[0].id)
    ]
    db.session.commit()
    assert len(outbox()) == 1


def test_a_rolled_back_event_leaves_no_message(make: Factory, settings: Settings) -> None:
    person = make.person()
    choose_sms(person)
    worker = make.staff("caseworker")
    open_emergency(worker, person.id, "found unconscious at the hub", 4)
    assert len(outbox()) == 1
    db.session.rollback()
    assert inbox_of(person.id) == []
    assert outbox() == []


def test_no_outbox_without_a_key_or_without_a_choice(make: Factory, ctx: Any) -> None:
    person = make.person()
    choose_sms(person)
    worker = make.staff("caseworker")
    open_emergency(worker, person.id, "found unconscious at the hub", 4)  # no key: inbox only
    assert len(inbox_of(person.id)) == 1
    assert outbox() == []


def test_the_inbox_only_person_gets_no_outbox_row(make: Factory, settings: Settings) -> None:
    person = make.person()
    open_emergency(make.staff("caseworker"), person.id, "found unconscious at the hub", 4)
    assert len(inbox_of(person.id)) == 1
    assert outbox() == []


def test_the_contact_is_sealed_and_round_trips(make: Factory, ctx: Any) -> None:
    person = make.person()
    chosen = preferences.choose(person, "sms", phone="+44 7700 900123", language="cy")
    assert (chosen.channel, chosen.phone, chosen.language) == ("sms", "07700900123", "cy")
    row = db.session.execute(select(NotifyPreference)).scalar_one()
    assert row.contact is not None and b"900123" not in row.contact
    again = preferences.choose(person, "letter", address=["c/o Riverside", "1 High St", "CF10 1AA"])
    assert again.address == ("c/o Riverside", "1 High St", "CF10 1AA") and again.phone is None
    assert preferences.current(person).address == again.address


@pytest.mark.parametrize(
    ("channel", "values", "field"),
    [
        ("sms", {"phone": "0123"}, "phone"),
        ("sms", {}, "phone"),
        ("email", {"email": "not an address"}, "email"),
        ("letter", {"address": ["one line"]}, "address"),
        ("pigeon", {}, "channel"),
    ],
)
def test_bad_contact_details_are_refused(
    make: Factory, ctx: Any, channel: str, values: dict[str, Any], field: str
) -> None:
    from passport.errors import Invalid

    person = make.person()
    with pytest.raises(Invalid) as refused:
        preferences.choose(person, channel, **values)
    assert field in refused.value.errors


def test_only_the_person_chooses(make: Factory, ctx: Any) -> None:
    from passport.errors import Forbidden

    with pytest.raises(Forbidden):
        preferences.choose(make.staff("caseworker"), "sms", phone=PHONE)


def test_the_sender_delivers_through_the_real_client(
    make: Factory, settings: Settings, fake: notify_server.FakeNotify
) -> None:
    person = make.person()
    choose_sms(person)
    other = make.person(name="Ciaran Doyle", preferred_name="Ciaran")
    preferences.choose(other, "email", email="ciaran@example.com")
    third = make.person(name="Dafydd Morgan", preferred_name="Dafydd")
    preferences.choose(third, "letter", address=["c/o Riverside", "1 High St", "CF10 1AA"])
    worker = make.staff("caseworker")
    for who in (person, other, third):
        open_emergency(worker, who.id, "found unconscious at the hub", 4)
    db.session.commit()
    done = sender.deliver(settings, GovukNotify(settings))
    assert (done.sent, done.retried, done.failed) == (3, 0, 0), fake.refused
    paths = sorted(r.path for r in fake.received)
    assert paths == [
        "/v2/notifications/email",
        "/v2/notifications/letter",
        "/v2/notifications/sms",
    ]
    sms = next(r for r in fake.received if r.path.endswith("/sms"))
    assert sms.body["phone_number"] == "07700900123"
    assert sms.body["template_id"] == notify_server.TEMPLATES["sms"]
    assert sms.claims["iss"] == notify_server.SERVICE_ID
    assert "Sign in" in sms.body["personalisation"]["message"]
    letter = next(r for r in fake.received if r.path.endswith("/letter"))
    assert letter.body["personalisation"]["address_line_3"] == "CF10 1AA"
    rows = outbox()
    assert {m.state for m in rows} == {"sent"}
    assert sorted(fake.references()) == sorted(m.idempotency_key for m in rows)
    assert all(m.provider_id and m.attempts == 1 for m in rows)
    # Nothing left: a second pass sends nothing again.
    assert sender.deliver(settings, GovukNotify(settings)).handled == 0


def test_a_wrong_key_is_refused_by_notify_and_not_retried(
    make: Factory, settings: Settings, fake: notify_server.FakeNotify
) -> None:
    person = make.person()
    choose_sms(person)
    open_emergency(make.staff("caseworker"), person.id, "found unconscious at the hub", 4)
    db.session.commit()
    wrong = Settings.from_env(
        {
            "PASSPORT_HOME": str(settings.home),
            **fake.env(),
            "PASSPORT_NOTIFY_API_KEY": f"other-{notify_server.SERVICE_ID}-{'0' * 8}-0000-0000-"
            f"0000-{'0' * 12}",
        }
    )
    done = sender.deliver(wrong, GovukNotify(wrong))
    assert done.failed == 1 and fake.received == [] and fake.refused
    assert outbox()[0].state == "failed" and outbox()[0].last_error == "GOV.UK Notify answered 403"


def test_retries_back_off_then_give_up(
    make: Factory, settings: Settings, fake: notify_server.FakeNotify
) -> None:
    person = make.person()
    choose_sms(person)
    open_emergency(make.staff("caseworker"), person.id, "found unconscious at the hub", 4)
    db.session.commit()
    fake.fail_with = [500, 503, 500]
    channel = GovukNotify(settings)
    waits = []
    for attempt in (1, 2):
        before = db.utcnow()
        assert sender.deliver(settings, channel).retried == 1
        message = outbox()[0]
        assert (message.state, message.attempts) == ("pending", attempt)
        waits.append((message.next_attempt_at - before).total_seconds())
        # Not due yet: a pass now sends nothing.
        assert sender.deliver(settings, channel).handled == 0
        db.session.execute(update(OutboxMessage).values(next_attempt_at=db.utcnow()))
        db.session.commit()
    assert 29 <= waits[0] <= 32 and 59 <= waits[1] <= 62  # 30 s, then 60 s
    assert sender.deliver(settings, channel).failed == 1  # the third of 3 attempts
    message = outbox()[0]
    assert (message.state, message.attempts, message.last_error) == (
        "failed",
        3,
        "GOV.UK Notify answered 500",
    )
    assert len(set(fake.references())) == 1  # every attempt carried the same key
    status = sender.status()
    assert status.counts["failed"] == 1 and status.oldest_pending_seconds is None


def test_an_expired_claim_is_taken_again_and_a_live_one_is_not(
    make: Factory, settings: Settings, fake: notify_server.FakeNotify
) -> None:
    person = make.person()
    choose_sms(person)
    open_emergency(make.staff("caseworker"), person.id, "found unconscious at the hub", 4)
    db.session.commit()
    _, ids = sender.claim(settings)
    assert len(ids) == 1
    assert sender.claim(settings)[1] == []  # claimed, and the claim holds
    assert sender.status().counts["sending"] == 1
    db.session.execute(
        update(OutboxMessage).values(claimed_until=db.utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    done = sender.deliver(settings, GovukNotify(settings))
    assert done.sent == 1
    assert outbox()[0].attempts == 2


def test_a_person_who_stops_texts_is_not_texted(
    make: Factory, settings: Settings, fake: notify_server.FakeNotify
) -> None:
    person = make.person()
    choose_sms(person)
    open_emergency(make.staff("caseworker"), person.id, "found unconscious at the hub", 4)
    preferences.choose(person, "inbox")
    db.session.commit()
    assert sender.deliver(settings, GovukNotify(settings)).failed == 1
    assert fake.received == []


def test_without_a_key_there_is_no_channel(ctx: Any) -> None:
    settings = Settings.from_env({"PASSPORT_HOME": "/tmp/unused"})
    assert settings.notify_channels == frozenset()
    assert NoChannel().channels() == frozenset()


def test_a_malformed_key_stops_the_start() -> None:
    from passport.config import ConfigError

    with pytest.raises(ConfigError, match=r"does not look like a GOV\.UK Notify API key"):
        Settings.from_env(
            {"PASSPORT_NOTIFY_API_KEY": "nonsense", "PASSPORT_NOTIFY_TEMPLATE_SMS": "x"}
        )
    with pytest.raises(ConfigError, match="no template"):
        Settings.from_env({"PASSPORT_NOTIFY_API_KEY": notify_server.API_KEY})


def test_a_new_agency_is_told_once(make: Factory, api_as: Any) -> None:
    person = make.person()
    agency = make.agency("Riverside Housing First")
    first = make.staff("caseworker", agency=agency)
    second = make.staff("caseworker", agency=agency)
    grant(person, "agency", agency.id, ["story"])
    for reader in (first, first, second):
        url = f"/api/v1/people/{person.id}/passport?purpose=direct_support"
        assert api_as(reader).get(url).status_code == 200
    told = [n for n in inbox_of(person.id) if n.kind == "new_agency_look"]
    assert len(told) == 1 and told[0].detail == {"agency_id": agency.id}
    # A refused read tells nothing.
    other = make.staff("caseworker")
    assert api_as(other).get(url).status_code == 403
    assert len([n for n in inbox_of(person.id) if n.kind == "new_agency_look"]) == 1


def test_assisted_grants_setup_codes_and_reviews_tell_the_person(
    make: Factory, api_as: Any
) -> None:
    from passport.consent.emergency import review
    from passport.identity import setup_codes
    from passport.records.operations import add_contributor

    person = make.person()
    worker = make.staff("caseworker")
    add_contributor(person, person.id, worker.id, ["story"])
    db.session.commit()
    grant(person, "agency", make.agency().id, ["story"], recorded_by=worker)
    setup_codes.issue(worker, person.id)
    access = open_emergency(worker, person.id, "found unconscious at the hub", 4)
    review(make.staff("dpo", scheme_wide=True), access.id, "justified", "she was found at the hub")
    kinds = [n.kind for n in inbox_of(person.id)]
    assert kinds == [
        "assisted_grant",
        "setup_code_issued",
        "emergency_access",
        "emergency_reviewed",
    ]
    # The person's own grant tells them nothing.
    grant(person, "agency", make.agency().id, ["story"])
    assert len(inbox_of(person.id)) == 4


def test_an_mdt_action_tells_its_owner(make: Factory, api_as: Any) -> None:
    from passport.mdt.operations import add_action, add_to_agenda, create_meeting

    agency = make.agency()
    chair = make.staff("caseworker", "mdt_chair", agency=agency)
    member = make.staff("caseworker", agency=agency)
    room = forum("Riverside MDT", [agency])
    forum_member(room, chair, "chair")
    forum_member(room, member)
    person = make.person()
    grant(person, "mdt", room.id, ["story"], purpose="mdt")
    meeting = create_meeting(chair, room.id, date.today(), None, [member.id])
    add_to_agenda(chair, meeting.id, person.id)
    add_action(chair, meeting.id, person.id, member.id, "Register with a GP", date.today())
    assert [n.kind for n in inbox_of(member.id)] == ["action_assigned"]
    assert inbox_of(chair.id) == []


def test_the_daily_job_tells_once_per_grant(make: Factory, ctx: Any) -> None:
    from passport.consent.grants import create_grant

    person = make.person()
    agency = make.agency()
    worker = make.staff("caseworker", agency=agency)
    soon = grant(person, "agency", agency.id, ["story"])  # ends in 60 days
    today = date.today()
    later = create_grant(
        person,
        person.id,
        grantee_type="agency",
        grantee_id=make.agency().id,
        sections=["story"],
        purpose="direct_support",
        expires_on=today + timedelta(days=90),
        method="self",
    )
    ended = grant(person, "agency", make.agency().id, ["story"], state="expired")
    db.session.commit()
    assert run_daily(today).counts == {"consent_ended": 1}
    assert run_daily(today).counts == {}  # idempotent
    in_46_days = today + timedelta(days=46)  # 14 days before `soon` ends
    assert run_daily(in_46_days).counts == {"consent_expiring": 1, "caseload_expiring": 1}
    assert run_daily(in_46_days).counts == {}
    told = {n.kind: n.detail.get("grant_id") for n in inbox_of(person.id)}
    assert told == {"consent_expiring": soon.id, "consent_ended": ended.id}
    assert later.id not in told.values()
    digest = inbox_of(worker.id)
    assert [(n.kind, n.detail) for n in digest] == [("caseload_expiring", {"people": 1})]
    # Next week, a new digest; the person is not told again.
    assert run_daily(in_46_days + timedelta(days=7)).counts == {"caseload_expiring": 1}


def test_the_daily_job_tells_owners_of_overdue_actions(make: Factory, ctx: Any) -> None:
    agency = make.agency()
    chair = make.staff("caseworker", "mdt_chair", agency=agency)
    member = make.staff("caseworker", agency=agency)
    room = forum("Riverside MDT", [agency])
    forum_member(room, chair, "chair")
    forum_member(room, member)
    person = make.person()
    grant(person, "mdt", room.id, ["story"], purpose="mdt")
    from passport.mdt.operations import add_action, add_to_agenda, create_meeting

    meeting = create_meeting(chair, room.id, date.today(), None, [member.id])
    add_to_agenda(chair, meeting.id, person.id)
    add_action(chair, meeting.id, person.id, member.id, "Register with a GP", date.today())
    db.session.commit()
    assert run_daily(date.today()).counts.get("action_overdue") is None
    later = date.today() + timedelta(days=2)
    assert run_daily(later).counts["action_overdue"] == 1
    assert run_daily(later).counts.get("action_overdue") is None
    assert db.session.execute(select(func.count()).select_from(Action)).scalar_one() == 1


def test_the_api_lists_pages_and_marks_read(make: Factory, api_as: Any) -> None:
    person = make.person()
    worker = make.staff("caseworker")
    for _ in range(3):
        notifications.tell_person(person.id, NotificationKind.CONSENT_ENDED)
    notifications.tell_staff(worker.id, NotificationKind.ACTION_ASSIGNED)
    db.session.commit()
    api = api_as(person)
    first = api.get("/api/v1/me/notifications?limit=2")
    assert first.status_code == 200, first.json
    assert first.headers["Cache-Control"] == "no-store"
    assert [i["kind"] for i in first.json["items"]] == ["consent_ended"] * 2
    assert set(first.json["items"][0]) == {"id", "kind", "at", "text", "read"}
    rest = api.get(f"/api/v1/me/notifications?limit=2&cursor={first.json['next_cursor']}")
    assert len(rest.json["items"]) == 1 and rest.json["next_cursor"] is None
    ids = [i["id"] for i in first.json["items"] + rest.json["items"]]
    assert len(set(ids)) == 3
    read = api.post(f"/api/v1/me/notifications/{ids[0]}/read")
    assert read.status_code == 200 and read.json["read"] is True
    assert inbox.unread_count(person) == 2
    staff_api = api_as(worker)
    mine = staff_api.get("/api/v1/me/notifications").json["items"]
    assert [i["kind"] for i in mine] == ["action_assigned"]
    # Someone else's message: not found, and left unread.
    assert staff_api.post(f"/api/v1/me/notifications/{ids[1]}/read").status_code == 404
    assert inbox.unread_count(person) == 2
    assert api.get("/api/v1/me/notifications?cursor=nonsense").status_code == 422
    assert api.client.get("/api/v1/me/notifications").status_code == 401


def test_fuller_text_only_in_the_inbox_and_only_if_chosen(make: Factory, api_as: Any) -> None:
    person = make.person()
    agency = make.agency("Riverside Housing First")
    notifications.first_look(person.id, agency.id)
    db.session.commit()
    api = api_as(person)
    plain = api.get("/api/v1/me/notifications").json["items"][0]["text"]
    assert "Riverside" not in plain
    body = {"channel": "inbox", "fuller_inbox": True}
    assert api.put("/api/v1/me/notification-preferences", json=body).status_code == 200
    fuller = api.get("/api/v1/me/notifications").json["items"][0]["text"]
    assert "Riverside Housing First" in fuller
    refresh()  # the test's app context outlives its requests: forget the cached locale
    welsh = api.get("/api/v1/me/notifications", headers={"Accept-Language": "cy"}).json["items"][0][
        "text"
    ]
    assert welsh != fuller and "Riverside Housing First" in welsh


def test_preferences_through_the_api(make: Factory, api_as: Any) -> None:
    person = make.person()
    api = api_as(person)
    assert api.get("/api/v1/me/notification-preferences").json["channel"] == "inbox"
    chosen = api.put("/api/v1/me/notification-preferences", json={"channel": "sms", "phone": PHONE})
    assert chosen.status_code == 200, chosen.json
    assert chosen.json["phone"] == "07700900123"
    assert api.get("/api/v1/me/notification-preferences").json == chosen.json
    bad = api.put("/api/v1/me/notification-preferences", json={"channel": "sms", "phone": "1"})
    assert bad.status_code == 422 and "phone" in str(bad.json)
    worker = api_as(make.staff("caseworker"))
    refused = worker.put("/api/v1/me/notification-preferences", json={"channel": "inbox"})
    assert refused.status_code == 403


def test_readyz_names_an_outbox_nobody_delivers(make: Factory, settings: Settings) -> None:
    from passport import health

    assert "notify" not in health.readiness(Settings.from_env({"PASSPORT_HOME": "/tmp/x"}))
    person = make.person()
    choose_sms(person)
    open_emergency(make.staff("caseworker"), person.id, "found unconscious at the hub", 4)
    db.session.commit()
    assert health.readiness(settings)["notify"] == "ok"
    # Waiting out a retry is not overdue; due for 16 minutes with no sender taking it is.
    db.session.execute(
        update(OutboxMessage).values(next_attempt_at=db.utcnow() + timedelta(hours=1))
    )
    db.session.commit()
    assert health.readiness(settings)["notify"] == "ok"
    db.session.execute(
        update(OutboxMessage).values(next_attempt_at=db.utcnow() - timedelta(minutes=16))
    )
    db.session.commit()
    found = health.readiness(settings)["notify"]
    assert "1 notifications are waiting" in found and "passport notify run" in found
    assert sender.status().overdue_seconds is not None


def test_metrics_and_the_status_command_show_the_outbox(
    make: Factory, settings: Settings, client: Any, fake: notify_server.FakeNotify
) -> None:
    person = make.person()
    choose_sms(person)
    worker = make.staff("caseworker")
    open_emergency(worker, person.id, "found unconscious at the hub", 4)
    open_emergency(worker, person.id, "found unconscious again, at night", 4)
    db.session.commit()
    fake.fail_with = [400]
    sender.deliver(settings, GovukNotify(settings), limit=1)
    text = client.get("/metrics").get_data(as_text=True)
    assert "passport_notify_pending 1.0" in text
    assert "passport_notify_failed_total 1.0" in text
    assert "passport_notify_sent_total 0.0" in text
    runner = client.application.test_cli_runner()
    shown = runner.invoke(args=["notify", "status"])
    assert shown.exit_code == 0, shown.output
    assert "pending: 1" in shown.output and "failed: 1" in shown.output
    assert "oldest pending: " in shown.output and "none" not in shown.output
    refused = runner.invoke(args=["notify", "run", "--once"])  # this app has no Notify key
    assert refused.exit_code != 0 and "only the inbox is used" in refused.output
    daily = runner.invoke(args=["notify", "daily"])
    assert daily.exit_code == 0 and "nobody to tell today" in daily.output


def test_a_sender_whose_claim_ran_out_does_not_send(make: Factory, settings: Settings) -> None:
    person = make.person()
    choose_sms(person)
    open_emergency(make.staff("caseworker"), person.id, "found unconscious at the hub", 4)
    db.session.commit()
    slow, ids = sender.claim(settings)
    db.session.execute(
        update(OutboxMessage).values(claimed_until=db.utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    fast, again = sender.claim(settings)
    assert again == ids
    assert not sender._still_ours(settings, ids[0], slow)  # the slow one leaves it alone
    assert sender._still_ours(settings, ids[0], fast)
