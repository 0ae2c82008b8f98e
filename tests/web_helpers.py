"""Helpers for the page tests: sign in through the real form, read CSRF tokens from pages."""

from __future__ import annotations

import re
from typing import Any

import pyotp
from flask.testing import FlaskClient

from passport import db
from passport.identity.actor import Actor
from passport.identity.models import Person, Staff
from passport.representatives.models import RepresentativeAccount

from .factories import PASSWORD

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def username_of(actor: Actor) -> str:
    model = Staff if actor.is_staff else Person
    if actor.is_representative:
        model = RepresentativeAccount
    account = db.session.get(model, actor.id)
    assert account is not None and account.username
    return account.username


_REVISION = re.compile(r'name="revision" value="(\d+)"')


def revision_from(html: str) -> dict[str, str]:
    """The hidden revision a change form carries (the one it showed), as a browser sends it."""
    found = _REVISION.search(html)
    return {"revision": found.group(1)} if found else {}


def post_form(client: FlaskClient, path: str, data: dict[str, Any], page: str | None = None) -> Any:
    """POST a form with the CSRF token (and, on a change form, the revision it showed) from
    `page` (default: the same path), as a browser sends its hidden fields."""
    html = client.get(page or path).get_data(as_text=True)
    return client.post(path, data={**revision_from(html), **data, "csrf_token": csrf_from(html)})


def sign_in(client: FlaskClient, actor: Actor, password: str = PASSWORD) -> Any:
    response = post_form(client, "/login", {"username": username_of(actor), "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def sign_in_with_code(client: FlaskClient, actor: Actor) -> str:
    """Sign in a DPO or admin: password, then set up the second factor. Returns the secret."""
    response = sign_in(client, actor)
    assert response.headers["Location"].endswith("/login/set-up-code")
    page = client.get("/login/set-up-code").get_data(as_text=True)
    secret = re.search(r'id="secret">([A-Z2-7 ]+)<', page)
    assert secret
    key = secret.group(1).replace(" ", "")
    done = client.post(
        "/login/set-up-code",
        data={"code": pyotp.TOTP(key).now(), "csrf_token": csrf_from(page)},
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    return key
