"""The `passport` command (API.md "Command line"), run against an app whose commits are real."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from passport import db
from passport.audit.models import AuditEvent
from passport.crypto.models import DataKey
from passport.identity.models import Agency, Person, Staff

from .conftest import Api

PASSWORD = "a-long-enough-password"


def run(app: Flask, *args: str, stdin: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=list(args), input=stdin)


def new_agency(app: Flask, kind: str = "housing") -> str:
    result = run(app, "agency", "add", "Riverside Housing", "--kind", kind)
    assert result.exit_code == 0, result.output
    return str(result.stdout.strip())


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


def test_init_db_is_idempotent(fresh_app):
    agency_id = new_agency(fresh_app)
    for _ in range(2):
        result = run(fresh_app, "init-db")
        assert result.exit_code == 0, result.output
        assert "database is up to date" in result.stdout
    with fresh_app.app_context():
        assert db.session.get(Agency, agency_id) is not None
        versions = db.session.execute(text("SELECT version_num FROM alembic_version")).all()
        assert len(versions) == 1


def test_demo_prints_the_logins_and_they_work(fresh_app):
    result = run(fresh_app, "demo")
    assert result.exit_code == 0, result.output
    assert "Demo logins" in result.stdout
    for login in ("jess (person)", "amara (caseworker", "dpo (", "admin ("):
        assert login in result.stdout
    assert count(fresh_app, Person) >= 2
    assert count(fresh_app, Staff) >= 6
    token = run(fresh_app, "token", "issue", "jess")
    assert token.exit_code == 0, token.output
    me = Api(fresh_app.test_client(), token.stdout.strip()).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json["kind"] == "person" and me.json["name"] == "Jess"


def test_the_demo_includes_a_registration_waiting_for_its_set_up_code(fresh_app):
    result = run(fresh_app, "demo")
    [line] = [line for line in result.stdout.splitlines() if "sam (person" in line]
    code = line.split("set-up code ")[1].split()[0]
    client = fresh_app.test_client()
    setup = {"username": "sam", "setup_code": code, "password": "sams-own-passphrase"}
    assert client.post("/api/v1/account/setup", json=setup).status_code == 200
    again = client.post("/api/v1/account/setup", json={**setup, "password": "another-one-1"})
    assert again.status_code == 400  # single use


def test_the_demo_has_assisted_grants_confirmed_and_not(fresh_app):
    from passport.consent.models import Grant

    assert run(fresh_app, "demo").exit_code == 0
    with fresh_app.app_context():
        assisted = [
            g
            for g in db.session.execute(select(Grant)).unique().scalars()
            if g.obtained_method != "self"
        ]
        assert {g.confirmed_at is not None for g in assisted} == {True, False}


def test_demo_twice_is_refused_without_half_loading(fresh_app):
    assert run(fresh_app, "demo").exit_code == 0
    agencies = count(fresh_app, Agency)
    again = run(fresh_app, "demo")
    assert again.exit_code != 0
    # Its first agency's name is taken now (agency names are unique, whatever the case).
    assert "already an agency called 'Riverside Housing First'" in again.output
    assert count(fresh_app, Agency) == agencies  # rolled back, nothing half-done


def test_agency_add_prints_its_id(fresh_app):
    agency_id = new_agency(fresh_app, "substance_use")
    assert uuid.UUID(agency_id)
    with fresh_app.app_context():
        agency = db.session.get(Agency, agency_id)
        assert agency is not None
        assert (agency.name, agency.kind) == ("Riverside Housing", "substance_use")
        [event] = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "admin.agency_add")
        ).scalars()
        assert event.detail == {"agency_id": agency_id}
        assert event.actor["kind"] == "system"


def test_agency_add_refuses_an_unknown_kind(fresh_app):
    result = run(fresh_app, "agency", "add", "Castle", "--kind", "castle")
    assert result.exit_code != 0
    assert "unknown agency kind" in result.output
    assert "housing" in result.output  # says what would be accepted
    assert "Traceback" not in result.output
    assert count(fresh_app, Agency) == 0
    missing = run(fresh_app, "agency", "add", "No kind")
    assert missing.exit_code != 0
    assert "--kind" in missing.output


def test_staff_add_reads_the_password_from_stdin(fresh_app):
    from passport.identity.accounts import authenticate

    agency_id = new_agency(fresh_app)
    result = run(
        fresh_app,
        "staff",
        "add",
        "amara",
        "--agency",
        agency_id,
        "--role",
        "caseworker",
        "--role",
        "mdt_chair",
        "--name",
        "Amara Okafor",
        stdin=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    staff_id = result.stdout.strip()
    assert PASSWORD not in result.output
    with fresh_app.app_context():
        member = db.session.get(Staff, staff_id)
        assert member is not None
        assert member.name == "Amara Okafor"
        assert sorted(member.roles) == ["caseworker", "mdt_chair"]
        assert member.agency_id == agency_id
        assert PASSWORD not in member.password_hash
        assert member.password_hash.startswith("$argon2id$")
        assert authenticate("amara", PASSWORD) is not None
        assert authenticate("amara", "wrong-password-entirely") is None


def test_staff_add_scheme_wide_dpo(fresh_app):
    agency_id = new_agency(fresh_app)
    args = ["staff", "add", "helen", "--agency", agency_id, "--role", "dpo", "--scheme-wide"]
    result = run(fresh_app, *args, stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    with fresh_app.app_context():
        member = db.session.get(Staff, result.stdout.strip())
        assert member is not None and member.scheme_wide
    not_dpo = run(
        fresh_app,
        *["staff", "add", "tom", "--agency", agency_id, "--role", "caseworker", "--scheme-wide"],
        stdin=PASSWORD + "\n",
    )
    assert not_dpo.exit_code != 0
    assert "DPO" in not_dpo.output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--agency", "UNKNOWN", "--role", "caseworker"], PASSWORD, "no agency"),
        (["--agency", "AGENCY", "--role", "caseworker"], "short", "at least 10 characters"),
        (["--agency", "AGENCY", "--role", "cook"], PASSWORD, "unknown role"),
        (["--agency", "AGENCY", "--role", "caseworker"], "", "standard input"),
    ],
)
def test_staff_add_refusals(fresh_app, args, stdin, message):
    agency_id = new_agency(fresh_app)
    args = [
        agency_id if a == "AGENCY" else str(uuid.uuid4()) if a == "UNKNOWN" else a for a in args
    ]
    result = run(fresh_app, "staff", "add", "someone", *args, stdin=stdin + "\n" if stdin else "")
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert count(fresh_app, Staff) == 0


def test_staff_add_refuses_a_taken_username(fresh_app):
    agency_id = new_agency(fresh_app)
    args = ["staff", "add", "same", "--agency", agency_id, "--role", "caseworker"]
    assert run(fresh_app, *args, stdin=PASSWORD + "\n").exit_code == 0
    again = run(fresh_app, *args, stdin=PASSWORD + "\n")
    assert again.exit_code != 0
    assert "already in use" in again.output
    assert count(fresh_app, Staff) == 1


def test_person_add_and_token_issue(fresh_app):
    result = run(
        fresh_app,
        *["person", "add", "--name", "Jessica Hartley", "--username", "jess"],
        *["--preferred-name", "Jess", "--dob", "1992-03-14"],
        stdin=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    person_id = result.stdout.strip()
    with fresh_app.app_context():
        person = db.session.get(Person, person_id)
        assert person is not None and person.username == "jess"
        assert count(fresh_app, DataKey) == 1

    issued = run(fresh_app, "token", "issue", "jess", "--ttl", "600")
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    api = Api(fresh_app.test_client(), token)
    me = api.get("/api/v1/me")
    assert me.status_code == 200, me.json
    assert me.json == {
        "id": person_id,
        "kind": "person",
        "name": "Jess",
        "roles": [],
        "agency_id": None,
    }
    # The CLI created the profile entry from what it was given.
    view = api.get(f"/api/v1/people/{person_id}/passport")
    [profile] = view.json["sections"]["profile"]
    assert profile["content"] == {
        "name": "Jessica Hartley",
        "preferred_name": "Jess",
        "date_of_birth": "1992-03-14",
    }


def test_token_issue_for_staff(fresh_app):
    agency_id = new_agency(fresh_app)
    args = ["staff", "add", "amara", "--agency", agency_id, "--role", "caseworker"]
    staff_id = run(fresh_app, *args, stdin=PASSWORD + "\n").stdout.strip()
    issued = run(fresh_app, "token", "issue", "amara")
    assert issued.exit_code == 0, issued.output
    me = Api(fresh_app.test_client(), issued.stdout.strip()).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json["id"] == staff_id
    assert me.json["roles"] == ["caseworker"]


def test_token_issue_refusals(fresh_app):
    unknown = run(fresh_app, "token", "issue", "nobody")
    assert unknown.exit_code != 0
    assert "no account" in unknown.output
    bad_ttl = run(fresh_app, "token", "issue", "nobody", "--ttl", "0")
    assert bad_ttl.exit_code != 0


def test_cli_tokens_live_a_day_at_most(fresh_app):
    agency_id = new_agency(fresh_app)
    args = ["staff", "add", "amara", "--agency", agency_id, "--role", "caseworker"]
    run(fresh_app, *args, stdin=PASSWORD + "\n")
    ninety_days = run(fresh_app, "token", "issue", "amara", "--ttl", str(90 * 86400))
    assert ninety_days.exit_code != 0
    assert "86400" in ninety_days.output
    assert run(fresh_app, "token", "issue", "amara", "--ttl", "86400").exit_code == 0


def test_a_default_token_lifetime_over_a_day_refuses_the_start(tmp_path):
    from passport.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="at most 86400 seconds"):
        Settings.from_env({"PASSPORT_HOME": str(tmp_path), "PASSPORT_TOKEN_TTL": str(90 * 86400)})
    Settings.from_env({"PASSPORT_HOME": str(tmp_path), "PASSPORT_TOKEN_TTL": "86400"})


def test_person_add_refusals(fresh_app):
    short = run(fresh_app, "person", "add", "--name", "A B", "--username", "ab", stdin="short\n")
    assert short.exit_code != 0
    assert "at least 10 characters" in short.output
    bad_date = run(
        fresh_app,
        *["person", "add", "--name", "A B", "--username", "ab", "--dob", "14/03/1992"],
        stdin=PASSWORD + "\n",
    )
    assert bad_date.exit_code != 0
    assert "--dob" in bad_date.output
    assert count(fresh_app, Person) == 0


def test_keys_rotate(fresh_app):
    person_add = ["person", "add", "--name", "Jessica Hartley", "--username", "jess"]
    assert run(fresh_app, *person_add, stdin=PASSWORD + "\n").exit_code == 0
    keyring = fresh_app.config["PASSPORT_SETTINGS"].keyring_path
    result = run(fresh_app, "keys", "rotate")
    assert result.exit_code == 0, result.output
    assert "key-encryption key version 2; 1 data keys re-wrapped" in result.stdout
    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    with fresh_app.app_context():
        [key] = db.session.execute(select(DataKey)).scalars()
        assert key.kek_version == 2
    token = run(fresh_app, "token", "issue", "jess").stdout.strip()
    assert Api(fresh_app.test_client(), token).get("/api/v1/me").json["name"] == "Jessica Hartley"


def test_the_installed_command_uses_passport_home(tmp_path: Path):
    """The console script builds its app from the environment (PASSPORT_HOME), not a fixture."""
    home = tmp_path / "instance"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PASSPORT_")},
        "PASSPORT_HOME": str(home),
    }
    command = Path(sys.executable).parent / "passport"

    def passport(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(command), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
        )

    init = passport("init-db")
    assert init.returncode == 0, init.stderr
    assert (home / "passport.db").exists()
    assert stat.S_IMODE((home / "keyring.json").stat().st_mode) == 0o600
    added = passport("agency", "add", "Riverside", "--kind", "housing")
    assert added.returncode == 0, added.stderr
    assert uuid.UUID(added.stdout.strip())
