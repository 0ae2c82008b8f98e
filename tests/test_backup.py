"""`passport backup create|restore` (API.md v1.1 "Running it"): the round trip on the run's
backend, with real commits; the restored copy verifies, reads back the same records, goes on
as the original's successor, and never forks a still-running original's checkpoint file; and
every refusal leaves everything as it was."""

from __future__ import annotations

import json
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from passport import activate, backup, create_app, db
from passport.audit import checkpoints, integrator
from passport.audit.setup import database_id, log_id
from passport.cli import main
from passport.config import Settings
from passport.vocabulary import Section

from .conftest import BACKEND, build_app, create_pg_database, drop_pg_database
from .factories import SAMPLE_CONTENT, Factory, grant
from .softhsm import SoftHSM
from .test_audit_chain import fill

SECRET = "test-secret-key-that-is-long-enough-0123456789"


def env_for(home: Path, database_url: str | None, **extra: str) -> dict[str, str]:
    env = {
        "PASSPORT_HOME": str(home),
        "PASSPORT_ENV": "test",
        "PASSPORT_SECRET_KEY": SECRET,
        "PASSPORT_DATABASE_URL": database_url or f"sqlite:///{home / 'passport.db'}",
        "PASSPORT_CHECKPOINT_FILE": "",
        "PASSPORT_KEY_PROVIDER": "local",
        **extra,
    }
    return env


