"""Bearer tokens through Authlib's resource protection. Consent is never in the token:
the token says who you are, the decision point says what you may read, on every request."""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import request

from ..errors import Forbidden, Unauthenticated
from ..identity.accounts import actor_for_account, token_record
from ..identity.actor import Actor
from ..vocabulary import Role


class _TokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> Any:
        return token_record(token_string)


class _Protector(ResourceProtector):
    def raise_error_response(self, error: OAuth2Error) -> None:
        if getattr(error, "error", "") == "missing_authorization":
            raise Unauthenticated("sign in first: send Authorization: Bearer <token>")
        raise Unauthenticated("the access token is not valid, has expired or was revoked")


_ACTOR_KEY = "passport.actor"

require_token = _Protector()
require_token.register_token_validator(_TokenValidator(realm="passport"))


def current_actor() -> Actor:
    """The authenticated caller, checked once per request (cached in the request's own
    environ: `g` belongs to the app context, which can outlive a request)."""
    cached = request.environ.get(_ACTOR_KEY)
    if isinstance(cached, Actor):
        return cached
    try:
        token = require_token.acquire_token()
    except OAuth2Error as error:
        require_token.raise_error_response(error)
    actor_or_none = actor_for_account(token.account_kind, token.account_id)
    if actor_or_none is None:
        raise Unauthenticated("the account for this token no longer exists")
    request.environ[_ACTOR_KEY] = actor_or_none
    return actor_or_none


def require_role(actor: Actor, *roles: Role) -> None:
    if not any(actor.has_role(r) for r in roles):
        names = " or ".join(r.value.replace("_", " ") for r in roles)
        raise Forbidden(f"this needs the {names} role")
