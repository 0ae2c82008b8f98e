"""Reads from a SQLite snapshot (passport.snapshots, issue 13): a view reads without the
write lock, then writes its log events in a short transaction of its own — only if nothing
that can decide access changed meanwhile; otherwise it runs again holding the lock.

Each test has a database of its own where commits are real. The race is made, not waited
for: a statement listener revokes the grant from another thread while the view is reading.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, inspect, select, text

from passport import db, snapshots
from passport.audit.models import AuditPending
from passport.consent.grants import revoke_grant

from .conftest import BACKEND
from .factories import Factory, grant, logged_by

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's single write lock")

OPERATIONS = ("insert", "update", "delete")


def _setup(app: Flask) -> dict[str, Any]:
    with app.app_context():
        make = Factory()
        agency = make.agency("Riverside Housing First")
        person = make.person()
        make.entry(person, person, "medication", {"name": "Methadone"})
        worker = make.staff("caseworker", agency=agency)
        made = grant(person, "agency", agency.id, ["medication"])
        token = make.token(worker)
        found = {"person": person, "grant_id": made.id, "token": token}
        db.session.remove()
    found["path"] = f"/api/v1/people/{found['person'].id}/passport?purpose=direct_support"
    return found


def test_every_table_but_the_logs_moves_the_access_epoch(fresh_app: Flask) -> None:
    with fresh_app.app_context():
        bind = db.session.get_bind()
        tables = set(inspect(bind).get_table_names())
        triggers = set(
            db.session.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars()
        )
        db.session.remove()
    # Every table the models declare exists here, the untracked ones among them.
    assert set(db.Base.metadata.tables) <= tables
    assert snapshots.UNTRACKED - {"alembic_version"} <= tables
    for table in tables - snapshots.UNTRACKED:
        for operation in OPERATIONS:
            assert f"access_epoch_{table}_{operation}" in triggers, (table, operation)
    for table in snapshots.UNTRACKED:
        assert not any(f"access_epoch_{table}_{op}" in triggers for op in OPERATIONS), table


def test_the_migration_leaves_untracked_what_the_code_does() -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent.parent / "migrations" / "versions" / "20261202_access_epoch.py"
    spec = importlib.util.spec_from_file_location("access_epoch_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.UNTRACKED == snapshots.UNTRACKED


def test_a_change_to_a_tracked_table_moves_the_epoch(fresh_app: Flask) -> None:
    with fresh_app.app_context():
        before = snapshots.epoch()
        db.session.commit()
        Factory().agency("Northgate Probation", "probation")
        db.session.commit()
        after = snapshots.epoch()
        # The log is untracked: a log event alone leaves the epoch where it was.
        db.session.execute(
            text("INSERT INTO audit_pending (body, created_at) VALUES ('{}', CURRENT_TIMESTAMP)")
        )
        db.session.commit()
        unchanged = snapshots.epoch()
        db.session.execute(text("DELETE FROM audit_pending"))
        db.session.commit()
        db.session.remove()
    assert after > before
    assert unchanged == after


def test_a_view_reads_without_the_write_lock_then_writes_briefly(
    fresh_app: Flask, statements: list[str]
) -> None:
    found = _setup(fresh_app)
    statements.clear()
    response = fresh_app.test_client().get(
        found["path"], headers={"Authorization": f"Bearer {found['token']}"}
    )
    assert response.status_code == 200 and "medication" in response.json["sections"]
    read_begins = [i for i, s in enumerate(statements) if s == "BEGIN"]
    write_begins = [i for i, s in enumerate(statements) if s == "BEGIN IMMEDIATE"]
    assert len(read_begins) == 1 and len(write_begins) == 1
    reading = statements[read_begins[0] : write_begins[0]]
    writing = statements[write_begins[0] :]
    # Everything is read in the snapshot, the access epoch first; nothing is written there.
    assert reading[1].startswith("SELECT n FROM access_epoch")
    assert all(s.startswith(("BEGIN", "SELECT")) for s in reading)
    assert any("FROM revisions" in s for s in reading)
    # The write: the epoch again, then the log event straight into the chain, never queued.
    assert writing[1].startswith("SELECT n FROM access_epoch")
    assert any(s.startswith("INSERT INTO audit_events") for s in writing)
    assert not any("INSERT INTO audit_pending" in s for s in statements)
    assert not any("FROM revisions" in s for s in writing)
    assert logged_by(fresh_app, response.headers["X-Request-Id"]) == [
        ("record.view", "allowed"),
        ("record.view", "denied"),
    ]


def test_a_revocation_while_a_view_reads_is_honoured(
    fresh_app: Flask, statements: list[str]
) -> None:
    """The person revokes after the view decided and read, before its log event is written:
    nothing read under the revoked grant is shown; the view decides again, holding the lock,
    and is refused."""
    found = _setup(fresh_app)
    statements.clear()
    engine = fresh_app.extensions["passport_engine"]
    revoked: list[bool] = []

    def revoke() -> None:
        with fresh_app.app_context():
            revoke_grant(found["person"], found["person"].id, found["grant_id"], None)
            db.session.commit()
            db.session.remove()
        revoked.append(True)

    def revoke_while_reading(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM revisions" in statement and not revoked:
            # Another request, in another thread: it gets the write lock at once, since the
            # view's snapshot holds none.
            other = threading.Thread(target=revoke)
            other.start()
            other.join(timeout=30)
            assert revoked, "the revocation waited for the reading view"

    event.listen(engine, "before_cursor_execute", revoke_while_reading)
    try:
        response = fresh_app.test_client().get(
            found["path"], headers={"Authorization": f"Bearer {found['token']}"}
        )
    finally:
        event.remove(engine, "before_cursor_execute", revoke_while_reading)
    assert revoked
    assert response.status_code == 403, response.json
    assert response.json["type"] == "/problems/consent-required"
    # Only the second, locked pass was logged: every section refused (medication because
    # its grant is revoked, the rest for want of one), nothing allowed.
    logged = logged_by(fresh_app, response.headers["X-Request-Id"])
    assert logged and all(e == ("record.view", "denied") for e in logged)
    # One read from a snapshot; the second pass held the lock from its first statement.
    assert statements.count("BEGIN") == 1


def test_a_refusal_from_a_snapshot_is_logged(fresh_app: Flask) -> None:
    found = _setup(fresh_app)
    with fresh_app.app_context():
        make = Factory()
        stranger = make.staff(
            "caseworker", agency=make.agency("Eastside Recovery", "mental_health")
        )
        token = make.token(stranger)
        db.session.remove()
    response = fresh_app.test_client().get(
        found["path"], headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert logged_by(fresh_app, response.headers["X-Request-Id"]) == [("record.view", "denied")]
    with fresh_app.app_context():
        queued = db.session.execute(select(func.count()).select_from(AuditPending)).scalar()
        db.session.remove()
    assert queued == 0


def test_a_write_inside_a_snapshot_is_refused(fresh_app: Flask) -> None:
    with fresh_app.app_context():
        with db.holding_writes() as held, pytest.raises(db.WriteInSnapshot):
            db.session.execute(text("SELECT 1"))
            db.session.execute(text("DELETE FROM audit_pending"))
        assert held == []
        db.session.rollback()
        db.session.remove()


def test_writes_asked_for_in_a_snapshot_wait_for_its_end(fresh_app: Flask) -> None:
    done: list[str] = []
    with fresh_app.app_context():
        with db.holding_writes() as held:
            db.write_soon(lambda: done.append("written"))
            assert done == []
        assert len(held) == 1
        db.write_soon(lambda: done.append("now"))  # outside a snapshot: at once
        db.session.remove()
    assert done == ["now"]
