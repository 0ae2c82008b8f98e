"""The single integrator: gives queued events their `seq` and chains them.

Accesses only INSERT into `audit_pending` inside their own transaction, which never waits on
other accesses. The integrator runs after each commit, holds one lock (a PostgreSQL advisory
lock; on SQLite the write lock of BEGIN IMMEDIATE), and appends everything pending in one
batch — so the chain never forks and concurrent writers do not queue on a head row for the
whole length of their transactions (the shape of Trillian/Tessera's PostgreSQL backend).

On SQLite with the inline integrator a request chains inside its own transaction instead
(`chain_before_commit`): that transaction already holds the write lock, so the request makes
one commit. Elsewhere, after a request commits, `integrate_all` returns at once if nothing
is pending; otherwise it queues on the lock and finds its events already chained by whoever
held it, so N concurrent requests cost one batch. With PASSPORT_AUDIT_INTEGRATOR=background one elected thread for the
whole deployment does this instead (`background.py`), and requests only queue and commit.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any
from typing import cast as typed

from sqlalchemy import JSON, Table, Text, cast, delete, exists, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from .. import db
from .chain import GENESIS_HASH, PlainReader, canonical, canonical_plain
from .events import QUEUED_HERE, AuditUnavailable
from .models import BODY_FIELDS, AuditEvent, AuditPending
from .time_index import record_blocks

log = logging.getLogger("passport.audit")

# An arbitrary constant naming the integrator's advisory lock.
INTEGRATOR_LOCK = 7_322_615_001
BATCH_SIZE = 5000

# Called after every batch with the (seq, entry_hash) of each event it chained, in order
# (checkpoint signing hooks in here).
after_batch: list[Callable[[list[tuple[int, str]]], None]] = []
# Called when chaining inside a request's transaction failed and its savepoint was rolled
# back: whatever the `after_batch` hooks kept for the commit must go too.
after_batch_undone: list[Callable[[], None]] = []

_events = typed(Table, AuditEvent.__table__)
_pending = typed(Table, AuditPending.__table__)


def _is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _lock(wait: bool = True) -> bool:
    """Take the integrator's lock for this transaction. SQLite needs nothing more: its
    transactions begin IMMEDIATE, so this one already holds the database's write lock."""
    if not _is_postgresql():
        return True
    if wait:
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": INTEGRATOR_LOCK})
        return True
    got = db.session.execute(
        text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": INTEGRATOR_LOCK}
    ).scalar_one()
    return bool(got)


