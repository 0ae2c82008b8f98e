"""Choosing a passphrase with a set-up code: the one API call made without a token.

Wrong codes are throttled like sign-in (Flask-Limiter, the limiter of the pages): per
username (only a digest is stored) and, more loosely, per address. Only failures count.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_limiter.util import get_remote_address
from flask_smorest import Blueprint

from ..identity import setup_codes
from ..identity.accounts import normalise_username
from ..identity.models import Person
from ..web.auth import limiter
from . import schemas

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Setting up an account")

# Paths that take no token (api.auth.ScopePlugin documents them so).
PUBLIC_PATHS = frozenset({"/api/v1/account/setup"})


def _username_key() -> str:
    body = request.get_json(silent=True)
    username = body.get("username") if isinstance(body, dict) else None
    named = normalise_username(username) if isinstance(username, str) else ""
    return "setup:" + hashlib.sha256(named.encode()).hexdigest()


def _refused(response: Any) -> bool:
    return bool(response.status_code == 400)


@blp.route("/account/setup")
class AccountSetup(MethodView):
    @blp.alt_response(400, response="SetupCodeRefused")
    @blp.alt_response(422, response="ValidationError")
    @blp.arguments(schemas.AccountSetupIn)
    @blp.response(200, schemas.AccountSetupOut)
    @limiter.limit(
        lambda: current_app.config["SETUP_LIMIT"],
        key_func=_username_key,
        deduct_when=_refused,
        scope="api-setup",
    )
    @limiter.limit(
        lambda: current_app.config["SETUP_ADDRESS_LIMIT"],
        key_func=get_remote_address,
        deduct_when=_refused,
        scope="api-setup-address",
    )
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """The person chooses their passphrase with their set-up code (no token). A wrong,
        used or expired code is a 400, the same for each; then they sign in as usual."""
        account = setup_codes.complete_setup(body["username"], body["setup_code"], body["password"])
        kind = "person" if isinstance(account, Person) else "representative"
        return {"id": account.id, "kind": kind}
