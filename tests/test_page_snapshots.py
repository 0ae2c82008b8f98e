"""The staff pages that only read (caseload, brief, the MDT summary) read from a SQLite
snapshot as the API does (passport.snapshots): the signed-in user is loaded inside the
snapshot, the log events are written in a short transaction afterwards, and a page whose
access changed while it read is read again — user included — holding the lock."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from passport import db
from passport.audit.models import AuditEvent
from passport.consent.grants import revoke_grant

from .conftest import BACKEND
from .factories import Factory, grant
from .web_helpers import sign_in

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's single write lock")


@pytest.fixture
def signed_in(fresh_app: Flask) -> dict[str, Any]:
    with fresh_app.app_context():
        make = Factory()
        agency = make.agency("Riverside Housing First")
        person = make.person(preferred_name="Jess")
        make.entry(person, person, "medication", {"name": "Methadone", "dose": "60 mg"})
        worker = make.staff("caseworker", agency=agency)
        made = grant(person, "agency", agency.id, ["medication"])
        client = fresh_app.test_client()
        sign_in(client, worker)
        db.session.remove()
    return {"client": client, "person": person, "grant_id": made.id, "worker": worker}


def _actions(app: Flask, actor_id: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.outcome)
            .where(AuditEvent.actor_id == actor_id, AuditEvent.action.like("record.%"))
            .order_by(AuditEvent.seq)
        ).all()
        db.session.remove()
    return [(action, outcome) for action, outcome in rows]


@pytest.mark.parametrize("page", ["brief", "caseload"])
def test_a_page_reads_in_a_snapshot_user_and_all(
    fresh_app: Flask, signed_in: dict[str, Any], statements: list[str], page: str
) -> None:
    person = signed_in["person"]
    path = f"/people/{person.id}/brief" if page == "brief" else "/caseload"
    statements.clear()
    response = signed_in["client"].get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "Jess" in html
    if page == "brief":
        assert "Methadone" in html
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins == ["BEGIN", "BEGIN IMMEDIATE"], begins
    reading = statements[: statements.index("BEGIN IMMEDIATE")]
    # The signed-in account is read inside the snapshot, and nothing is written there.
    assert any("FROM staff" in s for s in reading)
    assert all(s.startswith(("BEGIN", "SELECT")) for s in reading)
    assert any(s.startswith("INSERT INTO audit_events") for s in statements)


def test_a_revocation_while_the_brief_reads_is_honoured(
    fresh_app: Flask, signed_in: dict[str, Any], statements: list[str]
) -> None:
    person = signed_in["person"]
    engine = fresh_app.extensions["passport_engine"]
    revoked: list[bool] = []

    def revoke() -> None:
        with fresh_app.app_context():
            revoke_grant(person, person.id, signed_in["grant_id"], None)
            db.session.commit()
            db.session.remove()
        revoked.append(True)

    def revoke_while_reading(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM revisions" in statement and not revoked:
            other = threading.Thread(target=revoke)
            other.start()
            other.join(timeout=30)
            assert revoked, "the revocation waited for the reading page"

    statements.clear()
    event.listen(engine, "before_cursor_execute", revoke_while_reading)
    try:
        response = signed_in["client"].get(f"/people/{person.id}/brief")
    finally:
        event.remove(engine, "before_cursor_execute", revoke_while_reading)
    seen = list(statements)
    html = response.get_data(as_text=True)
    assert revoked
    assert response.status_code == 403, html
    assert "Methadone" not in html
    # Only the second pass, holding the lock from its first statement, was logged.
    logged = _actions(fresh_app, signed_in["worker"].id)
    assert logged and all(e == ("record.brief", "denied") for e in logged)
    assert seen.count("BEGIN") == 1
    # The user was loaded again in the second pass (the last transaction begun).
    last = len(seen) - 1 - seen[::-1].index("BEGIN IMMEDIATE")
    assert any("FROM staff" in s for s in seen[last:])
