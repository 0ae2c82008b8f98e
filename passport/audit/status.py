"""How the access log is keeping up, for /readyz and /metrics: no event content, counts only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, func, select

from .. import db
from .checkpoints import last, parse_time
from .models import AuditPending

_pending = cast(Table, AuditPending.__table__)


@dataclass(frozen=True)
class LogStatus:
    pending: int  # events queued, not yet chained
    lag_seconds: float | None  # age of the oldest queued event (None if none is queued)
    checkpoint_age_seconds: float | None  # since the last checkpoint (None if there is none)


def log_status(now: datetime | None = None) -> LogStatus:
    """Read in this session; raises if the database cannot be read."""
    now = now or datetime.now(UTC)
    count, oldest = db.session.execute(select(func.count(), func.min(_pending.c.created_at))).one()
    lag = None
    if oldest is not None:
        if isinstance(oldest, str):  # SQLite's CURRENT_TIMESTAMP, read raw by func.min
            oldest = datetime.fromisoformat(oldest)
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        lag = max(0.0, (now - oldest).total_seconds())
    checkpoint = last()
    age = (
        None if checkpoint is None else max(0.0, (now - parse_time(checkpoint[1])).total_seconds())
    )
    return LogStatus(int(count), lag, age)
