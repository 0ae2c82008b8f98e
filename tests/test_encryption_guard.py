"""The guard: record content is sealed field by field, so a marker written through every section
reaches no stored byte (database file, WAL, dump), no log line and no error body. Also: a
ciphertext moved to another place fails to open; key rotation keeps everything readable; the
blind index finds people without storing their names."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import stat
import subprocess
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from passport import db
from passport.crypto import SealError, data_keys
from passport.crypto.blind_index import normalise_name
from passport.crypto.models import DataKey
from passport.identity.models import Person
from passport.records.models import Revision

from .conftest import BACKEND, Api
from .factories import Factory

PROBLEM = "application/problem+json"


def contents_with(marker: str) -> dict[str, dict[str, Any]]:
    """Valid content for every section except the profile, the marker in every free-text field."""
    return {
        "story": {"text": f"story {marker}", "title": f"title {marker}"},
        "risk": {
            "summary": f"summary {marker}",
            "flags": [{"kind": "other", "level": "high", "detail": f"detail {marker}"}],
            "ndt": {"housing": 3},
        },
        "medication": {
            "name": f"med {marker}",
            "dose": marker,
            "frequency": marker,
            "route": marker,
            "prescriber": marker,
            "reason": marker,
            "notes": marker,
        },
        "workers": {
            "name": f"worker {marker}",
            "organisation": marker,
            "role": marker,
            "phone": marker,
            "email": f"{marker}@example.org",
            "is_lead": True,
        },
        "preferences": {
            "contact": [{"method": "text", "detail": marker, "best_times": marker}],
            "appointment_times": marker,
            "triggers": marker,
            "what_helps": marker,
            "what_has_not_helped": marker,
            "communication_needs": marker,
            "interpreter": marker,
            "goals": marker,
        },
    }


def assert_clean_problem(response: Any, status: int, marker: str) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    assert response.headers["Content-Type"] == PROBLEM
    assert marker not in body, f"the marker leaked into a {status} body: {body}"
    assert "Traceback" not in body


def provoke_errors(api: Api, stranger: Api, person_id: str, marker: str) -> int:
    """Requests that fail, each carrying the marker somewhere; none may echo it back."""
    base = f"/api/v1/people/{person_id}/sections"
    cases: list[tuple[Any, int]] = [
        # 422: the marker as an unknown field name, in the body and in content.
        (api.post(f"{base}/story/entries", json={"content": {"text": "x"}, marker: 1}), 422),
        (api.post(f"{base}/story/entries", json={"content": {"text": "x", marker: "y"}}), 422),
        (
            api.post(f"{base}/risk/entries", json={"content": {"flags": [], "ndt": {marker: 1}}}),
            422,
        ),
        # 422: the marker as a value that fails validation.
        (api.post(f"{base}/story/entries", json={"content": {"text": marker * 700}}), 422),
        (
            api.post(
                f"{base}/story/entries", json={"content": {"text": "x", "occurred_on": marker}}
            ),
            422,
        ),
        (
            api.post(
                f"{base}/risk/entries",
                json={"content": {"flags": [{"kind": marker, "level": marker}]}},
            ),
            422,
        ),
        (
            api.post(f"{base}/workers/entries", json={"content": {"name": "a", "email": marker}}),
            422,
        ),
        (api.post("/api/v1/people", json={"name": marker, "date_of_birth": marker}), 422),
        (api.get(f"/api/v1/people/{person_id}/passport?purpose={marker}"), 422),
        (
            api.post(
                f"/api/v1/people/{person_id}/contributors",
                json={"staff_id": str(uuid.uuid4()), "sections": [marker]},
            ),
            422,
        ),
        # 400: malformed JSON around the marker.
        (
            api.client.post(
                f"{base}/story/entries",
                data=f'{{"content": {{"text": "{marker}'.encode(),
                headers={**api._headers(), "Content-Type": "application/json"},
            ),
            400,
        ),
        # 403: a writer who is not a contributor.
        (stranger.post(f"{base}/story/entries", json={"content": {"text": marker}}), 403),
        # 404: unknown section (the marker is its name), unknown person, unknown route.
        (api.post(f"{base}/{marker}/entries", json={"content": {"text": marker}}), 404),
        (
            api.post(
                f"/api/v1/people/{uuid.uuid4()}/sections/story/entries",
                json={"content": {"text": marker}},
            ),
            404,
        ),
        (api.get(f"/api/v1/{marker}"), 404),
        # 409: a second lead worker whose name is the marker.
        (
            api.post(
                f"{base}/workers/entries", json={"content": {"name": marker, "is_lead": True}}
            ),
            409,
        ),
        # 401: the marker as the token.
        (Api(api.client, marker).get("/api/v1/me"), 401),
    ]
    for response, status in cases:
        assert_clean_problem(response, status, marker)
    return len(cases)


def stored_files(home: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(home.iterdir()) if path.is_file()}


def pg_dump(app: Flask) -> str:
    url = app.extensions["passport_engine"].url
    result = subprocess.run(
        [
            "pg_dump",
            "--no-owner",
            "--host",
            url.host or "127.0.0.1",
            "--port",
            str(url.port or 5432),
            "--username",
            url.username or "postgres",
            "--dbname",
            url.database,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout


def test_marker_reaches_no_stored_byte_no_log_and_no_error_body(
    fresh_app: Flask, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    marker = uuid.uuid4().hex
    with fresh_app.app_context():
        make = Factory()
        worker = make.staff("caseworker")
        outsider = make.staff("caseworker")
        worker_token, outsider_token = make.token(worker), make.token(outsider)
    client = fresh_app.test_client()
    api = Api(client, worker_token)

    registered = api.post(
        "/api/v1/people",
        json={
            "name": f"Name {marker}",
            "preferred_name": f"Pref {marker}",
            "date_of_birth": "1990-01-01",
        },
    )
    assert registered.status_code == 201, registered.json
    person_id = registered.json["id"]
    base = f"/api/v1/people/{person_id}/sections"

    written = {}
    for section, content in contents_with(marker).items():
        response = api.post(f"{base}/{section}/entries", json={"content": content})
        assert response.status_code == 201, (section, response.json)
        written[section] = response.json["id"]
    # A revision, a retirement and a revised profile carry the marker too.
    revised = api.put(
        f"{base}/story/entries/{written['story']}", json={"content": {"text": f"again {marker}"}}
    )
    assert revised.status_code == 200, revised.json
    assert api.post(f"{base}/medication/entries/{written['medication']}/retire").status_code == 200
    view = api.get(f"/api/v1/people/{person_id}/passport?purpose=direct_support")
    [profile] = view.json["sections"]["profile"]
    changed = api.put(
        f"{base}/profile/entries/{profile['id']}",
        json={
            "content": {
                **profile["content"],
                "pronouns": marker[:50],
                "language": f"lang {marker}",
            }
        },
    )
    assert changed.status_code == 200, changed.json

    # Positive control: the marker really went in, and really comes back to an allowed reader.
    view = api.get(f"/api/v1/people/{person_id}/passport?purpose=direct_support")
    assert view.status_code == 200
    shown = view.get_data(as_text=True)
    for section in ("profile", "story", "risk", "workers", "preferences"):
        assert marker in str(view.json["sections"][section]), section
    assert marker in shown
    history = api.get(f"/api/v1/people/{person_id}/history?purpose=direct_support")
    assert marker in str([i for i in history.json["items"] if i["section"] == "medication"])

    checked = provoke_errors(api, Api(client, outsider_token), person_id, marker)
    assert checked >= 15

    settings = fresh_app.config["PASSPORT_SETTINGS"]
    needle = marker.encode()
    if BACKEND == "sqlite":
        before = stored_files(settings.home)
        assert "passport.db" in before
        assert before.get("passport.db-wal"), "expected recent writes still in the WAL"
        everything = b"".join(before.values())
        # Control: identifiers are stored plainly, so the search can find what is there.
        assert person_id.encode() in everything
        assert [name for name, data in before.items() if needle in data] == []
        # And again once the write-ahead log has been folded into the main file.
        fresh_app.extensions["passport_engine"].dispose()
        checkpointer = sqlite3.connect(settings.home / "passport.db")
        try:
            busy, _, _ = checkpointer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            checkpointer.close()
        assert busy == 0
        after = stored_files(settings.home)
        assert not after.get("passport.db-wal")  # truncated: all of it is in the main file now
        assert person_id.encode() in after["passport.db"]
        assert [name for name, data in after.items() if needle in data] == []
    else:
        dump = pg_dump(fresh_app)
        assert person_id in dump
        assert "COPY public.revisions" in dump
        assert marker not in dump
        assert needle.hex() not in dump  # bytea is dumped as hex
        home = stored_files(settings.home)
        assert home
        assert [name for name, data in home.items() if needle in data] == []

    captured = capfd.readouterr()
    assert marker not in captured.out and marker not in captured.err
    assert marker not in caplog.text
    assert all(marker not in str(r.args) for r in caplog.records)


def test_every_column_of_every_table_is_free_of_the_marker(make, api_as):
    """The same proof from inside the database, on either backend: every column as text."""
    marker = uuid.uuid4().hex
    worker = make.staff("caseworker")
    api = api_as(worker)
    created = api.post(
        "/api/v1/people", json={"name": f"N {marker}", "date_of_birth": "1980-02-02"}
    )
    assert created.status_code == 201
    person_id = created.json["id"]
    for section, content in contents_with(marker).items():
        response = api.post(
            f"/api/v1/people/{person_id}/sections/{section}/entries", json={"content": content}
        )
        assert response.status_code == 201, response.json

    found_id = False
    inspector = db.Base.metadata
    for table in inspector.sorted_tables:
        for row in db.session.execute(select(table)).all():
            flat = repr(tuple(row))
            found_id = found_id or person_id in flat
            assert marker not in flat, table.name
            for value in row:
                if isinstance(value, bytes | bytearray | memoryview):
                    assert marker.encode() not in bytes(value), table.name
    assert found_id


def test_unexpected_error_is_a_bare_500(api_as, make, monkeypatch, caplog):
    """An exception in a view: a 500 problem, no stack trace, no exception message, and the
    log names the type only."""
    from passport.records import views

    marker = uuid.uuid4().hex
    person = make.person()

    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"could not read {marker}")

    monkeypatch.setattr(views, "passport", explode)
    caplog.set_level(logging.DEBUG)
    response = api_as(person).get(f"/api/v1/people/{person.id}/passport")
    assert_clean_problem(response, 500, marker)
    body = response.json
    assert body["type"] == "/problems/internal-error"
    assert body["status"] == 500
    assert body["title"] and body["detail"]
    assert "RuntimeError" not in response.get_data(as_text=True)
    assert "unexpected error: RuntimeError" in caplog.text
    assert marker not in caplog.text


# -- sealing ----------------------------------------------------------------------------------


def test_a_ciphertext_moved_to_another_place_does_not_open(make):
    person = make.person()
    other = make.person(name="Other Person")
    first = make.entry(person, person, "story", {"text": "first"})
    second = make.entry(person, person, "story", {"text": "second"})
    theirs = make.entry(other, other, "story", {"text": "theirs"})
    rows = {
        r.id: r
        for r in db.session.execute(
            select(Revision).where(
                Revision.id.in_([first.revision_id, second.revision_id, theirs.revision_id])
            )
        ).scalars()
    }
    sealed = rows[first.revision_id].content
    assert b"first" not in sealed
    # In place it opens...
    assert data_keys.open_json(person.id, "revisions", "content", first.revision_id, sealed) == {
        "text": "first"
    }
    # ...moved to another row, field, table or person it does not.
    for place in [
        (person.id, "revisions", "content", second.revision_id),
        (person.id, "revisions", "notes", first.revision_id),
        (person.id, "consent_grants", "content", first.revision_id),
        (other.id, "revisions", "content", theirs.revision_id),
        (other.id, "revisions", "content", first.revision_id),
    ]:
        with pytest.raises(SealError):
            data_keys.open_json(*place, sealed)
    # A flipped bit does not open either.
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(SealError):
        data_keys.open_json(person.id, "revisions", "content", first.revision_id, bytes(tampered))
    # Two seals of the same value differ (random nonce).
    again = data_keys.seal_json(
        person.id, "revisions", "content", first.revision_id, {"text": "first"}
    )
    assert again != sealed


def test_a_copied_ciphertext_in_a_forged_revision_is_never_shown(make, api_as):
    """A row forged with another row's ciphertext fails to open: the read fails, it never
    shows the copied content in its new place."""
    person = make.person()
    entry = make.entry(person, person, "story", {"text": "original words"})
    original = db.session.get(Revision, entry.revision_id)
    assert original is not None
    db.session.add(
        Revision(
            id=db.new_id(),
            entry_id=entry.id,
            person_id=person.id,
            section="story",
            revision=2,
            status="current",
            hidden=False,
            content=original.content,
            author_kind="person",
            author_id=person.id,
            created_at=db.utcnow(),
        )
    )
    make.commit()
    response = api_as(person).get(f"/api/v1/people/{person.id}/passport")
    assert response.status_code == 500
    assert "original words" not in response.get_data(as_text=True)


# -- key rotation -----------------------------------------------------------------------------


def test_keys_rotate_rewraps_and_everything_still_reads(fresh_app: Flask) -> None:
    settings = fresh_app.config["PASSPORT_SETTINGS"]
    keyring = settings.keyring_path
    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    with fresh_app.app_context():
        make = Factory()
        worker = make.staff("caseworker")
        people = [make.person(name=f"Person {n}", registered_by=worker) for n in range(3)]
        for person in people:
            make.entry(person, person, "story", {"text": f"story of {person.id}"})
            make.entry(worker, person, "medication", {"name": "Methadone"})
        token = make.token(worker)
        before = {
            k.id: (k.wrapped, k.kek_version) for k in db.session.execute(select(DataKey)).scalars()
        }
    assert len(before) == 3 and {v for _, v in before.values()} == {1}

    result = fresh_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "key-encryption key version 2; 3 data keys re-wrapped" in result.stdout

    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    with fresh_app.app_context():
        after = {k.id: k for k in db.session.execute(select(DataKey)).scalars()}
        assert set(after) == set(before)
        for key_id, key in after.items():
            assert key.kek_version == 2
            assert key.wrapped != before[key_id][0]
            assert key.rewrapped_at is not None
        events = db.session.execute(
            text("SELECT outcome FROM audit_events WHERE action = 'keys.rotate'")
        ).all()
        assert [e[0] for e in events] == ["allowed"]

    # Nothing cached: every value is opened through a data key unwrapped by the new KEK.
    data_keys.clear_cache()
    api = Api(fresh_app.test_client(), token)
    for person in people:
        view = api.get(f"/api/v1/people/{person.id}/passport?purpose=direct_support")
        assert view.status_code == 200, view.json
        assert view.json["sections"]["story"][0]["content"]["text"] == f"story of {person.id}"
        assert view.json["sections"]["medication"][0]["content"]["name"] == "Methadone"
        added = api.post(
            f"/api/v1/people/{person.id}/sections/risk/entries", json={"content": {"flags": []}}
        )
        assert added.status_code == 201

    # A second rotation works the same way, and only the current KEK wraps data keys.
    again = fresh_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert again.exit_code == 0, again.output
    assert "version 3" in again.stdout
    with fresh_app.app_context():
        assert {k.kek_version for k in db.session.execute(select(DataKey)).scalars()} == {3}


def test_rewrap_all_keeps_content_readable(make):
    person = make.person()
    entry = make.entry(person, person, "story", {"text": "kept"})
    version, count = data_keys.rewrap_all()
    assert count >= 1
    key = db.session.execute(select(DataKey).where(DataKey.person_id == person.id)).scalar_one()
    assert key.kek_version == version
    data_keys.clear_cache()
    revision = db.session.get(Revision, entry.revision_id)
    assert revision is not None
    assert data_keys.open_json(
        person.id, "revisions", "content", revision.id, revision.content
    ) == {"text": "kept"}


# -- blind index ------------------------------------------------------------------------------


def test_blind_index_finds_by_exact_name_and_date_of_birth(make):
    born = date(1975, 6, 30)
    person = make.person(name="Marguerite O'Neill", date_of_birth=born)
    make.person(name="Marguerite O'Neill", date_of_birth=date(1975, 6, 29))
    stored = db.session.get(Person, person.id)
    assert stored is not None
    assert stored.name_index and stored.name_dob_index
    for value in (stored.name_index, stored.name_dob_index):
        assert len(value) == 64 and int(value, 16) >= 0
        assert "marguerite" not in value.lower()
        # Keyed: not a plain hash that anyone could compute from a list of names.
        assert value != hashlib.sha256(normalise_name("Marguerite O'Neill").encode()).hexdigest()

    def find(name: str, dob: date) -> list[str]:
        index = data_keys.blind_index("name+dob", name, dob.isoformat())
        return list(
            db.session.execute(select(Person.id).where(Person.name_dob_index == index)).scalars()
        )

    assert find("Marguerite O'Neill", born) == [person.id]
    assert find("  marguerite   o'neill ", born) == [person.id]  # normalised
    assert find("Marguerite O'Neil", born) == []
    assert find("Marguerite O'Neill", date(1975, 6, 1)) == []
    by_name = data_keys.blind_index("name", "Marguerite O'Neill")
    assert len(db.session.execute(select(Person.id).where(Person.name_index == by_name)).all()) == 2


def test_blind_index_follows_a_changed_profile(make, api_as):
    person = make.person(name="Old Name", date_of_birth=date(1990, 1, 1))
    api = api_as(person)
    [profile] = api.get(f"/api/v1/people/{person.id}/passport").json["sections"]["profile"]
    changed = api.put(
        f"/api/v1/people/{person.id}/sections/profile/entries/{profile['id']}",
        json={"content": {"name": "New Name", "date_of_birth": "1990-01-01"}},
    )
    assert changed.status_code == 200, changed.json
    stored = db.session.get(Person, person.id)
    assert stored is not None
    db.session.refresh(stored)
    assert stored.name_index == data_keys.blind_index("name", "New Name")
    assert stored.name_dob_index == data_keys.blind_index("name+dob", "New Name", "1990-01-01")


def test_caseload_search_by_exact_name_and_date_of_birth(api_as, make):
    worker = make.staff("caseworker")
    api = api_as(worker)
    first = api.post("/api/v1/people", json={"name": "Sam Taylor", "date_of_birth": "1980-01-01"})
    second = api.post("/api/v1/people", json={"name": "Sam Taylor", "date_of_birth": "1981-01-01"})
    assert first.status_code == second.status_code == 201
    found = api.get("/api/v1/people?name=sam%20taylor&date_of_birth=1980-01-01")
    assert found.status_code == 200, found.json
    assert [p["id"] for p in found.json["items"]] == [first.json["id"]]
    by_name = api.get("/api/v1/people?name=Sam%20Taylor").json["items"]
    assert {p["id"] for p in by_name} == {first.json["id"], second.json["id"]}
    assert api.get("/api/v1/people?name=Sam%20Tailor").json["items"] == []
    stored = db.session.get(Person, first.json["id"])
    assert stored is not None and "sam" not in (stored.name_index or "sam").lower()
