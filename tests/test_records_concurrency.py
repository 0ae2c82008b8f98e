"""Two lead workers saved at the same moment: the second waits for the first, then is told
there is already a current lead worker (409) — both can never be current."""

from __future__ import annotations

import threading
from typing import Any

from passport import db
from passport.errors import Conflict
from passport.records.operations import add_entry
from passport.vocabulary import Section

from .conftest import Api
from .factories import Factory


def test_a_second_lead_worker_saved_concurrently_is_refused(fresh_app: Any) -> None:
    with fresh_app.app_context():
        person = Factory().person()
        token = Factory().token(person)
        db.session.remove()

    first_checked = threading.Event()
    let_first_commit = threading.Event()
    outcome: dict[str, Any] = {}

    def first() -> None:
        with fresh_app.app_context():
            add_entry(person, person.id, Section.WORKERS, {"name": "Amara", "is_lead": True})
            first_checked.set()
            let_first_commit.wait(30)  # hold the transaction open while the second one tries
            db.session.commit()
            db.session.remove()

    def second() -> None:
        first_checked.wait(30)
        with fresh_app.app_context():
            try:
                add_entry(person, person.id, Section.WORKERS, {"name": "Tom", "is_lead": True})
                db.session.commit()
                outcome["second"] = "saved"
            except Conflict:
                db.session.rollback()
                outcome["second"] = "conflict"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_checked.wait(30)
    # Without a lock the second writer would finish (and commit a second lead) in this time.
    threads[1].join(timeout=1.0)
    let_first_commit.set()
    for thread in threads:
        thread.join(timeout=30)

    assert outcome == {"second": "conflict"}
    with fresh_app.app_context():
        passport = Api(fresh_app.test_client(), token).get(f"/api/v1/people/{person.id}/passport")
        assert [w["content"]["name"] for w in passport.json["sections"]["workers"]] == ["Amara"]
