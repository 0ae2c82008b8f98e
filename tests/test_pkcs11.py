"""The PKCS#11 key provider against a real token (SoftHSM2): keys made in the token, never
leaving it, versioned for rotation, bound to their context; and a production start from
config/example.env's own settings."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from flask import Flask
from pkcs11 import Attribute, KeyType, MechanismFlag, ObjectClass
from pkcs11.exceptions import (
    AttributeSensitive,
    KeyUnextractable,
    PKCS11Error,
    UserAlreadyLoggedIn,
)
from sqlalchemy import select

from passport import activate, create_app, db
from passport.audit.background import background
from passport.config import ConfigError, Settings
from passport.crypto import SealError, data_keys
from passport.crypto.models import DataKey
from passport.crypto.providers.pkcs11 import PKCS11Provider

from .conftest import BACKEND, Api, build_app, create_pg_database, drop_pg_database
from .factories import Factory
from .softhsm import MODULE, SoftHSM, Token

EXAMPLE_ENV = Path(__file__).resolve().parent.parent / "config" / "example.env"


@pytest.fixture
def token(softhsm: SoftHSM) -> Token:
    return softhsm.token("passport")


@pytest.fixture
def hsm_app(tmp_path: Path, app: Flask, token: Token) -> Iterator[Flask]:
    """An app on its own new database (the run's backend) whose keys live in the token."""
    name = url = None
    if BACKEND == "postgresql":
        name = f"passport_hsm_{uuid.uuid4().hex[:10]}"
        url = create_pg_database(name)
    application = build_app(tmp_path / "home", url, **token.env(tmp_path / "pin"))
    try:
        yield application
    finally:
        db.session.remove()
        application.extensions["passport_engine"].dispose()
        if name:
            drop_pg_database(name)
        activate(app)


def token_session(token: Token) -> Any:
    """A session of the test's own on the token, as an attacker holding the PIN would open
    (PKCS#11 login is per process: once the app has logged in, the session is logged in)."""
    found = pkcs11.lib(MODULE).get_token(token_label=token.label)
    try:
        return found.open(rw=True, user_pin=token.pin)
    except UserAlreadyLoggedIn:
        return found.open(rw=True)


def labels(token: Token) -> list[str]:
    session = token_session(token)
    return sorted(
        str(key[Attribute.LABEL])
        for key in session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY})
    )


def test_seal_and_open_round_trip_through_the_token(hsm_app: Flask, token: Token) -> None:
    assert labels(token) == ["passport-kek-index", "passport-kek-v1"]  # made by init-db
    with hsm_app.app_context():
        assert isinstance(data_keys.provider, PKCS11Provider)
        make = Factory()
        worker = make.staff("caseworker")
        person = make.person(name="Marguerite O'Neill", registered_by=worker)
        make.entry(person, person, "story", {"text": "slept in the car park"})
        data_keys.clear_cache()  # the data key must come from the token, not memory
        response = Api(hsm_app.test_client(), make.token(person)).get(
            f"/api/v1/people/{person.id}/passport"
        )
        assert response.status_code == 200, response.json
        assert "slept in the car park" in response.get_data(as_text=True)
        [key] = db.session.execute(select(DataKey)).scalars()
        assert key.kek_version == 1 and key.wrapped is not None
        # The blind index is an HMAC made in the token, and finds the person by name.
        found = Api(hsm_app.test_client(), make.token(worker)).get(
            "/api/v1/people?name= MARGUERITE o'neill "
        )
        assert found.status_code == 200, found.json
        assert [p["id"] for p in found.json["items"]] == [person.id], found.json


def test_the_keys_never_leave_the_token(hsm_app: Flask, token: Token) -> None:
    session = token_session(token)
    for label in ("passport-kek-v1", "passport-kek-index"):
        [key] = session.get_objects({Attribute.LABEL: label})
        assert key[Attribute.TOKEN] and key[Attribute.SENSITIVE]
        assert not key[Attribute.EXTRACTABLE]
        with pytest.raises(AttributeSensitive):
            key[Attribute.VALUE]  # its value cannot be read
        with pytest.raises(PKCS11Error):
            key[Attribute.EXTRACTABLE] = True  # nor made readable later
    # Nor wrapped out under a key the reader holds.
    [kek] = session.get_objects({Attribute.LABEL: "passport-kek-v1"})
    mine = session.generate_key(
        KeyType.AES, 256, capabilities=MechanismFlag.WRAP | MechanismFlag.ENCRYPT
    )
    with pytest.raises(KeyUnextractable):
        mine.wrap_key(kek)


