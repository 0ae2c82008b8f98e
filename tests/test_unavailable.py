"""The database gone mid-run: 503 on the API (`/problems/unavailable`) and the pages, never a
500, and recovery without a restart once it is back. Also a start against a dead database.

The database is stopped for real: on PostgreSQL its connections are ended and it refuses new
ones (`ALLOW_CONNECTIONS false`); on SQLite its file is moved away and a directory put in its
place, so no connection can open it (SQLite has no server to drop the open connections, so
the pool is emptied first, as a restart of the file's volume would).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from passport import activate, create_app, db
from passport.records.operations import add_entry
from passport.vocabulary import Section

from .conftest import BACKEND, PG_SERVER_URL, Api
from .factories import SAMPLE_CONTENT, Factory
from .web_helpers import sign_in


class Outage:
    """Stop and start the database of `app`."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.engine = app.extensions["passport_engine"]
        self.stopped = False

    def stop(self) -> None:
        if BACKEND == "postgresql":
            self._admin(
                f'ALTER DATABASE "{self.engine.url.database}" ALLOW_CONNECTIONS false',
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{self.engine.url.database}' AND pid <> pg_backend_pid()",
            )
        else:
            self.engine.dispose()
            path = Path(str(self.engine.url.database))
            for suffix in ("", "-wal", "-shm"):
                part = path.with_name(path.name + suffix)
                if part.exists():
                    part.rename(path.with_name(path.name + suffix + ".away"))
            path.mkdir()
        self.stopped = True

    def start(self) -> None:
        if BACKEND == "postgresql":
            self._admin(f'ALTER DATABASE "{self.engine.url.database}" ALLOW_CONNECTIONS true')
        else:
            path = Path(str(self.engine.url.database))
            path.rmdir()
            for suffix in ("", "-wal", "-shm"):
                away = path.with_name(path.name + suffix + ".away")
                if away.exists():
                    away.rename(path.with_name(path.name + suffix))
        self.stopped = False

    def _admin(self, *statements: str) -> None:
        admin = create_engine(f"{PG_SERVER_URL}/postgres", isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                for statement in statements:
                    connection.execute(text(statement))
        finally:
            admin.dispose()


@pytest.fixture
def outage(fresh_app: Flask) -> Iterator[Outage]:
    stopper = Outage(fresh_app)
    try:
        yield stopper
    finally:
        if stopper.stopped:
            stopper.start()


@pytest.fixture
def scene(fresh_app: Flask) -> dict[str, Any]:
    with fresh_app.app_context():
        make = Factory()
        person = make.person(name="Oriana Blackwood", preferred_name="Ori")
        add_entry(person, person.id, Section.MEDICATION, SAMPLE_CONTENT[Section.MEDICATION])
        make.commit()
        token = make.token(person)
    page = fresh_app.test_client()
    with fresh_app.app_context():
        sign_in(page, person)
    return {"person": person, "api": Api(fresh_app.test_client(), token), "page": page}


def assert_unavailable_problem(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["type"] == "/problems/unavailable"
    assert response.json["status"] == 503
    body = response.get_data(as_text=True)
    for secret in ("Oriana", "Blackwood", "Methadone", "Traceback"):
        assert secret not in body


def test_database_down_mid_run_is_503_then_recovers_without_a_restart(
    fresh_app: Flask, outage: Outage, scene: dict[str, Any]
) -> None:
    api, page, person = scene["api"], scene["page"], scene["person"]
    passport = f"/api/v1/people/{person.id}/passport"
    assert api.get(passport).status_code == 200  # the control: it works
    assert page.get("/me").status_code == 200

    outage.stop()
    assert_unavailable_problem(api.get(passport))
    assert_unavailable_problem(api.get("/api/v1/me"))
    assert_unavailable_problem(
        api.post(
            f"/api/v1/people/{person.id}/sections/story/entries",
            json={"content": SAMPLE_CONTENT[Section.STORY]},
        )
    )
    shown = page.get("/me")
    assert shown.status_code == 503
    assert shown.mimetype == "text/html"
    html = shown.get_data(as_text=True)
    assert "Sorry, the service is busy" in html
    assert "Methadone" not in html and "Traceback" not in html
    assert fresh_app.test_client().get("/healthz").status_code == 200  # the process runs
    ready = fresh_app.test_client().get("/readyz")
    assert ready.status_code == 503
    assert "database" in ready.json["failing"]
    assert "cannot be reached" in ready.json["checks"]["database"]

    outage.start()  # no restart: the same app, the same clients
    read = api.get(passport)
    assert read.status_code == 200
    assert "Methadone" in read.get_data(as_text=True)
    assert page.get("/me").status_code == 200
    assert fresh_app.test_client().get("/readyz").status_code == 200


def test_a_refused_statement_is_still_a_500_not_an_outage(fresh_app: Flask) -> None:
    """Only a database that cannot be reached is a 503: a statement it refuses (a bug) stays
    an internal error, so outages and defects are not confused."""
    with fresh_app.app_context():
        with pytest.raises(Exception) as refused:
            db.session.execute(text("SELEC 1"))
        db.session.rollback()
        assert not db.is_unreachable(refused.value)


def test_start_against_a_dead_database_warns_and_is_not_ready_until_it_is_back(
    fresh_app: Flask, outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    """Decision: the start is not refused (the database may be starting alongside); it warns
    naming the database, and /readyz and every request answer 503 until it answers."""
    settings = fresh_app.config["PASSPORT_SETTINGS"]
    outage.stop()
    with caplog.at_level(logging.WARNING, logger="passport"):
        late = create_app(settings)
    late.config["TESTING"] = True
    try:
        warned = [r.getMessage() for r in caplog.records if "cannot be reached" in r.getMessage()]
        assert warned and "starting anyway" in warned[0]
        if BACKEND == "postgresql":
            assert str(fresh_app.extensions["passport_engine"].url.database) in warned[0]
        client = late.test_client()
        assert client.get("/healthz").json == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "database" in ready.json["failing"]
        assert ready.json["checks"]["integrator"].startswith("not checked")
        assert_unavailable_problem(client.get("/api/v1/me", headers={"Authorization": "Bearer x"}))

        outage.start()
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.json
        assert ready.json["status"] == "ready"
    finally:
        late.extensions["passport_engine"].dispose()
        activate(fresh_app)


def test_unavailable_is_documented_in_the_openapi_document(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").json
    problem = spec["components"]["responses"]["Problem"]
    assert "database cannot be reached" in problem["description"]


@pytest.mark.skipif(BACKEND != "sqlite", reason="a SQLite file's own faults")
def test_sqlite_file_made_read_only_is_503_not_500(fresh_app: Flask, scene: dict[str, Any]) -> None:
    """A write to a database file that became read-only answers 503 and nothing is lost."""
    api, person = scene["api"], scene["person"]
    engine = fresh_app.extensions["passport_engine"]
    path = Path(str(engine.url.database))
    engine.dispose()
    copy = path.with_name("readonly.db")
    shutil.copy(path, copy)
    readonly = create_engine(f"sqlite:///file:{copy}?mode=ro&uri=true")
    fresh_app.extensions["passport_engine"] = readonly
    activate(fresh_app)
    try:
        response = api.get(f"/api/v1/people/{person.id}/passport")  # a read logs: a write
        assert_unavailable_problem(response)
    finally:
        readonly.dispose()
        fresh_app.extensions["passport_engine"] = engine
        activate(fresh_app)
    assert api.get(f"/api/v1/people/{person.id}/passport").status_code == 200
