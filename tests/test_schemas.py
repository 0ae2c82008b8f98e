"""The published contract in schemas/: generated from the code, committed, and true.

If a test here fails after you changed a marshmallow schema or an endpoint, regenerate:
    passport schemas write
and commit the result with your change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from flask import Flask

from passport.api import contract
from passport.api.problems import PROBLEM_JSON

from .factories import SAMPLE_CONTENT, Factory, grant

SCHEMAS = contract.SCHEMAS_FOLDER


def committed(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((SCHEMAS / name).read_text("utf-8"))
    return result


def validator(name: str) -> Any:
    return jsonschema_rs.validator_for(committed(name))


def test_committed_schemas_match_the_code(app: Flask) -> None:
    stale = contract.stale_files(app)
    assert stale == [], (
        f"schemas/ is out of date ({', '.join(stale)}): run `passport schemas write`"
    )


def test_drift_is_detected(app: Flask, tmp_path: Path) -> None:
    """Control: a changed or missing file is reported."""
    contract.write(app, tmp_path)
    assert contract.stale_files(app, tmp_path) == []
    (tmp_path / "openapi.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "section-risk.schema.json").unlink()
    assert contract.stale_files(app, tmp_path) == ["openapi.json", "section-risk.schema.json"]


def test_the_served_document_is_the_committed_one(client: Any) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json == committed("openapi.json")


def test_the_cli_checks_and_writes(ctx: Flask, tmp_path: Path) -> None:
    runner = ctx.test_cli_runner()
    assert runner.invoke(args=["schemas", "write", "--check"]).exit_code == 0
    written = runner.invoke(args=["schemas", "write", "--folder", str(tmp_path)])
    assert written.exit_code == 0, written.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(contract.files(ctx))
    stale = runner.invoke(args=["schemas", "write", "--check", "--folder", str(tmp_path / "x")])
    assert stale.exit_code == 1


def test_every_endpoint_documents_its_problems() -> None:
    from passport.api.accounts import PUBLIC_PATHS

    document = committed("openapi.json")
    responses = document["components"]["responses"]
    for name in ("Problem", "Unauthenticated", "Forbidden", "NotFound", "Conflict"):
        assert list(responses[name]["content"]) == [PROBLEM_JSON], name
    assert list(responses["UNPROCESSABLE_ENTITY"]["content"]) == [PROBLEM_JSON]
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "delete", "patch"}
    ]
    assert len(operations) > 20
    for path, method, operation in operations:
        codes = operation["responses"]
        label = f"{method.upper()} {path}"
        assert codes["default"] == {"$ref": "#/components/responses/Problem"}, label
        if path in PUBLIC_PATHS:  # no token at all (set-up codes): none asked, no 401
            assert operation["security"] == [] and "401" not in codes, label
            continue
        assert codes["401"] == {"$ref": "#/components/responses/Unauthenticated"}, label
        assert operation["security"][0] == {"bearer": []}, label
        if not path.startswith("/api/v1/people") and path != "/api/v1/me":
            continue  # other blueprints list their own 403/404/409; `default` covers the rest
        assert "{person_id}" not in path or "404" in codes, label
        parameters = operation.get("parameters") or []
        if "requestBody" in operation or any(p["in"] != "header" for p in parameters):
            assert "422" in codes, label
        if any(p["in"] == "header" for p in parameters):  # If-Match: a bad one is a 400
            assert codes["400"] == {"$ref": "#/components/responses/MalformedRequest"}, label


def test_every_operation_names_its_oauth_scope() -> None:
    document = committed("openapi.json")
    flows = document["components"]["securitySchemes"]["oauth2"]["flows"]
    assert flows["authorizationCode"]["tokenUrl"] == "/oauth/token"
    scopes = set(flows["authorizationCode"]["scopes"])
    brief = document["paths"]["/api/v1/people/{person_id}/brief"]["get"]
    assert brief["security"] == [{"bearer": []}, {"oauth2": ["passport.read"]}]
    consent = document["paths"]["/api/v1/people/{person_id}/consents"]["post"]
    assert consent["security"][1] == {"oauth2": ["consent.write"]}
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("security"):
                assert set(operation["security"][1]["oauth2"]) <= scopes


@pytest.mark.parametrize("section", sorted(s.value for s in SAMPLE_CONTENT))
def test_section_schemas_accept_real_content_and_refuse_strays(section: str) -> None:
    check = validator(f"section-{section}.schema.json")
    content = next(c for s, c in SAMPLE_CONTENT.items() if s.value == section)
    assert check.is_valid(content)
    assert not check.is_valid({**content, "made_up_field": "x"})


def test_risk_schema_knows_the_rules() -> None:
    check = validator("section-risk.schema.json")
    assert check.is_valid({"flags": [{"kind": "overdose", "level": "high"}], "ndt": {"housing": 4}})
    assert not check.is_valid({"flags": [{"kind": "overdose", "level": "extreme"}]})
    assert not check.is_valid({"flags": [], "ndt": {"housing": 5}})
    assert not check.is_valid({"summary": "no flags"})


def test_consent_receipts_match_their_schema(make: Factory, api_as: Any) -> None:
    agency = make.agency()
    person = make.person()
    row = grant(person, "agency", agency.id, ["risk"], state="revoked")
    response = api_as(person).get(f"/api/v1/people/{person.id}/consents/{row.id}/receipt")
    assert response.status_code == 200, response.json
    check = validator("consent-receipt.schema.json")
    for receipt in (response.json["grant"], response.json["revocation"]):
        errors = [e.message for e in check.iter_errors(receipt)]
        assert errors == []
    assert response.json["revocation"]["event"] == "revocation"
    assert not check.is_valid({**response.json["grant"], "principal": {"name": "Jess"}})


def test_access_log_events_match_their_schema(make: Factory, api_as: Any) -> None:
    agency = make.agency()
    person = make.person()
    grant(person, "agency", agency.id, ["risk"])
    dpo = make.staff("dpo", agency=agency, scheme_wide=True)
    response = api_as(dpo).get("/api/v1/audit/export?limit=500")
    assert response.status_code == 200
    events = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert len(events) > 3
    check = validator("access-log-event.schema.json")
    for event in events:
        errors = [e.message for e in check.iter_errors(event)]
        assert errors == [], event["action"]
    broken = {**events[0], "entry_hash": "not-a-hash"}
    assert not check.is_valid(broken)
