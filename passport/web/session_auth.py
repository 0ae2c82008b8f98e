"""Session sign-in for the pages (flask-login) and CSRF protection for every form (Flask-WTF).

flask-login only knows "signed in or not": what a signed-in user may read is still decided by
`passport.consent` on every request. The JSON API uses bearer tokens only, so it is exempt
from CSRF (no cookies are accepted there).
"""

from __future__ import annotations

from flask import Flask
from flask_login import LoginManager, UserMixin
from flask_wtf.csrf import CSRFProtect

from ..identity.accounts import actor_for_account
from ..identity.actor import Actor

login_manager = LoginManager()
csrf = CSRFProtect()


class SessionUser(UserMixin):
    """The signed-in account, carrying the Actor the domain expects."""

    def __init__(self, actor: Actor) -> None:
        self.actor = actor

    def get_id(self) -> str:
        return session_id_for(self.actor)


def session_id_for(actor: Actor) -> str:
    return f"{actor.kind.value}:{actor.id}"


@login_manager.user_loader
def _load_user(user_id: str) -> SessionUser | None:
    kind, _, account_id = user_id.partition(":")
    if kind not in ("staff", "person") or not account_id:
        return None
    actor = actor_for_account(kind, account_id)
    return SessionUser(actor) if actor else None


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "web.login"  # the pages' sign-in view (passport/web)
    csrf.init_app(app)
