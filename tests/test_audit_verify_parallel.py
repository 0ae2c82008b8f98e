"""Verifying the live log in ranges (in worker processes, on PostgreSQL) gives exactly the
answer of the sequential verifier: the same first bad seq, problem, head and counts."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
import rfc8785
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from passport.audit import checkpoints, verify
from passport.audit.chain import GENESIS_HASH
from passport.audit.setup import log_id

from .conftest import BACKEND
from .test_audit_chain import json_values, own_keys
from .test_audit_tamper import (
    build_log,
    db_bad_signature,
    db_truncate,
    engine_of,
    lift_append_only_guard,
)

postgres_only = pytest.mark.skipif(BACKEND != "postgresql", reason="worker processes: PostgreSQL")

RANGE = 50  # the log of 250 events (build_log) in ranges starting at seq 51, 101, 151, 201


def reference() -> verify.VerifyResult:
    """The sequential verifier over the events as `verify` takes them."""
    outside = verify.read_checkpoint_file(checkpoints.checkpoints_path())
    return verify.verify(
        verify.database_events(),
        [*checkpoints.from_database(), *outside],
        own_keys(),
        log_id=log_id(),
    )


def in_ranges(progress: Any = None) -> verify.VerifyResult:
    return verify.verify_database(progress=progress, workers=2, parallel_from=0, range_events=RANGE)


def rehash_one(conn: Any, seq: int, prev_hash: str) -> None:
    """Give `seq` another prev_hash and an entry_hash that matches it: only the link breaks."""
    row = dict(conn.execute(text(f"SELECT * FROM audit_events WHERE seq = {seq}")).one()._mapping)
    body = {
        k: json.loads(v)
        if k in ("actor", "sections", "basis", "detail") and isinstance(v, str)
        else v
        for k, v in row.items()
        if k not in ("prev_hash", "entry_hash", "actor_id", "actor_agency_id")
    }
    digest = hashlib.sha256(bytes.fromhex(prev_hash) + rfc8785.dumps(body)).hexdigest()
    conn.execute(
        text("UPDATE audit_events SET prev_hash = :p, entry_hash = :e WHERE seq = :s"),
        {"p": prev_hash, "e": digest, "s": seq},
    )


def alter_mid_range(conn: Any) -> int:
    conn.execute(text("UPDATE audit_events SET outcome = 'denied' WHERE seq = 77"))
    return 77


def alter_first_of_a_range(conn: Any) -> int:
    conn.execute(text("UPDATE audit_events SET action = 'record.write' WHERE seq = 101"))
    return 101


def break_the_link_at_a_boundary(conn: Any) -> int:
    rehash_one(conn, 101, "ab" * 32)
    return 101


def break_the_link_before_a_boundary(conn: Any) -> int:
    rehash_one(conn, 100, "cd" * 32)
    return 100


def delete_the_first_of_a_range(conn: Any) -> int:
    conn.execute(text("DELETE FROM audit_events WHERE seq = 151"))
    return 151


def delete_the_last_of_a_range(conn: Any) -> int:
    conn.execute(text("DELETE FROM audit_events WHERE seq = 150"))
    return 150


def delete_a_whole_range(conn: Any) -> int:
    conn.execute(text("DELETE FROM audit_events WHERE seq >= 101 AND seq < 151"))
    return 101


def delete_the_first_event(conn: Any) -> int:
    conn.execute(text("DELETE FROM audit_events WHERE seq = 1"))
    return 1


def two_problems_in_two_ranges(conn: Any) -> int:
    conn.execute(text("UPDATE audit_events SET outcome = 'denied' WHERE seq IN (60, 180)"))
    return 60


TAMPERS = [
    alter_mid_range,
    alter_first_of_a_range,
    break_the_link_at_a_boundary,
    break_the_link_before_a_boundary,
    delete_the_first_of_a_range,
    delete_the_last_of_a_range,
    delete_a_whole_range,
    delete_the_first_event,
    two_problems_in_two_ranges,
    db_truncate,  # the tail past a checkpoint the file remembers
    db_bad_signature,
]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the ranges handed to worker processes (so the test knows they were used)."""
    calls: list[int] = []
    real = verify._scan_in_parallel

    def counting(*args: Any, **kw: Any) -> Any:
        calls.append(len(args[3]))
        return real(*args, **kw)

    monkeypatch.setattr(verify, "_scan_in_parallel", counting)
    return calls


