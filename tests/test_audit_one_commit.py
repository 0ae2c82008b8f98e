"""A read makes one durable commit that holds its log event (issue 13).

On SQLite with the inline integrator the request's own transaction — which holds the
database's only write lock — chains the queued events just before it commits, so the response
goes out after one commit with the event already chained. If chaining fails, the event is
still committed (queued), the read is still served, and later chaining picks it up. On
PostgreSQL chaining stays after the commit, where one batch serves many requests.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text

from passport import audit, db
from passport.audit.models import AuditEvent, AuditPending

from .conftest import BACKEND
from .counting import Counter
from .factories import Factory, grant


def _setup(app: Any) -> tuple[str, str]:
    with app.app_context():
        make = Factory()
        agency = make.agency("Riverside Mental Health", "mental_health")
        person = make.person()
        make.entry(person, person, "medication", {"name": "Methadone"})
        worker = make.staff("caseworker", agency=agency)
        grant(person, "agency", agency.id, ["medication"])
        token = make.token(worker)
        db.session.remove()
    return token, f"/api/v1/people/{person.id}/passport?purpose=direct_support"


def _counts(app: Any, request_id: str) -> tuple[int, int]:
    with app.app_context():
        chained = db.session.execute(
            select(func.count()).where(AuditEvent.request_id == request_id)
        ).scalar_one()
        pending = db.session.execute(select(func.count()).select_from(AuditPending)).scalar_one()
        db.session.remove()
    return int(chained), int(pending)


def test_a_read_commits_once_with_its_event_chained(fresh_app: Any) -> None:
    token, path = _setup(fresh_app)
    engine = fresh_app.extensions["passport_engine"]
    counter = Counter()
    counter.attach(engine)
    try:
        response = fresh_app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
    finally:
        counter.detach(engine)
    assert response.status_code == 200
    # Its two events (medication allowed, the other sections refused), none left queued.
    assert _counts(fresh_app, response.headers["X-Request-Id"]) == (2, 0)
    if BACKEND == "sqlite":
        # The one durable commit, after the read from a snapshot (whose end writes nothing).
        assert (counter.commits, counter.read_commits) == (1, 1)
    else:
        # The request's, then the integrator's after it (its COPY goes around SQLAlchemy's
        # events, so its commits are not told apart here).
        assert counter.commits + counter.read_commits == 4


def test_a_read_is_served_and_its_event_kept_when_chaining_fails(fresh_app: Any) -> None:
    token, path = _setup(fresh_app)
    with fresh_app.app_context():
        # A queued body with no actor stops the integrator at it (a real failure, no mock).
        db.session.execute(
            text("INSERT INTO audit_pending (body, created_at) VALUES ('{}', CURRENT_TIMESTAMP)")
        )
        db.session.commit()
        db.session.remove()
    response = fresh_app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and "medication" in response.json["sections"]
    chained, pending = _counts(fresh_app, response.headers["X-Request-Id"])
    assert chained == 0 and pending == 3  # the broken row and this read's two events, kept
    with fresh_app.app_context():
        db.session.execute(text("DELETE FROM audit_pending WHERE CAST(body AS TEXT) = '{}'"))
        db.session.commit()
        audit.integrate_all()
        db.session.remove()
    assert _counts(fresh_app, response.headers["X-Request-Id"]) == (2, 0)
