"""Signed checkpoints (AUDIT_FORMAT.md "Checkpoints"): Ed25519 statements of the log's head.

The signing key is its own PEM file (`Settings.signing_key_path`, mode 0600, created only by
`passport init-db`), apart from the encryption keyring. Each checkpoint is inserted into
`audit_checkpoints` in the integrator's transaction and, once that commits, appended as one
JSON line to `Settings.checkpoints_path` — a file outside the database, which may live on
another volume or be shipped to a witness.

Signed from the integrator's `after_batch` hook at every `EVERY_EVENTS`th event past the
last checkpoint (a batch of thousands gets one every hundred events, not one at its end), at
the head when `EVERY_SECONDS` have passed since the last one (or there is none yet), and on
demand (`passport audit checkpoint`). So at any moment the events past the last
checkpoint number fewer than `EVERY_EVENTS` and occurred within `EVERY_SECONDS` of it — the
rule the verifier holds an unsigned tail to.

The file is written by `checkpoint_file` (whole lines, flushed, a damaged tail cut off). Its
lines name the log and this database (`database_id`); a checkpoint is left out of a file that
ends with another log's, another database's, or a checkpoint this database does not hold (a
restored copy sharing the original's file): it is still signed into the database, the
refusal is logged, and /readyz names it (`file_problem`).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Table, event, insert, select
from sqlalchemy.orm import Session, SessionTransaction

from .. import db, metrics
from ..config import ConfigError, Settings
from . import checkpoint_file, integrator
from .chain import canonical
from .events import format_time
from .models import AuditCheckpoint
from .setup import database_id
from .setup import log_id as current_log_id

log = logging.getLogger("passport.audit")

EVERY_EVENTS = 100
EVERY_SECONDS = 60
STATEMENT_FIELDS = ("log_id", "seq", "entry_hash", "signed_at")
_FILE_LINES = "passport_checkpoint_lines"
_FILE_OWNER = "passport_checkpoint_owner"  # (log_id, database_id) of the lines queued
_FILE_REFUSAL = "passport_checkpoint_refusal"  # why this transaction's lines are left out
_table = cast(Table, AuditCheckpoint.__table__)


class NotConfigured(RuntimeError):
    """`configure` was not called: the app factory does that."""


@dataclass(frozen=True)
class Checkpoint:
    log_id: str
    seq: int
    entry_hash: str
    signed_at: str
    signature: str
    key_id: str

    def statement(self) -> dict[str, Any]:
        """The four signed fields."""
        return {
            "log_id": self.log_id,
            "seq": self.seq,
            "entry_hash": self.entry_hash,
            "signed_at": self.signed_at,
        }

    def as_json(self) -> dict[str, Any]:
        return {**self.statement(), "signature": self.signature, "key_id": self.key_id}


def key_id_of(public_raw: bytes) -> str:
    """The first 16 hex characters of SHA-256 of the raw 32-byte public key."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