def test_an_extractable_key_under_the_label_is_refused(softhsm: SoftHSM, tmp_path: Path) -> None:
    token = softhsm.token("leaky")
    session = token_session(token)
    session.generate_key(
        KeyType.AES,
        256,
        label="passport-kek-v1",
        store=True,
        template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True},
    )
    softhsm.rescan()  # log this test's session out, as if another program had made the key
    env = {"PASSPORT_HOME": str(tmp_path), **token.env()}
    with pytest.raises(ConfigError, match="can be read out of the token"):
        create_app(Settings.from_env(env), initialise_keys=True)


def test_rotate_then_old_data_opens_and_new_data_uses_the_new_version(
    hsm_app: Flask, token: Token
) -> None:
    with hsm_app.app_context():
        make = Factory()
        before = make.person(name="Before Rotation")
        make.entry(before, before, "story", {"text": "written under v1"})
        [old] = db.session.execute(select(DataKey)).scalars()
        old_wrapped = old.wrapped
        assert old_wrapped is not None
    result = hsm_app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "key-encryption key version 2; 1 data keys re-wrapped" in result.stdout
    assert labels(token) == ["passport-kek-index", "passport-kek-v1", "passport-kek-v2"]
    with hsm_app.app_context():
        data_keys.clear_cache()
        rewrapped = db.session.get(DataKey, old.id)
        assert rewrapped is not None and rewrapped.kek_version == 2
        # A copy wrapped before rotation (a backup, a reader mid-rotation) still opens.
        context = f"data-key|{before.id}|1".encode()
        assert data_keys.provider.unwrap(old_wrapped, context) == data_keys.provider.unwrap(
            rewrapped.wrapped or b"", context
        )
        after = make.person(name="After Rotation")
        new = db.session.execute(select(DataKey).where(DataKey.person_id == after.id)).scalar_one()
        assert new.kek_version == 2
        for person, text in ((before, "written under v1"), (after, None)):
            response = Api(hsm_app.test_client(), make.token(person)).get(
                f"/api/v1/people/{person.id}/passport"
            )
            assert response.status_code == 200
            assert text is None or text in response.get_data(as_text=True)


def test_a_rotation_by_another_process_is_picked_up(hsm_app: Flask, token: Token) -> None:
    settings = hsm_app.config["PASSPORT_SETTINGS"]
    other = PKCS11Provider.open(settings)  # as another gunicorn worker holds it
    assert other.current_version() == 1
    assert data_keys.provider.rotate() == 2
    assert other.current_version() == 2
    wrapped = other.wrap(b"k" * 32, b"ctx")
    assert data_keys.provider.unwrap(wrapped, b"ctx") == b"k" * 32


def test_a_wrapped_key_for_another_person_does_not_unwrap(hsm_app: Flask) -> None:
    provider = data_keys.provider
    raw = os.urandom(32)
    wrapped = provider.wrap(raw, b"data-key|person-a|1")
    assert provider.unwrap(wrapped, b"data-key|person-a|1") == raw
    for context in (b"data-key|person-b|1", b"data-key|person-a|2"):
        with pytest.raises(SealError):
            provider.unwrap(wrapped, context)
    tampered = bytearray(wrapped)
    tampered[-1] ^= 1
    with pytest.raises(SealError):
        provider.unwrap(bytes(tampered), b"data-key|person-a|1")
    # And in the database: one person's wrapped key copied onto another's row opens nothing.
    with hsm_app.app_context():
        make = Factory()
        first, second = make.person(name="First Person"), make.person(name="Second Person")
        sealed = data_keys.seal_json(second.id, "entries", "content", "row-1", {"t": "words"})
        keys = {k.person_id: k for k in db.session.execute(select(DataKey)).scalars()}
        keys[second.id].wrapped = keys[first.id].wrapped
        db.session.commit()
        data_keys.clear_cache()
        with pytest.raises(SealError):
            data_keys.open_json(second.id, "entries", "content", "row-1", sealed)


