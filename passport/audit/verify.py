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
import math
import multiprocessing
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from multiprocessing.util import Finalize
from pathlib import Path
from typing import Any, TextIO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import URL, Connection, create_engine, func, select
from sqlalchemy.pool import NullPool

from .. import db
from .chain import GENESIS_HASH, PlainReader, canonical, canonical_plain
from .checkpoint_file import DAMAGED_TAIL, MalformedInput
from .checkpoint_file import read as read_file
from .checkpoints import (
    EVERY_EVENTS,
    EVERY_SECONDS,
    STATEMENT_FIELDS,
    from_database,
    key_id_of,
    parse_time,
)
from .models import BODY_FIELDS, AuditEvent

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
    # What the verifier noticed that does not fail the log (a damaged last line of the
    # checkpoint file: the log is still checked against every whole line).
    warnings: tuple[str, ...] = ()

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


def _index_checkpoints(
    checkpoints: Iterable[dict[str, Any]], log_id: str | None
) -> dict[int, list[dict[str, Any]]] | VerifyResult:
    """Checkpoints by seq (-1 for one without a valid seq), the same one from the database
    and from the file counted once; or the failure if they name more than one log."""
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
    if -1 in by_seq:
        return VerifyResult(False, 0, 0, GENESIS_HASH, None, "a checkpoint has no valid seq")
    return by_seq


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
    by_seq = _index_checkpoints(checkpoints, log_id)
    if isinstance(by_seq, VerifyResult):
        return by_seq
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
                raise _Bad(seq, _rewritten_problem(seq))
            signed += 1
            covered_seq = seq
            covered_at = max(covered_at, str(checkpoint["signed_at"]))

    try:
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
                raise _Bad(expected, _seq_problem(expected, seq))
            if prev_hash != prev:
                raise _Bad(seq, _link_problem(seq))
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
        _check_the_end(expected - 1, by_seq, keys, log_id)
        _check_unsigned_tail(expected - 1, covered_seq, covered_at, tail)
    except _Bad as bad:
        head_seq, head_hash = bad.head or (expected - 1, prev)
        return VerifyResult(
            False, checked, head_seq, head_hash, bad.seq, bad.problem, checkpoints=signed
        )
    return VerifyResult(True, checked, expected - 1, prev, checkpoints=signed)


def _seq_problem(expected: int, seq: Any) -> str:
    if isinstance(seq, int) and not isinstance(seq, bool) and seq > expected:
        return f"seq {expected} is missing (the next event is {seq})"
    return f"expected seq {expected} here, found {seq!r}"


def _link_problem(seq: int) -> str:
    return f"the prev_hash of seq {seq} is not the entry_hash of seq {seq - 1}"


def _rewritten_problem(seq: int) -> str:
    return (
        f"the signed checkpoint at seq {seq} does not match the log: the events up to seq "
        f"{seq} were rewritten"
    )


def _check_the_end(
    last_seq: int,
    left: dict[int, list[dict[str, Any]]],
    keys: dict[str, Ed25519PublicKey],
    log_id: str | None,
) -> None:
    """Checkpoints `left` over once the log has been read to `last_seq`: past its end."""
    for seq in sorted(left):
        for checkpoint in left[seq]:
            problem = _signature_problem(checkpoint, keys, log_id)
            if problem:
                raise _Bad(seq, problem)
        raise _Bad(
            last_seq + 1,
            f"the log ends at seq {last_seq} but a signed checkpoint covers seq {seq}: "
            f"the log was truncated",
        )


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


_JSON_WHITESPACE = " \t\r\n"


def export_events(lines: Iterable[str]) -> Iterator[EventTriple]:
    """Events from NDJSON lines (an export): the body is the event without its two hashes."""
    loads = PlainReader().loads
    for number, line in enumerate(lines, 1):
        text = line.strip(_JSON_WHITESPACE)  # the newline would send loads the slow way
        if not text:
            continue
        try:
            event, plain = loads(text)
        except ValueError:
            raise MalformedInput(f"line {number} is not valid JSON") from None
        if not isinstance(event, dict):
            raise MalformedInput(f"line {number} is not a JSON object")
        prev_hash = event.pop("prev_hash", None)
        stored = event.pop("entry_hash", None)
        yield event, prev_hash, stored, plain


