"""Fail safe, never regenerate: a key store that cannot be used stops the start, naming it, and
nothing is created; only init-db makes keys; `passport audit verify` writes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from passport import audit, create_app, db
from passport.audit.models import AuditCheckpoint, AuditEvent, AuditPending
from passport.config import ConfigError, Settings
from passport.identity.actor import SYSTEM
from passport.vocabulary import Action, Outcome

from .factories import Factory
from .softhsm import MODULE, SoftHSM

PASSPORT = Path(sys.executable).parent / "passport"


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under `folder` with its size and modification time."""
    if not folder.exists():
        return {}
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
    }


def env_for(home: Path, **extra: str) -> dict[str, str]:
    return {
        "PASSPORT_HOME": str(home),
        "PASSPORT_ENV": "test",
        "PASSPORT_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        **extra,
    }


def refused(home: Path, **extra: str) -> str:
    with pytest.raises(ConfigError) as raised:
        create_app(Settings.from_env(env_for(home, **extra)))
    return str(raised.value)


def passport(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSPORT_")}
    return subprocess.run(
        [str(PASSPORT), *args],
        env={**env, "PASSPORT_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- the local keyring ------------------------------------------------------------------------


def test_a_missing_keyring_refuses_the_start_and_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    message = refused(home)
    assert f"the keyring file {home / 'keyring.json'} is missing" in message
    assert "Nothing was created" in message
    assert not home.exists()
    home.mkdir()
    refused(home)
    assert snapshot(home) == {}


def test_after_init_a_lost_keyring_is_refused_not_regenerated(fresh_app: Flask) -> None:
    settings = fresh_app.config["PASSPORT_SETTINGS"]
    with fresh_app.app_context():
        Factory().person()  # a data key now depends on the keyring
    settings.keyring_path.unlink()
    before = snapshot(settings.home)
    with pytest.raises(ConfigError, match=r"keyring\.json is missing"):
        create_app(settings)
    # Not even init-db makes a new one while the database holds data keys sealed under it.
    with pytest.raises(ConfigError, match="the database holds data keys sealed under it"):
        create_app(settings, initialise_keys=True)
    assert snapshot(settings.home) == before
    assert not settings.keyring_path.exists()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "is empty"),
        (b"\n  \n", "is empty"),
        (b"{not json", "is corrupt"),
        (b'{"current": 1, "keks": {}, "blind_index_key": "AAAA"}', "is corrupt"),
        (b'{"current": 2, "keks": {"1": "' + b"A" * 44 + b'"}}', "is corrupt"),
        (b"[1, 2, 3]", "is corrupt"),
    ],
)
def test_an_empty_or_corrupt_keyring_is_refused_and_left_alone(
    fresh_app: Flask, content: bytes, says: str
) -> None:
    settings = fresh_app.config["PASSPORT_SETTINGS"]
    settings.keyring_path.write_bytes(content)
    message = refused(settings.home)
    assert f"the keyring file {settings.keyring_path} {says}" in message
    # init-db does not overwrite it either: it is restored from backup, not replaced.
    with pytest.raises(ConfigError, match=says):
        create_app(settings, initialise_keys=True)
    assert settings.keyring_path.read_bytes() == content


def test_a_missing_signing_key_is_refused(fresh_app: Flask) -> None:
    settings = fresh_app.config["PASSPORT_SETTINGS"]
    settings.signing_key_path.unlink()
    assert "audit signing key" in refused(settings.home)
    assert not settings.signing_key_path.exists()


def test_only_init_db_creates_the_keyring(tmp_path: Path) -> None:
    home = tmp_path / "instance"
    verify = passport(home, "audit", "verify")
    assert verify.returncode == 1
    assert "Passport cannot start: the keyring file" in verify.stderr
    assert "Traceback" not in verify.stderr
    assert not home.exists()  # no keys, no database, not even the folder
    init = passport(home, "init-db")
    assert init.returncode == 0, init.stderr
    assert f"created keyring {home / 'keyring.json'}" in init.stdout
    keyring = (home / "keyring.json").read_bytes()
    again = passport(home, "init-db")
    assert again.returncode == 0, again.stderr
    assert "created" not in again.stdout
    assert (home / "keyring.json").read_bytes() == keyring
    (home / "keyring.json").write_bytes(b"")
    broken = passport(home, "agency", "add", "Riverside", "--kind", "housing")
    assert broken.returncode != 0
    assert "keyring.json is empty" in broken.stderr and "Traceback" not in broken.stderr


# -- the PKCS#11 token -------------------------------------------------------------------------


def test_a_wrong_pin_is_refused_naming_it(softhsm: SoftHSM, tmp_path: Path) -> None:
    token = softhsm.token("wrong-pin")
    home = tmp_path / "home"
    message = refused(home, **{**token.env(), "PASSPORT_PKCS11_PIN": "not-the-pin"})
    assert f"the PIN for the PKCS#11 token {token.label!r}" in message
    assert "was refused" in message and "not-the-pin" not in message
    assert not home.exists()


def test_an_unknown_token_is_refused_naming_it(softhsm: SoftHSM, tmp_path: Path) -> None:
    token = softhsm.token("known")
    message = refused(tmp_path, **{**token.env(), "PASSPORT_PKCS11_TOKEN": "no-such-token"})
    assert message == (
        f"there is no PKCS#11 token 'no-such-token' (PASSPORT_PKCS11_TOKEN) in {MODULE}"
    )


