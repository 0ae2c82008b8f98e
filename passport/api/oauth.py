"""OAuth 2.0 over HTTP: the authorization endpoint and its consent page, the token,
revocation (RFC 7009) and introspection (RFC 7662) endpoints, and the server metadata
(RFC 8414). The rules live in passport.identity.oauth; these views only speak HTTP.

The token, revocation and introspection endpoints take form posts from applications (no
cookies), so they are exempt from CSRF; the consent form is not.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InsecureTransportError, InvalidScopeError
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.routing import BuildError

from .. import audit
from ..identity import oauth
from ..identity.actor import SYSTEM, Actor
from ..vocabulary import Action, Outcome, Scope
from ..web.session_auth import csrf, login_manager
from .problems import problem

bp = Blueprint("oauth", __name__, template_folder="templates")

KNOWN_GRANT_TYPES = {"authorization_code", "refresh_token"}


def init_app(app: Flask) -> None:
    app.extensions["passport_oauth"] = oauth.build_server(app)
    for view in (token, revoke, introspect):
        csrf.exempt(view)
    app.register_blueprint(bp)


def _server() -> AuthorizationServer:
    server: AuthorizationServer = current_app.extensions["passport_oauth"]
    return server


@bp.before_request
def _fresh_request_state() -> None:
    # Tests reuse one app context across requests (see passport.web); forget the previous
    # request's signed-in user and CSRF token, as a new app context would.
    g.pop("_login_user", None)
    g.pop("csrf_token", None)


@bp.errorhandler(InsecureTransportError)
def _insecure(_error: InsecureTransportError) -> Response:
    return problem(400, "OAuth needs https (or http on a loopback address)")


@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    """RFC 8414 server metadata."""
    configured = current_app.config["PASSPORT_SETTINGS"].oauth_issuer
    issuer = configured or request.url_root.rstrip("/")
    return jsonify(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth/authorize",
            "token_endpoint": f"{issuer}/oauth/token",
            "revocation_endpoint": f"{issuer}/oauth/revoke",
            "introspection_endpoint": f"{issuer}/oauth/introspect",
            "scopes_supported": [s.value for s in Scope],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": sorted(KNOWN_GRANT_TYPES),
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": oauth.CLIENT_AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": oauth.CLIENT_AUTH_METHODS,
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "service_documentation": f"{issuer}/api/v1/openapi.json",
        }
    )


def _page(title: str, status: int = 200, **context: Any) -> Response:
    body = render_template("oauth/authorize.html", title=title, **context)
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"  # no clickjacking of the Allow button
    return response


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize() -> ResponseReturnValue:
    """Ask the signed-in staff member to approve the application (once), then send the
    browser back to it with a one-time code."""
    if not current_user.is_authenticated:
        try:
            return redirect(url_for(str(login_manager.login_view), next=request.full_path))
        except BuildError:
            return _page("Sign in first", 401, error="Sign in to Passport, then try again.")
    actor: Actor = current_user.actor
    if not actor.is_staff:
        return _page(
            "Not for this account",
            403,
            error="Agency applications act for staff. Sign in with a staff account.",
        )

    server = _server()
    try:
        grant = server.get_consent_grant(end_user=actor)
    except OAuth2Error as error:
        if error.redirect_uri:
            return server.handle_error_response(None, error)  # type: ignore[no-any-return]
        # Unknown application or redirect address: never redirect (RFC 6749 §4.1.2.1).
        return _page("This sign-in link is not valid", 400, error=error.get_error_description())

    client = grant.client
    granted = oauth.narrow(grant.request.scope, actor)
    if not granted:
        refusal = InvalidScopeError(
            "None of the requested scopes is allowed for this account.",
            redirect_uri=grant.redirect_uri,
            state=grant.request.payload.state,
        )
        return server.handle_error_response(None, refusal)  # type: ignore[no-any-return]

    approve = request.method == "POST" and request.form.get("decision") == "allow"
    if request.method == "GET" and not oauth.is_approved(actor, client, granted):
        asked = set(grant.request.scope.split())
        return _page(
            f"Allow {client.name} to use Passport?",
            client_name=client.name,
            staff_name=actor.name,
            allowed=[oauth.SCOPE_DESCRIPTIONS[Scope(s)] for s in granted.split()],
            not_allowed=[
                oauth.SCOPE_DESCRIPTIONS[s]
                for s in Scope
                if s.value in asked and s.value not in granted.split()
            ],
        )
    if approve:
        oauth.approve(actor, client, granted)
    grant_user = actor if approve or request.method == "GET" else None
    return server.create_authorization_response(grant=grant, grant_user=grant_user)  # type: ignore[no-any-return]


@bp.post("/oauth/token")
def token() -> Response:
    response: Response = _server().create_token_response()
    if response.status_code != 200:
        _log_failure(response, request.form.get("grant_type"))
    return response


@bp.post("/oauth/revoke")
def revoke() -> Response:
    response: Response = _server().create_endpoint_response("revocation")
    if response.status_code != 200:
        _log_failure(response, "revocation")
    return response


@bp.post("/oauth/introspect")
def introspect() -> Response:
    response: Response = _server().create_endpoint_response("introspection")
    if response.status_code != 200:
        _log_failure(response, "introspection")
    return response


def _log_failure(response: Response, grant_type: str | None) -> None:
    """A refused token request, in the access log: identifiers and the OAuth error code only
    (an unregistered client id or an unknown grant type is not echoed: it could be anything)."""
    body = response.get_json(silent=True) or {}
    error = str(body.get("error", "invalid_request"))[:40]
    basic_id, _ = extract_basic_authorization(request.headers)
    client = oauth.query_client(request.form.get("client_id") or basic_id)
    known = {"revocation", "introspection", *KNOWN_GRANT_TYPES}
    audit.record(
        actor=SYSTEM.as_event(),
        action=Action.AUTH_TOKEN_FAILED,
        outcome=Outcome.DENIED,
        reason=error,
        detail={
            "client_id": client.id if client else None,
            "endpoint": grant_type if grant_type in known else "other",
        },
    )
