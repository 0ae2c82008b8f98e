"""If a request's transaction cannot commit, nothing it prepared is sent: the prepared
response is replaced by a 503 — problem+json for the API, a plain page for the pages."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from passport import db

from .factories import SAMPLE_CONTENT, Factory
from .web_helpers import sign_in


@pytest.fixture
def failing_commit(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The next commit fails (as a full disk or a lost connection would)."""
    real = db.session.commit
    state = {"armed": False}

    def commit() -> None:
        if state["armed"]:
            state["armed"] = False
            raise RuntimeError("disk full")
        real()

    monkeypatch.setattr(db.session, "commit", commit)
    return state


def test_api_read_whose_commit_fails_discloses_nothing(
    make: Factory, api_as: Any, failing_commit: Any
) -> None:
    person = make.person()
    make.entry(person, person, "medication", SAMPLE_CONTENT["medication"])
    client = api_as(person)
    failing_commit["armed"] = True
    response = client.get(f"/api/v1/people/{person.id}/passport")
    assert response.status_code == 503
    assert response.json["type"] == "/problems/audit-unavailable"
    assert "Methadone" not in response.get_data(as_text=True)
    # The next request works again.
    assert client.get(f"/api/v1/people/{person.id}/passport").status_code == 200


def test_page_whose_commit_fails_is_a_plain_503_page(
    client: FlaskClient, make: Factory, failing_commit: Any
) -> None:
    person = make.person()
    make.entry(person, person, "medication", SAMPLE_CONTENT["medication"])
    sign_in(client, person)
    failing_commit["armed"] = True
    response = client.get("/me")
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "Methadone" not in body
    assert "Nothing was shown or changed" in body
