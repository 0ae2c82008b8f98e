"""The OAuth 2.0 authorization server (Authlib), following OAuth 2.1 practice.

- Authorization code with PKCE, S256 only, for every client; no implicit or password grant.
- Agency applications act for a signed-in staff member who approves them once; the scopes
  granted are the ones asked for *and* allowed by the staff member's roles (SCOPES_FOR_ROLE).
- Access tokens live 15 minutes and are stored (as digests) in `access_tokens`, so the API's
  bearer validation is unchanged. Refresh tokens rotate on every use; presenting a used one
  again (or reusing an authorization code) revokes the whole token family.
- Scopes are a ceiling on what the application may do. Consent to a person's record is never
  in a token: `passport.consent` decides it on every request.
- Issuance, refresh, revocation and failures go to the access log (identifiers only).

Domain code: flushes, never commits; the request owns the unit of work.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7636.challenge import compare_s256_code_challenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask
from sqlalchemy import select, update

from .. import audit, db
from ..errors import Invalid
from ..vocabulary import SCOPES_FOR_ROLE, Action, ActorKind, Outcome, Reason, Scope
from .accounts import actor_for_account, hash_token
from .actor import SYSTEM, Actor
from .models import AccessToken
from .oauth_models import (
    OAuthApproval,
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthRefreshToken,
    _is_loopback_ip,
    digest,
)

ACCESS_TOKEN_SECONDS = 15 * 60
REFRESH_TOKEN_SECONDS = 12 * 60 * 60  # a working day; each refresh starts a new one
CODE_SECONDS = 120
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
MAX_REDIRECT_URI = 500


# --- scopes ---------------------------------------------------------------------------------

# What each scope lets an application do, in the words the consent page uses.
SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.PASSPORT_READ: "read the passports, briefs and history people have shared with you",
    Scope.PASSPORT_WRITE: "add to records where a person made you a contributor, and do MDT work",
    Scope.CONSENT_WRITE: "record or withdraw consent with a person, and open emergency access",
    Scope.AUDIT_READ: "read and verify the access log",
    Scope.AUDIT_REVIEW: "review emergency accesses",
    Scope.ADMIN: "manage MDT forums and their members",
}


def scopes_for(actor: Actor) -> frozenset[Scope]:
    """The most an application may be given by this staff member: what their roles allow."""
    if not actor.is_staff:
        return frozenset()
    return frozenset().union(*(SCOPES_FOR_ROLE.get(role, frozenset()) for role in actor.roles))


def narrow(scope: str | None, actor: Actor) -> str:
    """The asked-for scopes this actor may grant, in the vocabulary's order."""
    asked = set((scope or "").split())
    allowed = scopes_for(actor)
    return " ".join(s.value for s in Scope if s.value in asked and s in allowed)


# --- clients --------------------------------------------------------------------------------


def _redirect_uri_problem(uri: str) -> str | None:
    if len(uri) > MAX_REDIRECT_URI:
        return f"{uri!r} is longer than {MAX_REDIRECT_URI} characters"
    try:
        parts = urlsplit(uri)
    except ValueError:
        return f"{uri!r} is not a URL"
    if parts.fragment:
        return f"{uri!r} must not have a fragment"
    if not parts.hostname:
        return f"{uri!r} needs a host"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and (
        parts.hostname == "localhost" or _is_loopback_ip(parts.hostname)
    ):
        return None  # a native or developer application on this machine (RFC 8252 §7.3)
    return f"{uri!r} must use https (or http on a loopback address)"


