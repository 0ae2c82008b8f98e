"""OAuth 2.0 tables: agency applications, authorization codes, refresh tokens, approvals.

Every secret (client secret, code, refresh token) is stored only as its SHA-256 digest: each
is 32+ random bytes, so a fast digest is enough and a database leak yields nothing usable.
Access tokens issued over OAuth live in `access_tokens` (identity.models.AccessToken) with
their client and family, so the API's bearer validation stays the one it always was.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import JSON, Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdColumn, UTCDateTime, new_id, utcnow
from ..vocabulary import Scope

GRANT_TYPES = ("authorization_code", "refresh_token")


def digest(secret: str) -> str:
    """How every OAuth secret is stored (the same digest as identity.accounts.hash_token)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _is_loopback_ip(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OAuthClient(Base):
    """An agency application, registered by an admin (`passport client add`)."""

    __tablename__ = "oauth_clients"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    # Confidential clients only: SHA-256 of the secret, shown once at registration.
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # The interface Authlib's ClientMixin describes.
    def get_client_id(self) -> str:
        return self.id

    def get_default_redirect_uri(self) -> str | None:
        # OAuth 2.1: with more than one registered, the request must say which.
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The known scopes among those asked for; all of them when none are named. The staff
        member's roles narrow this further when they approve (identity.oauth)."""
        known = [s.value for s in Scope]
        if not scope:
            return " ".join(known)
        return " ".join(s for s in known if s in scope.split())

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact match; for a loopback IP literal, any port (RFC 8252 §7.3)."""
        if redirect_uri in self.redirect_uris:
            return True
        asked = urlsplit(redirect_uri)
        if asked.scheme != "http" or not _is_loopback_ip(asked.hostname):
            return False
        for registered in map(urlsplit, self.redirect_uris):
            if (
                registered.scheme == "http"
                and registered.hostname == asked.hostname
                and registered.path == asked.path
                and registered.query == asked.query
                and not asked.fragment
            ):
                return True
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.confidential or self.secret_hash is None:
            return False
        return hmac.compare_digest(self.secret_hash, digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.disabled_at is not None:
            return False
        if self.confidential:
            return method in ("client_secret_basic", "client_secret_post")
        # A public client cannot keep a secret: it identifies itself and proves possession
        # with PKCE. It may revoke its own tokens, but not introspect (RFC 7662 §4).
        return method == "none" and endpoint in ("token", "revocation")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


class OAuthAuthorizationCode(Base):
    """A one-time code, bound to its client, redirect URI and PKCE challenge. Kept after use
    (used_at) so a second use is recognised and the tokens it produced are revoked."""

    __tablename__ = "oauth_authorization_codes"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("oauth_clients.id"), index=True)
    staff_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"), index=True)
    redirect_uri: Mapped[str | None] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(200))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # The interface Authlib's AuthorizationCodeMixin describes.
    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()


class OAuthRefreshToken(Base):
    """A refresh token. Each use rotates it (used_at) and issues a new one in the same family;
    presenting a used one again revokes the whole family."""

    __tablename__ = "oauth_refresh_tokens"

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(IdColumn(), index=True)
    client_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("oauth_clients.id"), index=True)
    staff_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"), index=True)
    scope: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # The interface Authlib's TokenMixin describes.
    def check_client(self, client: Any) -> bool:
        return bool(self.client_id == client.id)

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None or self.used_at is not None


class OAuthApproval(Base):
    """A staff member approved this application for these scopes: asked once, remembered."""

    __tablename__ = "oauth_approvals"
    __table_args__ = (UniqueConstraint("client_id", "staff_id"),)

    id: Mapped[str] = mapped_column(IdColumn(), primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("oauth_clients.id"))
    staff_id: Mapped[str] = mapped_column(IdColumn(), ForeignKey("staff.id"), index=True)
    scope: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