@postgres_only
def test_an_intact_log_verifies_the_same_in_ranges(fresh_app: Flask, spy: list[int]) -> None:
    with fresh_app.app_context():
        build_log()
        seen: list[int] = []
        parallel = in_ranges(seen.append)
        assert spy == [5]
        assert parallel.ok, parallel.problem
        assert parallel == verify.verify_database() == reference()
        assert sum(seen) == parallel.checked
        # below the threshold, or with one worker: this process alone, in the snapshot
        assert verify.verify_database(workers=2) == parallel
        assert verify.verify_database(workers=1, parallel_from=0) == parallel
        assert spy == [5]


@postgres_only
@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda t: t.__name__)
def test_tampering_is_located_the_same_in_ranges(
    fresh_app: Flask, spy: list[int], tamper: Any
) -> None:
    with fresh_app.app_context():
        build_log()
    lift_append_only_guard(fresh_app)
    with engine_of(fresh_app).begin() as conn:
        bad_seq = tamper(conn)
    with fresh_app.app_context():
        expected = reference()
        assert not expected.ok
        assert expected.first_bad_seq == bad_seq, expected.problem
        assert verify.verify_database() == expected
        assert in_ranges() == expected
        assert spy == [5]
    cli = fresh_app.test_cli_runner().invoke(args=["audit", "verify", "--workers", "2"])
    assert cli.exit_code == 1
    assert f"at seq {bad_seq}:" in cli.output


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_verify_refuses_a_worker_count_that_is_not_a_positive_number(fresh_app, workers):
    cli = fresh_app.test_cli_runner().invoke(args=["audit", "verify", "--workers", workers])
    assert cli.exit_code == 2  # a usage error, before anything is read
    assert "--workers" in cli.output and "Traceback" not in cli.output


# -- the body of a row, spliced ---------------------------------------------------------------

maybe_text = st.none() | st.text(max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=2**53 - 2),
    strings=st.tuples(st.text(max_size=8), st.text(max_size=8), st.text(max_size=8)),
    optional=st.tuples(maybe_text, maybe_text, maybe_text, maybe_text),
    columns=st.tuples(json_values, json_values, json_values, json_values),
    ascii_only=st.booleans(),
    spaced=st.booleans(),
)
def test_a_spliced_row_body_is_exactly_rfc8785(
    seq: int,
    strings: tuple[str, str, str],
    optional: tuple[str | None, ...],
    columns: tuple[Any, Any, Any, Any],
    ascii_only: bool,
    spaced: bool,
) -> None:
    """The row scanner's canonical body (a template, escaped strings, and the JCS of each
    JSON column) hashes as RFC 8785 of the whole body does."""
    occurred_at, action, outcome = strings
    person_id, purpose, reason, request_id = optional
    actor, sections, basis, detail = columns
    body = {
        "seq": seq,
        "occurred_at": occurred_at,
        "action": action,
        "outcome": outcome,
        "actor": actor,
        "person_id": person_id,
        "sections": sections,
        "purpose": purpose,
        "basis": basis,
        "reason": reason,
        "request_id": request_id,
        "detail": detail,
    }
    separators = (", ", ": ") if spaced else (",", ":")

    def stored(value: Any) -> str:
        return json.dumps(value, ensure_ascii=ascii_only, separators=separators)

    def row(seq: int, prev_hash: str) -> tuple[tuple[Any, ...], str]:
        try:
            payload = rfc8785.dumps({**body, "seq": seq})
            digest = hashlib.sha256(bytes.fromhex(prev_hash) + payload).hexdigest()
        except rfc8785.CanonicalizationError:
            digest = "not canonical"
        stored_basis = None if basis is None and spaced else stored(basis)
        return (
            seq,
            occurred_at,
            action,
            outcome,
            stored(actor),
            person_id,
            stored(sections),
            purpose,
            stored_basis,
            reason,
            request_id,
            stored(detail),
            prev_hash,
            digest,
        ), digest

    first, digest = row(seq, GENESIS_HASH)
    second, next_digest = row(seq + 1, digest)  # its JSON columns come from memory
    span = verify._scan([[first, second]], verify._Job(None, None, {}, (), None, 0), None)
    if digest == "not canonical":
        assert span.problem is not None and span.problem[0] == seq
        return
    assert span.problem is None, span.problem
    assert span.first == (seq, GENESIS_HASH)
    assert span.count == 2 and span.last == (seq + 1, next_digest)


