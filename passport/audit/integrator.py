"""The single integrator: gives queued events their `seq` and chains them.

Accesses only INSERT into `audit_pending` inside their own transaction, which never waits on
other accesses. The integrator runs after each commit, holds one lock (a PostgreSQL advisory
lock; on SQLite the write lock of BEGIN IMMEDIATE), and appends everything pending in one
batch — so the chain never forks and concurrent writers do not queue on a head row for the
whole length of their transactions (the shape of Trillian/Tessera's PostgreSQL backend).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import delete, insert, select, text

from .. import db
from .chain import GENESIS_HASH, entry_hash
from .models import AuditEvent, AuditPending

# An arbitrary constant naming the integrator's advisory lock.
INTEGRATOR_LOCK = 7_322_615_001

# Called with the new head after every batch (checkpoint signing hooks in here).
after_batch: list[Callable[[int, str, int], None]] = []


def _lock() -> None:
    bind = db.session.get_bind()
    if bind.dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": INTEGRATOR_LOCK})


def head() -> tuple[int, str]:
    row = db.session.execute(
        select(AuditEvent.seq, AuditEvent.entry_hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def integrate_once(batch_size: int = 5000) -> int:
    """Chain up to `batch_size` pending events. Flushes; the caller commits."""
    _lock()
    pending = list(
        db.session.execute(
            select(AuditPending).order_by(AuditPending.id).limit(batch_size)
        ).scalars()
    )
    if not pending:
        return 0
    seq, prev = head()
    rows = []
    for item in pending:
        seq += 1
        body = {**item.body, "seq": seq}
        digest = entry_hash(prev, body)
        actor = body["actor"]
        rows.append(
            {
                **body,
                "actor_id": actor.get("id"),
                "actor_agency_id": actor.get("agency_id"),
                "prev_hash": prev,
                "entry_hash": digest,
            }
        )
        prev = digest
    db.session.execute(insert(AuditEvent), rows)
    db.session.execute(delete(AuditPending).where(AuditPending.id.in_([p.id for p in pending])))
    db.session.flush()
    for hook in after_batch:
        hook(seq, prev, len(pending))
    return len(pending)


def integrate_all() -> int:
    """Integrate until nothing is pending, committing each batch. Returns events chained."""
    total = 0
    while True:
        try:
            count = integrate_once()
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        total += count
        if count == 0:
            return total