def test_sessions_are_shared_safely_by_threads(hsm_app: Flask) -> None:
    from concurrent.futures import ThreadPoolExecutor

    provider = data_keys.provider

    def round_trip(n: int) -> bool:
        context = f"data-key|{n}|1".encode()
        raw = os.urandom(32)
        return (
            provider.unwrap(provider.wrap(raw, context), context) == raw
            and len(provider.index_hmac(str(n).encode())) == 32
        )

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(round_trip, range(200)))


def test_a_lost_session_is_reopened(hsm_app: Flask, softhsm: SoftHSM) -> None:
    provider = data_keys.provider
    wrapped = provider.wrap(b"k" * 32, b"ctx")
    softhsm.rescan()  # the library is finalised and initialised again: every session ends
    assert provider.unwrap(wrapped, b"ctx") == b"k" * 32


@pytest.mark.skipif(sys.platform != "linux", reason="fork")
def test_a_forked_worker_uses_the_token_afresh(hsm_app: Flask) -> None:
    """gunicorn may build the app before it forks its workers."""
    provider = data_keys.provider
    wrapped = provider.wrap(b"k" * 32, b"ctx")
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports by its exit code
        try:
            ok = provider.unwrap(wrapped, b"ctx") == b"k" * 32
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert provider.unwrap(wrapped, b"ctx") == b"k" * 32  # and the parent still can


# -- a production start from config/example.env ----------------------------------------------


def example_settings() -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in EXAMPLE_ENV.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            settings[name.strip()] = value.strip()
    return settings


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A new PostgreSQL database whatever the run's backend: production refuses SQLite."""
    import psycopg

    try:
        psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", connect_timeout=3).close()
    except psycopg.OperationalError as error:
        if os.environ.get("CI") == "true" or os.environ.get("PASSPORT_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required here and not reachable: {error}", pytrace=False)
        pytest.skip("PostgreSQL is not reachable")
    name = f"passport_prod_{uuid.uuid4().hex[:10]}"
    url = create_pg_database(name)
    try:
        yield url
    finally:
        db.session.remove()
        drop_pg_database(name)


def test_a_production_start_from_example_env(
    tmp_path: Path, app: Flask, token: Token, postgres_database: str
) -> None:
    example = example_settings()
    assert example["PASSPORT_ENV"] == "production"
    assert example["PASSPORT_KEY_PROVIDER"] == "pkcs11"
    assert example["PASSPORT_PKCS11_MODULE"] == MODULE  # Debian's SoftHSM2, as the example says
    home = tmp_path / "var-lib-passport"
    pin_file = tmp_path / "pkcs11-pin"
    pin_file.write_text(token.pin + "\n")
    pin_file.chmod(0o600)
    # Only what must point at this test's own database, token and home is replaced; the
    # example leaves the secret empty for the operator to fill in.
    assert example["PASSPORT_SECRET_KEY"] == ""
    env = {
        **example,
        "PASSPORT_HOME": str(home),
        "PASSPORT_DATABASE_URL": postgres_database,
        "PASSPORT_SECRET_KEY": os.urandom(36).hex(),
        "PASSPORT_PKCS11_TOKEN": token.label,
        "PASSPORT_PKCS11_PIN_FILE": str(pin_file),
        "PASSPORT_CHECKPOINT_FILE": str(tmp_path / "witness" / "checkpoints.jsonl"),
    }
    assert set(env) == set(example)
    # Before init-db the start is refused: the token holds no keys yet, and none are made.
    with pytest.raises(ConfigError, match="holds no key-encryption key"):
        create_app(Settings.from_env(env))
    assert labels(token) == []

    init = subprocess.run(
        [str(Path(sys.executable).parent / "passport"), "init-db"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("PASSPORT_")}, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    assert f"created key-encryption key passport-kek-v1 in PKCS#11 token {token.label!r}" in (
        init.stdout
    )
    assert not (home / "keyring.json").exists()  # no key-encryption key in any file

    production = create_app(Settings.from_env(env))
    try:
        settings = production.config["PASSPORT_SETTINGS"]
        assert settings.is_production and settings.key_provider == "pkcs11"
        client = production.test_client()
        document = client.get("/api/v1/openapi.json", base_url="https://passport.example.org")
        assert document.status_code == 200 and document.json["openapi"].startswith("3.")
        page = client.get("/", base_url="https://passport.example.org")
        assert page.status_code in (200, 302)
    finally:
        background.stop()
        db.session.remove()
        production.extensions["passport_engine"].dispose()
        activate(app)
