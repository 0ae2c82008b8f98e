"""Group commit (passport.group_commit, issue 13): on SQLite, reads of one process that finish
reading together share one write transaction, and each still answers only after the commit
that holds its own log events — or runs again if access changed, or shows nothing if the
commit failed.

The batches are made, not hoped for: the test holds the group's turn while views queue
behind it, then lets them go together.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from passport import db, snapshots
from passport.audit.verify import verify_database
from passport.consent.grants import revoke_grant
from passport.group_commit import Group, Outcome, Read
from passport.unit_of_work import _commit_reads

from .conftest import BACKEND
from .counting import Counter
from .factories import Factory, grant, logged_by

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's single write lock")


def _setup(app: Flask, people: int = 1) -> dict[str, Any]:
    with app.app_context():
        make = Factory()
        agency = make.agency("Riverside Housing First")
        worker = make.staff("caseworker", agency=agency)
        found: dict[str, Any] = {"people": [], "grants": [], "token": make.token(worker)}
        for _ in range(people):
            person = make.person()
            make.entry(person, person, "medication", {"name": "Methadone"})
            found["people"].append(person)
            found["grants"].append(grant(person, "agency", agency.id, ["medication"]).id)
        db.session.remove()
    return found


def _path(person: Any) -> str:
    return f"/api/v1/people/{person.id}/passport?purpose=direct_support"


def _group(app: Flask) -> Group:
    group = app.extensions["passport_read_commits"]
    assert isinstance(group, Group)
    return group


class _Views:
    """Views run in threads while the test holds the group's turn, then released at once."""

    def __init__(self, app: Flask, token: str) -> None:
        self.app = app
        self.token = token
        self.group = _group(app)
        self.threads: list[threading.Thread] = []
        self.responses: dict[str, Any] = {}

    def start(self, name: str, path: str) -> None:
        def run() -> None:
            response = self.app.test_client().get(
                path, headers={"Authorization": f"Bearer {self.token}"}
            )
            self.responses[name] = response

        waiting = len(self.group._waiting)
        thread = threading.Thread(target=run)
        thread.start()
        self.threads.append(thread)
        _until(lambda: len(self.group._waiting) > waiting)  # read, and waiting to commit

    def finish(self) -> None:
        for thread in self.threads:
            thread.join(timeout=60)
            assert not thread.is_alive()


def _until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_reads_waiting_together_commit_once_and_each_is_logged(fresh_app: Flask) -> None:
    found = _setup(fresh_app, people=3)
    views = _Views(fresh_app, found["token"])
    engine = fresh_app.extensions["passport_engine"]
    counter = Counter()
    counter.attach(engine)
    try:
        with views.group._leading:  # an earlier batch is committing
            for number, person in enumerate(found["people"]):
                views.start(str(number), _path(person))
            assert counter.commits == 0  # nobody answered: all three wait for a commit
            assert not views.responses
        views.finish()
    finally:
        counter.detach(engine)
    assert counter.commits == 1
    for number, person in enumerate(found["people"]):
        response = views.responses[str(number)]
        assert response.status_code == 200, response.json
        assert response.json["person"]["id"] == person.id
        assert "medication" in response.json["sections"]
        assert ("record.view", "allowed") in logged_by(fresh_app, response.headers["X-Request-Id"])
    with fresh_app.app_context():
        assert verify_database().ok
        db.session.remove()


def test_a_read_whose_access_changed_runs_again_while_the_others_commit(
    fresh_app: Flask,
) -> None:
    """One batch: the first read decided before the person revoked, the second after. The
    first is not trusted: it runs again holding the lock and is refused, and only that
    refusal is logged. The second commits with the batch."""
    found = _setup(fresh_app, people=2)
    [first, second] = found["people"]
    views = _Views(fresh_app, found["token"])
    with views.group._leading:
        views.start("before", _path(first))
        with fresh_app.app_context():
            revoke_grant(first, first.id, found["grants"][0], None)
            db.session.commit()
            db.session.remove()
        views.start("after", _path(second))
    views.finish()
    before, after = views.responses["before"], views.responses["after"]
    assert before.status_code == 403, before.json
    assert before.json["type"] == "/problems/consent-required"
    logged = logged_by(fresh_app, before.headers["X-Request-Id"])
    assert logged and all(e == ("record.view", "denied") for e in logged)
    assert after.status_code == 200, after.json
    assert ("record.view", "allowed") in logged_by(fresh_app, after.headers["X-Request-Id"])


