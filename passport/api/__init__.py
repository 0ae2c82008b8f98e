"""The HTTP JSON API (flask-smorest): thin handlers over the domain modules."""

from __future__ import annotations

from flask import Flask

from .problems import ProblemApi

api = ProblemApi()


def init_app(app: Flask) -> None:
    from . import consents, mdt, people

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
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    api.init_app(app)
    api.register_blueprint(people.blp)
    api.register_blueprint(consents.blp)
    api.register_blueprint(mdt.blp)