def read_checkpoint_file(path: Path) -> list[dict[str, Any]]:
    """Checkpoints from a JSON-lines file (a missing file holds none), its whole lines only:
    a damaged last line (torn by a crash or a full disk) is left out."""
    return read_file(path).checkpoints


def read_checkpoint_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Checkpoints from the lines of a checkpoint file; a last line that is not JSON is
    damaged and left out (use `read_checkpoint_file` to also catch one cut short)."""
    return _checkpoint_lines(lines)[0]


def _checkpoint_lines(lines: Iterable[str]) -> tuple[list[dict[str, Any]], bool]:
    numbered = [(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    out: list[dict[str, Any]] = []
    for index, (number, line) in enumerate(numbered):
        try:
            checkpoint = json.loads(line)
        except ValueError:
            if index == len(numbered) - 1:
                return out, True
            raise MalformedInput(f"checkpoint line {number} is not valid JSON") from None
        if not isinstance(checkpoint, dict):
            raise MalformedInput(f"checkpoint line {number} is not a JSON object")
        out.append(checkpoint)
    return out, False


_BODY_COLUMNS = tuple(getattr(AuditEvent, name) for name in BODY_FIELDS)
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
    "CAST(detail AS TEXT), prev_hash, entry_hash FROM audit_events"
)


def _range_sql(low: int | None = None, high: int | None = None) -> str:
    """The rows with `low` <= seq < `high` (a bound of None is open), in seq order."""
    bounds = [f"seq >= {int(low)}"] if low is not None else []
    if high is not None:
        bounds.append(f"seq < {int(high)}")
    where = f" WHERE {' AND '.join(bounds)}" if bounds else ""
    return f"{_VERIFY_SQL}{where} ORDER BY seq"


def _driver_batches(
    connection: Connection, sql: str, chunk: int
) -> Iterator[Sequence[tuple[Any, ...]]]:
    """Rows straight from the driver (a server-side cursor on PostgreSQL), a batch at a time:
    verifying a million events cannot afford a result-processing layer per row."""
    driver: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        cursor = driver.cursor(name="passport_verify")
        cursor.itersize = chunk
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk):
            yield rows
    finally:
        cursor.close()


def _row_body(
    row: Sequence[Any], loads: Callable[[str], tuple[Any, bool]]
) -> tuple[dict[str, Any], bool]:
    """The body of a `_VERIFY_SQL` row; the four JSON columns are parsed in one go."""
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
    return body, plain


def database_events(chunk: int = 10_000) -> Iterator[EventTriple]:
    """The live log, streamed, as `verify` takes it."""
    loads = PlainReader().loads
    for rows in _driver_batches(db.session.connection(), _range_sql(), chunk):
        for row in rows:
            body, plain = _row_body(row, loads)
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


# -- the live log, fast and in ranges ------------------------------------------------------
#
# Each row stores its prev_hash, so every row can be checked on its own. A range of seqs is
# scanned into a `_Span`: its first row, the first problem inside it (gap, link, hash),
# the hashes at checkpointed seqs and their signatures' verdicts. `_Merge` then walks the
# spans in seq order exactly as `verify` walks events — links across ranges, checkpoints,
# truncation, the unsigned tail — so one span (the whole log, in this process) or many
# (ranges, in worker processes) give the answer `verify(database_events(), ...)` gives.
# A body is canonicalised by splicing: the keys are fixed and ASCII, so JCS of the body is
# a template filled with JSON strings (the C escaper writes them as JCS does) and the JCS
# of each JSON column, remembered by its stored text (actors and details repeat).

PARALLEL_FROM = 50_000  # fewer events: spawning processes costs more than it saves
RANGES_PER_WORKER = 8
MIN_RANGE = 10_000
_FETCH = 10_000
_JSON_MEMORY = 50_000

_escape = json.encoder.encode_basestring
_SAFE_INT = 2**53 - 1  # beyond, JCS refuses an integer
_SHA256 = hashlib.sha256()  # copied, never updated
_NO_ROW = object()  # no seq equals it


@dataclass(frozen=True)
class _Job:
    """A range of seqs to scan (`low` <= seq < `high`, None is open) and what it needs."""

    low: int | None
    high: int | None
    checkpoints: dict[int, list[dict[str, Any]]]  # those at seqs in the range, as indexed
    keys: tuple[bytes, ...]  # raw public keys
    log_id: str | None
    last_signed: int  # the highest checkpointed seq: rows past it form the unsigned tail


@dataclass
class _Span:
    """What scanning a range found (it comes back from a worker process: plain data)."""

    count: int = 0  # rows that passed
    first: tuple[Any, Any] | None = None  # (seq, prev_hash) of the first row, if any
    last: tuple[int, str] | None = None  # (seq, entry_hash) of the last row that passed
    # the first problem: (seq, problem, hash of the row before it or None if that row is in
    # an earlier range); rows from there on were not read
    problem: tuple[int, str, str | None] | None = None
    marks: dict[int, tuple[str, str]] = field(default_factory=dict)  # seq: (hash, prev_hash)
    signatures: dict[int, list[str | None]] = field(default_factory=dict)  # seq: problems
    tail: list[tuple[int, Any, str]] = field(default_factory=list)


def _whole_log(
    by_seq: dict[int, list[dict[str, Any]]], keys: tuple[bytes, ...], log_id: str | None
) -> _Job:
    last_signed = max((s for s in by_seq if s > 0), default=0)
    return _Job(None, None, by_seq, keys, log_id, last_signed)


def _split(job: _Job, top: int, size: int) -> list[_Job]:
    """`job` (the whole log, up to seq `top` and beyond) as ranges of `size` seqs; the first
    range is open below and the last above, so every row is in one."""
    cuts = list(range(1 + size, top + 1, size))
    jobs = []
    for low, high in zip([None, *cuts], [*cuts, None], strict=True):
        checkpoints = {
            seq: group
            for seq, group in job.checkpoints.items()
            if (low is None or seq >= low) and (high is None or seq < high)
        }
        jobs.append(replace(job, low=low, high=high, checkpoints=checkpoints))
    return jobs


def _json_text(text: str, memory: dict[str, str], loads: Callable[[str], tuple[Any, bool]]) -> str:
    """JCS of a JSON column's stored `text`, remembered."""
    value, plain = loads(text)
    out = (canonical_plain(value) if plain else canonical(value)).decode()
    if len(memory) >= _JSON_MEMORY:
        memory.clear()
    memory[text] = out
    return out


