"""Revocation races readers: no read that starts after the revocation commits is allowed.

Runs against a fresh database with real commits and real threads (each thread its own
session and connection). Meaningful on PostgreSQL, where readers truly run in parallel; on
SQLite the same property holds with writers serialised.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from passport import db
from passport.consent.grants import revoke_grant

from .factories import Factory, grant

READERS = 8
READS_BEFORE_REVOKE = 1.0  # seconds of reading before the person revokes
READS_AFTER_REVOKE = 1.5


def test_no_read_after_revocation_commits_is_allowed(fresh_app: Any) -> None:
    with fresh_app.app_context():
        make = Factory()
        agency = make.agency("Riverside Mental Health", "mental_health")
        person = make.person()
        make.entry(person, person, "medication", {"name": "Methadone"})
        worker = make.staff("caseworker", agency=agency)
        token = make.token(worker)
        made = grant(person, "agency", agency.id, ["medication"])
        db.session.remove()

    results: list[tuple[float, float, int, bool]] = []
    lock = threading.Lock()
    stop = threading.Event()
    path = f"/api/v1/people/{person.id}/passport?purpose=direct_support"

    def reader() -> None:
        client = fresh_app.test_client()
        while not stop.is_set():
            started = time.monotonic()
            response = client.get(path, headers={"Authorization": f"Bearer {token}"})
            finished = time.monotonic()
            disclosed = response.status_code == 200 and "medication" in response.json["sections"]
            with lock:
                results.append((started, finished, response.status_code, disclosed))

    threads = [threading.Thread(target=reader) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    time.sleep(READS_BEFORE_REVOKE)
    with fresh_app.app_context():
        revoke_grant(person, person.id, made.id, None)
        db.session.commit()
        revoked_at = time.monotonic()
        db.session.remove()
    time.sleep(READS_AFTER_REVOKE)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    before = [r for r in results if r[1] < revoked_at]
    after = [r for r in results if r[0] > revoked_at]
    assert before and after, "the race needs reads on both sides of the revocation"
    assert any(r[3] for r in before), "reads before the revocation should have been allowed"
    leaked = [r for r in after if r[3]]
    assert leaked == [], f"{len(leaked)} reads started after the revocation and still disclosed"
    assert all(r[2] == 403 for r in after)
