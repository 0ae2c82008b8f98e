"""Fuzzing the API against its own contract (schemathesis, in-process over WSGI).

For every operation in the served OpenAPI document, schemathesis generates requests (valid
ones, and some that break the schema on purpose) and sends them with a bearer token for one
of the six kinds of caller. Path ids are sometimes swapped for real ones, so the allowed paths
are reached as well as the 403s and 404s. Every response must:
- not be a server error (no 5xx), and
- match the documented schema: status code, content type and body.

Bounded: a fixed number of examples per operation and a wall-clock budget for the whole run
(well under three minutes on two cores, on SQLite or PostgreSQL).
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from passport import db
from passport.consent.emergency import open_emergency
from passport.identity.accounts import hash_token
from passport.identity.actor import SYSTEM
from passport.identity.models import AccessToken
from passport.identity.oauth import register_client

from .factories import SAMPLE_CONTENT, Factory, forum, forum_member, grant, representative

# Six kinds of caller, plus a caseworker's agency application (OAuth, passport.read only).
ROLES = (
    "person",
    "caseworker",
    "contributor",
    "mdt_chair",
    "dpo",
    "admin",
    "agency_app",
    "representative",
)
POSITIVE_EXAMPLES = 25
NEGATIVE_EXAMPLES = 8
BUDGET_SECONDS = 120.0
REAL_ID_MOSTLY = st.sampled_from([True, True, True, False])
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def seeded(make: Factory) -> dict[str, Any]:
    """One of every kind of caller around one person with a full passport."""
    agency = make.agency("Riverside Housing", "housing")
    contributor = make.staff("caseworker", agency=agency)
    person = make.person(registered_by=contributor)
    entries = [make.entry(person, person, s, c) for s, c in SAMPLE_CONTENT.items()]
    grants = [
        grant(person, "agency", agency.id, ["risk", "medication", "workers"]),
        grant(person, "agency", agency.id, ["story"], purpose="referral"),
    ]
    callers = {
        "person": person,
        "caseworker": make.staff("caseworker", agency=agency),
        "contributor": contributor,
        "mdt_chair": make.staff("mdt_chair", agency=agency),
        "dpo": make.staff("dpo", agency=agency, scheme_wide=True),
        "admin": make.staff("admin", agency=agency),
    }
    mdt = forum(agencies=[agency])
    forum_member(mdt, callers["mdt_chair"], role="chair")
    access = open_emergency(callers["caseworker"], person.id, "Not seen for three days", 4)
    make.commit()
    callers["representative"], helping = representative(person, access="help")
    _, legal = representative(person, recorded_by=contributor, legal_basis="lpa")
    tokens = {role: make.token(actor) for role, actor in callers.items()}
    tokens["agency_app"] = _oauth_token(callers["caseworker"], "passport.read")
    return {
        "tokens": tokens,
        "ids": {
            "person_id": [person.id],
            "grant_id": [g.id for g in grants],
            "entry_id": [e.id for e in entries],
            "staff_id": [contributor.id, callers["caseworker"].id],
            "section": [s.value for s in SAMPLE_CONTENT],
            "forum_id": [mdt.id],
            "access_id": [access.id],
            "representation_id": [helping.id, legal.id],
        },
    }


def _oauth_token(actor: Any, scope: str) -> str:
    """An access token as the OAuth server stores one (the flow itself: test_oauth.py)."""
    app_client, _ = register_client(SYSTEM, "Mainstay", ["https://mainstay.example/cb"], False)
    token = secrets.token_urlsafe(32)
    db.session.add(
        AccessToken(
            token_hash=hash_token(token),
            account_kind="staff",
            account_id=actor.id,
            scope=scope,
            expires_at=db.utcnow() + timedelta(minutes=15),
            client_id=app_client.id,
            family_id=db.new_id(),
        )
    )
    Factory().commit()
    return token


def test_fuzz_every_endpoint(ctx: Flask, seeded: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", ctx)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    tokens, ids = seeded["tokens"], seeded["ids"]
    started = time.monotonic()
    calls: dict[str, int] = {}

    def exercise(operation: Any, mode: schemathesis.GenerationMode, examples: int) -> None:
        @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        @settings(
            max_examples=examples,
            deadline=timedelta(seconds=5),
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any, data: Any) -> None:
            role = data.draw(st.sampled_from(ROLES), label="role")
            for name in list(case.path_parameters or {}):
                if name in ids and data.draw(REAL_ID_MOSTLY, label=f"real {name}"):
                    case.path_parameters[name] = data.draw(st.sampled_from(ids[name]))
            # Checked after every draw: a case that stops drawing early when the budget runs
            # out would make hypothesis see a flaky strategy.
            if time.monotonic() - started > BUDGET_SECONDS:
                return
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            response = case.call(headers=headers)
            calls[operation.label] = calls.get(operation.label, 0) + 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        run()

    for operation in operations:
        exercise(operation, schemathesis.GenerationMode.POSITIVE, POSITIVE_EXAMPLES)
        exercise(operation, schemathesis.GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES)

    elapsed = time.monotonic() - started
    assert elapsed < BUDGET_SECONDS + 30, f"the fuzz run took {elapsed:.0f}s"
    missed = [op.label for op in operations if not calls.get(op.label)]
    assert missed == [], f"never called (budget too small?): {missed}"


def test_the_checks_would_see_a_failure(ctx: Flask, seeded: dict[str, Any]) -> None:
    """Control: a body that breaks the documented schema, and a 500, are both failures."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", ctx)
    operation = schema["/api/v1/me"]["GET"]
    case = operation.Case()
    headers = {"Authorization": f"Bearer {seeded['tokens']['caseworker']}"}
    response = ctx.test_client().get("/api/v1/me", headers=headers)
    case.validate_response(response, checks=CHECKS, headers=headers)  # the real one passes
    response.set_data(json.dumps({**response.json, "password": "x"}))
    with pytest.raises(FailureGroup):
        case.validate_response(response, checks=CHECKS, headers=headers)
    response.status_code = 500
    with pytest.raises(FailureGroup):
        case.validate_response(response, checks=[not_a_server_error], headers=headers)