def _scan(
    batches: Iterable[Sequence[Sequence[Any]]], job: _Job, progress: Progress | None
) -> _Span:
    """Check the rows of one range (`_VERIFY_SQL` rows in seq order): each row's hash, and
    the seq and link of every row but the first (`_Merge` checks that one).

    This loop is most of what verifying costs, so a row that needs nothing more pays one
    comparison for all that is rare: a seq at or past `watch` may be checkpointed, in the
    unsigned tail or too large for JCS (the first row is always watched), and is looked at
    again. The hash starts from a copy of a fresh SHA-256 object, cheaper than a new one."""
    span = _Span()
    keys = public_keys(*job.keys)
    checkpointed = job.checkpoints
    last_signed = job.last_signed
    marks = sorted(checkpointed)
    next_mark = 0  # the index in `marks` of the next checkpointed seq
    tail = span.tail
    loads = PlainReader().loads
    memory: dict[str, str] = {}
    escape, fresh, fromhex = _escape, _SHA256.copy, _fromhex
    prev: str | None = None  # the hash of the previous row, once there is one
    expected: Any = _NO_ROW  # the seq the next row must have, once there is a row
    watch: float = -math.inf
    count = reported = 0
    for rows in batches:
        for row in rows:
            (
                seq,
                occurred_at,
                action,
                outcome,
                actor,
                person_id,
                sections,
                purpose,
                basis,
                reason,
                request_id,
                detail,
                prev_hash,
                stored,
            ) = row
            if seq != expected or prev_hash != prev:
                if prev is None:
                    span.first = (seq, prev_hash)
                elif seq != expected:
                    span.problem = (expected, _seq_problem(expected, seq), prev)
                    break
                else:
                    span.problem = (seq, _link_problem(seq), prev)
                    break
            try:
                text = (
                    f'{{"action":{escape(action)},'
                    f'"actor":{memory.get(actor) or _json_text(actor, memory, loads)},'
                    f'"basis":{memory.get(basis or "null") or _json_text(basis or "null", memory, loads)},'
                    f'"detail":{memory.get(detail) or _json_text(detail, memory, loads)},'
                    f'"occurred_at":{escape(occurred_at)},"outcome":{escape(outcome)},'
                    f'"person_id":{"null" if person_id is None else escape(person_id)},'
                    f'"purpose":{"null" if purpose is None else escape(purpose)},'
                    f'"reason":{"null" if reason is None else escape(reason)},'
                    f'"request_id":{"null" if request_id is None else escape(request_id)},'
                    f'"sections":{memory.get(sections) or _json_text(sections, memory, loads)},'
                    f'"seq":{seq}}}'
                )
                if seq >= watch and (type(seq) is not int or not -_SAFE_INT <= seq <= _SAFE_INT):
                    raise TypeError(seq)
                payload = text.encode()
            except (TypeError, ValueError):
                # An odd row (SQLite stores any type anywhere): as `database_events` does it.
                try:
                    body, plain = _row_body(row, loads)
                    payload = canonical_plain(body) if plain else canonical(body)
                except (TypeError, ValueError) as error:
                    span.problem = (seq, f"seq {seq} cannot be canonicalised: {error}", prev)
                    break
            sha = fresh()
            try:
                sha.update(fromhex(prev_hash))
            except (TypeError, ValueError):  # only a first row's can be other than a hash
                span.problem = (seq, _link_problem(seq), prev)
                break
            sha.update(payload)
            digest = sha.hexdigest()
            if digest != stored:
                span.problem = (
                    seq,
                    f"the entry_hash of seq {seq} does not match its content",
                    prev,
                )
                break
            if seq >= watch:
                while next_mark < len(marks) and marks[next_mark] < seq:
                    next_mark += 1
                if next_mark < len(marks) and marks[next_mark] == seq:
                    next_mark += 1
                    span.marks[seq] = (digest, prev_hash)
                    span.signatures[seq] = [
                        _signature_problem(c, keys, job.log_id) for c in checkpointed[seq]
                    ]
                if seq > last_signed and len(tail) < EVERY_EVENTS:
                    tail.append((seq, occurred_at, prev_hash))
                watch = _SAFE_INT + 1  # past it, JCS refuses the seq
                if next_mark < len(marks):
                    watch = min(watch, marks[next_mark])
                if len(tail) < EVERY_EVENTS:
                    watch = min(watch, max(seq + 1, last_signed + 1))
            prev = digest
            expected = seq + 1
            count += 1
        if progress is not None and count > reported:
            progress(count - reported)
            reported = count
        if span.problem is not None:
            break
    span.count = count
    if prev is not None:
        span.last = (expected - 1, prev)
    return span


