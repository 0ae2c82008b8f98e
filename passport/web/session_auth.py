"""Session sign-in for the pages (flask-login) and CSRF protection for every form (Flask-WTF).

flask-login only knows "signed in or not": what a signed-in user may read is still decided by
`passport.consent` on every request. The JSON API uses bearer tokens only, so it is exempt
from CSRF (no cookies are accepted there).
"""

from __future__ import annotations

import hashlib

from flask import Flask
from flask_login import LoginManager, UserMixin
from flask_wtf.csrf import CSRFProtect

from .. import db
from ..identity.accounts import actor_for_account
from ..identity.actor import Actor
from ..identity.models import Person

login_manager = LoginManager()
csrf = CSRFProtect()


class SessionUser(UserMixin):
    """The signed-in account, carrying the Actor the domain expects."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    def get_id(self) -> str:
        return session_id_for(self.actor)


def session_id_for(actor: Actor) -> str:
    if actor.is_person:
        # A person's session names their passphrase (a digest of its hash): a new set-up
        # code stops the old passphrase, and with it every session signed in with it.
        return f"person:{actor.id}:{_passphrase_mark(actor.id)}"
    return f"{actor.kind.value}:{actor.id}"


def _passphrase_mark(person_id: str) -> str:
    person = db.session.get(Person, person_id)
    hashed = person.password_hash if person is not None else None
    return hashlib.sha256((hashed or "").encode()).hexdigest()[:32] if hashed else "none"


@login_manager.user_loader
def _load_user(user_id: str) -> SessionUser | None:
    kind, _, rest = user_id.partition(":")
    account_id, _, mark = rest.partition(":")
    if kind not in ("staff", "person") or not account_id:
        return None
    if kind == "person" and (mark == "none" or mark != _passphrase_mark(account_id)):
        return None
    actor = actor_for_account(kind, account_id)
    return SessionUser(actor) if actor else None


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "web.login"  # the pages' sign-in view (passport/web)
    csrf.init_app(app)
