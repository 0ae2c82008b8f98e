"""Reading on SQLite without holding its one write lock (issue 13).

SQLite lets one writer in at a time, and a transaction that begins IMMEDIATE holds that lock
from its first statement. Every consented view writes (its access-log event), so each view
used to hold the lock while it authenticated, decided, read, decrypted and answered, and views
queued one behind another whatever the cores. A read view (`unit_of_work.reads_only`) now:

1. reads from a snapshot: a DEFERRED transaction that takes no lock and may not write. The
   writes it would make (its log events, a first-look message) are held back, in order
   (`db.write_soon`);
2. then, in a short IMMEDIATE transaction, checks that nothing that can decide access has
   changed since its snapshot (the *access epoch* below), makes the held writes, chains its
   log events and commits: all before its answer is built, so nothing is disclosed without a
   durable log entry;
3. if something did change, uses nothing of that first pass: the view runs again holding the
   write lock throughout, as every other request does.

The access epoch is one counter that a trigger moves on every insert, update and delete of
every table but the log's, the messages' and its own (`UNTRACKED`): a grant or revocation, a
removed contributor or forum member, a disabled account, a revoked token, an erasure, a new
revision or dispute. An unchanged epoch means the tables a view read are as they were in its
snapshot when its log event commits, so the view was decided on the state its event records,
with the lock held for a few statements only. (Times are the snapshot's: a grant that ends
in the few milliseconds between is treated as a read made just before it ended.)

PostgreSQL has no single write lock: a view there is one transaction, and none of this runs.
"""

from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from . import db

# Written by reads or by the log and message machinery, or deciding nothing about access.
UNTRACKED = frozenset(
    {
        "access_epoch",
        "alembic_version",
        "audit_pending",
        "audit_events",
        "audit_checkpoints",
        "audit_time_blocks",
        "notifications",
        "notify_outbox",
    }
)


class AccessEpoch(db.Base):
    """One row: a counter moved (on SQLite, by triggers) by every change to a tracked table."""

    __tablename__ = "access_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)


def available() -> bool:
    """Whether a read goes through a snapshot here: on SQLite, when the session has its own
    connections (not one joined to an outer transaction, as the tests' rolled-back sessions
    are), no transaction is open and nothing waits to be written."""
    session = db.session()
    bind = session.get_bind()
    return (
        isinstance(bind, Engine)
        and bind.dialect.name == "sqlite"
        and not session.in_transaction()
        and not (session.new or session.dirty or session.deleted)
    )


def epoch() -> int:
    """The access epoch as this transaction sees it (its first read fixes a SQLite snapshot).
    Read twice by every view: the statement goes to the driver as written."""
    connection = db.session.connection()
    return int(connection.exec_driver_sql(_EPOCH).scalar_one())


_EPOCH = "SELECT n FROM access_epoch WHERE id = 1"
