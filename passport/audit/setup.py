"""Fixed once when the database is initialised: the log's name, and the database's identity.

`database_id` is a random id of this database (not of the log: a copy restored elsewhere
keeps the log's name). The checkpoint file records it on every line, so a process refuses to
append to another database's file.
"""

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
    ensure_database_id()
    return row.value


def ensure_database_id() -> str:
    """This database's identity, made by `init-db` (which an upgrade runs again, so a
    database initialised before it existed gets one then). Flushes; the caller commits."""
    row = db.session.get(LogSetting, "database_id")
    if row is None:
        row = LogSetting(key="database_id", value=str(uuid.uuid4()))
        db.session.add(row)
        db.session.flush()
    return row.value


def database_id() -> str | None:
    row = db.session.get(LogSetting, "database_id")
    return row.value if row else None


def log_id() -> str:
    row = db.session.get(LogSetting, "log_id")
    if row is None:
        raise RuntimeError("the log has no log_id: run `passport init-db`")
    return row.value
