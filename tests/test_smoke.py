from __future__ import annotations

from passport.vocabulary import Section

from .factories import SAMPLE_CONTENT


def test_person_reads_own_passport_and_write_is_logged(make, api_as):
    person = make.person()
    for section, content in SAMPLE_CONTENT.items():
        make.entry(person, person, section, content)
    response = api_as(person).get(f"/api/v1/people/{person.id}/passport")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["withheld"] == []
    assert body["person"]["preferred_name"] == "Jess"
    assert body["sections"]["medication"][0]["content"]["name"] == "Methadone"
    assert set(body["sections"]) == {s.value for s in Section}


def test_stranger_is_refused_with_consent_required(make, api_as):
    person = make.person()
    stranger = make.staff("caseworker")
    response = api_as(stranger).get(f"/api/v1/people/{person.id}/passport?purpose=direct_support")
    assert response.status_code == 403
    assert response.json["type"] == "/problems/consent-required"
    assert response.headers["Content-Type"] == "application/problem+json"


def test_fresh_app_commits_for_real(fresh_app):
    from sqlalchemy import func, select

    from passport.audit.models import AuditEvent

    from .factories import Factory

    with fresh_app.app_context():
        person = Factory().person()
        db_count = db_session_count(select(func.count()).select_from(AuditEvent))
        assert db_count >= 1
    # A new connection sees the committed events.
    engine = fresh_app.extensions["passport_engine"]
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert count == db_count
    assert person.id


def db_session_count(query):
    from passport import db

    return db.session.execute(query).scalar_one()