def cli(env: dict[str, str], *args: str) -> Result:
    """The installed `passport` command, as an operator runs it: settings from the
    environment, no app built beforehand."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def settings_of(app: Flask) -> Settings:
    settings: Settings = app.config["PASSPORT_SETTINGS"]
    return settings


def env_of(app: Flask) -> dict[str, str]:
    settings = settings_of(app)
    return env_for(settings.home, settings.database_url)


@pytest.fixture
def target(tmp_path: Path) -> Iterator[tuple[Path, str | None]]:
    """A new, empty home and database to restore into (the run's backend)."""
    home = tmp_path / "restored-home"
    home.mkdir()
    name = None
    url = None
    if BACKEND == "postgresql":
        name = f"passport_restore_{uuid.uuid4().hex[:10]}"
        url = create_pg_database(name)
    yield home, url
    db.session.remove()
    if name:
        drop_pg_database(name)


def build_data(app: Flask) -> dict[str, Any]:
    """People, entries, grants, reads (log events) and signed checkpoints, all committed."""
    with app.app_context():
        make = Factory()
        agency = make.agency("Riverside Housing")
        worker = make.staff("caseworker", agency=agency)
        owner = make.person()
        for section in (Section.STORY, Section.RISK, Section.MEDICATION):
            make.entry(owner, owner, section, SAMPLE_CONTENT[section])
        grant(owner, "agency", agency.id, ["story", "risk"])
        person_token = make.token(owner)
        worker_token = make.token(worker)
    client = app.test_client()
    for token in (person_token, worker_token):
        read = client.get(
            f"/api/v1/people/{owner.id}/passport?purpose=direct_support",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert read.status_code == 200, read.json
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert result.exit_code == 0, result.output
    return {"person": owner.id, "tokens": (person_token, worker_token)}


def read_back(app: Flask, data: dict[str, Any]) -> list[Any]:
    activate(app)
    client = app.test_client()
    views = []
    for token in data["tokens"]:
        response = client.get(
            f"/api/v1/people/{data['person']}/passport?purpose=direct_support",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.json
        views.append({k: v for k, v in response.json.items() if k != "access_id"})
    return views


def audit_verify(app: Flask) -> Result:
    activate(app)
    return app.test_cli_runner().invoke(args=["audit", "verify", "--workers", "1"])


def put_keys_back(original: Flask, home: Path) -> None:
    """What the operator does from the separate key store: the keyring and signing key."""
    settings = settings_of(original)
    shutil.copy2(settings.keyring_path, home / settings.keyring_path.name)
    shutil.copy2(settings.signing_key_path, home / settings.signing_key_path.name)


def open_restored(env: dict[str, str]) -> Flask:
    app = create_app(Settings.from_env(env))  # a plain start: never creates keys
    app.config["TESTING"] = True
    return app


def close(app: Flask) -> None:
    db.session.remove()
    app.extensions["passport_engine"].dispose()


def test_round_trip_restores_a_copy_that_verifies_and_reads_back(
    fresh_app: Flask, tmp_path: Path, target: tuple[Path, str | None]
) -> None:
    data = build_data(fresh_app)
    before = read_back(fresh_app, data)
    with fresh_app.app_context():
        original_ids = (log_id(), database_id())
    folder = tmp_path / "backup"

    made = cli(env_of(fresh_app), "backup", "create", str(folder))
    assert made.exit_code == 0, made.output
    assert "The keys are not in it" in made.output
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        [
            "manifest.json",
            "checkpoints.jsonl",
            backup.SQLITE_FILE if BACKEND == "sqlite" else backup.PG_FILE,
        ]
    )
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format_version"] == backup.FORMAT_VERSION
    assert (manifest["log_id"], manifest["database_id"]) == original_ids
    with fresh_app.app_context():
        assert (manifest["head"]["seq"], manifest["head"]["entry_hash"]) == integrator.head()
        db.session.rollback()
    assert manifest["checkpoints"] >= 1
    # Never key material: no keyring, no signing key, no key bytes anywhere in the folder.
    settings = settings_of(fresh_app)
    keyring = json.loads(settings.keyring_path.read_text())
    secrets = [*keyring["keks"].values(), keyring["blind_index_key"]]
    signing_pem = settings.signing_key_path.read_bytes()
    for path in folder.iterdir():
        content = path.read_bytes()
        assert b"PRIVATE KEY" not in content and signing_pem not in content
        assert not any(secret.encode() in content for secret in secrets), path.name

    home, url = target
    put_keys_back(fresh_app, home)
    env = env_for(home, url)
    restored_out = cli(env, "backup", "restore", str(folder))
    assert restored_out.exit_code == 0, restored_out.output
    assert "the keys open the restored data" in restored_out.output

    restored = open_restored(env)
    try:
        assert audit_verify(restored).exit_code == 0
        assert read_back(restored, data) == before
        with restored.app_context():
            assert log_id() == original_ids[0]  # the same log goes on
            assert database_id() not in (None, original_ids[1])  # in a new database
            new_id = database_id()
            db.session.rollback()
        lines = [json.loads(x) for x in (home / "checkpoints.jsonl").read_text().splitlines()]
        assert len(lines) == manifest["checkpoints"]
        assert {line["database_id"] for line in lines} == {new_id}
        # The successor: new events and checkpoints go on the restored file and verify.
        read_back(restored, data)
        signed = restored.test_cli_runner().invoke(args=["audit", "checkpoint"])
        assert signed.exit_code == 0, signed.output
        after = (home / "checkpoints.jsonl").read_text().splitlines()
        assert len(after) == len(lines) + 1
        assert audit_verify(restored).exit_code == 0
        with restored.app_context(), pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text("UPDATE audit_events SET action = 'x'"))  # triggers came too
        db.session.remove()
        if BACKEND == "sqlite":
            assert stat.S_IMODE((home / "passport.db").stat().st_mode) == 0o600
    finally:
        close(restored)

    # The original is untouched and still verifies.
    activate(fresh_app)
    result = audit_verify(fresh_app)
    assert result.exit_code == 0, result.output
    assert read_back(fresh_app, data) == before


def test_a_copy_restored_beside_the_running_original_never_forks_its_file(
    fresh_app: Flask, tmp_path: Path, target: tuple[Path, str | None]
) -> None:
    build_data(fresh_app)
    folder = tmp_path / "backup"
    assert cli(env_of(fresh_app), "backup", "create", str(folder)).exit_code == 0
    original_file = settings_of(fresh_app).checkpoints_path
    home, url = target
    put_keys_back(fresh_app, home)

    # Pointed at the original's checkpoint file: the restore refuses, and changes nothing.
    shared = env_for(home, url, PASSPORT_CHECKPOINT_FILE=str(original_file))
    before = original_file.read_bytes()
    refused = cli(shared, "backup", "restore", str(folder))
    assert refused.exit_code == 1
    assert "already exists" in refused.output and "nothing was changed" in refused.output
    assert original_file.read_bytes() == before
    assert_empty(url, home)

    # Restored into its own file, then (wrongly) started on the original's: it appends
    # nothing there, because that file names another database.
    assert cli(env_for(home, url), "backup", "restore", str(folder)).exit_code == 0
    restored = open_restored(shared)
    try:
        activate(restored)
        with restored.app_context():
            fill(3)
            assert checkpoints.sign_head() is not None
            db.session.commit()
        assert original_file.read_bytes() == before
        ready = restored.test_client().get("/readyz")
        assert ready.status_code == 503
        assert "another database" in ready.json["checks"]["checkpoint_file"]
    finally:
        close(restored)

    # The original goes on appending to its own file and verifies.
    activate(fresh_app)
    signed = fresh_app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    assert signed.exit_code == 0, signed.output
    assert len(original_file.read_bytes()) > len(before)
    assert audit_verify(fresh_app).exit_code == 0


def assert_empty(url: str | None, home: Path) -> None:
    """The restore target holds no table and no checkpoint file."""
    if url is None:
        database = home / "passport.db"
        assert not database.exists() or database.stat().st_size == 0
    else:
        from sqlalchemy import create_engine, inspect

        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                assert inspect(connection).get_table_names() == []
        finally:
            engine.dispose()
    assert not (home / "checkpoints.jsonl").exists()


def test_restore_without_the_keys_says_which_to_put_back(
    fresh_app: Flask, tmp_path: Path, target: tuple[Path, str | None]
) -> None:
    data = build_data(fresh_app)
    folder = tmp_path / "backup"
    assert cli(env_of(fresh_app), "backup", "create", str(folder)).exit_code == 0
    home, url = target
    env = env_for(home, url)
    result = cli(env, "backup", "restore", str(folder))
    assert result.exit_code == 1
    assert "the data is restored, but the keys are not in place" in result.output
    assert str(home / "keyring.json") in result.output
    assert str(home / "audit-signing-key.pem") in result.output
    assert not (home / "keyring.json").exists()  # nothing created in their place
    assert not (home / "audit-signing-key.pem").exists()
    # The operator puts them back; the restored copy then starts and verifies.
    put_keys_back(fresh_app, home)
    restored = open_restored(env)
    try:
        assert audit_verify(restored).exit_code == 0
        assert read_back(restored, data) == read_back(fresh_app, data)
    finally:
        close(restored)
        activate(fresh_app)


def test_restore_with_another_installations_keys_is_refused_plainly(
    fresh_app: Flask, tmp_path: Path, target: tuple[Path, str | None]
) -> None:
    build_data(fresh_app)
    folder = tmp_path / "backup"
    assert cli(env_of(fresh_app), "backup", "create", str(folder)).exit_code == 0
    home, url = target
    # Keys made by another installation's init-db (on a throwaway SQLite database).
    other = create_app(
        Settings.from_env(env_for(home, f"sqlite:///{tmp_path / 'other.db'}")),
        initialise_keys=True,
    )
    close(other)
    activate(fresh_app)
    result = cli(env_for(home, url), "backup", "restore", str(folder))
    assert result.exit_code == 1
    assert "cannot open the data keys" in result.output
    assert "Put back from their separate store" in result.output


def test_restore_refuses_a_database_that_is_not_empty(fresh_app: Flask, tmp_path: Path) -> None:
    build_data(fresh_app)
    folder = tmp_path / "backup"
    assert cli(env_of(fresh_app), "backup", "create", str(folder)).exit_code == 0
    home = tmp_path / "other-home"
    home.mkdir()
    put_keys_back(fresh_app, home)
    # The original's own database, which holds everything: never overwritten.
    env = env_for(home, settings_of(fresh_app).database_url)
    result = cli(env, "backup", "restore", str(folder))
    assert result.exit_code == 1
    assert "is not empty" in result.output and "nothing was changed" in result.output
    assert not (home / "checkpoints.jsonl").exists()
    assert audit_verify(fresh_app).exit_code == 0


@pytest.mark.parametrize(
    "damage, message",
    [
        ("no-manifest", "it is not a Passport backup"),
        ("garbage-manifest", "is damaged: it cannot be read"),
        ("newer-format", "is newer than this Passport reads"),
        ("damaged-database", "does not match its manifest"),
        ("missing-checkpoints", "is missing"),
    ],
)
def test_restore_refuses_a_damaged_backup(
    fresh_app: Flask,
    tmp_path: Path,
    target: tuple[Path, str | None],
    damage: str,
    message: str,
) -> None:
    build_data(fresh_app)
    folder = tmp_path / "backup"
    assert cli(env_of(fresh_app), "backup", "create", str(folder)).exit_code == 0
    manifest = folder / "manifest.json"
    if damage == "no-manifest":
        manifest.unlink()
    elif damage == "garbage-manifest":
        manifest.write_text('{"format_version": 1, "head": ')
    elif damage == "newer-format":
        raw = json.loads(manifest.read_text())
        manifest.write_text(json.dumps({**raw, "format_version": backup.FORMAT_VERSION + 1}))
    elif damage == "damaged-database":
        database = folder / (backup.SQLITE_FILE if BACKEND == "sqlite" else backup.PG_FILE)
        content = bytearray(database.read_bytes())
        content[len(content) // 2] ^= 0xFF
        database.write_bytes(bytes(content))
    else:
        (folder / "checkpoints.jsonl").unlink()
    home, url = target
    put_keys_back(fresh_app, home)
    result = cli(env_for(home, url), "backup", "restore", str(folder))
    assert result.exit_code == 1
    assert message in result.output
    assert_empty(url, home)


def test_backup_refuses_a_folder_that_is_not_empty(fresh_app: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "earlier.txt").write_text("an operator's file")
    result = cli(env_of(fresh_app), "backup", "create", str(folder))
    assert result.exit_code == 1
    assert "already exists and is not an empty folder" in result.output
    assert [p.name for p in folder.iterdir()] == ["earlier.txt"]
    # An empty folder is fine.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli(env_of(fresh_app), "backup", "create", str(empty)).exit_code == 0


def test_backup_restore_of_another_backend_is_refused(fresh_app: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    assert cli(env_of(fresh_app), "backup", "create", str(folder)).exit_code == 0
    other = (
        "postgresql+psycopg://postgres@127.0.0.1:5432/none"
        if BACKEND == "sqlite"
        else f"sqlite:///{tmp_path / 'x.db'}"
    )
    home = tmp_path / "h"
    home.mkdir()
    result = cli(env_for(home, other), "backup", "restore", str(folder))
    assert result.exit_code == 1
    assert "restore it into the same kind of database" in result.output


def test_libpq_url_has_no_driver_and_no_password() -> None:
    url, env = backup.libpq("postgresql+psycopg://passport:s3cret@db.internal:5433/passport")
    assert url == "postgresql://passport@db.internal:5433/passport"
    assert env["PGPASSWORD"] == "s3cret"


def test_a_backup_taken_while_the_log_grows_restores_a_log_that_verifies(
    fresh_app: Flask, tmp_path: Path, target: tuple[Path, str | None]
) -> None:
    """Consistent while the service runs: events and checkpoints are committed from another
    thread throughout the backup; the copy's head is one instant's, and it verifies."""
    build_data(fresh_app)
    stop = threading.Event()
    written = []

    def writer() -> None:
        with fresh_app.app_context():
            try:
                while not stop.is_set():
                    fill(5, per_commit=5)
                    checkpoints.sign_head()
                    db.session.commit()
                    written.append(1)
            finally:
                db.session.remove()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while not written:
            time.sleep(0.01)
        folder = tmp_path / "backup"
        made = cli(env_of(fresh_app), "backup", "create", str(folder))
        assert made.exit_code == 0, made.output
    finally:
        stop.set()
        thread.join(30)
    assert len(written) >= 1
    home, url = target
    put_keys_back(fresh_app, home)
    env = env_for(home, url)
    assert cli(env, "backup", "restore", str(folder)).exit_code == 0
    restored = open_restored(env)
    try:
        result = audit_verify(restored)
        assert result.exit_code == 0, result.output
        manifest = json.loads((folder / "manifest.json").read_text())
        assert f"head seq {manifest['head']['seq']}" in result.output
    finally:
        close(restored)
    assert audit_verify(fresh_app).exit_code == 0


def test_round_trip_with_the_keys_in_a_pkcs11_token(
    tmp_path: Path, app: Flask, softhsm: SoftHSM, target: tuple[Path, str | None]
) -> None:
    """With the keys in a token, the backup holds neither them nor the PIN; the restore,
    pointed at the same token (the HSM is restored from its own backup, or never lost) and
    given the signing key back, opens the data and verifies."""
    token = softhsm.token("backup")
    keys = token.env(tmp_path / "pin")
    name = url = None
    if BACKEND == "postgresql":
        name = f"passport_hsm_backup_{uuid.uuid4().hex[:10]}"
        url = create_pg_database(name)
    original = build_app(tmp_path / "home", url, **keys)
    try:
        data = build_data(original)
        before = read_back(original, data)
        folder = tmp_path / "backup"
        made = cli({**env_of(original), **keys}, "backup", "create", str(folder))
        assert made.exit_code == 0, made.output
        assert f"the PKCS#11 token {token.label!r}" in made.output
        for path in folder.iterdir():
            assert token.pin.encode() not in path.read_bytes(), path.name
        home, restore_url = target
        shutil.copy2(settings_of(original).signing_key_path, home / "audit-signing-key.pem")
        env = {**env_for(home, restore_url), **keys}
        restored_out = cli(env, "backup", "restore", str(folder))
        assert restored_out.exit_code == 0, restored_out.output
        restored = open_restored(env)
        try:
            assert audit_verify(restored).exit_code == 0
            assert read_back(restored, data) == before
        finally:
            close(restored)
    finally:
        close(original)
        if name:
            drop_pg_database(name)
        activate(app)
