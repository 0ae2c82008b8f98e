"""Bearer tokens through Authlib's resource protection. Consent is never in the token:
the token says who you are, the decision point says what you may read, on every request."""

from __future__ import annotations

import re
from typing import Any

from apispec import BasePlugin
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import request

from .. import unit_of_work
from ..errors import Forbidden, Unauthenticated
from ..identity.actor import Actor
from ..identity.bearer import bearer_token
from ..vocabulary import Role, Scope


class _TokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> Any:
        return bearer_token(token_string)


class _Protector(ResourceProtector):
    def raise_error_response(self, error: OAuth2Error) -> None:
        if getattr(error, "error", "") == "missing_authorization":
            raise Unauthenticated("sign in first: send Authorization: Bearer <token>")
        raise Unauthenticated("the access token is not valid, has expired or was revoked")


_ACTOR_KEY = "passport.actor"

require_token = _Protector()
require_token.register_token_validator(_TokenValidator(realm="passport"))


def _forget_actor() -> None:
    request.environ.pop(_ACTOR_KEY, None)


# A read that runs again (its snapshot went stale) checks the token again too.
unit_of_work.before_reading_again.append(_forget_actor)


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
    actor_or_none: Actor | None = token.actor
    if actor_or_none is None:
        raise Unauthenticated("the account for this token no longer exists")
    if token.client_id is not None:  # issued over OAuth to an agency application
        needed = required_scope(request.method, request.path)
        if needed is not None and needed.value not in token.get_scope().split():
            raise InsufficientScope(needed)
    request.environ[_ACTOR_KEY] = actor_or_none
    return actor_or_none


def require_role(actor: Actor, *roles: Role) -> None:
    if not any(actor.has_role(r) for r in roles):
        names = " or ".join(r.value.replace("_", " ") for r in roles)
        raise Forbidden(f"this needs the {names} role")


# --- OAuth scopes ---------------------------------------------------------------------------
# An application's token carries scopes: a ceiling on what it may do for the staff member.
# Which scope a request needs is decided here, by path and method, first match wins; the
# OpenAPI document states the same for every operation (ScopePlugin). Roles and the person's
# consent are still checked by the domain on every request, whatever the scope.

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_SEGMENT = r"[^/]+"
_SCOPE_RULES: list[tuple[re.Pattern[str], Scope | None, Scope | None]] = [
    # (path, scope for reads, scope for changes)
    (re.compile(r"^/api/v1/me$"), None, None),  # who am I: any token
    (re.compile(rf"^/api/v1/audit/emergency-access/{_SEGMENT}/review$"), None, Scope.AUDIT_REVIEW),
    # Data-protection rights (api/rights.py): deciding erasure is a review; subject access
    # is the DPO's, read or recorded.
    (
        re.compile(rf"^/api/v1/audit/erasure-requests/{_SEGMENT}/decision$"),
        None,
        Scope.AUDIT_REVIEW,
    ),
    (
        re.compile(rf"^/api/v1/people/{_SEGMENT}/subject-access(/.*)?$"),
        Scope.AUDIT_READ,
        Scope.AUDIT_READ,
    ),
    (re.compile(rf"^/api/v1/audit/representatives/{_SEGMENT}/review$"), None, Scope.AUDIT_REVIEW),
    (re.compile(r"^/api/v1/audit(/.*)?$"), Scope.AUDIT_READ, Scope.AUDIT_READ),  # verify reads
    (re.compile(rf"^/api/v1/people/{_SEGMENT}/access-log$"), Scope.AUDIT_READ, Scope.AUDIT_READ),
    # Finding anyone by name and date of birth is the first step of break-glass.
    (re.compile(r"^/api/v1/people/emergency-search$"), Scope.CONSENT_WRITE, Scope.CONSENT_WRITE),
    (
        re.compile(rf"^/api/v1/people/{_SEGMENT}/(consents|emergency-access)(/.*)?$"),
        Scope.PASSPORT_READ,
        Scope.CONSENT_WRITE,
    ),
    (re.compile(rf"^/api/v1/mdts(/{_SEGMENT}/members)?$"), Scope.PASSPORT_READ, Scope.ADMIN),
    (re.compile(r"^/api/v1/.*$"), Scope.PASSPORT_READ, Scope.PASSPORT_WRITE),
]


def required_scope(method: str, path: str) -> Scope | None:
    """The scope an OAuth token needs for this request (None: any token will do)."""
    for pattern, read, change in _SCOPE_RULES:
        if pattern.match(path):
            return read if method.upper() in _SAFE else change
    return None


class InsufficientScope(Forbidden):
    def __init__(self, needed: Scope) -> None:
        super().__init__(f"this application was not given the {needed.value} scope")
        # RFC 6750 §3.1: say which scope would do.
        self.headers = {
            "WWW-Authenticate": f'Bearer realm="passport", error="insufficient_scope", '
            f'scope="{needed.value}"'
        }


class ScopePlugin(BasePlugin):
    """Document, for every operation, that it takes a bearer token, or an OAuth token with
    the scope `required_scope` asks for, and that it answers 401 without a valid one."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **_: Any
    ) -> None:
        from .accounts import PUBLIC_PATHS

        for method, operation in (operations or {}).items():
            if path in PUBLIC_PATHS:
                operation["security"] = []  # no token: anyone may call it
                continue
            needed = required_scope(method, path or "")
            operation["security"] = [
                {"bearer": []},
                {"oauth2": [needed.value] if needed else []},
            ]
            # Any of them can answer 401: no token, or one expired or revoked.
            operation.setdefault("responses", {}).setdefault("401", "Unauthenticated")
