"""Fixed once when the database is initialised: the log's name."""

from __future__ import annotations

import uuid

from .. import db
from .models import LogSetting


def ensure_log_id(configured: str | None) -> str:
    row = db.session.get(LogSetting, "log_id")
    if row is None:
        row = LogSetting(key="log_id", value=configured or str(uuid.uuid4()))
        db.session.add(row)
        db.session.flush()
    return row.value


def log_id() -> str:
    row = db.session.get(LogSetting, "log_id")
    if row is None:
        raise RuntimeError("the log has no log_id: run `passport init-db`")
    return row.value
