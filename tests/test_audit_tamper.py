"""Tampering is detected and located, in an export and in the database; the database refuses
UPDATE and DELETE on the log, and so does the application's least-privilege role."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, ProgrammingError

from passport import activate, create_app, db
from passport.audit import checkpoints, verify
from passport.audit.privileges import set_up_app_role
from passport.config import Settings

from . import independent_verifier
from .conftest import BACKEND, Api
from .factories import SAMPLE_CONTENT, Factory
from .test_audit_chain import export_text, fill, own_keys, public_key_raw

postgres_only = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL roles only")

EVENTS = 250


@pytest.fixture
def witness_file(ctx: Flask, tmp_path: Path) -> Any:
    original = ctx.config["PASSPORT_SETTINGS"]
    path = tmp_path / "checkpoints.jsonl"
    checkpoints.configure(dataclasses.replace(original, checkpoint_file=path))
    yield path
    checkpoints.configure(original)


def build_log() -> None:
    fill(EVENTS, per_commit=10)
    checkpoints.sign_head()
    db.session.commit()


def rehash(events: list[dict[str, Any]], start: int) -> None:
    """What a forger without the signing key can do: recompute the chain from `start`."""
    prev = events[start - 1]["entry_hash"] if start else "0" * 64
    for event in events[start:]:
        body = {k: v for k, v in event.items() if k not in ("prev_hash", "entry_hash")}
        event["prev_hash"] = prev
        event["entry_hash"] = hashlib.sha256(bytes.fromhex(prev) + rfc8785.dumps(body)).hexdigest()
        prev = event["entry_hash"]


def later(timestamp: str, minutes: int) -> str:
    moment = checkpoints.parse_time(timestamp) + timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def forged_event(last: dict[str, Any], signed_at: str) -> dict[str, Any]:
    event = {**last, "seq": last["seq"] + 1, "occurred_at": later(signed_at, 10)}
    event["person_id"] = str(uuid.uuid4())
    return event


# Each tamper takes (events, checkpoints) as parsed lists, changes them, and returns the seq
# the verifiers must name.
def alter_a_field(events: list[dict], cps: list[dict]) -> int:
    events[56]["outcome"] = "denied"
    return 57


def delete_an_event(events: list[dict], cps: list[dict]) -> int:
    del events[79]
    return 80


def swap_two_events(events: list[dict], cps: list[dict]) -> int:
    events[99], events[100] = events[100], events[99]
    return 100


def truncate_past_a_checkpoint(events: list[dict], cps: list[dict]) -> int:
    assert max(c["seq"] for c in cps) == EVENTS
    del events[220:]
    return 221


def append_forged_event(events: list[dict], cps: list[dict]) -> int:
    events.append(forged_event(events[-1], cps[-1]["signed_at"]))
    rehash(events, len(events) - 1)
    return EVENTS + 1


def append_forged_event_and_checkpoint(events: list[dict], cps: list[dict]) -> int:
    append_forged_event(events, cps)
    impostor = Ed25519PrivateKey.generate()
    raw = impostor.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    statement = {
        "log_id": cps[-1]["log_id"],
        "seq": events[-1]["seq"],
        "entry_hash": events[-1]["entry_hash"],
        "signed_at": events[-1]["occurred_at"],
    }
    signature = base64.b64encode(impostor.sign(rfc8785.dumps(statement))).decode()
    for key_id in (hashlib.sha256(raw).hexdigest()[:16], cps[-1]["key_id"]):
        cps.append({**statement, "signature": signature, "key_id": key_id})
    return EVENTS + 1


def bad_checkpoint_signature(events: list[dict], cps: list[dict]) -> int:
    target = cps[1]
    signature = bytearray(base64.b64decode(target["signature"]))
    signature[5] ^= 0x01
    target["signature"] = base64.b64encode(bytes(signature)).decode()
    return target["seq"]


def rewrite_history_with_a_recomputed_chain(events: list[dict], cps: list[dict]) -> int:
    events[56]["outcome"] = "denied"
    rehash(events, 56)
    return min(c["seq"] for c in cps if c["seq"] >= 57)


TAMPERS: list[Callable[[list[dict], list[dict]], int]] = [
    alter_a_field,
    delete_an_event,
    swap_two_events,
    truncate_past_a_checkpoint,
    append_forged_event,
    append_forged_event_and_checkpoint,
    bad_checkpoint_signature,
    rewrite_history_with_a_recomputed_chain,
]


def as_lines(items: list[dict]) -> str:
    return "".join(json.dumps(item) + "\n" for item in items)


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda t: t.__name__)
def test_tampered_export_is_detected_and_located(ctx, witness_file, tamper):
    build_log()
    events = [json.loads(line) for line in export_text().splitlines()]
    cps = [json.loads(line) for line in witness_file.read_text().splitlines()]
    assert len(cps) >= 3
    intact = independent_verifier.verify(as_lines(events), as_lines(cps), public_key_raw())
    assert intact.ok, intact

    bad_seq = tamper(events, cps)
    export, witness = as_lines(events), as_lines(cps)

    ours = verify.verify_export(
        export.splitlines(), witness.splitlines(), own_keys(), log_id=cps[0]["log_id"]
    )
    assert not ours.ok
    assert ours.first_bad_seq == bad_seq, ours.problem
    assert ours.problem
    theirs = independent_verifier.verify(export, witness, public_key_raw())
    assert not theirs.ok
    assert theirs.first_bad_seq == bad_seq, theirs.why


# -- in the database ------------------------------------------------------------------------


def engine_of(app: Flask) -> Engine:
    return app.extensions["passport_engine"]


def lift_append_only_guard(app: Flask) -> None:
    """What an attacker with the schema owner's (or a superuser's) access could do."""
    with engine_of(app).begin() as conn:
        for table in ("audit_events", "audit_checkpoints"):
            if BACKEND == "postgresql":
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                conn.execute(text(f"DROP TRIGGER {table}_no_update"))
                conn.execute(text(f"DROP TRIGGER {table}_no_delete"))


def db_events(conn: Any, where: str) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM audit_events {where}"))]


def db_alter(conn: Any) -> int:
    conn.execute(text("UPDATE audit_events SET outcome = 'denied' WHERE seq = 57"))
    return 57


def db_delete(conn: Any) -> int:
    conn.execute(text("DELETE FROM audit_events WHERE seq = 80"))
    return 80


def db_swap(conn: Any) -> int:
    rows = db_events(conn, "WHERE seq IN (100, 101) ORDER BY seq")
    conn.execute(text("DELETE FROM audit_events WHERE seq IN (100, 101)"))
    rows[0]["seq"], rows[1]["seq"] = 101, 100
    for row in rows:
        row.update({k: json.dumps(v) for k, v in row.items() if isinstance(v, dict | list)})
        columns = ", ".join(row)
        values = ", ".join(f":{k}" for k in row)
        conn.execute(text(f"INSERT INTO audit_events ({columns}) VALUES ({values})"), row)
    return 100


def db_truncate(conn: Any) -> int:
    # The attacker removes the tail and the checkpoints that cover it from the database;
    # the checkpoint file outside it still remembers.
    conn.execute(text("DELETE FROM audit_events WHERE seq > 220"))
    conn.execute(text("DELETE FROM audit_checkpoints WHERE seq > 220"))
    return 221


def db_append_forged(conn: Any) -> int:
    last = db_events(conn, f"WHERE seq = {EVENTS}")[0]
    signed_at = conn.execute(text("SELECT max(signed_at) FROM audit_checkpoints")).scalar_one()
    body = {
        k: json.loads(v)
        if k in ("actor", "sections", "basis", "detail") and isinstance(v, str)
        else v
        for k, v in last.items()
        if k not in ("prev_hash", "entry_hash", "actor_id", "actor_agency_id")
    }
    body.update(seq=EVENTS + 1, occurred_at=later(signed_at, 10), person_id=str(uuid.uuid4()))
    digest = hashlib.sha256(bytes.fromhex(last["entry_hash"]) + rfc8785.dumps(body)).hexdigest()
    row = {
        **{k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in body.items()},
        "actor_id": last["actor_id"],
        "actor_agency_id": last["actor_agency_id"],
        "prev_hash": last["entry_hash"],
        "entry_hash": digest,
    }
    columns = ", ".join(row)
    values = ", ".join(f":{k}" for k in row)
    conn.execute(text(f"INSERT INTO audit_events ({columns}) VALUES ({values})"), row)
    return EVENTS + 1


def db_bad_signature(conn: Any) -> int:
    seq = conn.execute(text("SELECT min(seq) FROM audit_checkpoints WHERE seq > 10")).scalar_one()
    conn.execute(
        text("UPDATE audit_checkpoints SET signature = :s WHERE seq = :q"),
        {"s": base64.b64encode(b"\x00" * 64).decode(), "q": seq},
    )
    return int(seq)


@pytest.mark.parametrize(
    "tamper",
    [db_alter, db_delete, db_swap, db_truncate, db_append_forged, db_bad_signature],
    ids=lambda t: t.__name__,
)
def test_tampered_database_is_detected_and_located(fresh_app, tamper):
    with fresh_app.app_context():
        build_log()
        assert verify.verify_database().ok
    lift_append_only_guard(fresh_app)
    with engine_of(fresh_app).begin() as conn:
        bad_seq = tamper(conn)
    with fresh_app.app_context():
        result = verify.verify_database()
        assert not result.ok
        assert result.first_bad_seq == bad_seq, result.problem
        assert result.head_seq < bad_seq
    cli = fresh_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert cli.exit_code == 1
    assert f"at seq {bad_seq}:" in cli.output


# -- append-only ---------------------------------------------------------------------------


REFUSED = [
    "UPDATE audit_events SET outcome = 'denied'",
    "DELETE FROM audit_events",
    "UPDATE audit_checkpoints SET seq = 1",
    "DELETE FROM audit_checkpoints",
]


def test_database_refuses_update_and_delete_on_the_log(fresh_app):
    with fresh_app.app_context():
        fill(5)
    statements = REFUSED + (
        ["TRUNCATE audit_events", "TRUNCATE audit_checkpoints"] if BACKEND == "postgresql" else []
    )
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine_of(fresh_app).begin() as conn:
            conn.execute(text(statement))
    with fresh_app.app_context():
        assert verify.verify_database().checked == 5


def role_url(app: Flask, role: str) -> str:
    url = engine_of(app).url.set(username=role, password=None)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def app_role(fresh_app: Flask) -> Any:
    name = f"passport_app_{uuid.uuid4().hex[:8]}"
    with engine_of(fresh_app).begin() as conn:
        set_up_app_role(conn, name, None)
    yield name
    with engine_of(fresh_app).begin() as conn:
        conn.execute(text(f"DROP OWNED BY {name}"))
        conn.execute(text(f"DROP ROLE {name}"))


@postgres_only
def test_app_role_may_only_select_and_insert_on_the_log(fresh_app, app_role):
    with fresh_app.app_context():
        fill(5)
    with engine_of(fresh_app).connect() as conn:
        privilege = "SELECT has_table_privilege(:r, :t, :p)"
        for table in ("audit_events", "audit_checkpoints"):
            for name, expected in [
                ("SELECT", True),
                ("INSERT", True),
                ("UPDATE", False),
                ("DELETE", False),
                ("TRUNCATE", False),
            ]:
                held = conn.execute(text(privilege), {"r": app_role, "t": table, "p": name})
                assert held.scalar_one() is expected, (table, name)
        for name in ("SELECT", "INSERT", "DELETE"):
            held = conn.execute(text(privilege), {"r": app_role, "t": "audit_pending", "p": name})
            assert held.scalar_one() is True
    engine = create_engine(role_url(fresh_app, app_role))
    try:
        for statement in [*REFUSED, "TRUNCATE audit_events"]:
            with pytest.raises(ProgrammingError, match="permission denied"), engine.begin() as c:
                c.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 5
    finally:
        engine.dispose()


def test_app_role_command(fresh_app):
    runner = fresh_app.test_cli_runner()
    if BACKEND != "postgresql":
        result = runner.invoke(args=["db", "app-role", "passport_app", "--no-password"])
        assert result.exit_code == 1
        assert "PostgreSQL" in result.output
        return
    name = f"passport_app_{uuid.uuid4().hex[:8]}"
    try:
        result = runner.invoke(args=["db", "app-role", name], input="s3cret-'quoted\n")
        assert result.exit_code == 0, result.output
        assert "audit_events: SELECT, INSERT\n" in result.output
        assert "audit_pending: SELECT, INSERT, DELETE\n" in result.output
        assert "revisions: SELECT, INSERT\n" in result.output
        again = runner.invoke(args=["db", "app-role", name, "--no-password"])
        assert again.exit_code == 0, again.output
        refused = runner.invoke(args=["db", "app-role", "postgres", "--no-password"])
        assert refused.exit_code == 1
    finally:
        with engine_of(fresh_app).begin() as conn:
            conn.execute(text(f"DROP OWNED BY {name}"))
            conn.execute(text(f"DROP ROLE IF EXISTS {name}"))


# -- the log unavailable -------------------------------------------------------------------


def read_when_the_log_is_unwritable(app: Flask, make_unwritable: Callable[[], None]) -> None:
    with app.app_context():
        factory = Factory()
        person = factory.person(name="Oriana Blackwood", preferred_name="Ori")
        for section, content in SAMPLE_CONTENT.items():
            factory.entry(person, person, section, content)
        token = factory.token(person)
        pending_before = db.session.execute(text("SELECT count(*) FROM audit_events")).scalar()
    api = Api(app.test_client(), token)
    path = f"/api/v1/people/{person.id}/passport"
    assert api.get(path).status_code == 200  # the app works
    make_unwritable()
    response = api.get(path)
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["type"] == "/problems/audit-unavailable"
    body = response.get_data(as_text=True)
    for secret in ("Oriana", "Blackwood", 'Ori"', "Methadone", "60 mg", "naloxone", "slept"):
        assert secret not in body
    with app.app_context():
        after = db.session.execute(text("SELECT count(*) FROM audit_events")).scalar()
        assert after == pending_before + 1  # only the successful read was logged


def test_read_fails_closed_when_the_log_cannot_be_written_sqlite(fresh_app):
    if BACKEND != "sqlite":
        pytest.skip("the SQLite variant; PostgreSQL revokes the privilege instead")

    def unwritable() -> None:
        # The whole log: a read from a snapshot chains its events straight into audit_events.
        with engine_of(fresh_app).begin() as conn:
            for table in ("audit_pending", "audit_events"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER {table}_offline BEFORE INSERT ON {table} "
                        "BEGIN SELECT RAISE(ABORT, 'the log volume is offline'); END"
                    )
                )

    read_when_the_log_is_unwritable(fresh_app, unwritable)


@postgres_only
def test_read_fails_closed_when_the_app_role_loses_the_log(fresh_app, app_role, tmp_path):
    settings = fresh_app.config["PASSPORT_SETTINGS"]
    env = {
        "PASSPORT_HOME": str(settings.home),
        "PASSPORT_ENV": "test",
        "PASSPORT_SECRET_KEY": settings.secret_key,
        "PASSPORT_DATABASE_URL": role_url(fresh_app, app_role),
    }
    least = create_app(Settings.from_env(env))
    least.config["TESTING"] = True
    activate(fresh_app)

    def unwritable() -> None:
        with engine_of(fresh_app).begin() as conn:
            conn.execute(text(f"REVOKE INSERT ON audit_pending FROM {app_role}"))

    try:
        activate(least)
        read_when_the_log_is_unwritable(least, unwritable)
        with least.app_context():
            assert verify.verify_database().ok  # the least-privilege app chains and signs
    finally:
        db.session.remove()
        engine_of(least).dispose()
        activate(fresh_app)
