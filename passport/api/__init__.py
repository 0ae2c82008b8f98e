"""The HTTP JSON API (flask-smorest): thin handlers over the domain modules."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from .auth import ScopePlugin
from .body_guard import refuse_unsafe_json
from .problems import ProblemApi

api = ProblemApi(spec_kwargs={"extra_plugins": [ScopePlugin()]})


def init_app(app: Flask) -> None:
    from . import (
        accounts,
        audit,
        consents,
        mdt,
        notifications,
        oauth,
        people,
        representatives,
        rights,
        schemas,
    )

    app.config.update(
        API_TITLE="Passport",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": "A person-owned information-sharing passport. Every read is "
                "decided against the person's consent and written to a tamper-evident log.",
            },
            "components": {"securitySchemes": security_schemes()},
            "security": [{"bearer": []}],
        },
    )
    api.init_app(app)
    app.before_request(_guard_api_bodies)
    schemas.register_documents(api.spec)
    api.register_blueprint(people.blp)
    api.register_blueprint(accounts.blp)
    api.register_blueprint(audit.blp)
    api.register_blueprint(consents.blp)
    api.register_blueprint(mdt.blp)
    api.register_blueprint(notifications.blp)
    api.register_blueprint(rights.blp)
    api.register_blueprint(representatives.blp)
    oauth.init_app(app)


def _guard_api_bodies() -> None:
    if request.path.startswith("/api/"):
        refuse_unsafe_json()


def security_schemes() -> dict[str, Any]:
    from ..identity.oauth import SCOPE_DESCRIPTIONS

    return {
        "bearer": {"type": "http", "scheme": "bearer"},
        "oauth2": {
            "type": "oauth2",
            "description": "Agency applications: authorization code with PKCE (S256), for a "
            "signed-in staff member; metadata at /.well-known/oauth-authorization-server.",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/oauth/authorize",
                    "tokenUrl": "/oauth/token",
                    "refreshUrl": "/oauth/token",
                    "scopes": {s.value: d for s, d in SCOPE_DESCRIPTIONS.items()},
                }
            },
        },
    }
