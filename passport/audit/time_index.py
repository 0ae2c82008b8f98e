"""A time range of the log as a range of seqs, so a time filter walks only the part of the
log that can hold it (issue 13: a day in the middle of 10M events took seconds, the planner
walking the primary key past millions of rows).

`occurred_at` follows `seq` only roughly: an event is stamped when its request records it
and given its seq when the integrator chains it, so of two concurrent requests the one that
commits later is chained later even if it was stamped first (and a queue left unchained for
a while is chained after events stamped long after it). So there is no binary search on
`occurred_at`. Instead `audit_time_blocks` holds the earliest and latest `occurred_at` of
every complete block of `TIME_BLOCK_EVENTS` seqs, written by the integrator in the same
transaction as the block's last event; the events past the last complete block (fewer than
a block, usually) are looked at directly. Every event in the range lies in a block whose
earliest time is before the range's end and whose latest is at or after its start, so the
seqs from the first such block to the last are a superset of the answer, which the query
then filters exactly by `occurred_at`.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import ColumnElement, Table, and_, case, func, insert, literal, select, true

from .. import db
from .models import TIME_BLOCK_EVENTS, AuditEvent, AuditTimeBlock

_blocks = cast(Table, AuditTimeBlock.__table__)
_events = cast(Table, AuditEvent.__table__)


def record_blocks(chained: list[tuple[int, str]]) -> None:
    """The integrator's step after appending a batch: a row for each block the batch
    completed (its last seq is in the batch). Flushes; the integrator's transaction commits."""
    for seq, _digest in chained:
        if seq % TIME_BLOCK_EVENTS:
            continue
        block = seq // TIME_BLOCK_EVENTS - 1
        low = block * TIME_BLOCK_EVENTS + 1
        db.session.execute(
            insert(_blocks).from_select(
                ["block", "first_at", "last_at"],
                select(
                    literal(block), func.min(_events.c.occurred_at), func.max(_events.c.occurred_at)
                ).where(_events.c.seq.between(low, seq)),
            )
        )


def seq_window(since: str | None, until: str | None) -> tuple[int, int] | None:
    """(low, high): every event with `since` <= occurred_at < `until` (formatted times; None
    is open) has low <= seq <= high. None when no event can be in the range."""
    if since is not None and until is not None and since >= until:
        return None
    overlaps = and_(
        _blocks.c.last_at >= since if since is not None else true(),
        _blocks.c.first_at < until if until is not None else true(),
    )
    count, top, first, last = db.session.execute(
        select(
            func.count(),
            func.max(_blocks.c.block),
            func.min(case((overlaps, _blocks.c.block))),
            func.max(case((overlaps, _blocks.c.block))),
        )
    ).one()
    indexed = 0 if top is None else (int(top) + 1) * TIME_BLOCK_EVENTS
    if top is not None and int(count) != int(top) + 1:
        # A block is missing (blocks are written with the events, so this is a database
        # changed by hand): nothing is assumed about any part of the log.
        return 1, _head()
    head = _head()
    if head - indexed > TIME_BLOCK_EVENTS:
        # Complete blocks missing at the end (events put in without the integrator): the
        # part past the last block is taken whole, not read row by row.
        return (indexed + 1 if first is None else int(first) * TIME_BLOCK_EVENTS + 1), head
    # The tail past the last complete block: fewer than a block, read by the primary key
    # (an aggregate here could tempt the planner to walk the `occurred_at` index instead).
    tail_rows = db.session.execute(
        select(_events.c.seq, _events.c.occurred_at).where(_events.c.seq > indexed)
    ).all()
    tail = [
        int(seq)
        for seq, at in tail_rows
        if (since is None or at >= since) and (until is None or at < until)
    ]
    if first is None:
        return (min(tail), max(tail)) if tail else None
    low = int(first) * TIME_BLOCK_EVENTS + 1
    high = max(tail) if tail else (int(last) + 1) * TIME_BLOCK_EVENTS
    return low, high


def _head() -> int:
    return int(db.session.execute(select(func.coalesce(func.max(_events.c.seq), 0))).scalar_one())


def time_range_conditions(since: str | None, until: str | None) -> list[ColumnElement[bool]]:
    """The conditions of a time range (formatted times; None is open): `occurred_at` within
    it, and `seq` within its window. The times are compared through an expression (`|| ''`)
    that no index matches, so the planner walks the window by the primary key (or by another
    filter's index) and stops at a page, instead of reading a whole day or month from the
    `occurred_at` index and sorting it by seq: its estimates for a range of strings are far
    off (4 rows for a day of 16,000, in the bench)."""
    if since is None and until is None:
        return []
    window = seq_window(since, until)
    if window is None:
        return [AuditEvent.seq < 0]
    low, high = window
    at = AuditEvent.occurred_at.concat("")
    conditions = [AuditEvent.seq >= low, AuditEvent.seq <= high]
    if since is not None:
        conditions.append(at >= since)
    if until is not None:
        conditions.append(at < until)
    return conditions
