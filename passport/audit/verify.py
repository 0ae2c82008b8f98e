"""Verifying the log (AUDIT_FORMAT.md "Verifying"), the live database or an NDJSON export.

Recompute the chain from seq 1 (gapless, each `prev_hash` the previous `entry_hash`, each
`entry_hash` SHA-256 of it and the JCS body); every checkpoint must carry a valid signature
by a known key and match the event at its seq; a checkpoint past the last seq means the log
was truncated. Events past the last checkpoint are accepted only as far as the signing rule
allows (fewer than `EVERY_EVENTS`, occurred within `EVERY_SECONDS` of it, plus a little for
clock skew): a longer unsigned tail is reported as appended without a checkpoint.

Rows are streamed as plain tuples (no ORM objects); hashing is the cost.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select

from .. import db
from .chain import GENESIS_HASH, PlainReader, canonical, canonical_plain
from .checkpoints import EVERY_EVENTS, EVERY_SECONDS, STATEMENT_FIELDS, key_id_of, parse_time
from .models import AuditEvent

CLOCK_SKEW = timedelta(seconds=5)
PROGRESS_EVERY = 10_000

# (body, prev_hash, entry_hash, plain) per event, in the order given; `plain` if a
# PlainReader vouched that the body may take the fast canonical encoder.
EventTriple = tuple[dict[str, Any], Any, Any, bool]
Progress = Callable[[int], None]

_sha256 = hashlib.sha256
_fromhex = bytes.fromhex


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    checkpoints: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": {"seq": self.head_seq, "entry_hash": self.head_hash},
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "checkpoints": self.checkpoints,
        }


class _Bad(Exception):
    def __init__(self, seq: int | None, problem: str, head: tuple[int, str] | None = None) -> None:
        super().__init__(problem)
        self.seq = seq
        self.problem = problem
        self.head = head  # the end of the trusted prefix, if not the last event read


class MalformedInput(Exception):
    """A line of an export or checkpoint file is not a JSON object."""


# -- the checks -----------------------------------------------------------------------------


def public_keys(*keys: Ed25519PublicKey | bytes) -> dict[str, Ed25519PublicKey]:
    """Trusted signing keys by key_id."""
    out: dict[str, Ed25519PublicKey] = {}
    for key in keys:
        public = Ed25519PublicKey.from_public_bytes(key) if isinstance(key, bytes) else key
        out[key_id_of(public.public_bytes_raw())] = public
    return out


def _signature_problem(
    checkpoint: dict[str, Any], keys: dict[str, Ed25519PublicKey], log_id: str | None
) -> str | None:
    statement = {name: checkpoint.get(name) for name in STATEMENT_FIELDS}
    if not isinstance(statement["seq"], int) or isinstance(statement["seq"], bool):
        return "a checkpoint has no valid seq"
    if log_id is not None and statement["log_id"] != log_id:
        return f"the checkpoint at seq {statement['seq']} names another log"
    key = keys.get(str(checkpoint.get("key_id")))
    if key is None:
        return f"the checkpoint at seq {statement['seq']} is signed by an unknown key"
    try:
        signature = base64.b64decode(str(checkpoint.get("signature")), validate=True)
        key.verify(signature, canonical(statement))
    except (InvalidSignature, binascii.Error, ValueError):
        return f"the checkpoint at seq {statement['seq']} has a bad signature"
    return None


def verify(
    events: Iterable[EventTriple],
    checkpoints: Iterable[dict[str, Any]],
    keys: dict[str, Ed25519PublicKey],
    *,
    log_id: str | None = None,
    progress: Progress | None = None,
) -> VerifyResult:
    """Verify `events` (in seq order) against `checkpoints` signed by one of `keys`.

    `log_id`, if given, is the log the checkpoints must name; otherwise they must agree."""
    by_seq: dict[int, list[dict[str, Any]]] = {}
    seen: set[tuple[Any, ...]] = set()
    for checkpoint in checkpoints:
        identity = tuple(checkpoint.get(k) for k in (*STATEMENT_FIELDS, "signature", "key_id"))
        if identity in seen:
            continue  # the same checkpoint from the database and from the file
        seen.add(identity)
        seq = checkpoint.get("seq")
        by_seq.setdefault(seq if isinstance(seq, int) else -1, []).append(checkpoint)
    if log_id is None:
        names = {c.get("log_id") for group in by_seq.values() for c in group}
        if len(names) > 1:
            return VerifyResult(
                False, 0, 0, GENESIS_HASH, None, "the checkpoints name more than one log"
            )
    last_signed = max((s for s in by_seq if s > 0), default=0)

    checked = 0
    expected = 1
    prev = GENESIS_HASH
    signed = 0
    covered_seq = 0
    covered_at = ""
    # (seq, occurred_at, prev_hash) past the last checkpoint, at most EVERY_EVENTS of them
    tail: list[tuple[int, Any, str]] = []

    def check_checkpoints(seq: int, digest: str) -> None:
        nonlocal signed, covered_seq, covered_at
        for checkpoint in by_seq.pop(seq):
            problem = _signature_problem(checkpoint, keys, log_id)
            if problem:
                raise _Bad(seq, problem)
            if checkpoint.get("entry_hash") != digest:
                raise _Bad(
                    seq,
                    f"the signed checkpoint at seq {seq} does not match the log: the events "
                    f"up to seq {seq} were rewritten",
                )
            signed += 1
            covered_seq = seq
            covered_at = max(covered_at, str(checkpoint["signed_at"]))

    try:
        if -1 in by_seq:
            raise _Bad(None, "a checkpoint has no valid seq")
        iterator = iter(events)
        while True:
            try:
                item = next(iterator, None)
            except MalformedInput as error:
                raise _Bad(expected, f"seq {expected}: {error}") from None
            if item is None:
                break
            body, prev_hash, stored, plain = item
            seq = body.get("seq")
            if seq != expected:
                if isinstance(seq, int) and not isinstance(seq, bool) and seq > expected:
                    raise _Bad(expected, f"seq {expected} is missing (the next event is {seq})")
                raise _Bad(expected, f"expected seq {expected} here, found {seq!r}")
            if prev_hash != prev:
                raise _Bad(
                    seq, f"the prev_hash of seq {seq} is not the entry_hash of seq {seq - 1}"
                )
            payload = canonical_plain(body) if plain else canonical(body)
            digest = _sha256(_fromhex(prev) + payload).hexdigest()
            if digest != stored:
                raise _Bad(seq, f"the entry_hash of seq {seq} does not match its content")
            if seq in by_seq:
                check_checkpoints(seq, digest)
            if seq > last_signed and len(tail) < EVERY_EVENTS:
                tail.append((seq, body.get("occurred_at"), prev))
            prev = digest
            expected += 1
            checked += 1
            if progress is not None and checked % PROGRESS_EVERY == 0:
                progress(PROGRESS_EVERY)
        if progress is not None and checked % PROGRESS_EVERY:
            progress(checked % PROGRESS_EVERY)
        last_seq = expected - 1
        for seq in sorted(by_seq):
            for checkpoint in by_seq[seq]:
                problem = _signature_problem(checkpoint, keys, log_id)
                if problem:
                    raise _Bad(seq, problem)
            raise _Bad(
                last_seq + 1,
                f"the log ends at seq {last_seq} but a signed checkpoint covers seq {seq}: "
                f"the log was truncated",
            )
        _check_unsigned_tail(last_seq, covered_seq, covered_at, tail)
    except _Bad as bad:
        head_seq, head_hash = bad.head or (expected - 1, prev)
        return VerifyResult(
            False, checked, head_seq, head_hash, bad.seq, bad.problem, checkpoints=signed
        )
    return VerifyResult(True, checked, expected - 1, prev, checkpoints=signed)


def _check_unsigned_tail(
    last_seq: int, covered_seq: int, covered_at: str, tail: list[tuple[int, Any, str]]
) -> None:
    """Events past the last checkpoint must fit the signing rule, or they were appended by
    someone without the signing key."""
    if last_seq <= covered_seq:
        return
    unsigned = [item for item in tail if item[0] > covered_seq]
    trusted = (unsigned[0][0] - 1, unsigned[0][2])
    if not covered_at:
        raise _Bad(covered_seq + 1, "no signed checkpoint covers the log", trusted)
    if last_seq - covered_seq >= EVERY_EVENTS:
        raise _Bad(
            covered_seq + EVERY_EVENTS,
            f"{last_seq - covered_seq} events follow the last signed checkpoint (seq "
            f"{covered_seq}); one is signed at least every {EVERY_EVENTS}",
            trusted,
        )
    limit = parse_time(covered_at) + timedelta(seconds=EVERY_SECONDS) + CLOCK_SKEW
    for seq, occurred_at, prev in unsigned:
        try:
            late = parse_time(str(occurred_at)) > limit
        except ValueError:
            late = True
        if late:
            raise _Bad(
                seq,
                f"seq {seq} occurred more than {EVERY_SECONDS} s after the last signed "
                f"checkpoint (seq {covered_seq}) and no checkpoint covers it",
                (seq - 1, prev),
            )


# -- sources --------------------------------------------------------------------------------


def export_events(lines: Iterable[str]) -> Iterator[EventTriple]:
    """Events from NDJSON lines (an export): the body is the event without its two hashes."""
    loads = PlainReader().loads
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event, plain = loads(line)
        except ValueError:
            raise MalformedInput(f"line {number} is not valid JSON") from None
        if not isinstance(event, dict):
            raise MalformedInput(f"line {number} is not a JSON object")
        prev_hash = event.pop("prev_hash", None)
        stored = event.pop("entry_hash", None)
        yield event, prev_hash, stored, plain


def read_checkpoint_file(path: Path) -> list[dict[str, Any]]:
    """Checkpoints from a JSON-lines file (a missing file holds none)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as lines:
        return read_checkpoint_lines(lines)


