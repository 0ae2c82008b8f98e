"""The single integrator: how events are queued, batched, checkpointed, and who integrates."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785
from sqlalchemy import Text, cast, create_engine, func, select, text

from passport import activate, audit, db
from passport.audit import verify
from passport.audit.background import LEADER_LOCK, BackgroundIntegrator
from passport.audit.integrator import integrate_once
from passport.audit.models import AuditCheckpoint, AuditEvent, AuditPending
from passport.identity.actor import SYSTEM
from passport.vocabulary import Action, Outcome

from .conftest import BACKEND


def record_view(**extra: Any) -> None:
    audit.record(
        actor=SYSTEM.as_event(),
        action=Action.RECORD_VIEW,
        outcome=Outcome.ALLOWED,
        person_id=str(uuid.uuid4()),
        sections=["risk", "medication"],
        purpose="direct_support",
        basis={"kind": "grant", "id": str(uuid.uuid4())},
        detail={"entries": 2},
        **extra,
    )


def checkpointed_seqs() -> list[int]:
    return list(
        db.session.execute(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)).scalars()
    )


def test_an_event_is_queued_as_its_canonical_body(ctx):
    record_view()
    queued = db.session.execute(
        select(cast(AuditPending.body, Text)).order_by(AuditPending.id.desc()).limit(1)
    ).scalar_one()
    body = json.loads(queued)
    assert "seq" not in body and "entry_hash" not in body
    assert queued.encode() == rfc8785.dumps(body)
    created_at = db.session.execute(
        select(AuditPending.created_at).order_by(AuditPending.id.desc()).limit(1)
    ).scalar_one()
    assert created_at is not None  # stamped by the database


def test_a_large_batch_is_checkpointed_every_hundred_events_not_only_at_its_end(ctx):
    before = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    signed_before = checkpointed_seqs()
    for _ in range(250):
        record_view()
    db.session.flush()
    assert integrate_once() == 250
    new = [seq for seq in checkpointed_seqs() if seq > before]
    last_signed = max(signed_before, default=0)
    # Every hundredth event past the previous checkpoint is signed, whatever the batch size.
    assert new[:2] == [last_signed + 100, last_signed + 200]
    gaps = [b - a for a, b in zip([last_signed, *new], new, strict=False)]
    assert max(gaps) <= 100
    assert before + 250 - new[-1] < 100  # the unsigned tail stays within the rule
    events = dict(
        db.session.execute(
            select(AuditEvent.seq, AuditEvent.entry_hash).where(AuditEvent.seq.in_(new))
        ).all()
    )
    signed = dict(
        db.session.execute(
            select(AuditCheckpoint.seq, AuditCheckpoint.entry_hash).where(
                AuditCheckpoint.seq.in_(new)
            )
        ).all()
    )
    assert signed == events


def test_the_first_batch_of_a_new_log_is_signed_at_its_head_too(fresh_app):
    with fresh_app.app_context():
        for _ in range(150):
            record_view()
        db.session.commit()
        audit.integrate_all()
        assert checkpointed_seqs() == [100, 150]
        result = verify.verify_database()
        assert result.ok, result.problem
        assert result.checkpoints == 2


def test_the_integrator_chains_exactly_the_rows_it_read(fresh_app):
    """Queued ids are not chained in id order of commit: the integrator deletes the ids it
    chained, never a range, so an event committed late with a lower id is not lost."""
    with fresh_app.app_context():
        for _ in range(3):
            record_view()
        db.session.commit()
        assert integrate_once(batch_size=2) == 2
        db.session.commit()
        assert db.session.execute(select(func.count()).select_from(AuditPending)).scalar_one() == 1
        assert integrate_once() == 1
        db.session.commit()
        assert db.session.execute(select(func.count()).select_from(AuditPending)).scalar_one() == 0
        total, top = db.session.execute(select(func.count(), func.max(AuditEvent.seq))).one()
        assert total == top == 3


def _until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _pending() -> int:
    count = db.session.execute(select(func.count()).select_from(AuditPending)).scalar_one()
    db.session.commit()
    return int(count)


@pytest.mark.skipif(BACKEND != "postgresql", reason="leadership is a PostgreSQL advisory lock")
def test_one_background_integrator_leads_the_deployment_and_a_standby_takes_over(fresh_app):
    first, second = BackgroundIntegrator(), BackgroundIntegrator()
    with fresh_app.app_context():
        try:
            first.nudge()
            _until(lambda: first.leading)
            second.nudge()
            time.sleep(0.3)
            assert not second.leading  # one integrator per deployment, not one per process

            for _ in range(5):
                record_view()
            db.session.commit()
            _until(lambda: _pending() == 0)  # the leader polls: nobody nudged it

            first.stop()  # the leader's process goes; its lock goes with its connection
            assert not first.leading
            _until(lambda: second.leading)
            for _ in range(5):
                record_view()
            db.session.commit()
            _until(lambda: _pending() == 0)
            # Exactly one session of this database holds the leadership lock.
            holders = db.session.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                    "AND d.datname = current_database() "
                    "AND ((l.classid::bigint << 32) | l.objid::bigint) = :key"
                ),
                {"key": LEADER_LOCK},
            ).scalar_one()
            assert holders == 1
            db.session.commit()
        finally:
            first.stop()
            second.stop()
        result = verify.verify_database()
        assert result.ok, result.problem
        assert result.checked == 10


@pytest.mark.skipif(BACKEND != "postgresql", reason="leadership is a PostgreSQL advisory lock")
def test_a_standby_that_cannot_reach_the_database_keeps_standing_by(app):
    unreachable = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:5432/passport_no_such_database"
    )
    integrator = BackgroundIntegrator()
    db.session.remove()
    db.bind(unreachable)
    try:
        assert integrator._lead() is False  # logged and retried later, never raised
        assert not integrator.leading
    finally:
        db.session.remove()
        unreachable.dispose()
        activate(app)