def _scan_range(connection: Connection, job: _Job, progress: Progress | None) -> _Span:
    return _scan(_driver_batches(connection, _range_sql(job.low, job.high), _FETCH), job, progress)


class _Merge:
    """`verify`'s walk over spans of rows in seq order, each already checked inside."""

    def __init__(
        self,
        by_seq: dict[int, list[dict[str, Any]]],
        keys: dict[str, Ed25519PublicKey],
        log_id: str | None,
    ) -> None:
        self.by_seq = by_seq
        self.keys = keys
        self.log_id = log_id
        self.expected = 1
        self.prev = GENESIS_HASH
        self.signed = 0
        self.covered_seq = 0
        self.covered_at = ""
        self.tail: list[tuple[int, Any, str]] = []

    def add(self, span: _Span) -> None:
        if span.first is None:
            return  # an empty range
        seq, prev_hash = span.first
        if seq != self.expected:
            raise _Bad(self.expected, _seq_problem(self.expected, seq))
        if prev_hash != self.prev:
            raise _Bad(seq, _link_problem(seq))
        for mark in sorted(span.marks):
            digest, before = span.marks[mark]
            self.expected, self.prev = mark, before
            self._checkpoints(mark, digest, span.signatures[mark])
        if span.problem is not None:
            seq, problem, last_good = span.problem
            if last_good is not None:
                self.expected, self.prev = seq, last_good
            raise _Bad(seq, problem)
        assert span.last is not None
        self.expected, self.prev = span.last[0] + 1, span.last[1]
        self.tail.extend(span.tail[: EVERY_EVENTS - len(self.tail)])

    def _checkpoints(self, seq: int, digest: str, signatures: list[str | None]) -> None:
        for checkpoint, problem in zip(self.by_seq.pop(seq), signatures, strict=True):
            if problem:
                raise _Bad(seq, problem)
            if checkpoint.get("entry_hash") != digest:
                raise _Bad(seq, _rewritten_problem(seq))
            self.signed += 1
            self.covered_seq = seq
            self.covered_at = max(self.covered_at, str(checkpoint["signed_at"]))

    def finish(self) -> None:
        _check_the_end(self.expected - 1, self.by_seq, self.keys, self.log_id)
        _check_unsigned_tail(self.expected - 1, self.covered_seq, self.covered_at, self.tail)