def read_checkpoint_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            checkpoint = json.loads(line)
        except ValueError:
            raise MalformedInput(f"checkpoint line {number} is not valid JSON") from None
        if not isinstance(checkpoint, dict):
            raise MalformedInput(f"checkpoint line {number} is not a JSON object")
        out.append(checkpoint)
    return out


_BODY_COLUMNS = (
    AuditEvent.seq,
    AuditEvent.occurred_at,
    AuditEvent.action,
    AuditEvent.outcome,
    AuditEvent.actor,
    AuditEvent.person_id,
    AuditEvent.sections,
    AuditEvent.purpose,
    AuditEvent.basis,
    AuditEvent.reason,
    AuditEvent.request_id,
    AuditEvent.detail,
)
BODY_FIELDS = tuple(c.key for c in _BODY_COLUMNS)
EXPORT_COLUMNS = (*_BODY_COLUMNS, AuditEvent.prev_hash, AuditEvent.entry_hash)
EXPORT_FIELDS = tuple(c.key for c in EXPORT_COLUMNS)


def database_rows(
    after_seq: int = 0, limit: int | None = None, chunk: int = 5000
) -> Iterator[tuple[Any, ...]]:
    """Stream event rows as plain tuples in seq order (EXPORT_FIELDS), without ORM objects."""
    query = select(*EXPORT_COLUMNS).where(AuditEvent.seq > after_seq).order_by(AuditEvent.seq)
    if limit is not None:
        query = query.limit(limit)
    result = db.session.execute(query, execution_options={"yield_per": chunk})
    for partition in result.partitions():
        yield from (tuple(row) for row in partition)


