"""Disabling a staff account: from the admin staff page (asked first) and the command line.
It ends the account's sessions at once, revokes its bearer and OAuth refresh tokens, and
stops it signing in; nothing it could read before is readable. Logged. An admin cannot
disable their own account. Enabling lets it sign in afresh: the old tokens stay revoked."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from passport import db
from passport.audit.models import AuditEvent
from passport.errors import Conflict, Forbidden
from passport.identity import accounts
from passport.identity.actor import SYSTEM, Actor
from passport.identity.models import AccessToken, Staff
from passport.identity.oauth_models import OAuthRefreshToken

from .factories import PASSWORD, SAMPLE_CONTENT, Factory, grant
from .test_oauth import Flow, flow, pkce, world  # noqa: F401 - the OAuth tests' fixtures
from .web_helpers import csrf_from, post_form, sign_in, sign_in_with_code, username_of


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def reader(make: Factory) -> dict[str, Any]:
    """A caseworker whose agency the person shares with: they can read the brief."""
    agency = make.agency()
    worker = make.staff("caseworker", agency=agency)
    person = make.person()
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
    grant(person, "agency", agency.id, ["risk", "medication", "workers"])
    make.commit()
    return {"worker": worker, "person": person, "token": make.token(worker)}


@pytest.fixture
def admin(ctx: Flask, make: Factory) -> tuple[Actor, FlaskClient]:
    actor = make.staff("admin")
    browser = ctx.test_client()
    sign_in_with_code(browser, actor)
    return actor, browser


def brief(client: FlaskClient, reader: dict[str, Any], token: str) -> Any:
    path = f"/api/v1/people/{reader['person'].id}/brief?purpose=direct_support"
    return client.get(path, headers=bearer(token))


def staff_row(actor: Actor) -> Staff:
    row = db.session.get(Staff, actor.id)
    assert row is not None
    db.session.refresh(row)
    return row


def events(action: str) -> list[AuditEvent]:
    Factory().commit()
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    return list(db.session.execute(query).scalars())


def test_an_admin_disables_a_worker_from_the_staff_page(
    ctx: Flask, admin: tuple[Actor, FlaskClient], reader: dict[str, Any]
) -> None:
    admin_actor, browser = admin
    worker = reader["worker"]
    # Before: the worker is signed in on the pages and reads the brief with a token.
    workers_browser = ctx.test_client()
    sign_in(workers_browser, worker)
    assert workers_browser.get("/caseload").status_code == 200
    assert brief(workers_browser, reader, reader["token"]).status_code == 200

    listing = browser.get("/admin/staff").get_data(as_text=True)
    assert f"/admin/staff/{worker.id}/disable" in listing
    assert f"/admin/staff/{admin_actor.id}/disable" not in listing  # not their own
    ask = browser.get(f"/admin/staff/{worker.id}/disable")
    assert ask.status_code == 200
    page = ask.get_data(as_text=True)
    assert "Disable" in page and worker.name in page and "signed out straight away" in page
    assert staff_row(worker).disabled_at is None  # asking changes nothing

    done = browser.post(f"/admin/staff/{worker.id}/disable", data={"csrf_token": csrf_from(page)})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/staff"
    after = browser.get("/admin/staff").get_data(as_text=True)
    assert "account is disabled" in after and "Disabled" in after
    assert f"/admin/staff/{worker.id}/enable" in after

    # At once: the session is over, the token refused, nothing readable.
    response = workers_browser.get("/caseload")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    refused = brief(workers_browser, reader, reader["token"])
    assert refused.status_code == 401
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert workers_browser.get("/api/v1/me", headers=bearer(reader["token"])).status_code == 401
    row = db.session.execute(
        select(AccessToken).where(AccessToken.account_id == worker.id)
    ).scalar_one()
    assert row.revoked_at is not None

    (event,) = events("admin.staff_disable")
    assert event.outcome == "allowed"
    assert event.actor["id"] == admin_actor.id
    assert event.detail["staff_id"] == worker.id and event.detail["tokens_revoked"] == 1


def test_a_disabled_account_cannot_sign_in(client: FlaskClient, make: Factory) -> None:
    worker = make.staff("caseworker")
    accounts.disable_staff(SYSTEM, worker.id)
    make.commit()
    response = post_form(client, "/login", {"username": username_of(worker), "password": PASSWORD})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "This account has been turned off" in text
    assert client.get("/caseload").status_code == 302
    # A wrong password gets the usual answer: nothing says the account exists or is off.
    wrong = post_form(
        client, "/login", {"username": username_of(worker), "password": "not-the-password"}
    )
    assert "turned off" not in wrong.get_data(as_text=True)
    assert "not right" in wrong.get_data(as_text=True)
    refused = [e for e in events("auth.login_failed") if e.reason == "account-disabled"]
    assert len(refused) == 1 and refused[0].detail == {"staff_id": worker.id}


def test_oauth_tokens_are_revoked_too(
    client: FlaskClient,
    flow: Flow,  # noqa: F811
    world: dict[str, Any],  # noqa: F811
) -> None:
    tokens = flow.tokens()
    verifier, challenge = pkce()
    pending_code = flow.code(challenge)  # approved before the account is disabled
    path = f"/api/v1/people/{world['person'].id}/brief?purpose=direct_support"
    assert client.get(path, headers=bearer(tokens["access_token"])).status_code == 200
    accounts.disable_staff(SYSTEM, world["worker"].id)
    Factory().commit()
    assert client.get(path, headers=bearer(tokens["access_token"])).status_code == 401
    refreshed = flow.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json["error"] == "invalid_grant"
    rows = db.session.execute(
        select(OAuthRefreshToken).where(OAuthRefreshToken.staff_id == world["worker"].id)
    ).scalars()
    assert {row.revoked_at is not None for row in rows} == {True}
    # A code approved just before is worth nothing now: it names no usable account.
    exchanged = flow.exchange(pending_code, verifier)
    assert exchanged.status_code == 400 and "access_token" not in exchanged.json
    # No new authorization either: the worker's session ended, so they are asked to sign in.
    _, challenge = pkce()
    again = client.get("/oauth/authorize", query_string=flow.authorize_params(challenge))
    assert again.status_code == 302 and again.headers["Location"].startswith("/login")


def test_enabling_again_starts_afresh(
    ctx: Flask, admin: tuple[Actor, FlaskClient], reader: dict[str, Any], make: Factory
) -> None:
    _, browser = admin
    worker = reader["worker"]
    old_session = ctx.test_client()
    sign_in(old_session, worker)
    post_form(browser, f"/admin/staff/{worker.id}/disable", {})
    ask = browser.get(f"/admin/staff/{worker.id}/enable").get_data(as_text=True)
    assert "will be able to sign in again" in ask
    done = browser.post(f"/admin/staff/{worker.id}/enable", data={"csrf_token": csrf_from(ask)})
    assert done.status_code == 302
    assert staff_row(worker).disabled_at is None
    assert "can sign in again" in browser.get("/admin/staff").get_data(as_text=True)
    # The old session and the old token stay ended; signing in again works.
    assert old_session.get("/caseload").status_code == 302
    assert brief(old_session, reader, reader["token"]).status_code == 401
    fresh = ctx.test_client()
    sign_in(fresh, worker)
    assert fresh.get("/caseload").status_code == 200
    assert brief(fresh, reader, make.token(worker)).status_code == 200
    assert [e.outcome for e in events("admin.staff_enable")] == ["allowed"]


def test_an_admin_cannot_disable_their_own_account(admin: tuple[Actor, FlaskClient]) -> None:
    admin_actor, browser = admin
    page = browser.get(f"/admin/staff/{admin_actor.id}/disable")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "You cannot disable your own account" in text
    assert "Yes, disable" not in text
    # Sent anyway: refused plainly, logged, and nothing changes.
    refused = browser.post(
        f"/admin/staff/{admin_actor.id}/disable",
        data={"csrf_token": csrf_from(browser.get("/admin/staff").get_data(as_text=True))},
    )
    assert refused.status_code == 403
    assert "You cannot disable your own account" in refused.get_data(as_text=True)
    assert staff_row(admin_actor).disabled_at is None
    assert browser.get("/admin/staff").status_code == 200  # still signed in
    (event,) = events("admin.staff_disable")
    assert event.outcome == "denied" and event.reason == "own-account"
    with pytest.raises(Forbidden):
        accounts.disable_staff(admin_actor, admin_actor.id)


def test_only_an_admin_may_disable(client: FlaskClient, make: Factory) -> None:
    worker, other = make.staff("caseworker"), make.staff("caseworker")
    sign_in(client, worker)
    assert client.get(f"/admin/staff/{other.id}/disable").status_code == 403
    assert (
        post_form(client, f"/admin/staff/{other.id}/disable", {}, page="/caseload").status_code
        == 403
    )
    with pytest.raises(Forbidden):
        accounts.disable_staff(worker, other.id)
    with pytest.raises(Forbidden):
        accounts.enable_staff(worker, other.id)
    assert staff_row(other).disabled_at is None


def test_twice_is_a_conflict_and_unknown_is_not_found(
    admin: tuple[Actor, FlaskClient], make: Factory
) -> None:
    admin_actor, browser = admin
    worker = make.staff("caseworker")
    accounts.disable_staff(admin_actor, worker.id)
    with pytest.raises(Conflict):
        accounts.disable_staff(admin_actor, worker.id)
    make.commit()
    again = post_form(browser, f"/admin/staff/{worker.id}/disable", {}, page="/admin/staff")
    assert again.status_code == 302
    assert "was already disabled" in browser.get("/admin/staff").get_data(as_text=True)
    accounts.enable_staff(admin_actor, worker.id)
    with pytest.raises(Conflict):
        accounts.enable_staff(admin_actor, worker.id)
    missing = "00000000-0000-4000-8000-000000000000"
    assert browser.get(f"/admin/staff/{missing}/disable").status_code == 404


# -- the command line ----------------------------------------------------------------------


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def test_the_command_line_disables_and_enables(fresh_app: Flask) -> None:
    make = Factory()
    worker = make.staff("caseworker")
    username = username_of(worker)
    token = make.token(worker)
    client = fresh_app.test_client()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200

    result = run(fresh_app, "staff", "disable", username.upper())  # any case
    assert result.exit_code == 0, result.output
    assert "disabled" in result.output and "tokens revoked" in result.output
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    issued = run(fresh_app, "token", "issue", username)
    assert issued.exit_code == 1 and "is disabled" in issued.output
    twice = run(fresh_app, "staff", "disable", username)
    assert twice.exit_code == 1 and "already disabled" in twice.output

    result = run(fresh_app, "staff", "enable", username)
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401  # stays revoked
    new_token = run(fresh_app, "token", "issue", username).stdout.strip()
    assert client.get("/api/v1/me", headers=bearer(new_token)).status_code == 200
    assert "not disabled" in run(fresh_app, "staff", "enable", username).output

    person = make.person()
    for name in ("nobody-by-that-name", username_of(person)):
        refused = run(fresh_app, "staff", "disable", name)
        assert refused.exit_code == 1 and "no staff account called" in refused.output
    actions = [e.action for e in events("admin.staff_disable") + events("admin.staff_enable")]
    assert actions == ["admin.staff_disable", "admin.staff_enable"]