# -- what the row scanner looks at twice --------------------------------------------------------


def chained_rows(seqs: range, actor: str = "s1") -> list[tuple[Any, ...]]:
    """`_VERIFY_SQL` rows of events at `seqs`, chained from the start; a seq JCS refuses
    gets a hash of zeros."""
    prev_hash = GENESIS_HASH
    out = []
    for seq in seqs:
        body = {
            "seq": seq,
            "occurred_at": "2026-12-02T10:00:00.000000Z",
            "action": "record.view",
            "outcome": "allowed",
            "actor": {"id": actor, "kind": "staff"},
            "person_id": "p1",
            "sections": ["risk"],
            "purpose": "direct_support",
            "basis": {"id": "g1", "kind": "grant"},
            "reason": None,
            "request_id": f"r{seq}",
            "detail": {},
        }
        try:
            payload = rfc8785.dumps(body)
            digest = hashlib.sha256(bytes.fromhex(prev_hash) + payload).hexdigest()
        except rfc8785.CanonicalizationError:
            digest = GENESIS_HASH
        stored = {
            k: json.dumps(v) if k in ("actor", "sections", "basis", "detail") else v
            for k, v in body.items()
        }
        out.append((*(stored[name] for name in verify.BODY_FIELDS), prev_hash, digest))
        prev_hash = digest
    return out


def test_the_scanner_refuses_a_seq_past_the_jcs_range_in_the_middle_of_a_range() -> None:
    """A seq past 2**53 - 1 takes the slow path, whose rfc8785 refuses it (the actor's
    non-ASCII id keeps the body off the fast encoder), wherever it is in a range."""
    top = 2**53 - 1  # the largest integer JCS writes
    rows = chained_rows(range(top - 2, top + 2), actor="Zoë")
    span = verify._scan([rows[:2], rows[2:]], verify._Job(None, None, {}, (), None, 0), None)
    assert span.count == 3 and span.last == (top, rows[2][-1])
    assert span.problem is not None
    seq, problem, before = span.problem
    assert (seq, before) == (top + 1, rows[2][-1])
    assert problem.startswith(f"seq {top + 1} cannot be canonicalised: "), problem


def test_the_scanner_marks_each_checkpointed_seq_and_keeps_the_unsigned_tail() -> None:
    rows = chained_rows(range(101, 400))
    # seq 50 is before the range (never met), 450 past its end (left for the merge)
    at = [50, 101, 102, 250, 300, 399, 450]
    checkpointed = {seq: [{"seq": seq, "key_id": "unknown"}] for seq in at}
    job = verify._Job(None, None, checkpointed, (), None, 280)
    span = verify._scan([rows[i : i + 7] for i in range(0, len(rows), 7)], job, None)
    assert span.problem is None and span.count == len(rows)
    by_seq = {row[0]: row for row in rows}
    assert span.marks == {s: (by_seq[s][-1], by_seq[s][-2]) for s in at if s in by_seq}
    assert set(span.signatures) == set(span.marks)
    assert span.tail == [(s, by_seq[s][1], by_seq[s][-2]) for s in range(281, 381)]
