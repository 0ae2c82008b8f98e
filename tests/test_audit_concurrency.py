"""Concurrent writers through the real request path never fork the chain: seq stays gapless
and the log verifies. Runs on both backends (SQLite serialises writers with BEGIN IMMEDIATE;
PostgreSQL runs them truly in parallel, sequenced by the single integrator)."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from passport import audit, db
from passport.audit import verify
from passport.audit.background import background
from passport.audit.models import AuditEvent, AuditPending

from .conftest import Api
from .factories import SAMPLE_CONTENT, Factory

WRITERS = 16
READS_EACH = 8


@pytest.mark.parametrize("integrator", ["inline", "background"])
def test_sixteen_concurrent_writers_keep_one_gapless_chain(fresh_app, integrator):
    settings = fresh_app.config["PASSPORT_SETTINGS"]
    fresh_app.config["PASSPORT_SETTINGS"] = dataclasses.replace(
        settings, audit_integrator=integrator
    )
    with fresh_app.app_context():
        factory = Factory()
        person = factory.person()
        for section, content in SAMPLE_CONTENT.items():
            factory.entry(person, person, section, content)
        stranger = factory.staff("caseworker")
        tokens = [factory.token(person if n % 2 else stranger) for n in range(WRITERS)]
        before = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    db.session.remove()

    start = threading.Barrier(WRITERS)
    statuses: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def writer(token: str) -> None:
        try:
            api = Api(fresh_app.test_client(), token)
            start.wait()
            for _ in range(READS_EACH):
                response = api.get(f"/api/v1/people/{person.id}/passport?purpose=direct_support")
                with lock:
                    statuses.append(response.status_code)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    # The person reads their own record; the stranger without consent is refused. Both logged.
    assert sorted(set(statuses)) == [200, 403]
    assert len(statuses) == WRITERS * READS_EACH

    with fresh_app.app_context():
        if integrator == "background":
            _wait_until_chained()
            background.stop()
        audit.integrate_all()
        assert db.session.execute(select(func.count()).select_from(AuditPending)).scalar_one() == 0
        total, top = db.session.execute(
            select(func.count(), func.max(AuditEvent.seq)).select_from(AuditEvent)
        ).one()
        assert total == top  # gapless
        assert total - before == WRITERS * READS_EACH
        views = db.session.execute(
            select(AuditEvent.outcome, func.count())
            .where(AuditEvent.action == "record.view", AuditEvent.seq > before)
            .group_by(AuditEvent.outcome)
        ).all()
        assert dict(views) == {"allowed": 64, "denied": 64}
        result = verify.verify_database()
        assert result.ok, result.problem
        assert result.checked == total


def _wait_until_chained(timeout: float = 60.0) -> None:
    """The background thread chains on its own: wait for the queue to empty."""
    deadline = time.monotonic() + timeout
    while db.session.execute(select(func.count()).select_from(AuditPending)).scalar_one():
        db.session.commit()
        assert time.monotonic() < deadline, "the background integrator did not drain the queue"
        time.sleep(0.05)
    db.session.commit()


def test_integrate_all_returns_when_nothing_is_pending(fresh_app: Any):
    with fresh_app.app_context():
        Factory().person()
        assert audit.integrate_all() == 0
        assert db.session.execute(select(func.count()).select_from(AuditPending)).scalar_one() == 0
