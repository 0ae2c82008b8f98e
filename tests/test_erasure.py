"""Erasure is crypto-shredding: the person's keys are destroyed, their content can never be
opened again, and the access log stays whole and verifiable."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from passport import db
from passport.audit.verify import verify_database
from passport.crypto import KeyUnavailable, data_keys
from passport.records.models import Revision

from .conftest import Api
from .factories import SAMPLE_CONTENT, Factory, events_for


def test_erasing_a_person_shreds_their_content_and_keeps_the_log(fresh_app: Any) -> None:
    with fresh_app.app_context():
        make = Factory()
        person = make.person()
        for section, content in SAMPLE_CONTENT.items():
            make.entry(person, person, section, content)
        other = make.person(name="Ciaran Doyle", preferred_name="Ciaran")
        make.entry(other, other, "story", {"text": "still here"})
        token = make.token(person)
        client = Api(fresh_app.test_client(), token)
        assert client.get(f"/api/v1/people/{person.id}/passport").status_code == 200
        db.session.remove()

    runner = fresh_app.test_cli_runner()
    refused = runner.invoke(args=["person", "erase", person.id], input="n\n")
    assert refused.exit_code != 0  # asked, and the answer was no
    result = runner.invoke(args=["person", "erase", person.id, "--yes"])
    assert result.exit_code == 0, result.output
    assert "erased: 1 data key(s) destroyed" in result.output
    again = runner.invoke(args=["person", "erase", person.id, "--yes"])
    assert again.exit_code != 0 and "no passport" in again.output

    with fresh_app.app_context():
        data_keys.clear_cache()
        revisions = list(
            db.session.execute(select(Revision).where(Revision.person_id == person.id)).scalars()
        )
        assert revisions  # the rows stay (append-only) ...
        for revision in revisions:
            with pytest.raises(KeyUnavailable):  # ... but can never be opened
                data_keys.open_json(
                    person.id, "revisions", "content", revision.id, revision.content
                )
        # Nobody else is touched.
        client = Api(fresh_app.test_client(), make.token(other))
        assert client.get(f"/api/v1/people/{other.id}/passport").json["sections"]["story"][0][
            "content"
        ] == {"text": "still here"}
        # Their login and token are gone; their passport is gone.
        gone = Api(fresh_app.test_client(), token).get(f"/api/v1/people/{person.id}/passport")
        assert gone.status_code == 401
        stranger = Api(fresh_app.test_client(), make.token(make.staff("caseworker")))
        missing = stranger.get(f"/api/v1/people/{person.id}/passport?purpose=direct_support")
        assert missing.status_code == 404
        assert events_for(missing) == []  # nothing to decide about a passport that is gone
        # The log keeps the erasure and still verifies end to end.
        from passport.audit.models import AuditEvent

        erased = db.session.execute(
            select(AuditEvent).where(
                AuditEvent.action == "person.erase", AuditEvent.person_id == person.id
            )
        ).scalar_one()
        assert erased.detail == {"data_keys_destroyed": 1}
        result_ok = verify_database()
        assert result_ok.ok, result_ok.problem
