"""Set-up codes and usernames (API.md v1.1): registration without a password, getting back in,
and every refusal — through the API and the domain, on a real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from passport import audit, db
from passport.audit.models import AuditEvent
from passport.errors import Conflict
from passport.identity import setup_codes
from passport.identity.accounts import add_staff, authenticate
from passport.identity.actor import SYSTEM
from passport.identity.models import Person, SetupCode
from passport.web.auth import limiter

from .conftest import Api
from .factories import PASSWORD, Factory, events_for

NEW = "a-brand-new-passphrase"


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json
    return body


def events(action: str) -> list[AuditEvent]:
    audit.integrate_all()
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).scalars()
    )


def register(api: Api, username: str = "stuart") -> dict[str, Any]:
    response = api.post("/api/v1/people", json={"name": "Stuart Mills", "username": username})
    assert response.status_code == 201, response.json
    body: dict[str, Any] = response.json
    return body


def setup(client: Any, username: str, code: str, password: str = NEW) -> Any:
    return client.post(
        "/api/v1/account/setup",
        json={"username": username, "setup_code": code, "password": password},
    )


@pytest.fixture
def caseworker(make: Factory) -> Any:
    return make.staff("caseworker")


# -- registration ------------------------------------------------------------------------------


def test_a_password_on_post_people_is_refused(api_as: Any, caseworker: Any) -> None:
    response = api_as(caseworker).post(
        "/api/v1/people", json={"name": "Stuart", "username": "stuart", "password": "x" * 12}
    )
    body = problem(response, 422)
    assert "set-up code" in body["errors"]["password"][0]
    assert db.session.execute(select(Person).where(Person.username == "stuart")).first() is None


def test_a_worker_cannot_set_a_password_through_the_domain(make: Factory, caseworker: Any) -> None:
    from passport.errors import Invalid
    from passport.records.operations import register_person

    with pytest.raises(Invalid):
        register_person(caseworker, name="Stuart", username="stuart", password="x" * 12)


def test_registering_with_a_username_gives_a_single_use_code(
    api_as: Any, caseworker: Any, client: Any
) -> None:
    body = register(api_as(caseworker))
    code = body["setup_code"]
    assert len(setup_codes.normalise(code)) == 12
    assert set(setup_codes.normalise(code)) <= set(setup_codes.ALPHABET)
    row = db.session.execute(select(SetupCode)).scalar_one()
    assert row.code_hash == setup_codes.digest(code) and code not in row.code_hash
    assert row.expires_at - row.created_at == timedelta(days=7)
    # Typed in lower case with spaces instead of dashes, and a username in capitals.
    typed = code.lower().replace("-", " ")
    assert setup(client, " STUART ", typed).status_code == 200
    assert authenticate("stuart", NEW) is not None
    assert [e.outcome for e in events("auth.setup")] == ["allowed"]
    # Used once: never again.
    problem(setup(client, "stuart", code, "another-passphrase-1"), 400)
    assert authenticate("stuart", "another-passphrase-1") is None


def test_registering_without_a_username_gives_no_code(api_as: Any, caseworker: Any) -> None:
    response = api_as(caseworker).post("/api/v1/people", json={"name": "Dafydd"})
    assert response.status_code == 201
    assert "setup_code" not in response.json


def test_the_registering_caseworker_can_write_every_section(api_as: Any, caseworker: Any) -> None:
    body = register(api_as(caseworker))
    entry = api_as(caseworker).post(
        f"/api/v1/people/{body['id']}/sections/workers/entries",
        json={"content": {"name": "Amara", "is_lead": True, "staff_id": caseworker.id}},
    )
    assert entry.status_code == 201, entry.json


# -- wrong, used, expired, another's ----------------------------------------------------------


def test_wrong_used_expired_and_anothers_codes_get_one_answer(
    api_as: Any, caseworker: Any, client: Any
) -> None:
    limiter.reset()
    mine = register(api_as(caseworker), "stuart")["setup_code"]
    theirs = register(api_as(caseworker), "ciaran")["setup_code"]
    details = set()
    details.add(problem(setup(client, "stuart", "AAAA-AAAA-AAAA"), 400)["detail"])  # wrong
    details.add(problem(setup(client, "stuart", theirs), 400)["detail"])  # another's code
    details.add(problem(setup(client, "nobody-here", mine), 400)["detail"])  # no such user
    row = db.session.execute(
        select(SetupCode).where(SetupCode.code_hash == setup_codes.digest(mine))
    ).scalar_one()
    row.expires_at = db.utcnow() - timedelta(seconds=1)
    Factory().commit()
    details.add(problem(setup(client, "stuart", mine), 400)["detail"])  # expired
    assert len(details) == 1
    failed = events("auth.setup_failed")
    assert len(failed) == 4
    assert {e.reason for e in failed} == {"setup-code-invalid"}
    assert all(e.outcome == "denied" for e in failed)
    assert authenticate("stuart", NEW) is None
    limiter.reset()


def test_a_short_passphrase_is_a_validation_error_and_keeps_the_code(
    api_as: Any, caseworker: Any, client: Any
) -> None:
    code = register(api_as(caseworker))["setup_code"]
    body = problem(setup(client, "stuart", code, "short"), 422)
    assert "password" in body["errors"]
    assert setup(client, "stuart", code).status_code == 200


def test_unknown_fields_on_setup_are_refused(client: Any) -> None:
    response = client.post(
        "/api/v1/account/setup",
        json={"username": "a", "setup_code": "b", "password": "c" * 12, "extra": 1},
    )
    problem(response, 422)


def test_failed_setups_are_throttled_but_successes_do_not_count(
    api_as: Any, caseworker: Any, client: Any
) -> None:
    limiter.reset()
    code = register(api_as(caseworker))["setup_code"]
    statuses = [setup(client, "stuart", "WRNG-CODE-XXXX").status_code for _ in range(6)]
    assert statuses == [400] * 5 + [429]
    assert problem(setup(client, "Stuart", code), 429)["type"] == "/problems/rate-limited"
    limiter.reset()
    assert setup(client, "stuart", code).status_code == 200


# -- a new code: getting back in ---------------------------------------------------------------


def test_a_contributor_gives_a_new_code_and_the_old_passphrase_stops_at_once(
    make: Factory, api_as: Any, caseworker: Any, client: Any
) -> None:
    person = make.person(registered_by=caseworker)
    username = db.session.get(Person, person.id).username
    old_token = make.token(person)
    assert Api(client, old_token).get("/api/v1/me").status_code == 200
    earlier = make.token(caseworker)
    response = Api(client, earlier).post(f"/api/v1/people/{person.id}/setup-code")
    assert response.status_code == 201, response.json
    assert set(response.json) == {"setup_code", "expires_at"}
    assert authenticate(username, PASSWORD) is None  # the old passphrase stopped
    assert Api(client, old_token).get("/api/v1/me").status_code == 401  # and its tokens
    row = db.session.execute(
        select(SetupCode).where(
            SetupCode.code_hash == setup_codes.digest(response.json["setup_code"])
        )
    ).scalar_one()
    assert row.replaces_passphrase
    [issued] = events_for(response, "auth.setup_code_issued")
    assert issued.outcome == "allowed" and issued.person_id == person.id
    assert issued.basis["kind"] == "contributor"
    assert setup(client, username, response.json["setup_code"]).status_code == 200
    assert authenticate(username, NEW) is not None


def test_a_new_code_stops_earlier_unused_codes(api_as: Any, caseworker: Any, client: Any) -> None:
    body = register(api_as(caseworker))
    first = body["setup_code"]
    second = api_as(caseworker).post(f"/api/v1/people/{body['id']}/setup-code").json
    problem(setup(client, "stuart", first), 400)
    assert setup(client, "stuart", second["setup_code"]).status_code == 200


def test_the_lead_workers_own_account_may_give_a_code(
    make: Factory, caseworker: Any, client: Any
) -> None:
    from .factories import grant

    lead = make.staff("caseworker", name="Tom Reid")
    person = make.person(registered_by=caseworker)
    make.entry(
        caseworker, person, "workers", {"name": "Tom Reid", "is_lead": True, "staff_id": lead.id}
    )
    grant(person, "staff", lead.id, ["workers"])
    response = Api(client, make.token(lead)).post(f"/api/v1/people/{person.id}/setup-code")
    assert response.status_code == 201, response.json
    [issued] = events_for(response, "auth.setup_code_issued")
    assert issued.basis["kind"] == "role"
    assert issued.detail["as"] == "lead_worker"
    # Reading the workers entry went through the decision point, and is logged.
    [read] = events_for(response, "record.view")
    assert read.outcome == "allowed" and read.sections == ["workers"]


def test_a_lead_worker_entry_that_has_ended_gives_no_power(
    make: Factory, caseworker: Any, client: Any
) -> None:
    from .factories import grant

    lead = make.staff("caseworker")
    person = make.person(registered_by=caseworker)
    ended = (db.utcnow().date() - timedelta(days=1)).isoformat()
    make.entry(
        caseworker,
        person,
        "workers",
        {"name": "Tom", "is_lead": True, "staff_id": lead.id, "until": ended},
    )
    grant(person, "staff", lead.id, ["workers"])
    response = Api(client, make.token(lead)).post(f"/api/v1/people/{person.id}/setup-code")
    problem(response, 403)


@pytest.mark.parametrize("roles", [("caseworker",), ("dpo",), ("admin",), ("mdt_chair",)])
def test_anyone_else_is_refused_and_logged(
    make: Factory, caseworker: Any, client: Any, roles: tuple[str, ...]
) -> None:
    from .factories import grant

    person = make.person(registered_by=caseworker)
    other = make.staff(*roles)
    if "caseworker" in roles:  # a reader with a grant is still not a contributor
        grant(person, "staff", other.id, ["workers", "story"])
    response = Api(client, make.token(other)).post(f"/api/v1/people/{person.id}/setup-code")
    problem(response, 403)
    [refused] = events_for(response, "auth.setup_code_issued")
    assert refused.outcome == "denied" and refused.reason == "not-contributor"
    assert authenticate(db.session.get(Person, person.id).username, PASSWORD) is not None


def test_the_person_cannot_give_themself_a_code(make: Factory, client: Any) -> None:
    person = make.person()
    response = Api(client, make.token(person)).post(f"/api/v1/people/{person.id}/setup-code")
    problem(response, 403)


def test_a_removed_contributor_can_no_longer_give_a_code(
    make: Factory, caseworker: Any, client: Any
) -> None:
    from passport.records.operations import remove_contributor

    person = make.person(registered_by=caseworker)
    remove_contributor(person, person.id, caseworker.id)
    make.commit()
    response = Api(client, make.token(caseworker)).post(f"/api/v1/people/{person.id}/setup-code")
    problem(response, 403)


# -- usernames ---------------------------------------------------------------------------------


def test_usernames_are_stored_lower_case_and_differ_by_more_than_case(
    make: Factory, api_as: Any, caseworker: Any
) -> None:
    body = register(api_as(caseworker), " Jess ")
    assert db.session.get(Person, body["id"]).username == "jess"
    again = api_as(caseworker).post("/api/v1/people", json={"name": "J", "username": "JESS"})
    problem(again, 409)
    agency = make.agency()
    with pytest.raises(Conflict):
        add_staff(SYSTEM, username="Jess", password=PASSWORD, agency_id=agency.id, roles=["dpo"])
    staff = add_staff(
        SYSTEM, username=" Amara ", password=PASSWORD, agency_id=agency.id, roles=["caseworker"]
    )
    assert staff.username == "amara"
    assert authenticate("AMARA", PASSWORD) is not None


def test_cli_token_issue_finds_a_username_in_any_case(fresh_app: Any) -> None:
    from .test_cli import new_agency, run

    agency_id = new_agency(fresh_app, "housing")
    added = run(
        fresh_app,
        "staff",
        "add",
        "Priya",
        "--agency",
        agency_id,
        "--role",
        "caseworker",
        stdin=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    token = run(fresh_app, "token", "issue", "PRIYA")
    assert token.exit_code == 0, token.output