_VERIFY_SQL = (
    "SELECT seq, occurred_at, action, outcome, CAST(actor AS TEXT), person_id, "
    "CAST(sections AS TEXT), purpose, CAST(basis AS TEXT), reason, request_id, "
    "CAST(detail AS TEXT), prev_hash, entry_hash FROM audit_events ORDER BY seq"
)


def _driver_rows(sql: str, chunk: int) -> Iterator[tuple[Any, ...]]:
    """Rows straight from the driver (a server-side cursor on PostgreSQL): verifying a
    million events cannot afford a result-processing layer per row."""
    connection = db.session.connection()
    driver: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        cursor = driver.cursor(name="passport_verify")
        cursor.itersize = chunk
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk):
            yield from rows
    finally:
        cursor.close()


def database_events(chunk: int = 10_000) -> Iterator[EventTriple]:
    """The live log, streamed; the four JSON columns are parsed in one go per row."""
    loads = PlainReader().loads
    for row in _driver_rows(_VERIFY_SQL, chunk):
        parsed, plain = loads(f"[{row[4]},{row[6]},{row[8] or 'null'},{row[11]}]")
        body = {
            "seq": row[0],
            "occurred_at": row[1],
            "action": row[2],
            "outcome": row[3],
            "actor": parsed[0],
            "person_id": row[5],
            "sections": parsed[1],
            "purpose": row[7],
            "basis": parsed[2],
            "reason": row[9],
            "request_id": row[10],
            "detail": parsed[3],
        }
        yield body, row[12], row[13], plain


def database_count() -> int:
    return int(db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def write_export(rows: Iterable[tuple[Any, ...]], out: TextIO) -> int:
    """Write rows (EXPORT_FIELDS) as NDJSON; returns how many."""
    count = 0
    for row in rows:
        out.write(json.dumps(dict(zip(EXPORT_FIELDS, row, strict=True)), ensure_ascii=False))
        out.write("\n")
        count += 1
    return count


# -- this installation ----------------------------------------------------------------------


def _installation_checkpoints(files: Iterable[Path]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in files:
        out.extend(read_checkpoint_file(path))
    return out


def verify_database(
    checkpoint_file: Path | None = None, progress: Progress | None = None
) -> VerifyResult:
    """Verify the live log against the checkpoints in the database and in the checkpoint
    file (this installation's, or `checkpoint_file`), with this installation's key."""
    from .checkpoints import checkpoints_path, from_database, signing_key
    from .setup import log_id

    try:
        outside = _installation_checkpoints([checkpoint_file or checkpoints_path()])
    except MalformedInput as error:
        return VerifyResult(False, 0, 0, GENESIS_HASH, None, str(error))
    return verify(
        database_events(),
        [*from_database(), *outside],
        public_keys(signing_key().public),
        log_id=log_id(),
        progress=progress,
    )


def verify_export(
    lines: Iterable[str],
    checkpoint_lines: Iterable[str],
    keys: dict[str, Ed25519PublicKey],
    *,
    log_id: str | None = None,
    progress: Progress | None = None,
) -> VerifyResult:
    try:
        checkpoints = read_checkpoint_lines(checkpoint_lines)
    except MalformedInput as error:
        return VerifyResult(False, 0, 0, GENESIS_HASH, None, str(error))
    return verify(export_events(lines), checkpoints, keys, log_id=log_id, progress=progress)
