"""The chain, the checkpoints and the verifier (AUDIT_FORMAT.md), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from passport import audit, db
from passport.audit import checkpoints, verify
from passport.audit.chain import GENESIS_HASH, canonical
from passport.audit.integrator import integrate_once
from passport.audit.models import AuditCheckpoint, AuditEvent, AuditPending
from passport.config import ConfigError
from passport.identity.actor import SYSTEM
from passport.vocabulary import Action, Outcome

from . import independent_verifier


def record_view(person_id: str | None = None, **extra: Any) -> None:
    audit.record(
        actor=SYSTEM.as_event(),
        action=Action.RECORD_VIEW,
        outcome=Outcome.ALLOWED,
        person_id=person_id or str(uuid.uuid4()),
        sections=["risk", "medication"],
        purpose="direct_support",
        basis={"kind": "grant", "id": str(uuid.uuid4())},
        detail={"entries": 2},
        **extra,
    )


def fill(count: int, per_commit: int = 10) -> None:
    """`count` events through record + commit + integrate, `per_commit` per transaction."""
    for done in range(count):
        record_view()
        if (done + 1) % per_commit == 0 or done + 1 == count:
            db.session.commit()
            audit.integrate_all()


def export_text() -> str:
    """The live log as an NDJSON export."""
    lines = []
    for row in verify.database_rows():
        lines.append(json.dumps(dict(zip(verify.EXPORT_FIELDS, row, strict=True))))
    return "\n".join(lines) + "\n"


def public_key_raw() -> bytes:
    return checkpoints.signing_key().public_raw


def own_keys() -> dict[str, Any]:
    return verify.public_keys(checkpoints.signing_key().public)


# -- canonical JSON --------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_fast_canonical_json_is_exactly_rfc8785(value):
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical(value)
        return
    assert canonical(value) == expected


def test_canonical_json_handles_the_awkward_cases():
    awkward = {
        "\u00e9": 1,
        "z": 1.0,
        "a": 'line\nbreak \u2028 \x7f \x01 "q" \\',
        "\U0001f600": [True, None, 1e21, -0.0, 5e-7],
        "\ufb01": {},
    }
    assert canonical(awkward) == rfc8785.dumps(awkward)
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical({"n": 2**53})


# -- the chain -------------------------------------------------------------------------------


def test_events_are_chained_gapless_from_seq_one(ctx):
    fill(25, per_commit=7)
    rows = db.session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) >= 25
    prev = GENESIS_HASH
    for row in rows:
        assert row.prev_hash == prev
        expected = hashlib.sha256(bytes.fromhex(prev) + rfc8785.dumps(row.body())).hexdigest()
        assert row.entry_hash == expected
        prev = row.entry_hash
    assert db.session.execute(select(func.count()).select_from(AuditPending)).scalar_one() == 0


def test_event_holds_identifiers_never_content(ctx, make):
    person = make.person(name="Zebedee Quartermaine", preferred_name="Zeb")
    make.entry(person, person, "medication", {"name": "Clozapinexyz", "dose": "5 mg"})
    exported = export_text()
    assert person.id in exported
    for secret in ("Zebedee", "Quartermaine", 'Zeb"', "Clozapinexyz", "5 mg"):
        assert secret not in exported


def test_integrate_once_without_waiting_chains_when_the_lock_is_free(ctx):
    record_view()
    db.session.flush()
    assert integrate_once(wait=False) == 1
    assert integrate_once(wait=False) == 0
    db.session.commit()


# -- checkpoints -----------------------------------------------------------------------------


def test_first_batch_then_every_hundred_events_are_checkpointed(ctx):
    fill(1)
    first = checkpoints.last()
    assert first is not None and first[0] == 1
    fill(99, per_commit=99)  # 99 events since the checkpoint: not yet
    assert checkpoints.last()[0] == 1
    fill(1)  # the hundredth
    assert checkpoints.last()[0] == 101
    statement = db.session.execute(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    ).scalar_one()
    event = db.session.get(AuditEvent, statement.seq)
    assert statement.entry_hash == event.entry_hash
    assert statement.key_id == hashlib.sha256(public_key_raw()).hexdigest()[:16]
    signature = base64.b64decode(statement.signature, validate=True)
    checkpoints.signing_key().public.verify(
        signature,
        rfc8785.dumps(
            {
                "log_id": statement.log_id,
                "seq": statement.seq,
                "entry_hash": statement.entry_hash,
                "signed_at": statement.signed_at,
            }
        ),
    )


def test_a_checkpoint_is_signed_after_sixty_seconds_while_events_arrive(ctx):
    fill(3, per_commit=1)  # a checkpoint at seq 1 (the first batch) only
    assert checkpoints.last()[0] == 1
    seq, digest = db.session.execute(
        select(AuditEvent.seq, AuditEvent.entry_hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).one()
    checkpoints.sign(seq, digest, datetime.now(UTC) - timedelta(seconds=61))
    db.session.commit()
    fill(1)  # one event, but a minute has passed
    assert checkpoints.last()[0] == seq + 1
    fill(1)  # and now it has not
    assert checkpoints.last()[0] == seq + 1


def test_signing_key_is_private_and_separate_from_the_keyring(ctx):
    settings_ = ctx.config["PASSPORT_SETTINGS"]
    key = checkpoints.signing_key()
    path = settings_.signing_key_path
    assert path.exists() and path != settings_.keyring_path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert key.key_id == hashlib.sha256(key.public_raw).hexdigest()[:16]
    assert len(key.public_raw) == 32


def test_signing_key_is_created_only_by_init_and_never_replaced(tmp_path):
    path = tmp_path / "nested" / "signing.pem"
    with pytest.raises(ConfigError, match=r"signing key .* is missing"):
        checkpoints.SigningKey.load(path)
    assert not path.parent.exists()  # loading created nothing
    created = checkpoints.SigningKey.create_missing(path, checkpoints_exist=False)
    assert created == [f"audit signing key {path}"]
    first = checkpoints.SigningKey.load(path)
    assert checkpoints.SigningKey.create_missing(path, checkpoints_exist=True) == []
    assert checkpoints.SigningKey.load(path).key_id == first.key_id
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert list(path.parent.iterdir()) == [path]  # no temporary files left behind


def test_init_refuses_a_new_signing_key_for_a_log_already_signed(tmp_path):
    path = tmp_path / "signing.pem"
    with pytest.raises(ConfigError, match="holds checkpoints signed by it"):
        checkpoints.SigningKey.create_missing(path, checkpoints_exist=True)
    assert not path.exists()


@pytest.mark.parametrize("content", [b"", b"not a key\n"])
def test_an_empty_or_corrupt_signing_key_is_refused(tmp_path, content):
    path = tmp_path / "signing.pem"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="empty" if not content else "corrupt"):
        checkpoints.SigningKey.load(path)
    assert path.read_bytes() == content


@pytest.fixture
def witness_file(ctx: Flask, tmp_path: Path) -> Any:
    """Point the checkpoint file at a fresh file for this test (the session app's own file
    collects checkpoints of rolled-back tests)."""
    original = ctx.config["PASSPORT_SETTINGS"]
    path = tmp_path / "witness" / "checkpoints.jsonl"
    checkpoints.configure(dataclasses.replace(original, checkpoint_file=path))
    yield path
    checkpoints.configure(original)


def test_checkpoints_reach_the_file_only_when_committed(ctx, witness_file):
    fill(2)
    lines = witness_file.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["seq"] == 2
    seq, digest = db.session.execute(
        select(AuditEvent.seq, AuditEvent.entry_hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).one()
    checkpoints.sign(seq, digest)
    db.session.rollback()
    assert len(witness_file.read_text().splitlines()) == 1
    made = checkpoints.sign_head()
    db.session.commit()
    lines = witness_file.read_text().splitlines()
    line = json.loads(lines[1])
    assert len(lines) == 2 and line == {**made.as_json(), "database_id": line["database_id"]}


# -- verification ----------------------------------------------------------------------------


def test_live_log_verifies_and_reports_its_head(ctx, witness_file):
    fill(130, per_commit=20)
    result = verify.verify_database()
    assert result.ok, result.problem
    head = db.session.execute(select(func.max(AuditEvent.seq))).scalar_one()
    assert result.checked == head and result.head_seq == head
    assert result.head_hash == db.session.get(AuditEvent, head).entry_hash
    assert result.first_bad_seq is None
    assert result.checkpoints >= 2


def test_independent_verifier_accepts_an_export(ctx, witness_file):
    fill(120, per_commit=15)
    text = export_text()
    verdict = independent_verifier.verify(text, witness_file.read_text(), public_key_raw())
    assert verdict.ok, verdict
    assert verdict.events == text.count("\n")
    ours = verify.verify_export(
        text.splitlines(), witness_file.read_text().splitlines(), own_keys()
    )
    assert ours.ok and ours.checked == verdict.events


def test_export_lines_may_end_in_any_json_whitespace_but_nothing_else(ctx, witness_file):
    fill(12, per_commit=12)
    lines = export_text().splitlines()
    cps = witness_file.read_text().splitlines()
    padded = [f" \t{line}\r\n" for line in lines]
    padded_result = verify.verify_export(padded, cps, own_keys())
    assert padded_result.ok and padded_result.checked == 12
    not_json_space = [*lines[:5], "\u00a0" + lines[5], *lines[6:]]
    result = verify.verify_export(not_json_space, cps, own_keys())
    assert not result.ok and result.first_bad_seq == 6
    assert "line 6 is not valid JSON" in str(result.problem)


def test_a_log_with_no_checkpoint_is_refused(ctx):
    fill(3)
    text = export_text()
    result = verify.verify_export(text.splitlines(), [], own_keys())
    assert not result.ok and result.first_bad_seq == 1
    assert not independent_verifier.verify(text, "", public_key_raw()).ok


def test_verifier_reports_progress(ctx, witness_file):
    fill(30, per_commit=30)
    seen: list[int] = []
    result = verify.verify(
        verify.database_events(), checkpoints.from_database(), own_keys(), progress=seen.append
    )
    assert result.ok and sum(seen) == result.checked


# -- the command line -----------------------------------------------------------------------


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_checkpoint_and_verify(fresh_app):
    empty = run(fresh_app, "audit", "checkpoint")
    assert empty.exit_code == 1 and "empty" in empty.stderr
    with fresh_app.app_context():
        fill(40, per_commit=8)
    signed = run(fresh_app, "audit", "checkpoint")
    assert signed.exit_code == 0, signed.output
    statement = json.loads(signed.stdout)
    assert statement["seq"] == 40
    settings_ = fresh_app.config["PASSPORT_SETTINGS"]
    line = json.loads(settings_.checkpoints_path.read_text().splitlines()[-1])
    assert line.pop("database_id") and line == statement  # the file also names the database

    intact = run(fresh_app, "audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert "intact: 40 events" in intact.stdout
    assert "Verifying" in intact.stderr  # the progress bar

    with fresh_app.app_context():
        exported = export_text()
    export_file = settings_.home / "export.ndjson"
    export_file.write_text(exported)
    ok = run(fresh_app, "audit", "verify", "--export", str(export_file))
    assert ok.exit_code == 0, ok.output

    lines = exported.splitlines()
    event = json.loads(lines[16])
    event["outcome"] = "denied"
    lines[16] = json.dumps(event)
    export_file.write_text("\n".join(lines) + "\n")
    bad = run(fresh_app, "audit", "verify", "--export", str(export_file))
    assert bad.exit_code == 1
    assert "seq 17" in bad.stderr

    with fresh_app.app_context():
        logged = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == Action.AUDIT_VERIFY)
        ).scalars()
        assert list(logged) == []  # verify on the command line writes nothing


def test_an_event_the_chain_cannot_canonicalise_is_refused_before_it_is_queued(ctx):
    """An integer beyond I-JSON's range would stop the integrator for every later event."""
    from sqlalchemy import func, select

    from passport.audit.models import AuditPending
    from passport.identity.actor import SYSTEM

    before = db.session.execute(select(func.count()).select_from(AuditPending)).scalar_one()
    with pytest.raises(ValueError, match="canonicalised"):
        audit.record(
            actor=SYSTEM.as_event(),
            action="audit.query",
            outcome="allowed",
            detail={"after_seq": 2**63},
        )
    after = db.session.execute(select(func.count()).select_from(AuditPending)).scalar_one()
    assert after == before
    assert audit.integrate_all() >= 0  # the queue still moves


def test_out_of_range_sequence_numbers_are_a_422(make, api_as):
    dpo = api_as(make.staff("dpo", scheme_wide=True))
    for path in (
        f"/api/v1/audit/events?after_seq={2**63}",
        f"/api/v1/audit/export?limit={2**60}",
        f"/api/v1/audit/checkpoints?after_seq={2**53}",
    ):
        response = dpo.get(path)
        assert response.status_code == 422, path
        assert response.json["type"] == "/problems/validation-error"
