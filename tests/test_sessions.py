"""Sessions live on the server: the browser holds a random id only, signing out deletes the
server's copy (a copied cookie is then worthless), signing in starts under a new id, and a
session unused too long ends by itself (30 minutes for staff, 60 for people, 12 hours at
most). The default store is files in PASSPORT_HOME/sessions; Redis in production."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from passport import activate, db
from passport.audit.models import AuditEvent
from passport.config import ConfigError, Settings
from passport.web.session_auth import (
    MAX_SESSION_SECONDS,
    PERSON_IDLE_SECONDS,
    STAFF_IDLE_SECONDS,
)

from .conftest import build_app
from .factories import Factory
from .web_helpers import post_form, sign_in

# Sessions live in files or Redis, never in the database: run once, in the SQLite pass.
pytestmark = pytest.mark.once

COOKIE = "session"
REDIS_DB = 12  # a Redis database nothing else in the suite uses


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def signed_in_as_person(client: FlaskClient) -> bool:
    response = client.get("/me")
    return response.status_code == 200


def logouts(account_id: str) -> list[AuditEvent]:
    Factory().commit()
    query = select(AuditEvent).where(AuditEvent.action == "auth.logout")
    return [e for e in db.session.execute(query).scalars() if e.actor["id"] == account_id]


def age_session(client: FlaskClient, seconds: float, clock: str = "seen_at") -> None:
    """Move the session's clock back, as if `seconds` had passed (the server's own copy)."""
    with client.session_transaction() as session:
        session[clock] = float(session[clock]) - seconds


def test_a_copied_cookie_is_worthless_after_signing_out(
    client: FlaskClient, ctx: Flask, make: Factory
) -> None:
    person = make.person()
    sign_in(client, person)
    stolen = cookie_of(client)
    assert signed_in_as_person(client)
    post_form(client, "/logout", {}, page="/me")
    assert not signed_in_as_person(client)
    # Someone who copied the cookie before sign-out replays it in another browser.
    thief = ctx.test_client()
    thief.set_cookie(COOKIE, stolen)
    response = thief.get("/me")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_cookie_holds_only_a_random_id(client: FlaskClient, ctx: Flask, make: Factory) -> None:
    person = make.person()
    sign_in(client, person)
    value = cookie_of(client)
    # Flask's own signed cookie is payload.timestamp.signature, and carries the user id.
    assert "." not in value and "person" not in value and len(value) >= 40
    # The default store: files in PASSPORT_HOME/sessions, readable by the service only.
    folder = Path(ctx.instance_path) / "sessions"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = [p for p in folder.iterdir() if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)


def test_signing_in_starts_a_new_session_id(client: FlaskClient, ctx: Flask, make: Factory) -> None:
    person = make.person()
    client.get("/login")
    planted = cookie_of(client)  # e.g. an id an attacker planted before the person signs in
    sign_in(client, person)
    assert cookie_of(client) != planted
    # The session under the planted id is gone from the server: it is not signed in.
    attacker = ctx.test_client()
    attacker.set_cookie(COOKIE, planted)
    assert attacker.get("/me").status_code == 302


def test_a_session_id_the_server_never_gave_is_not_signed_in(ctx: Flask, make: Factory) -> None:
    browser = ctx.test_client()
    browser.set_cookie(COOKIE, "made-up-session-id-0123456789abcdefghijklmnop")
    assert browser.get("/me").status_code == 302


def test_staff_sessions_end_after_30_minutes_unused(client: FlaskClient, make: Factory) -> None:
    worker = make.staff("caseworker")
    sign_in(client, worker)
    age_session(client, STAFF_IDLE_SECONDS - 120)
    assert client.get("/caseload").status_code == 200  # 28 minutes: still signed in
    age_session(client, STAFF_IDLE_SECONDS + 60)
    response = client.get("/caseload")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert "not used for 30 minutes" in page
    assert client.get("/caseload").status_code == 302  # and it stays ended
    (ended,) = logouts(worker.id)
    assert ended.detail == {"ended": "unused"}


def test_using_passport_keeps_a_staff_session_going(client: FlaskClient, make: Factory) -> None:
    worker = make.staff("caseworker")
    sign_in(client, worker)
    for _ in range(3):  # 3 × 20 minutes apart: an hour in all, never 30 minutes idle
        age_session(client, 20 * 60)
        assert client.get("/caseload").status_code == 200


def test_peoples_sessions_last_60_minutes_unused(client: FlaskClient, make: Factory) -> None:
    assert PERSON_IDLE_SECONDS == 60 * 60 and STAFF_IDLE_SECONDS == 30 * 60
    person = make.person()
    sign_in(client, person)
    age_session(client, 45 * 60)
    assert signed_in_as_person(client)  # longer than a worker's
    age_session(client, PERSON_IDLE_SECONDS + 60)
    assert not signed_in_as_person(client)
    assert "not used for 60 minutes" in client.get("/login").get_data(as_text=True)


def test_every_session_ends_after_12_hours(client: FlaskClient, make: Factory) -> None:
    person = make.person()
    sign_in(client, person)
    age_session(client, MAX_SESSION_SECONDS + 60, clock="signed_in_at")
    assert not signed_in_as_person(client)
    assert "signed in for 12 hours" in client.get("/login").get_data(as_text=True)
    (ended,) = logouts(person.id)
    assert ended.detail == {"ended": "too-long"} and ended.person_id == person.id


def test_a_new_set_up_code_still_ends_the_persons_sessions(
    client: FlaskClient, make: Factory
) -> None:
    from passport.identity import setup_codes

    worker = make.staff("caseworker")
    person = make.person(registered_by=worker)
    sign_in(client, person)
    assert signed_in_as_person(client)
    setup_codes.issue(worker, person.id)
    make.commit()
    assert not signed_in_as_person(client)


# -- where sessions are kept ------------------------------------------------------------------


def test_the_session_store_setting_is_checked() -> None:
    base = {"PASSPORT_HOME": "/tmp/passport-x", "PASSPORT_ENV": "test"}
    with pytest.raises(ConfigError, match="PASSPORT_SESSION_STORAGE_URI"):
        Settings.from_env({**base, "PASSPORT_SESSION_STORAGE_URI": "postgres://somewhere"})
    assert Settings.from_env(base).session_storage_uri is None  # files in PASSPORT_HOME
    production = {
        "PASSPORT_ENV": "production",
        "PASSPORT_SESSION_STORAGE_URI": "memory://",
        "PASSPORT_SECRET_KEY": "x" * 40,
    }
    with pytest.raises(ConfigError, match="refuses PASSPORT_SESSION_STORAGE_URI=memory://"):
        Settings.from_env({**base, **production})


@pytest.fixture
def redis_sessions() -> Iterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    client.ping()
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def app_on_redis(tmp_path: Path, app: Flask, redis_sessions: redis.Redis) -> Iterator[Flask]:
    """An app (its own SQLite database) keeping its sessions in the real Redis."""
    other = build_app(
        tmp_path / "home",
        None,
        PASSPORT_SESSION_STORAGE_URI=f"redis://127.0.0.1:6379/{REDIS_DB}",
    )
    try:
        with other.app_context():
            yield other
    finally:
        other.extensions["passport_engine"].dispose()
        activate(app)


def test_sessions_in_redis_end_at_sign_out(
    app_on_redis: Flask, redis_sessions: redis.Redis
) -> None:
    person = Factory().person()
    browser = app_on_redis.test_client()
    sign_in(browser, person)
    sid = cookie_of(browser)
    key = f"passport-session:{sid}"
    assert redis_sessions.exists(key)
    assert 0 < redis_sessions.ttl(key) <= PERSON_IDLE_SECONDS  # Redis forgets idle ones
    assert not (Path(app_on_redis.instance_path) / "sessions").exists()  # nothing on disk
    assert browser.get("/me").status_code == 200
    post_form(browser, "/logout", {}, page="/me")
    assert not redis_sessions.exists(key)
    thief = app_on_redis.test_client()
    thief.set_cookie(COOKIE, sid)
    assert thief.get("/me").status_code == 302


def test_sessions_in_memory_for_one_process(tmp_path: Path, app: Flask) -> None:
    other = build_app(tmp_path / "home", None, PASSPORT_SESSION_STORAGE_URI="memory://")
    try:
        with other.app_context():
            person = Factory().person()
            browser = other.test_client()
            sign_in(browser, person)
            assert browser.get("/me").status_code == 200
            assert not (tmp_path / "home" / "sessions").exists()
    finally:
        other.extensions["passport_engine"].dispose()
        activate(app)


def test_sessions_survive_a_restart_with_the_default_store(tmp_path: Path, app: Flask) -> None:
    home = tmp_path / "home"
    first = build_app(home, None)
    try:
        with first.app_context():
            person = Factory().person()
            browser = first.test_client()
            sign_in(browser, person)
            sid = cookie_of(browser)
    finally:
        first.extensions["passport_engine"].dispose()
    again = build_app(home, None)  # the same home: a restart
    try:
        with again.app_context():
            browser = again.test_client()
            browser.set_cookie(COOKIE, sid)
            assert browser.get("/me").status_code == 200
    finally:
        again.extensions["passport_engine"].dispose()
        activate(app)