class SigningKey:
    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = private.public_key()
        self.public_raw = self.public.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = key_id_of(self.public_raw)

    def sign(self, statement: dict[str, Any]) -> str:
        return base64.b64encode(self._private.sign(canonical(statement))).decode("ascii")

    def public_pem(self) -> str:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """The installation's key; `ConfigError` naming the file if it is missing or broken.
        Never creates one: checkpoints signed by a new key would not verify as this log's."""
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(
                f"the audit signing key {path} is missing. Restore it from your key backup; "
                f"only a new installation creates one (`passport init-db` on an empty "
                f"database). Nothing was created"
            ) from None
        except OSError as error:
            raise ConfigError(
                f"the audit signing key {path} cannot be read: {error.strerror}"
            ) from None
        try:
            private = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError):
            private = None
        if not isinstance(private, Ed25519PrivateKey):
            raise ConfigError(
                f"the audit signing key {path} is {'empty' if not pem.strip() else 'corrupt'} "
                f"(not an Ed25519 private key): restore it from your key backup"
            )
        if path.stat().st_mode & 0o077:
            log.warning("the audit signing key %s is readable by others: chmod 600 it", path)
        return cls(private)

    @classmethod
    def create_missing(cls, path: Path, *, checkpoints_exist: bool) -> list[str]:
        """`passport init-db`: create the key (mode 0600, atomically) if there is none yet;
        check it if there is one. Refuses when the database holds checkpoints signed by the
        missing key."""
        if path.exists():
            cls.load(path)
            return []
        if checkpoints_exist:
            raise ConfigError(
                f"the audit signing key {path} is missing but the database holds checkpoints "
                f"signed by it: restore it from your key backup. Nothing was created"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
                out.flush()
                os.fsync(out.fileno())
            # Fails if another process made one first: then that one is the key.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        cls.load(path)
        return [f"audit signing key {path}"]


@dataclass(frozen=True)
class _Config:
    key_path: Path
    file_path: Path


_config: _Config | None = None
_keys: dict[Path, SigningKey] = {}
_keys_lock = threading.Lock()


def configure(settings: Settings) -> None:
    """Point checkpoint signing at this installation's key and file (called by the app
    factory), and hook it into the integrator."""
    global _config
    _config = _Config(settings.signing_key_path, settings.checkpoints_path)
    if maybe_sign not in integrator.after_batch:
        integrator.after_batch.append(maybe_sign)
    if _forget_file_lines not in integrator.after_batch_undone:
        integrator.after_batch_undone.append(_forget_file_lines)
    if not event.contains(db.session, "after_commit", _write_file_lines):
        event.listen(db.session, "after_commit", _write_file_lines)
        event.listen(db.session, "after_soft_rollback", _discard_file_lines)


def _settings() -> _Config:
    if _config is None:
        raise NotConfigured("audit checkpoints are not configured: create the app first")
    return _config


def checkpoints_path() -> Path:
    return _settings().file_path


def signing_key() -> SigningKey:
    path = _settings().key_path
    with _keys_lock:
        key = _keys.get(path)
        if key is None:
            key = _keys[path] = SigningKey.load(path)
    return key


def load_signing_key(path: Path) -> SigningKey:
    """Read the key afresh (the app factory: a start checks that it is there and whole)."""
    key = SigningKey.load(path)
    with _keys_lock:
        _keys[path] = key
    return key


def public_key_info() -> dict[str, str]:
    key = signing_key()
    return {
        "algorithm": "Ed25519",
        "key_id": key.key_id,
        "public_key": base64.b64encode(key.public_raw).decode("ascii"),
        "public_key_pem": key.public_pem(),
    }


def sign(seq: int, entry_hash: str, signed_at: datetime | None = None) -> Checkpoint:
    """Sign the log at `seq`: insert the checkpoint (flushes; the caller commits) and queue
    its line for the checkpoint file, written when the transaction commits."""
    key = signing_key()
    unsigned = Checkpoint(
        log_id=current_log_id(),
        seq=seq,
        entry_hash=entry_hash,
        signed_at=format_time(signed_at or datetime.now(UTC)),
        signature="",
        key_id=key.key_id,
    )
    checkpoint = replace(unsigned, signature=key.sign(unsigned.statement()))
    info = db.session.info
    if _FILE_OWNER not in info:  # once per transaction: read the file's end, check it
        owner = (checkpoint.log_id, database_id())
        info[_FILE_OWNER] = owner
        info[_FILE_REFUSAL] = _append_problem(checkpoints_path(), *owner)
    db.session.execute(insert(_table), [checkpoint.as_json()])
    refusal = info[_FILE_REFUSAL]
    if refusal is not None:
        log.error("checkpoint at seq %s not written to the file: %s", seq, refusal)
        metrics.CHECKPOINT_FILE_FAILURES.inc()
        return checkpoint
    line = checkpoint.as_json()
    if info[_FILE_OWNER][1] is not None:  # None until `init-db` runs on an older database
        line["database_id"] = info[_FILE_OWNER][1]
    info.setdefault(_FILE_LINES, []).append(json.dumps(line, separators=(",", ":")))
    return checkpoint


def _append_problem(path: Path, log_id: str, database_id: str | None) -> str | None:
    """Why this database's checkpoints may not be appended to the file at `path`: it ends
    with another log's or database's line, or with a checkpoint this database does not
    hold (the file of another copy of the log). Queries in the caller's transaction."""
    try:
        end = checkpoint_file.read_tail(path)
    except OSError as error:
        return f"the checkpoint file {path} cannot be read: {error.strerror or error}"
    if end is None or end.last is None:
        return None
    problem = checkpoint_file.ownership_problem(end.last, path, log_id, database_id)
    if problem:
        return problem
    last = end.last
    held = db.session.execute(
        select(_table.c.id)
        .where(_table.c.seq == last.get("seq"))
        .where(_table.c.entry_hash == str(last.get("entry_hash")))
        .where(_table.c.signature == str(last.get("signature")))
        .limit(1)
    ).first()
    if held is None:
        return (
            f"the checkpoint file {path} ends with a checkpoint (seq {last.get('seq')}) this "
            "database does not hold: it is another copy's file (a restored backup sharing "
            "PASSPORT_HOME, say). Give this copy its own PASSPORT_CHECKPOINT_FILE"
        )
    return None


def file_problem(*, check_database: bool = True) -> str | None:
    """Why the checkpoint file is not usable now, in plain words (None if it is): for
    /readyz. Whether it is this database's is read in this session (unless the database is
    known to be away)."""
    path = checkpoints_path()
    problem = checkpoint_file.usable_location(path) or checkpoint_file.probe_write(path)
    if problem or not check_database:
        return problem
    return _append_problem(path, current_log_id(), database_id())


def last() -> tuple[int, str] | None:
    """(seq, signed_at) of the latest checkpoint: the highest seq, the newest of those."""
    row = db.session.execute(_LAST).first()
    return (int(row[0]), str(row[1])) if row else None


# Built once: the integrator asks after every batch (on SQLite, every read).
_LAST = (
    select(_table.c.seq, _table.c.signed_at)
    .order_by(_table.c.seq.desc(), _table.c.signed_at.desc())
    .limit(1)
)


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def maybe_sign(chained: list[tuple[int, str]]) -> None:
    """The integrator's hook, given each (seq, entry_hash) of a batch: sign every event that
    is `EVERY_EVENTS` past the previous checkpoint, and the batch's head when `EVERY_SECONDS`
    have passed since the last one (or there is none yet). So however large a batch, no more
    than `EVERY_EVENTS` events ever lie between two checkpoints."""
    if not chained:
        return
    previous = last()
    now = datetime.now(UTC)
    if previous is None:
        signed_seq, signed_at = 0, None
    else:
        signed_seq, signed_at = previous[0], parse_time(previous[1])
    due = {
        seq: digest
        for seq, digest in chained
        if seq > signed_seq and (seq - signed_seq) % EVERY_EVENTS == 0
    }
    head_seq, head_hash = chained[-1]
    late = signed_at is None or now - signed_at >= timedelta(seconds=EVERY_SECONDS)
    if head_seq > signed_seq and late:
        due[head_seq] = head_hash
    for seq in sorted(due):
        sign(seq, due[seq], now)


def sign_head() -> Checkpoint | None:
    """On demand: chain what is pending, then sign the head (None if the log is empty).
    The caller commits."""
    integrator.integrate_pending()
    seq, digest = integrator.head()
    if seq == 0:
        return None
    return sign(seq, digest)


# A checkpoint as exported and verified: the statement, its signature and key.
EXPORTED_COLUMNS = (
    _table.c.log_id,
    _table.c.seq,
    _table.c.entry_hash,
    _table.c.signed_at,
    _table.c.signature,
    _table.c.key_id,
)


def from_database(connection: Connection | None = None) -> list[dict[str, Any]]:
    """Every checkpoint, in seq order, read in this session or on `connection`."""
    query = select(*EXPORTED_COLUMNS).order_by(_table.c.seq, _table.c.id)
    rows = (connection or db.session).execute(query).all()
    return [dict(row._mapping) for row in rows]


def _write_file_lines(session: Session) -> None:
    lines: list[str] = session.info.pop(_FILE_LINES, [])
    owner = session.info.pop(_FILE_OWNER, None)
    session.info.pop(_FILE_REFUSAL, None)
    if not lines or owner is None:
        return
    path = checkpoints_path()
    try:
        checkpoint_file.append(path, lines, *owner)
    except (checkpoint_file.Refused, OSError) as error:
        # The checkpoint is in the database; the witness copy will be missing. Loudly.
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        log.error("could not append to the checkpoint file %s: %s", path, reason)
        metrics.CHECKPOINT_FILE_FAILURES.inc()


def _forget_file_lines() -> None:
    """The batch that signed these lines was rolled back (to a savepoint): drop them."""
    for key in (_FILE_LINES, _FILE_OWNER, _FILE_REFUSAL):
        db.session.info.pop(key, None)


def _discard_file_lines(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        for key in (_FILE_LINES, _FILE_OWNER, _FILE_REFUSAL):
            session.info.pop(key, None)