def test_a_token_without_keys_is_refused_and_nothing_made(softhsm: SoftHSM, tmp_path: Path) -> None:
    import pkcs11
    from pkcs11 import Attribute, ObjectClass

    token = softhsm.token("empty")
    message = refused(tmp_path, **token.env())
    assert "holds no key-encryption key labelled passport-kek-v<N>" in message
    softhsm.rescan()
    session = pkcs11.lib(MODULE).get_token(token_label=token.label).open(user_pin=token.pin)
    assert list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY})) == []


def test_an_unloadable_module_is_refused_naming_it(tmp_path: Path) -> None:
    fake = tmp_path / "libnothsm.so"
    fake.write_bytes(b"\x7fELF not really")
    message = refused(
        tmp_path,
        PASSPORT_KEY_PROVIDER="pkcs11",
        PASSPORT_PKCS11_MODULE=str(fake),
        PASSPORT_PKCS11_TOKEN="passport",
        PASSPORT_PKCS11_PIN="1234",
    )
    assert f"PASSPORT_PKCS11_MODULE {fake} cannot be loaded" in message


def pkcs11_settings_refusal(tmp_path: Path, **env: str) -> str:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(
            {"PASSPORT_HOME": str(tmp_path), "PASSPORT_KEY_PROVIDER": "pkcs11", **env}
        )
    return str(raised.value)


def test_pkcs11_settings_are_checked_at_start_up(tmp_path: Path) -> None:
    nothing = pkcs11_settings_refusal(tmp_path)
    assert "needs PASSPORT_PKCS11_MODULE" in nothing
    assert "needs PASSPORT_PKCS11_TOKEN" in nothing
    assert "needs the token's PIN" in nothing
    module = {"PASSPORT_PKCS11_MODULE": MODULE, "PASSPORT_PKCS11_TOKEN": "passport"}
    absent = pkcs11_settings_refusal(
        tmp_path, **{**module, "PASSPORT_PKCS11_MODULE": "/nowhere/lib.so"}
    )
    assert "PASSPORT_PKCS11_MODULE /nowhere/lib.so is not a file" in absent
    unreadable = pkcs11_settings_refusal(
        tmp_path, **module, PASSPORT_PKCS11_PIN_FILE=str(tmp_path / "no-pin")
    )
    assert f"PASSPORT_PKCS11_PIN_FILE {tmp_path / 'no-pin'} cannot be read" in unreadable
    (tmp_path / "empty-pin").write_text("\n")
    empty = pkcs11_settings_refusal(
        tmp_path, **module, PASSPORT_PKCS11_PIN_FILE=str(tmp_path / "empty-pin")
    )
    assert "is empty" in empty
    both = pkcs11_settings_refusal(
        tmp_path,
        **module,
        PASSPORT_PKCS11_PIN="1",
        PASSPORT_PKCS11_PIN_FILE=str(tmp_path / "empty-pin"),
    )
    assert "not both" in both
    label = pkcs11_settings_refusal(
        tmp_path, **module, PASSPORT_PKCS11_PIN="1", PASSPORT_PKCS11_KEY_LABEL="a b"
    )
    assert "PASSPORT_PKCS11_KEY_LABEL" in label
    ok = Settings.from_env({"PASSPORT_HOME": str(tmp_path), **module, "PASSPORT_PKCS11_PIN": "1"})
    assert "pkcs11_pin=" not in repr(ok)  # the PIN is never shown


def test_production_accepts_pkcs11_and_still_refuses_local(tmp_path: Path) -> None:
    production = {
        "PASSPORT_HOME": str(tmp_path),
        "PASSPORT_ENV": "production",
        "PASSPORT_SECRET_KEY": "k" * 48,
        "PASSPORT_DATABASE_URL": "postgresql+psycopg://passport@db.internal/passport",
    }
    with pytest.raises(ConfigError, match="refuses the local keyring"):
        Settings.from_env(production)
    loaded = Settings.from_env(
        {
            **production,
            "PASSPORT_KEY_PROVIDER": "pkcs11",
            "PASSPORT_PKCS11_MODULE": MODULE,
            "PASSPORT_PKCS11_TOKEN": "passport",
            "PASSPORT_PKCS11_PIN": "1234",
        }
    )
    assert loaded.key_provider == "pkcs11" and loaded.pkcs11_key_label == "passport-kek"


# -- audit verify writes nothing -------------------------------------------------------------


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            model.__tablename__: int(
                db.session.execute(select(func.count()).select_from(model)).scalar_one()
            )
            for model in (AuditEvent, AuditCheckpoint, AuditPending)
        }


def test_audit_verify_on_the_command_line_writes_nothing(fresh_app: Flask) -> None:
    settings = fresh_app.config["PASSPORT_SETTINGS"]
    with fresh_app.app_context():
        make = Factory()
        make.person()  # chained and signed
        # One event queued but not chained yet: verify must not chain (nor sign) it.
        audit.record(
            actor=SYSTEM.as_event(), action=Action.KEYS_ROTATE, outcome=Outcome.ALLOWED, detail={}
        )
        db.session.commit()
    before, files = counts(fresh_app), snapshot(settings.home)
    assert before["audit_pending"] == 1 and before["audit_checkpoints"] >= 1
    result: Any = fresh_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "the access log is intact" in result.stdout
    assert "1 queued events are not chained yet" in result.stdout
    assert counts(fresh_app) == before
    assert snapshot(settings.home) == files