def test_when_the_batch_cannot_write_the_log_no_read_is_shown(fresh_app: Flask) -> None:
    found = _setup(fresh_app, people=2)
    views = _Views(fresh_app, found["token"])
    with fresh_app.app_context():
        before = db.session.execute(text("SELECT count(*) FROM audit_events")).scalar()
        db.session.remove()
    with views.group._leading:
        for number, person in enumerate(found["people"]):
            views.start(str(number), _path(person))
        with fresh_app.extensions["passport_engine"].begin() as conn:
            for table in ("audit_pending", "audit_events"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER {table}_offline BEFORE INSERT ON {table} "
                        "BEGIN SELECT RAISE(ABORT, 'the log volume is offline'); END"
                    )
                )
    views.finish()
    for response in views.responses.values():
        assert response.status_code == 503
        assert response.json["type"] == "/problems/audit-unavailable"
        assert "Methadone" not in response.get_data(as_text=True)
    with fresh_app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM audit_events")).scalar() == before
        db.session.remove()


def test_a_batch_that_raises_fails_every_read_in_it() -> None:
    group = Group()

    def broken(reads: list[Read]) -> None:
        reads[0].outcome = Outcome.MOVED  # decided before it raised: kept
        raise RuntimeError("a bug")

    outcomes: list[Outcome] = []
    with group._leading:
        waiting = threading.Thread(target=lambda: outcomes.append(group.commit(1, [], broken)))
        waiting.start()
        _until(lambda: len(group._waiting) == 1)
        later = threading.Thread(target=lambda: outcomes.append(group.commit(1, [], broken)))
        later.start()
        _until(lambda: len(group._waiting) == 2)
    waiting.join(timeout=10)
    later.join(timeout=10)
    assert sorted(o.value for o in outcomes) == ["failed", "moved"]


def test_a_leader_takes_only_what_waits_and_the_next_one_the_rest() -> None:
    group = Group()
    batches: list[int] = []

    def record(reads: list[Read]) -> None:
        batches.append(len(reads))
        for read in reads:
            read.outcome = Outcome.COMMITTED

    assert group.commit(1, [], record) is Outcome.COMMITTED  # alone: a batch of one
    with group._leading:
        threads = [threading.Thread(target=lambda: group.commit(1, [], record)) for _ in range(4)]
        for number, thread in enumerate(threads, 1):
            thread.start()
            _until(lambda number=number: len(group._waiting) == number)  # type: ignore[misc]
    for thread in threads:
        thread.join(timeout=10)
    assert batches == [1, 4]
    assert group._waiting == []


def test_a_held_write_that_moves_the_epoch_sends_the_batch_back(fresh_app: Flask) -> None:
    """Reads hold only log events and messages, which move no epoch. Were a held write to
    touch a tracked table, no read in the batch could be trusted: none is committed, and
    each runs again."""
    with fresh_app.app_context():
        seen = snapshots.epoch()
        db.session.rollback()

        def tracked_write() -> None:
            db.session.execute(
                text(
                    "INSERT INTO agencies (id, name, kind, created_at) VALUES "
                    "('a0000000-0000-4000-8000-000000000000', 'Northgate', 'probation', "
                    "CURRENT_TIMESTAMP)"
                )
            )

        reads = [Read(seen, [tracked_write]), Read(seen, [])]
        _commit_reads(reads)
        assert [read.outcome for read in reads] == [Outcome.MOVED, Outcome.MOVED]
        agencies = db.session.execute(text("SELECT count(*) FROM agencies")).scalar()
        assert agencies == 0 and snapshots.epoch() == seen
        db.session.remove()