def _verify_spans(
    spans: Iterable[_Span],
    by_seq: dict[int, list[dict[str, Any]]],
    keys: tuple[bytes, ...],
    log_id: str | None,
) -> VerifyResult:
    merge = _Merge(by_seq, public_keys(*keys), log_id)
    try:
        for span in spans:
            merge.add(span)
        merge.finish()
    except _Bad as bad:
        head_seq, head_hash = bad.head or (merge.expected - 1, merge.prev)
        return VerifyResult(
            False,
            merge.expected - 1,
            head_seq,
            head_hash,
            bad.seq,
            bad.problem,
            checkpoints=merge.signed,
        )
    last = merge.expected - 1
    return VerifyResult(True, last, last, merge.prev, checkpoints=merge.signed)


# In a worker process: its connection, in the snapshot of the process that started it.
_worker: dict[str, Connection] = {}


def _start_worker(url: str, snapshot: str) -> None:
    if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot):
        raise ValueError(f"not a snapshot id: {snapshot!r}")
    engine = create_engine(url, poolclass=NullPool)
    connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    connection.begin()
    connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    _worker["connection"] = connection
    Finalize(connection, engine.dispose, exitpriority=10)
    Finalize(connection, connection.close, exitpriority=20)


def _scan_in_worker(job: _Job) -> _Span:
    return _scan_range(_worker["connection"], job, None)


def _scan_in_parallel(
    connection: Connection,
    snapshot: str,
    url: URL,
    jobs: list[_Job],
    workers: int,
    progress: Progress | None,
) -> list[_Span]:
    """Scan `jobs` with `workers` - 1 spawned processes taking them from the front and this
    one (on `connection`) from the back, all in the exported `snapshot`. Stops early once a
    range with a problem is known: later ranges cannot change the answer."""
    spans: dict[int, _Span] = {}
    reported: set[int] = set()

    def report() -> None:
        for i, future in enumerate(futures):
            if i not in reported and future.done() and not future.cancelled():
                reported.add(i)
                if progress is not None:
                    progress(future.result().count)

    def settled_before(i: int) -> bool:
        """Whether a range before the `i`th is known to hold a problem."""
        for j in range(i):
            span = spans.get(j)
            future = futures[j]
            if span is None and future.done() and not future.cancelled():
                span = future.result() if future.exception() is None else None
            if span is not None and span.problem is not None:
                return True
        return False

    pool = ProcessPoolExecutor(
        max_workers=workers - 1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(url.render_as_string(hide_password=False), snapshot),
    )
    try:
        futures = [pool.submit(_scan_in_worker, job) for job in jobs]
        for i in reversed(range(len(jobs))):
            if futures[i].cancel():
                if settled_before(i):
                    continue
                spans[i] = _scan_range(connection, jobs[i], progress)
            report()
        out = []
        for i, future in enumerate(futures):
            span = spans.get(i) or future.result()
            out.append(span)
            if span.problem is not None:
                break
        report()
        return out
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -- this installation ----------------------------------------------------------------------