def head() -> tuple[int, str]:
    row = db.session.execute(
        select(_events.c.seq, _events.c.entry_hash).order_by(_events.c.seq.desc()).limit(1)
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def integrate_once(batch_size: int = BATCH_SIZE, *, wait: bool = True) -> int | None:
    """Chain up to `batch_size` pending events. Flushes; the caller commits.

    Returns how many were chained, or None if `wait` is False and another integrator holds
    the lock."""
    if not _lock(wait):
        return None
    pending = db.session.execute(
        select(_pending.c.id, cast(_pending.c.body, Text)).order_by(_pending.c.id).limit(batch_size)
    ).all()
    if not pending:
        return 0
    _chain([queued_text for _id, queued_text in pending])
    _remove([p[0] for p in pending])
    return len(pending)


def _chain(queued_texts: list[str], after: tuple[int, str] | None = None) -> None:
    """Append these queued events to the log after its head (`after`, if the caller read
    it), in order. Flushes; the caller holds the integrator's lock and commits."""
    seq, prev = after or head()
    rows: list[tuple[Any, ...]] = []
    chained: list[tuple[int, str]] = []
    loads = PlainReader().loads
    for queued_text in queued_texts:
        seq += 1
        queued, plain = loads(queued_text)
        body = {**queued, "seq": seq}
        payload = canonical_plain(body) if plain else canonical(body)
        digest = hashlib.sha256(bytes.fromhex(prev) + payload).hexdigest()
        actor = body["actor"]
        rows.append(
            (
                *(body[name] for name in BODY_FIELDS),
                actor.get("id"),
                actor.get("agency_id"),
                prev,
                digest,
            )
        )
        chained.append((seq, digest))
        prev = digest
    _append(rows)
    record_blocks(chained)
    for hook in after_batch:
        hook(chained)


# Whether anything is queued, and the head of the log: one statement, in the write lock.
_PENDING_AND_HEAD = select(
    exists().select_from(_pending),
    select(_events.c.seq).order_by(_events.c.seq.desc()).limit(1).scalar_subquery(),
    select(_events.c.entry_hash).order_by(_events.c.seq.desc()).limit(1).scalar_subquery(),
)


def chain_queued(queued_texts: list[str]) -> bool:
    """SQLite, in the short write transaction that ends a read from a snapshot (which holds
    the database's one write lock, the lock that serialises chaining): chain the read's
    events straight into the log instead of queueing them and reading them back. Flushes;
    the caller commits. Returns False, chaining nothing, if events are still pending: the
    caller queues these behind them, and `chain_before_commit` chains them all (or leaves
    them queued if it cannot)."""
    try:
        pending, seq, entry_hash = db.session.execute(_PENDING_AND_HEAD).one()
        if pending:
            return False
        _chain(queued_texts, (int(seq), str(entry_hash)) if seq else (0, GENESIS_HASH))
    except SQLAlchemyError as error:
        raise AuditUnavailable("the access log could not be written") from error
    return True


_ROW_FIELDS = (*BODY_FIELDS, "actor_id", "actor_agency_id", "prev_hash", "entry_hash")
_JSON_AT = tuple(i for i, name in enumerate(_ROW_FIELDS) if isinstance(_events.c[name].type, JSON))
_INSERT_EVENTS = insert(_events)
_COPY_EVENTS = f"COPY audit_events ({', '.join(_ROW_FIELDS)}) FROM STDIN"
_json_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _append(rows: list[tuple[Any, ...]]) -> None:
    """Insert chained rows. On PostgreSQL by COPY, in this transaction: a multi-row INSERT
    spends more time binding parameters than the database spends storing the rows."""
    if not _is_postgresql():
        # Core, not the ORM's bulk path: on SQLite a read chains its event here, in the lock.
        db.session.connection().execute(
            _INSERT_EVENTS, [dict(zip(_ROW_FIELDS, row, strict=True)) for row in rows]
        )
        return
    cursor = _driver_connection().cursor()
    with cursor.copy(_COPY_EVENTS) as copy:
        for row in rows:
            values = list(row)
            for at in _JSON_AT:
                values[at] = _json_text(values[at])  # None as JSON null, as SQLAlchemy stores it
            copy.write_row(values)


def _remove(ids: list[int]) -> None:
    if not _is_postgresql():
        db.session.execute(delete(_pending).where(_pending.c.id.in_(ids)))
        return
    _driver_connection().execute("DELETE FROM audit_pending WHERE id = ANY(%s)", (ids,))


def _driver_connection() -> Any:
    """The psycopg connection under this session's transaction (the same transaction)."""
    return db.session.connection().connection.driver_connection


def integrate_all() -> int:
    """Make sure every event committed before this call is chained; commits each batch.

    Waiting happens inside the database (a blocking advisory lock), not in a polling loop:
    N concurrent callers queue on the lock, the first chains everything pending, and the
    others find their events already chained and return after one cheap query.
    Returns how many events this call chained (0 if another integrator chained them)."""
    total = 0
    try:
        mark = db.session.execute(select(func.max(_pending.c.id))).scalar()
        db.session.commit()
        if mark is None:
            return 0
        while True:
            _lock(wait=True)
            if not db.session.execute(select(exists().where(_pending.c.id <= mark))).scalar():
                db.session.commit()
                return total
            count = integrate_once() or 0
            db.session.commit()
            total += count
    except Exception:
        db.session.rollback()
        raise


def chain_before_commit() -> bool:
    """SQLite, inline integrator: chain everything pending inside the caller's transaction,
    just before it commits, so a request makes one commit that holds its log event chained.

    Only when this transaction queued an event: it then already holds SQLite's single write
    lock (its BEGIN IMMEDIATE), the very lock that serialises chaining — so the chain cannot
    fork. In a savepoint: if chaining fails, the events stay queued, the request still commits
    them, and `integrate_all` after the commit tries again. Returns whether it chained here
    (False on PostgreSQL, where chaining after the commit lets one batch serve many requests)."""
    if not db.session.info.pop(QUEUED_HERE, False) or _is_postgresql():
        return False
    try:
        with db.session.begin_nested():
            integrate_pending()
    except Exception as error:
        for undo in after_batch_undone:
            undo()
        log.warning("audit chaining deferred to after the commit: %s", type(error).__name__)
        return False
    return True


def integrate_if_free() -> int:
    """Chain everything pending unless another integrator is at it (then return at once: it
    or the next run takes what is left). For the background thread, which runs again on the
    next nudge and every second anyway, so nothing waits for long."""
    total = 0
    try:
        while True:
            count = integrate_once(wait=False)
            if count is None:
                db.session.rollback()
                return total
            db.session.commit()
            total += count
            if count < BATCH_SIZE:
                return total
    except Exception:
        db.session.rollback()
        raise


def integrate_for_reader() -> int:
    """For a reader that must see every committed event (the DPO's queries, the person's
    access log): chain what is pending without the reader holding the integrator's lock.

    On PostgreSQL in a session and transaction of its own, committed before this returns:
    the lock is held only while chaining, never while the reader's query runs or its
    request goes on (a DPO's search of seconds once held it, and events queued unchained
    behind it). The reader's next statement (READ COMMITTED) sees what was chained. On
    SQLite in the caller's transaction, which already holds the database's one write lock
    (BEGIN IMMEDIATE), the lock that serialises chaining: a second connection would wait
    for it. Returns how many events were chained here."""
    if not _is_postgresql():
        return integrate_pending()
    # Usually nothing is pending (requests chain after their commit, or the background
    # thread does): then no second connection and no lock at all.
    if not db.session.execute(select(exists().select_from(_pending))).scalar():
        return 0
    with db.own_session():
        return integrate_all()


def integrate_pending() -> int:
    """Chain everything pending inside the caller's transaction, for a reader that must see
    every committed event (the DPO's queries). Flushes; the caller commits, and holds the
    integrator's lock until then."""
    total = 0
    while True:
        count = integrate_once() or 0
        total += count
        if count < BATCH_SIZE:
            return total
