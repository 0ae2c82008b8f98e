"""The access log's tables. `audit` depends on nothing but `db`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, IdColumn, UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_SeqType = BigInteger().with_variant(Integer(), "sqlite")


class AuditPending(Base):
    """Events written in the transaction of the access they record, waiting for the
    integrator to give them a `seq` and chain them. Committed with the access, so no
    disclosure happens without a durable entry."""

    __tablename__ = "audit_pending"

    id: Mapped[int] = mapped_column(_SeqType, primary_key=True, autoincrement=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


# An event's body (AUDIT_FORMAT.md "Chain"): what its entry_hash covers, in column order.
BODY_FIELDS = (
    "seq",
    "occurred_at",
    "action",
    "outcome",
    "actor",
    "person_id",
    "sections",
    "purpose",
    "basis",
    "reason",
    "request_id",
    "detail",
)


class AuditEvent(Base):
    """One chained event (AUDIT_FORMAT.md). Append-only: the database refuses changes."""

    __tablename__ = "audit_events"
    # The person's own access log: newest first, for one person (migration 20261202_0007);
    # the DPO's filters by action, staff member and agency, newest first (20261202_0012).
    __table_args__ = (
        Index("ix_audit_events_person_id_seq", "person_id", "seq"),
        Index("ix_audit_events_action_seq", "action", "seq"),
        Index("ix_audit_events_actor_id_seq", "actor_id", "seq"),
        Index("ix_audit_events_actor_agency_id_seq", "actor_agency_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(_SeqType, primary_key=True, autoincrement=False)
    occurred_at: Mapped[str] = mapped_column(String(32), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    outcome: Mapped[str] = mapped_column(String(10))
    actor: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    actor_agency_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)
    person_id: Mapped[str | None] = mapped_column(IdColumn(), index=True)
    sections: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str | None] = mapped_column(String(30))
    basis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(60))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)

    def body(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in BODY_FIELDS}

    def exported(self) -> dict[str, Any]:
        return {**self.body(), "prev_hash": self.prev_hash, "entry_hash": self.entry_hash}


class AuditCheckpoint(Base):
    """A signed statement of the log's head; also appended to a file outside the database."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(_SeqType, primary_key=True, autoincrement=True)
    log_id: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(16))


class LogSetting(Base):
    """Settings of the log fixed at initialisation, such as `log_id`."""

    __tablename__ = "audit_settings"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


class AuditTimeBlock(Base):
    """The earliest and latest `occurred_at` of each complete block of `TIME_BLOCK_EVENTS`
    seqs (block b holds seqs b*N+1 .. (b+1)*N), written by the integrator in the batch that
    chains the block's last event (migration 20261202_0012 filled in the blocks before it).
    Times follow seq only roughly (requests commit out of order), so a time range is mapped
    to the seqs of every block whose times overlap it: a superset, filtered exactly by
    `occurred_at` (`time_index.seq_window`). Derived from the chained rows and append-only;
    not part of the chain."""

    __tablename__ = "audit_time_blocks"

    block: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_at: Mapped[str] = mapped_column(String(32))
    last_at: Mapped[str] = mapped_column(String(32))


TIME_BLOCK_EVENTS = 1000
