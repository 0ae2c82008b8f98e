"""The OAuth 2.0 authorization server: the code flow with PKCE for agency applications,
and every way it refuses."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from passport import db
from passport.audit.models import AuditEvent
from passport.identity.actor import SYSTEM
from passport.identity.models import AccessToken
from passport.identity.oauth import register_client
from passport.identity.oauth_models import OAuthClient, OAuthRefreshToken
from passport.web.session_auth import session_id_for

from .factories import SAMPLE_CONTENT, Factory, events_for, grant

REDIRECT = "http://127.0.0.1:8765/callback"
OTHER_REDIRECT = "https://agency.example/oauth/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def sign_in(client: Any, actor: Any) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = session_id_for(actor)
        session["_fresh"] = True
        session["signed_in_at"] = session["seen_at"] = time.time()


def query_of(response: Any) -> dict[str, str]:
    assert response.status_code == 302, response.get_data(as_text=True)
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


class Flow:
    """An agency application driving the code flow through the test client."""

    def __init__(self, http: Any, app_client: OAuthClient, secret: str | None = None) -> None:
        self.http = http
        self.app_client = app_client
        self.secret = secret

    def authorize_params(self, challenge: str, **overrides: str) -> dict[str, str]:
        params = {
            "response_type": "code",
            "client_id": self.app_client.id,
            "redirect_uri": REDIRECT,
            "scope": "passport.read consent.write",
            "state": "xyz-123",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, challenge: str, decision: str = "allow", **overrides: str) -> Any:
        """Open the consent page and answer it; returns the redirect back to the application
        (or the page itself when it is not shown as a form)."""
        params = self.authorize_params(challenge, **overrides)
        page = self.http.get("/oauth/authorize", query_string=params)
        if page.status_code != 200:
            return page
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
        assert match, "the consent page has a CSRF-protected form"
        return self.http.post(
            "/oauth/authorize",
            query_string=params,
            data={"csrf_token": match.group(1), "decision": decision},
        )

    def code(self, challenge: str, **overrides: str) -> str:
        answer = query_of(self.authorize(challenge, **overrides))
        assert answer["state"] == "xyz-123"
        return answer["code"]

    def _auth(self, data: dict[str, str]) -> dict[str, Any]:
        if self.secret:
            basic = base64.b64encode(f"{self.app_client.id}:{self.secret}".encode()).decode()
            return {"data": data, "headers": {"Authorization": f"Basic {basic}"}}
        return {"data": {**data, "client_id": self.app_client.id}}

    def exchange(self, code: str, verifier: str, redirect_uri: str = REDIRECT) -> Any:
        return self.http.post(
            "/oauth/token",
            **self._auth(
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": verifier,
                }
            ),
        )

    def refresh(self, refresh_token: str) -> Any:
        return self.http.post(
            "/oauth/token",
            **self._auth({"grant_type": "refresh_token", "refresh_token": refresh_token}),
        )

    def revoke(self, token: str, hint: str | None = None) -> Any:
        data = {"token": token, **({"token_type_hint": hint} if hint else {})}
        return self.http.post("/oauth/revoke", **self._auth(data))

    def tokens(self, **overrides: str) -> dict[str, Any]:
        verifier, challenge = pkce()
        response = self.exchange(self.code(challenge, **overrides), verifier)
        assert response.status_code == 200, response.json
        return dict(response.json)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(make: Factory) -> dict[str, Any]:
    agency = make.agency("Riverside Housing", "housing")
    worker = make.staff("caseworker", agency=agency, name="Priya Shah")
    person = make.person()
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
    consent = grant(person, "agency", agency.id, ["risk", "medication", "workers"])
    public, _ = register_client(SYSTEM, "Mainstay", [REDIRECT, OTHER_REDIRECT], False)
    confidential, secret = register_client(SYSTEM, "Trust EPR", [REDIRECT], True)
    make.commit()
    return {
        "agency": agency,
        "worker": worker,
        "person": person,
        "grant": consent,
        "public": public,
        "confidential": confidential,
        "secret": secret,
    }


@pytest.fixture
def flow(client: Any, world: dict[str, Any]) -> Flow:
    sign_in(client, world["worker"])
    return Flow(client, world["public"])


def brief_path(world: dict[str, Any]) -> str:
    return f"/api/v1/people/{world['person'].id}/brief?purpose=direct_support"


def test_full_code_flow_with_pkce(client: Any, flow: Flow, world: dict[str, Any]) -> None:
    verifier, challenge = pkce()
    page = client.get("/oauth/authorize", query_string=flow.authorize_params(challenge))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Mainstay" in text and "Priya Shah" in text
    assert page.headers["X-Frame-Options"] == "DENY"

    code = flow.code(challenge)
    response = flow.exchange(code, verifier)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 15 * 60
    assert body["scope"] == "passport.read consent.write"
    assert body["refresh_token"]
    assert response.headers["Cache-Control"] == "no-store"

    brief = client.get(brief_path(world), headers=bearer(body["access_token"]))
    assert brief.status_code == 200, brief.json
    assert brief.json["medication"][0]["content"]["name"] == "Methadone"
    assert "story" in brief.json["withheld"] and "medication" not in brief.json["withheld"]

    # Stored as digests only, bound to the client, and the issuance is in the access log.
    row = db.session.execute(
        select(AccessToken).where(AccessToken.client_id == world["public"].id)
    ).scalar_one()
    assert row.token_hash == hashlib.sha256(body["access_token"].encode()).hexdigest()
    assert row.expires_at - row.created_at <= timedelta(minutes=15)
    issued = events_for(response, "auth.token_issued")
    assert len(issued) == 1
    assert issued[0].actor["id"] == world["worker"].id
    assert issued[0].detail["client_id"] == world["public"].id
    assert body["access_token"] not in str(issued[0].detail)


def test_the_staff_member_approves_once(client: Any, flow: Flow) -> None:
    flow.tokens()
    _, challenge = pkce()
    again = client.get("/oauth/authorize", query_string=flow.authorize_params(challenge))
    assert query_of(again)["code"]  # straight back, no page
    wider = client.get(
        "/oauth/authorize",
        query_string=flow.authorize_params(challenge, scope="passport.read passport.write"),
    )
    assert wider.status_code == 200  # more than approved: asked again


def test_deny_sends_access_denied(flow: Flow) -> None:
    _, challenge = pkce()
    answer = query_of(flow.authorize(challenge, decision="deny"))
    assert answer["error"] == "access_denied"
    assert "code" not in answer


def test_the_consent_form_needs_its_csrf_token(client: Any, flow: Flow) -> None:
    _, challenge = pkce()
    params = flow.authorize_params(challenge)
    response = client.post("/oauth/authorize", query_string=params, data={"decision": "allow"})
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_not_signed_in_or_not_staff(client: Any, world: dict[str, Any]) -> None:
    _, challenge = pkce()
    params = Flow(client, world["public"]).authorize_params(challenge)
    anonymous = client.get("/oauth/authorize", query_string=params)
    assert anonymous.status_code in (302, 401)
    assert "code=" not in anonymous.headers.get("Location", "")
    sign_in(client, world["person"])
    person = client.get("/oauth/authorize", query_string=params)
    assert person.status_code == 403


def test_wrong_verifier_is_refused(flow: Flow) -> None:
    _, challenge = pkce()
    other_verifier, _ = pkce()
    response = flow.exchange(flow.code(challenge), other_verifier)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"
    failed = events_for(response, "auth.token_failed")
    assert [e.reason for e in failed] == ["invalid_grant"]
    assert failed[0].detail["client_id"] == flow.app_client.id


def test_missing_verifier_is_refused(flow: Flow) -> None:
    _, challenge = pkce()
    response = flow.exchange(flow.code(challenge), "")
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_unregistered_redirect_uri_is_never_redirected_to(client: Any, flow: Flow) -> None:
    _, challenge = pkce()
    params = flow.authorize_params(challenge, redirect_uri="https://evil.example/cb")
    response = client.get("/oauth/authorize", query_string=params)
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_loopback_redirect_may_use_any_port(flow: Flow) -> None:
    verifier, challenge = pkce()
    code = flow.code(challenge, redirect_uri="http://127.0.0.1:51234/callback")
    response = flow.exchange(code, verifier, redirect_uri="http://127.0.0.1:51234/callback")
    assert response.status_code == 200


def test_wrong_redirect_uri_at_the_token_endpoint(flow: Flow) -> None:
    verifier, challenge = pkce()
    code = flow.code(challenge)
    response = flow.exchange(code, verifier, redirect_uri=OTHER_REDIRECT)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"


def test_reused_code_is_refused_and_revokes_what_it_gave(
    client: Any, flow: Flow, world: dict[str, Any]
) -> None:
    verifier, challenge = pkce()
    code = flow.code(challenge)
    first = flow.exchange(code, verifier)
    assert first.status_code == 200
    second = flow.exchange(code, verifier)
    assert second.status_code == 400
    assert second.json["error"] == "invalid_grant"
    assert [e.reason for e in events_for(second, "auth.token_revoked")] == ["code-reused"]
    gone = client.get(brief_path(world), headers=bearer(first.json["access_token"]))
    assert gone.status_code == 401
    assert flow.refresh(first.json["refresh_token"]).status_code == 400


def test_expired_code_is_refused(flow: Flow) -> None:
    from passport.identity.oauth_models import OAuthAuthorizationCode

    verifier, challenge = pkce()
    code = flow.code(challenge)
    row = db.session.execute(select(OAuthAuthorizationCode)).scalars().one()
    row.expires_at = db.utcnow() - timedelta(seconds=1)
    Factory().commit()
    response = flow.exchange(code, verifier)
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"


def test_refresh_rotates_and_reuse_revokes_the_family(
    client: Any, flow: Flow, world: dict[str, Any]
) -> None:
    first = flow.tokens()
    rotated = flow.refresh(first["refresh_token"])
    assert rotated.status_code == 200, rotated.json
    second = rotated.json
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["expires_in"] <= 15 * 60
    assert len(events_for(rotated, "auth.token_refreshed")) == 1
    assert client.get(brief_path(world), headers=bearer(second["access_token"])).status_code == 200

    reused = flow.refresh(first["refresh_token"])  # a thief replays the old one
    assert reused.status_code == 400
    assert reused.json["error"] == "invalid_grant"
    assert [e.reason for e in events_for(reused, "auth.token_revoked")] == ["refresh-token-reused"]
    # The whole family is gone: the new access token and the new refresh token too.
    assert client.get(brief_path(world), headers=bearer(second["access_token"])).status_code == 401
    assert flow.refresh(second["refresh_token"]).status_code == 400
    families = {
        r.revoked_at is not None for r in db.session.execute(select(OAuthRefreshToken)).scalars()
    }
    assert families == {True}


def test_revoked_access_token_is_refused(client: Any, flow: Flow, world: dict[str, Any]) -> None:
    tokens = flow.tokens()
    response = flow.revoke(tokens["access_token"], "access_token")
    assert response.status_code == 200
    assert len(events_for(response, "auth.token_revoked")) == 1
    refused = client.get(brief_path(world), headers=bearer(tokens["access_token"]))
    assert refused.status_code == 401
    assert refused.json["type"] == "/problems/unauthenticated"
    # The refresh token still works: only the access token was revoked.
    assert flow.refresh(tokens["refresh_token"]).status_code == 200


def test_revoking_the_refresh_token_revokes_the_family(
    client: Any, flow: Flow, world: dict[str, Any]
) -> None:
    tokens = flow.tokens()
    assert flow.revoke(tokens["refresh_token"]).status_code == 200
    assert client.get(brief_path(world), headers=bearer(tokens["access_token"])).status_code == 401
    assert flow.refresh(tokens["refresh_token"]).status_code == 400


def test_revoking_an_unknown_token_is_not_an_error(flow: Flow) -> None:
    assert flow.revoke("not-a-token").status_code == 200  # RFC 7009 §2.2


def test_expired_access_token_is_refused(client: Any, flow: Flow, world: dict[str, Any]) -> None:
    tokens = flow.tokens()
    row = db.session.execute(
        select(AccessToken).where(AccessToken.client_id == world["public"].id)
    ).scalar_one()
    row.expires_at = db.utcnow() - timedelta(seconds=1)
    Factory().commit()
    response = client.get(brief_path(world), headers=bearer(tokens["access_token"]))
    assert response.status_code == 401


def test_insufficient_scope(client: Any, flow: Flow, world: dict[str, Any]) -> None:
    tokens = flow.tokens(scope="passport.read")
    assert tokens["scope"] == "passport.read"
    person = world["person"]
    reading = client.get(brief_path(world), headers=bearer(tokens["access_token"]))
    assert reading.status_code == 200
    writing = client.post(
        f"/api/v1/people/{person.id}/emergency-access",
        json={"reason": "Not answering the door for three days"},
        headers=bearer(tokens["access_token"]),
    )
    assert writing.status_code == 403
    assert writing.json["type"] == "/problems/forbidden"
    assert 'error="insufficient_scope"' in writing.headers["WWW-Authenticate"]
    assert 'scope="consent.write"' in writing.headers["WWW-Authenticate"]
    # The same request with a first-party token (no client, no scope limit) is allowed.
    first_party = client.post(
        f"/api/v1/people/{person.id}/emergency-access",
        json={"reason": "Not answering the door for three days"},
        headers=bearer(Factory().token(world["worker"])),
    )
    assert first_party.status_code == 201


def test_scopes_are_limited_by_the_staff_members_roles(
    client: Any, make: Factory, world: dict[str, Any]
) -> None:
    sign_in(client, world["worker"])
    flow = Flow(client, world["public"])
    tokens = flow.tokens(scope="passport.read audit.read")
    assert tokens["scope"] == "passport.read"  # a caseworker cannot give audit.read
    dpo = make.staff("dpo", agency=world["agency"])
    sign_in(client, dpo)
    _, challenge = pkce()
    answer = query_of(client.get("/oauth/authorize", query_string=flow.authorize_params(challenge)))
    assert answer["error"] == "invalid_scope"  # nothing a DPO may give was asked for


def test_unknown_scope_is_refused(flow: Flow) -> None:
    _, challenge = pkce()
    answer = query_of(flow.authorize(challenge, scope="passport.read everything"))
    assert answer["error"] == "invalid_scope"


def test_plain_pkce_is_refused(flow: Flow) -> None:
    verifier = secrets.token_urlsafe(48)
    answer = query_of(flow.authorize(verifier, code_challenge_method="plain"))
    assert answer["error"] == "invalid_request"
    assert "code" not in answer


def test_pkce_is_required(client: Any, flow: Flow) -> None:
    params = flow.authorize_params("x")
    del params["code_challenge"], params["code_challenge_method"]
    answer = query_of(client.get("/oauth/authorize", query_string=params))
    assert answer["error"] == "invalid_request"


def test_implicit_grant_is_refused(client: Any, flow: Flow) -> None:
    _, challenge = pkce()
    params = flow.authorize_params(challenge, response_type="token")
    answer = query_of(client.get("/oauth/authorize", query_string=params))
    assert answer["error"] == "unsupported_response_type"
    assert "access_token" not in answer


def test_password_and_client_credentials_grants_are_refused(
    client: Any, world: dict[str, Any]
) -> None:
    for grant_type in ("password", "client_credentials"):
        response = client.post(
            "/oauth/token",
            data={
                "grant_type": grant_type,
                "username": "staff1",
                "password": "correct-horse-battery",
                "client_id": world["public"].id,
            },
        )
        assert response.status_code == 400
        assert response.json["error"] == "unsupported_grant_type"
        assert "access_token" not in response.json


def test_a_valid_token_gets_403_once_the_person_revokes(
    client: Any, flow: Flow, world: dict[str, Any]
) -> None:
    tokens = flow.tokens()
    assert client.get(brief_path(world), headers=bearer(tokens["access_token"])).status_code == 200
    person = world["person"]
    revoked = client.post(
        f"/api/v1/people/{person.id}/consents/{world['grant'].id}/revoke",
        json={},
        headers=bearer(Factory().token(person)),
    )
    assert revoked.status_code == 200
    refused = client.get(
        f"/api/v1/people/{person.id}/passport?purpose=direct_support",
        headers=bearer(tokens["access_token"]),
    )
    assert refused.status_code == 403
    assert refused.json["type"] == "/problems/consent-required"


def test_confidential_client_needs_its_secret(client: Any, world: dict[str, Any]) -> None:
    sign_in(client, world["worker"])
    good = Flow(client, world["confidential"], world["secret"])
    assert good.tokens()["access_token"]
    verifier, challenge = pkce()
    code = good.code(challenge)
    bad = Flow(client, world["confidential"], "not-the-secret")
    response = bad.exchange(code, verifier)
    assert response.status_code == 401
    assert response.json["error"] == "invalid_client"
    no_secret = Flow(client, world["confidential"])  # as if it were public
    assert no_secret.exchange(code, verifier).status_code in (400, 401)


def test_introspection(client: Any, world: dict[str, Any]) -> None:
    sign_in(client, world["worker"])
    owner = Flow(client, world["confidential"], world["secret"])
    tokens = owner.tokens()
    basic = base64.b64encode(f"{world['confidential'].id}:{world['secret']}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    active = client.post(
        "/oauth/introspect", data={"token": tokens["access_token"]}, headers=headers
    )
    assert active.status_code == 200
    assert active.json["active"] is True
    assert active.json["sub"] == world["worker"].id
    assert active.json["scope"] == "passport.read consent.write"
    assert active.json["client_id"] == world["confidential"].id
    assert active.json["exp"] - active.json["iat"] <= 15 * 60
    owner.revoke(tokens["access_token"])
    inactive = client.post(
        "/oauth/introspect", data={"token": tokens["access_token"]}, headers=headers
    )
    assert inactive.json == {"active": False}
    # Another client's token is not this client's business.
    other = Flow(client, world["public"]).tokens()
    theirs = client.post(
        "/oauth/introspect", data={"token": other["access_token"]}, headers=headers
    )
    assert theirs.json == {"active": False}
    # A public client cannot introspect at all.
    public = client.post(
        "/oauth/introspect", data={"token": other["access_token"], "client_id": world["public"].id}
    )
    assert public.status_code in (400, 401)
    assert public.json["error"] == "invalid_client"


def test_metadata(client: Any) -> None:
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    meta = response.json
    from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

    AuthorizationServerMetadata(meta).validate()
    assert meta["issuer"] == "http://localhost"
    assert meta["token_endpoint"] == "http://localhost/oauth/token"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert set(meta["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert "passport.read" in meta["scopes_supported"]


def test_metadata_names_the_configured_issuer_behind_a_proxy(ctx: Any) -> None:
    settings = ctx.config["PASSPORT_SETTINGS"]
    ctx.config["PASSPORT_SETTINGS"] = dataclasses.replace(
        settings, oauth_issuer="https://passport.example.org"
    )
    try:
        meta = ctx.test_client().get("/.well-known/oauth-authorization-server").json
    finally:
        ctx.config["PASSPORT_SETTINGS"] = settings
    assert meta["issuer"] == "https://passport.example.org"
    assert meta["token_endpoint"] == "https://passport.example.org/oauth/token"


def test_tokens_from_the_token_endpoint_are_not_usable_without_a_client(
    client: Any, world: dict[str, Any]
) -> None:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": "made-up", "code_verifier": "x" * 43},
    )
    assert response.status_code in (400, 401)
    assert response.json["error"] == "invalid_client"
    failed = events_for(response, "auth.token_failed")
    assert failed and failed[0].detail["client_id"] is None


def test_cli_registers_a_client(ctx: Any) -> None:
    runner = ctx.test_cli_runner()
    public = runner.invoke(args=["client", "add", "Mainstay", "--redirect-uri", REDIRECT])
    assert public.exit_code == 0, public.output
    client_id = re.search(r"client_id: (\S+)", public.output).group(1)  # type: ignore[union-attr]
    assert "client_secret" not in public.output
    confidential = runner.invoke(
        args=["client", "add", "Trust EPR", "--redirect-uri", OTHER_REDIRECT, "--confidential"]
    )
    assert confidential.exit_code == 0, confidential.output
    secret = re.search(r"client_secret: (\S+)", confidential.output).group(1)  # type: ignore[union-attr]
    rows = {c.id: c for c in db.session.execute(select(OAuthClient)).scalars()}
    assert rows[client_id].confidential is False and rows[client_id].secret_hash is None
    stored = next(c for c in rows.values() if c.name == "Trust EPR")
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(stored.__dict__)
    assert db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "admin.client_add")
    ).first()
    refused = runner.invoke(
        args=["client", "add", "Bad", "--redirect-uri", "http://agency.example/cb"]
    )
    assert refused.exit_code != 0
    assert "https" in refused.output


def test_the_example_client_makes_a_valid_s256_pair() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "pkce_client.py"
    spec = importlib.util.spec_from_file_location("pkce_client", path)
    assert spec and spec.loader
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    verifier, challenge = example.make_pkce()
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert challenge == expected.rstrip(b"=").decode()
    url = example.authorize_url(
        {"authorization_endpoint": "http://localhost/oauth/authorize"},
        "client-1",
        REDIRECT,
        "passport.read",
        "state-1",
        challenge,
    )
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == [challenge]
    assert query["response_type"] == ["code"]
