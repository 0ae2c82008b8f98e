"""Nothing personal is cached anywhere, and browsers are told to keep to HTTPS in production."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from flask import Flask

from .web_helpers import sign_in


@pytest.fixture
def production_headers(ctx: Flask) -> Iterator[None]:
    """The header rules of a production deployment, on the test app (a production start
    itself needs a key store this test does not set up)."""
    settings = ctx.config["PASSPORT_SETTINGS"]
    ctx.config["PASSPORT_SETTINGS"] = dataclasses.replace(settings, environment="production")
    yield
    ctx.config["PASSPORT_SETTINGS"] = settings


def test_json_with_personal_data_is_not_stored(make, api_as):
    jess = make.person()
    response = api_as(jess).get(f"/api/v1/people/{jess.id}/passport")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_problem_responses_are_not_stored_either(make, api_as, client):
    jess = make.person()
    stranger = make.person("Someone Else", "Sam")
    refused = api_as(stranger).get(f"/api/v1/people/{jess.id}/passport")
    assert refused.status_code == 403
    assert refused.headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/me").headers["Cache-Control"] == "no-store"


def test_pages_and_downloads_are_not_stored(make, client):
    jess = make.person()
    sign_in(client, jess)
    for path in ("/me", "/me/download/passport.json"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path


def test_static_files_may_be_cached(client):
    with client.get("/web-static/passport.js") as response:
        assert response.status_code == 200
        assert response.headers.get("Cache-Control") != "no-store"


def test_no_hsts_outside_production(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_hsts_in_production(client, production_headers):
    for path in ("/login", "/api/v1/openapi.json", "/web-static/passport.js"):
        with client.get(path) as response:
            hsts = response.headers.get("Strict-Transport-Security")
        assert hsts == "max-age=31536000; includeSubDomains", path
