"""The outbox survives a crash between the commit and the send: a real `passport notify run`
process is killed (SIGKILL) while GOV.UK Notify (a local stand-in) holds its first request;
a new sender then delivers exactly the messages not yet sent — the interrupted one again,
with the same idempotency key — once the dead sender's claim has run out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from passport import db, notifications
from passport.config import Settings
from passport.consent.emergency import open_emergency
from passport.notifications import preferences, sender
from passport.notifications.channels import GovukNotify
from passport.notifications.models import OutboxMessage
from passport.vocabulary import NotificationKind

from . import notify_server
from .factories import Factory

ROOT = Path(__file__).resolve().parent.parent
LEASE_SECONDS = 2


@pytest.fixture
def fake() -> Iterator[notify_server.FakeNotify]:
    server = notify_server.start()
    yield server
    notify_server.stop(server)


def test_a_killed_sender_loses_nothing(
    fresh_app: Flask, fake: notify_server.FakeNotify, tmp_path: Path
) -> None:
    settings: Settings = fresh_app.config["PASSPORT_SETTINGS"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PASSPORT_")},
        "PASSPORT_HOME": str(settings.home),
        "PASSPORT_DATABASE_URL": settings.database_url,
        "PASSPORT_ENV": "test",
        "PASSPORT_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "PASSPORT_NOTIFY_LEASE_SECONDS": str(LEASE_SECONDS),
        **fake.env(),
    }
    sending = Settings.from_env(env)
    with fresh_app.app_context():
        notifications.configure(sending.notify_channels)
        try:
            make = Factory()
            worker = make.staff("caseworker")
            for name in ("Jess", "Ciaran", "Dafydd"):
                person = make.person(preferred_name=name)
                preferences.choose(person, "sms", phone="07700 900123")
                open_emergency(worker, person.id, "found unconscious at the hub", 4)
            db.session.commit()
            keys = set(db.session.execute(select(OutboxMessage.idempotency_key)).scalars())
            assert len(keys) == 3
        finally:
            notifications.configure(frozenset())
        db.session.remove()

    held = threading.Event()
    fake.hold = held
    log = (tmp_path / "sender.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("passport")), "notify", "run", "--idle", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        arrived = fake.arrived.wait(60)
        assert arrived, (tmp_path / "sender.log").read_text()
        process.send_signal(signal.SIGKILL)  # mid-delivery: Notify has it, we never hear back
        process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        log.close()
    fake.hold = None
    held.set()
    assert process.returncode == -signal.SIGKILL
    interrupted = fake.references()
    assert len(interrupted) == 1 and interrupted[0] in keys

    with fresh_app.app_context():
        status = sender.status()
        assert status.counts["sending"] == 3 and status.counts["sent"] == 0
        channel = GovukNotify(sending)
        # The dead sender's claim still holds: nobody else takes its messages yet...
        assert sender.deliver(sending, channel).handled == 0
        time.sleep(LEASE_SECONDS + 0.5)
        # ...and then a new sender delivers every one of them.
        done = sender.deliver(sending, channel)
        assert (done.sent, done.retried, done.failed) == (3, 0, 0)
        rows: list[Any] = list(db.session.execute(select(OutboxMessage)).scalars())
        assert {r.state for r in rows} == {"sent"}
        db.session.remove()
    sent = Counter(fake.references())
    assert set(sent) == keys
    # At least once: the interrupted message twice, with the same key; the others once.
    assert sent == Counter({**dict.fromkeys(keys, 1), interrupted[0]: 2})
    assert fake.refused == []


def test_two_senders_never_claim_the_same_message(fresh_app: Flask) -> None:
    """Several senders at once (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer at a
    time and a guarded UPDATE): every message is claimed by exactly one of them."""
    settings = Settings.from_env(
        {
            "PASSPORT_HOME": str(fresh_app.config["PASSPORT_SETTINGS"].home),
            "PASSPORT_NOTIFY_API_KEY": notify_server.API_KEY,
            "PASSPORT_NOTIFY_TEMPLATE_SMS": notify_server.TEMPLATES["sms"],
        }
    )
    with fresh_app.app_context():
        notifications.configure(settings.notify_channels)
        try:
            make = Factory()
            person = make.person()
            preferences.choose(person, "sms", phone="07700 900123")
            for _ in range(40):
                notifications.tell_person(person.id, NotificationKind.CONSENT_ENDED)
            db.session.commit()
        finally:
            notifications.configure(frozenset())
        db.session.remove()

    claimed: dict[int, list[str]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def claim(n: int) -> None:
        with fresh_app.app_context():
            try:
                start.wait(10)
                mine: list[str] = []
                while got := sender.claim(settings, limit=3)[1]:
                    mine.extend(got)  # until nothing is left that nobody else holds
                claimed[n] = mine
            except BaseException as error:  # reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    every = [i for ids in claimed.values() for i in ids]
    assert len(every) == len(set(every)) == 40
