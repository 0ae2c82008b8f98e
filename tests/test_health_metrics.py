"""`/healthz`, `/readyz` (each failing check named) and `/metrics` (API.md "Running it")."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from passport import audit, db
from passport.audit import checkpoints
from passport.identity.actor import SYSTEM
from passport.records.operations import add_entry
from passport.vocabulary import Action, Outcome, Section

from .conftest import BACKEND, Api
from .factories import SAMPLE_CONTENT, Factory

ROOT = Path(__file__).resolve().parents[1]


def get(app: Flask, path: str, **kw: Any) -> Any:
    return app.test_client().get(path, **kw)


def test_healthz_answers_without_a_token_or_the_database(fresh_app: Flask) -> None:
    response = get(fresh_app, "/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_names_every_check_ok(fresh_app: Flask) -> None:
    response = get(fresh_app, "/readyz")
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json == {
        "status": "ready",
        "checks": {
            "database": "ok",
            "key_provider": "ok",
            "integrator": "ok",
            "checkpoint_file": "ok",
        },
    }


def test_readyz_names_a_missing_keyring(fresh_app: Flask) -> None:
    keyring = fresh_app.config["PASSPORT_SETTINGS"].keyring_path
    aside = keyring.with_name("keyring.away")
    keyring.rename(aside)
    try:
        response = get(fresh_app, "/readyz")
        assert response.status_code == 503
        assert response.json["failing"] == ["key_provider"]
        assert "keyring file" in response.json["checks"]["key_provider"]
        assert "missing" in response.json["checks"]["key_provider"]
    finally:
        aside.rename(keyring)
    assert get(fresh_app, "/readyz").status_code == 200


@pytest.fixture
def checkpoint_path(fresh_app: Flask) -> Iterator[Any]:
    """Point the checkpoint file elsewhere for a test, then back."""
    original = fresh_app.config["PASSPORT_SETTINGS"]

    def point(path: Path) -> None:
        checkpoints.configure(dataclasses.replace(original, checkpoint_file=path))

    yield point
    checkpoints.configure(original)


def test_readyz_names_a_checkpoint_file_that_cannot_be_written(
    fresh_app: Flask, checkpoint_path: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the witness directory should be")
    checkpoint_path(blocker / "checkpoints.jsonl")
    response = get(fresh_app, "/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["checkpoint_file"]
    assert "cannot be created" in response.json["checks"]["checkpoint_file"]


def test_readyz_names_another_databases_checkpoint_file(
    fresh_app: Flask, checkpoint_path: Any, tmp_path: Path
) -> None:
    theirs = tmp_path / "theirs.jsonl"
    theirs.write_text(
        '{"log_id":"another-log","seq":1,"entry_hash":"00","signed_at":"x","signature":"",'
        '"key_id":"0","database_id":"d"}\n'
    )
    checkpoint_path(theirs)
    response = get(fresh_app, "/readyz")
    assert response.status_code == 503
    assert response.json["failing"] == ["checkpoint_file"]
    assert "belongs to another log" in response.json["checks"]["checkpoint_file"]


def _refuse_chaining(app: Flask) -> None:
    engine = app.extensions["passport_engine"]
    with engine.begin() as connection:
        if BACKEND == "postgresql":
            connection.execute(
                text(
                    "CREATE FUNCTION refuse_chaining() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'the log volume is offline'; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER offline BEFORE INSERT ON audit_events "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_chaining()"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE TRIGGER offline BEFORE INSERT ON audit_events "
                    "BEGIN SELECT RAISE(ABORT, 'the log volume is offline'); END"
                )
            )


def _allow_chaining(app: Flask) -> None:
    with app.extensions["passport_engine"].begin() as connection:
        connection.execute(
            text(
                "DROP TRIGGER offline ON audit_events"
                if BACKEND == "postgresql"
                else "DROP TRIGGER offline"
            )
        )


def test_readyz_names_an_integrator_that_cannot_chain(fresh_app: Flask) -> None:
    with fresh_app.app_context():
        audit.record(actor=SYSTEM.as_event(), action=Action.AUDIT_VERIFY, outcome=Outcome.ALLOWED)
        db.session.commit()  # queued, not chained
    _refuse_chaining(fresh_app)
    try:
        response = get(fresh_app, "/readyz")
        assert response.status_code == 503
        assert response.json["failing"] == ["integrator"]
        assert "cannot be chained" in response.json["checks"]["integrator"]
    finally:
        _allow_chaining(fresh_app)
    assert get(fresh_app, "/readyz").status_code == 200  # and it chained what was queued


# -- /metrics -------------------------------------------------------------------------------


def scrape(app: Flask) -> str:
    response = get(app, "/metrics")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response.headers["Cache-Control"] == "no-store"
    return str(response.get_data(as_text=True))


def sample(text_: str, name: str, **labels: str) -> float | None:
    """The value of one sample in the text format (None if absent)."""
    values = samples(text_, name, **labels)
    return values[0] if values else None


def total(text_: str, name: str, **labels: str) -> float:
    """The sum over every series that has these labels (the others may be anything): earlier
    requests in the same process leave series with other labels behind."""
    return sum(samples(text_, name, **labels))


def samples(text_: str, name: str, **labels: str) -> list[float]:
    found_values: list[float] = []
    for line in text_.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, label_text = head.partition("{")
        if metric != name:
            continue
        found = dict(
            part.split("=", 1) for part in label_text.rstrip("}").split(",") if "=" in part
        )
        if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
            found_values.append(float(value))
    return found_values


@pytest.fixture
def reading(fresh_app: Flask) -> dict[str, Any]:
    """A person with an entry, read through the API and a page by a worker without consent."""
    with fresh_app.app_context():
        make = Factory()
        person = make.person(name="Oriana Blackwood", preferred_name="Ori")
        add_entry(person, person.id, Section.MEDICATION, SAMPLE_CONTENT[Section.MEDICATION])
        make.commit()
        worker = make.staff("caseworker")
        own, other = make.token(person), make.token(worker)
    return {"person": person, "own": own, "other": other}


def test_metrics_show_requests_by_rule_decisions_and_the_log_without_ids_or_names(
    fresh_app: Flask, reading: dict[str, Any]
) -> None:
    person = reading["person"]
    before = scrape(fresh_app)
    allowed_before = total(before, "passport_consent_decisions_total", outcome="allowed")
    client = fresh_app.test_client()
    path = f"/api/v1/people/{person.id}/passport"
    assert Api(client, reading["own"]).get(path).status_code == 200
    assert Api(client, reading["other"]).get(path + "?purpose=direct_support").status_code == 403
    assert client.get(f"/people/{person.id}/brief").status_code in (302, 401, 403)
    assert client.open("/healthz", method="BREW").status_code == 405
    with fresh_app.app_context():
        checkpoints.sign_head()
        db.session.commit()

    metrics = scrape(fresh_app)
    rule = "/api/v1/people/<uuid:person_id>/passport"
    assert sample(
        metrics, "passport_http_requests_total", endpoint=rule, method="GET", status="200"
    )
    assert sample(metrics, "passport_http_request_duration_seconds_count", endpoint=rule)
    assert sample(metrics, "passport_http_requests_total", endpoint="unmatched", method="OTHER")
    allowed = total(metrics, "passport_consent_decisions_total", outcome="allowed")
    assert allowed > allowed_before
    assert sample(metrics, "passport_consent_decisions_total", outcome="denied") is not None
    assert sample(metrics, "passport_audit_pending_events") == 0
    assert sample(metrics, "passport_audit_integrator_lag_seconds") == 0
    age = sample(metrics, "passport_audit_last_checkpoint_age_seconds")
    assert age is not None and 0 <= age < 60
    assert sample(metrics, "passport_database_up") == 1
    # No personal data in any label: no ids, no names.
    for secret in (person.id, "Oriana", "Blackwood", 'Ori"', reading["own"], reading["other"]):
        assert secret not in metrics
    names = {line.split("{")[0].split(" ")[0] for line in metrics.splitlines() if line[:1] != "#"}
    assert names and all(name.startswith("passport_") for name in names if name)


def test_metrics_count_queued_events_and_the_integrators_lag(fresh_app: Flask) -> None:
    with fresh_app.app_context():
        for _ in range(3):
            audit.record(
                actor=SYSTEM.as_event(), action=Action.AUDIT_VERIFY, outcome=Outcome.ALLOWED
            )
        db.session.execute(
            text("UPDATE audit_pending SET created_at = :at"),
            {"at": "2020-01-01 00:00:00"},
        )
        db.session.commit()  # queued, not chained (nothing integrated)
    # /metrics itself does not chain, so what it reads is what is queued.
    metrics = scrape(fresh_app)
    assert sample(metrics, "passport_audit_pending_events") == 3
    lag = sample(metrics, "passport_audit_integrator_lag_seconds")
    assert lag is not None and lag > 3600  # queued since 2020
    with fresh_app.app_context():
        audit.integrate_all()
    metrics = scrape(fresh_app)
    assert sample(metrics, "passport_audit_pending_events") == 0


def test_metrics_are_only_for_this_machine_without_a_token(fresh_app: Flask) -> None:
    remote = get(fresh_app, "/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403
    assert "PASSPORT_METRICS_TOKEN" in remote.json["detail"]
    proxied = get(fresh_app, "/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 403
    assert get(fresh_app, "/metrics").status_code == 200  # this machine, no proxy


def test_metrics_want_the_token_when_one_is_set(fresh_app: Flask) -> None:
    original = fresh_app.config["PASSPORT_SETTINGS"]
    fresh_app.config["PASSPORT_SETTINGS"] = dataclasses.replace(
        original, metrics_token="scraper-secret-0123456789"
    )
    try:
        assert get(fresh_app, "/metrics").status_code == 401  # even from this machine
        wrong = {"Authorization": "Bearer guess"}
        assert get(fresh_app, "/metrics", headers=wrong).status_code == 401
        right = {"Authorization": "Bearer scraper-secret-0123456789"}
        response = get(
            fresh_app, "/metrics", headers=right, environ_base={"REMOTE_ADDR": "10.1.2.3"}
        )
        assert response.status_code == 200
        assert "passport_audit_pending_events" in response.get_data(as_text=True)
    finally:
        fresh_app.config["PASSPORT_SETTINGS"] = original


def test_metrics_with_the_database_down_say_so_and_still_answer(fresh_app: Flask) -> None:
    from .test_unavailable import Outage

    outage = Outage(fresh_app)
    outage.stop()
    try:
        metrics = scrape(fresh_app)
        assert sample(metrics, "passport_database_up") == 0
        assert "passport_http_requests_total" in metrics
    finally:
        outage.start()


MULTIPROCESS_WORKER = """
import sys
from passport import metrics
metrics.observe_request("/api/v1/me", "GET", 200, 0.01)
metrics.observe_decision(False, None, "no_consent", 2)
"""

MULTIPROCESS_SCRAPE = """
from passport import metrics
sys_out = metrics.exposition(lambda: (0, None, None)).decode()
print(sys_out)
"""


def test_multiprocess_mode_adds_up_every_workers_counts(tmp_path: Path) -> None:
    """gunicorn workers: with PROMETHEUS_MULTIPROC_DIR each process writes its counts there
    and a scrape in any of them reports the sum."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", MULTIPROCESS_WORKER], env=env, check=True, cwd=ROOT)
    out = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_SCRAPE],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    assert sample(out, "passport_http_requests_total", endpoint="/api/v1/me", status="200") == 2
    assert (
        sample(out, "passport_consent_decisions_total", outcome="denied", reason="no_consent") == 4
    )


def test_readyz_with_the_background_integrator(tmp_path: Path, app: Flask) -> None:
    """In the background, the integrator check starts this process's thread (it otherwise
    starts on the first request) and finds it running, leader or standby."""
    from passport import activate
    from passport.audit.background import background

    from .conftest import build_app, create_pg_database, drop_pg_database

    name = url = None
    if BACKEND == "postgresql":
        name = f"passport_bg_{os.getpid()}"
        url = create_pg_database(name)
    late = build_app(tmp_path / "home", url, PASSPORT_AUDIT_INTEGRATOR="background")
    try:
        response = late.test_client().get("/readyz")
        assert response.status_code == 200, response.json
        assert background.running
    finally:
        background.stop()
        db.session.remove()
        late.extensions["passport_engine"].dispose()
        if name:
            drop_pg_database(name)
        activate(app)