def _installation_checkpoints(files: Iterable[Path]) -> tuple[list[dict[str, Any]], bool]:
    """The checkpoints of the files, and whether one had a damaged last line."""
    out: list[dict[str, Any]] = []
    damaged = False
    for path in files:
        contents = read_file(path)
        out.extend(contents.checkpoints)
        damaged = damaged or contents.damaged_tail
    return out, damaged


def verify_database(
    checkpoint_file: Path | None = None,
    progress: Progress | None = None,
    *,
    workers: int = 1,
    parallel_from: int = PARALLEL_FROM,
    range_events: int | None = None,
) -> VerifyResult:
    """Verify the live log against the checkpoints in the database and in the checkpoint
    file (this installation's, or `checkpoint_file`), with this installation's key.

    With `workers` > 1, on PostgreSQL, a log of at least `parallel_from` events is verified
    in ranges of seqs (`range_events` each, by default a few per worker) by this process and
    `workers` - 1 spawned ones, all reading one snapshot; the answer is the same. The web
    application leaves `workers` at 1: it must not spawn processes."""
    from .checkpoints import checkpoints_path

    try:
        outside, damaged = _installation_checkpoints([checkpoint_file or checkpoints_path()])
    except MalformedInput as error:
        return VerifyResult(False, 0, 0, GENESIS_HASH, None, str(error))
    result = _verify_installation(outside, workers, parallel_from, range_events, progress)
    return replace(result, warnings=(DAMAGED_TAIL,)) if damaged else result


def _verify_installation(
    outside: list[dict[str, Any]],
    workers: int,
    parallel_from: int,
    range_events: int | None,
    progress: Progress | None,
) -> VerifyResult:
    from .checkpoints import signing_key
    from .setup import log_id

    keys = (signing_key().public_raw,)
    name = log_id()
    bind = db.session.get_bind()
    if workers > 1 and bind.dialect.name == "postgresql":
        engine = bind.engine if isinstance(bind, Connection) else bind
        connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with connection, connection.begin():
            return _verify_snapshot(
                connection,
                engine.url,
                outside,
                keys,
                name,
                workers=workers,
                parallel_from=parallel_from,
                range_events=range_events,
                progress=progress,
            )
    by_seq = _index_checkpoints([*from_database(), *outside], name)
    if isinstance(by_seq, VerifyResult):
        return by_seq
    job = _whole_log(by_seq, keys, name)
    return _verify_spans([_scan_range(db.session.connection(), job, progress)], by_seq, keys, name)


def _verify_snapshot(
    connection: Connection,
    url: URL,
    outside: list[dict[str, Any]],
    keys: tuple[bytes, ...],
    name: str,
    *,
    workers: int,
    parallel_from: int,
    range_events: int | None,
    progress: Progress | None,
) -> VerifyResult:
    """`verify_database` in a REPEATABLE READ transaction on `connection`, whose snapshot
    the worker processes share. Begun after the checkpoint file was read, so every
    checkpoint in it is of an event this snapshot holds."""
    snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
    by_seq = _index_checkpoints([*from_database(connection), *outside], name)
    if isinstance(by_seq, VerifyResult):
        return by_seq
    job = _whole_log(by_seq, keys, name)
    top = connection.execute(select(func.max(AuditEvent.seq))).scalar() or 0
    if top < parallel_from:
        return _verify_spans([_scan_range(connection, job, progress)], by_seq, keys, name)
    size = range_events or max(MIN_RANGE, -(-top // (workers * RANGES_PER_WORKER)))
    jobs = _split(job, top, size)
    spans = _scan_in_parallel(connection, snapshot, url, jobs, workers, progress)
    return _verify_spans(spans, by_seq, keys, name)


def verify_export(
    lines: Iterable[str],
    checkpoint_lines: Iterable[str],
    keys: dict[str, Ed25519PublicKey],
    *,
    log_id: str | None = None,
    progress: Progress | None = None,
) -> VerifyResult:
    try:
        checkpoints, damaged = _checkpoint_lines(checkpoint_lines)
    except MalformedInput as error:
        return VerifyResult(False, 0, 0, GENESIS_HASH, None, str(error))
    result = verify(export_events(lines), checkpoints, keys, log_id=log_id, progress=progress)
    return replace(result, warnings=(DAMAGED_TAIL,)) if damaged else result