def register_client(
    actor: Actor, name: str, redirect_uris: list[str], confidential: bool
) -> tuple[OAuthClient, str | None]:
    """Register an agency application. Returns the client and, for a confidential client,
    its secret: shown once, stored only as a digest."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid("the application needs a name of 1 to 200 characters", {"name": ["Length."]})
    if not redirect_uris:
        raise Invalid("give at least one redirect URI", {"redirect_uri": ["Required."]})
    problems = [p for p in map(_redirect_uri_problem, redirect_uris) if p]
    if problems:
        raise Invalid(
            "a redirect URI is not allowed: " + "; ".join(problems), {"redirect_uri": problems}
        )
    secret = secrets.token_urlsafe(32) if confidential else None
    client = OAuthClient(
        name=name,
        confidential=confidential,
        secret_hash=digest(secret) if secret else None,
        redirect_uris=list(dict.fromkeys(redirect_uris)),
    )
    db.session.add(client)
    db.session.flush()
    audit.record(
        actor=actor.as_event(),
        action=Action.ADMIN_CLIENT_ADD,
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"client_id": client.id, "confidential": confidential},
    )
    return client, secret


def query_client(client_id: str | None) -> OAuthClient | None:
    if not client_id or len(client_id) > 36:
        return None
    client = db.session.get(OAuthClient, client_id)
    if client is None or client.disabled_at is not None:
        return None
    return client


# --- approvals ------------------------------------------------------------------------------


def is_approved(actor: Actor, client: OAuthClient, scope: str) -> bool:
    """Has this staff member already approved this application for (at least) these scopes?"""
    approval = _approval(actor, client)
    return approval is not None and set(scope.split()) <= set(approval.scope.split())


def approve(actor: Actor, client: OAuthClient, scope: str) -> None:
    approval = _approval(actor, client)
    if approval is None:
        db.session.add(OAuthApproval(client_id=client.id, staff_id=actor.id, scope=scope))
    else:
        approval.scope = " ".join(
            s.value for s in Scope if s.value in set(approval.scope.split()) | set(scope.split())
        )
    db.session.flush()
    audit.record(
        actor=actor.as_event(),
        action=Action.AUTH_CLIENT_APPROVED,
        outcome=Outcome.ALLOWED,
        detail={"client_id": client.id, "scope": scope.split()},
    )


def _approval(actor: Actor, client: OAuthClient) -> OAuthApproval | None:
    return db.session.execute(
        select(OAuthApproval).where(
            OAuthApproval.client_id == client.id, OAuthApproval.staff_id == actor.id
        )
    ).scalar()


# --- tokens ---------------------------------------------------------------------------------


def generate_bearer_token(
    grant_type: str,
    client: OAuthClient,
    user: Actor | None = None,
    scope: str | None = None,
    expires_in: int | None = None,
    include_refresh_token: bool = True,
) -> dict[str, Any]:
    """Opaque random tokens. The scope is narrowed to what the staff member's roles allow
    *now*, so a refresh after a role is removed narrows the application too."""
    if user is None:
        raise InvalidGrantError("There is no staff member for this grant.")
    granted = narrow(client.get_allowed_scope(scope), user)
    if not granted:
        raise InvalidScopeError("None of the requested scopes is allowed for this account.")
    token: dict[str, Any] = {
        "token_type": "Bearer",
        "access_token": secrets.token_urlsafe(32),
        "expires_in": ACCESS_TOKEN_SECONDS,
        "scope": granted,
    }
    if include_refresh_token:
        token["refresh_token"] = secrets.token_urlsafe(48)
    return token


def save_token(token: dict[str, Any], request: Any) -> None:
    """Store a newly issued access token (and refresh token) as digests, in its family."""
    user: Actor = request.user
    client: OAuthClient = request.client
    refreshed = getattr(request, "refresh_token", None)
    if isinstance(refreshed, OAuthRefreshToken):
        family_id = refreshed.family_id
        action = Action.AUTH_TOKEN_REFRESHED
    else:
        family_id = request.authorization_code.id
        action = Action.AUTH_TOKEN_ISSUED
    now = db.utcnow()
    db.session.add(
        AccessToken(
            token_hash=hash_token(token["access_token"]),
            account_kind=ActorKind.STAFF.value,
            account_id=user.id,
            scope=token["scope"],
            expires_at=now + timedelta(seconds=token["expires_in"]),
            client_id=client.id,
            family_id=family_id,
        )
    )
    if "refresh_token" in token:
        db.session.add(
            OAuthRefreshToken(
                token_hash=digest(token["refresh_token"]),
                family_id=family_id,
                client_id=client.id,
                staff_id=user.id,
                scope=token["scope"],
                expires_at=now + timedelta(seconds=REFRESH_TOKEN_SECONDS),
            )
        )
    db.session.flush()
    audit.record(
        actor=user.as_event(),
        action=action,
        outcome=Outcome.ALLOWED,
        detail={
            "client_id": client.id,
            "family_id": family_id,
            "scope": token["scope"].split(),
            "ttl": token["expires_in"],
        },
    )


def revoke_family(family_id: str, client_id: str, reason: Reason | None = None) -> None:
    """Revoke every access and refresh token descended from one authorization code."""
    now = db.utcnow()
    db.session.execute(
        update(AccessToken)
        .where(AccessToken.family_id == family_id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.execute(
        update(OAuthRefreshToken)
        .where(OAuthRefreshToken.family_id == family_id, OAuthRefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    db.session.flush()
    audit.record(
        actor=SYSTEM.as_event(),
        action=Action.AUTH_TOKEN_REVOKED,
        outcome=Outcome.ALLOWED,
        reason=reason.value if reason else None,
        detail={"client_id": client_id, "family_id": family_id, "revoked": "family"},
    )


def _claim(model: type[OAuthAuthorizationCode] | type[OAuthRefreshToken], row_id: str) -> bool:
    """Mark a one-time credential used, atomically: exactly one request can win."""
    result = db.session.execute(
        update(model)
        .where(model.id == row_id, model.used_at.is_(None))
        .values(used_at=db.utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return bool(getattr(result, "rowcount", 0) == 1)


def find_token(token_string: str, hint: str | None) -> AccessToken | OAuthRefreshToken | None:
    """An OAuth-issued access token or a refresh token, by its value."""

    def access() -> AccessToken | None:
        return db.session.execute(
            select(AccessToken).where(
                AccessToken.token_hash == hash_token(token_string),
                AccessToken.client_id.is_not(None),
            )
        ).scalar()

    def refresh() -> OAuthRefreshToken | None:
        return db.session.execute(
            select(OAuthRefreshToken).where(OAuthRefreshToken.token_hash == digest(token_string))
        ).scalar()

    if hint == "refresh_token":
        return refresh() or access()
    return access() or refresh()


# --- grants and endpoints -------------------------------------------------------------------


class PkceS256(CodeChallenge):  # type: ignore[misc]
    """PKCE required of every client, and only S256: `plain` is refused (OAuth 2.1)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    CODE_CHALLENGE_METHODS: ClassVar[dict[str, Any]] = {"S256": compare_s256_code_challenge}

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def save_authorization_code(self, code: str, request: Any) -> None:
        user: Actor = request.user
        scope = narrow(request.scope, user)
        if not scope:
            raise InvalidScopeError("None of the requested scopes is allowed for this account.")
        db.session.add(
            OAuthAuthorizationCode(
                code_hash=digest(code),
                client_id=request.client.id,
                staff_id=user.id,
                redirect_uri=request.payload.redirect_uri,
                scope=scope,
                code_challenge=request.payload.data["code_challenge"],
                code_challenge_method="S256",
                expires_at=db.utcnow() + timedelta(seconds=CODE_SECONDS),
            )
        )
        db.session.flush()

    def query_authorization_code(
        self, code: str, client: OAuthClient
    ) -> OAuthAuthorizationCode | None:
        row = db.session.execute(
            select(OAuthAuthorizationCode).where(
                OAuthAuthorizationCode.code_hash == digest(code),
                OAuthAuthorizationCode.client_id == client.id,
            )
        ).scalar()
        if row is None:
            return None
        if row.used_at is not None:
            # RFC 6749 §4.1.2: a code used twice revokes what it produced.
            revoke_family(row.id, client.id, Reason.CODE_REUSED)
            return None
        if row.is_expired():
            return None
        return row

    def delete_authorization_code(self, authorization_code: OAuthAuthorizationCode) -> None:
        if not _claim(OAuthAuthorizationCode, authorization_code.id):
            # Another request exchanged the same code at the same moment.
            revoke_family(authorization_code.id, authorization_code.client_id, Reason.CODE_REUSED)
            raise InvalidGrantError("Invalid 'code' in request.")

    def authenticate_user(self, authorization_code: OAuthAuthorizationCode) -> Actor | None:
        return actor_for_account(ActorKind.STAFF.value, authorization_code.staff_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    """Rotation with reuse detection: every refresh token works once."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> OAuthRefreshToken | None:
        row = db.session.execute(
            select(OAuthRefreshToken).where(OAuthRefreshToken.token_hash == digest(refresh_token))
        ).scalar()
        if row is None:
            return None
        if row.used_at is not None:
            if row.revoked_at is None:
                revoke_family(row.family_id, row.client_id, Reason.REFRESH_TOKEN_REUSED)
            return None
        if row.revoked_at is not None or row.is_expired():
            return None
        return row

    def validate_token_request(self) -> None:
        super().validate_token_request()
        token: OAuthRefreshToken = self.request.refresh_token
        # Claimed only now that the client, token and scope have all been checked.
        if not _claim(OAuthRefreshToken, token.id):
            revoke_family(token.family_id, token.client_id, Reason.REFRESH_TOKEN_REUSED)
            raise InvalidGrantError()

    def authenticate_user(self, refresh_token: OAuthRefreshToken) -> Actor | None:
        return actor_for_account(ActorKind.STAFF.value, refresh_token.staff_id)

    def revoke_old_credential(self, refresh_token: OAuthRefreshToken) -> None:
        """Already marked used when the request was validated (validate_token_request)."""


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009. A refresh token takes its whole family with it; an access token, itself."""

    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> AccessToken | OAuthRefreshToken | None:
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token: AccessToken | OAuthRefreshToken, request: Any) -> None:
        client: OAuthClient = request.client
        if isinstance(token, OAuthRefreshToken):
            revoke_family(token.family_id, client.id)
            return
        if token.revoked_at is None:
            token.revoked_at = db.utcnow()
        db.session.flush()
        audit.record(
            actor=SYSTEM.as_event(),
            action=Action.AUTH_TOKEN_REVOKED,
            outcome=Outcome.ALLOWED,
            detail={"client_id": client.id, "family_id": token.family_id, "revoked": "token"},
        )


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662, for confidential clients, about their own tokens only."""

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def query_token(
        self, token_string: str, token_type_hint: str | None
    ) -> AccessToken | OAuthRefreshToken | None:
        return find_token(token_string, token_type_hint)

    def check_permission(
        self, token: AccessToken | OAuthRefreshToken, client: OAuthClient, request: Any
    ) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: AccessToken | OAuthRefreshToken) -> dict[str, Any]:
        staff_id = token.account_id if isinstance(token, AccessToken) else token.staff_id
        payload: dict[str, Any] = {
            "active": True,
            "client_id": token.client_id,
            "scope": token.scope,
            "sub": staff_id,
            "exp": int(token.expires_at.timestamp()),
            "iat": int(token.created_at.timestamp()),
        }
        if isinstance(token, AccessToken):
            payload["token_type"] = "Bearer"  # noqa: S105 - a token type name
        return payload


def build_server(app: Flask) -> AuthorizationServer:
    server = AuthorizationServer()
    server.init_app(app, query_client=query_client, save_token=save_token)
    server.register_token_generator("default", generate_bearer_token)
    server.scopes_supported = [s.value for s in Scope]
    server.register_grant(AuthorizationCodeGrant, [PkceS256()])
    server.register_grant(RefreshTokenGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    return server
