"""Bearer tokens (passport.identity.bearer): every API request reads its token with its
account in one statement and acts as that account — or not at all when the token is unknown,
expired or revoked, or its account is disabled or erased, whatever path the account took
there (the rules in depth: disabling and erasing also revoke or delete the tokens)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import update

from passport import db
from passport.identity.accounts import hash_token
from passport.identity.models import AccessToken, Person, Staff

from .conftest import Api
from .factories import Factory, representative


def _me(ctx: Flask, token: str) -> tuple[int, dict[str, object]]:
    response = Api(ctx.test_client(), token).get("/api/v1/me")
    return response.status_code, response.json


def test_each_kind_of_account_is_itself(ctx: Flask, make: Factory) -> None:
    agency = make.agency("Riverside Housing First")
    worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
    person = make.person()
    rep, _ = representative(person, name="Ann Hartley")
    for actor, kind in ((worker, "staff"), (person, "person"), (rep, "representative")):
        status, me = _me(ctx, make.token(actor))
        assert status == 200, me
        assert (me["id"], me["kind"]) == (actor.id, kind)
    _, staff_me = _me(ctx, make.token(worker))
    assert staff_me["roles"] == ["caseworker"]
    assert staff_me["agency_id"] == agency.id


def test_no_actor_for_a_disabled_staff_account_or_an_erased_person(
    ctx: Flask, make: Factory
) -> None:
    worker = make.staff("caseworker")
    person = make.person()
    worker_token, person_token = make.token(worker), make.token(person)
    assert _me(ctx, worker_token)[0] == 200 and _me(ctx, person_token)[0] == 200
    # Only the account changes here: the tokens themselves stay unrevoked.
    now = db.utcnow()
    db.session.execute(update(Staff).where(Staff.id == worker.id).values(disabled_at=now))
    db.session.execute(update(Person).where(Person.id == person.id).values(erased_at=now))
    db.session.flush()
    for token in (worker_token, person_token):
        status, problem = _me(ctx, token)
        assert status == 401
        assert problem["detail"] == "the account for this token no longer exists"


def test_unknown_expired_and_revoked_tokens_are_refused(ctx: Flask, make: Factory) -> None:
    worker = make.staff("caseworker")
    expired, revoked = make.token(worker), make.token(worker)
    db.session.execute(
        update(AccessToken)
        .where(AccessToken.token_hash == hash_token(expired))
        .values(expires_at=db.utcnow() - timedelta(seconds=1))
    )
    db.session.execute(
        update(AccessToken)
        .where(AccessToken.token_hash == hash_token(revoked))
        .values(revoked_at=db.utcnow())
    )
    db.session.flush()
    for token in ("not-a-token", expired, revoked):
        status, problem = _me(ctx, token)
        assert status == 401, token
        assert problem["detail"] == "the access token is not valid, has expired or was revoked"
