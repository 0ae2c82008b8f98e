"""Readiness: can this process do its work now? (`/readyz`; `/healthz` only says it runs.)

Four checks, each answered "ok" or, in plain words, what is wrong — never personal data:

- `database`: a query answers and the log is initialised;
- `key_provider`: the key provider wraps and unwraps a throw-away key (its own `check()` if
  it has one), and the local keyring file is still there;
- `integrator`: the access log's events get chained — inline, by chaining what is pending
  now; in the background, the thread runs (leader or standby) — and the oldest queued event
  is no older than `MAX_LAG_SECONDS`;
- `checkpoint_file`: the file can be written (a probe write beside it), and it is this
  database's (checkpoints.file_problem);
- `notify`, only when GOV.UK Notify is configured: no outbox message has been due for longer
  than `MAX_NOTIFY_WAIT_SECONDS` without being sent (the sender, `passport notify run`, is a
  process of its own; messages waiting out a retry's backoff are not due).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from sqlalchemy import text

from . import db
from .audit import checkpoints
from .audit.background import background
from .audit.integrator import integrate_all
from .audit.setup import log_id
from .audit.status import log_status
from .config import Settings
from .crypto import data_keys
from .notifications.sender import status as outbox_status

log = logging.getLogger("passport.health")

OK = "ok"
# An event queued longer than this means the integrator is stuck, not merely busy.
MAX_LAG_SECONDS = 60.0
DATABASE_DOWN = "not checked: the database cannot be reached"
# An outbox message due this long and not taken means no sender is delivering.
MAX_NOTIFY_WAIT_SECONDS = 15 * 60.0


def readiness(settings: Settings) -> dict[str, str]:
    """Every check by name: "ok", or what is wrong."""
    results = {"database": _run(_database)}
    database_up = results["database"] == OK
    results["key_provider"] = _run(_key_provider)
    results["integrator"] = _run(lambda: _integrator(settings)) if database_up else DATABASE_DOWN
    results["checkpoint_file"] = _run(lambda: _checkpoint_file(database_up))
    if settings.notify_channels:  # only where texts, emails or letters are sent
        results["notify"] = _run(_notify) if database_up else DATABASE_DOWN
    return results


def _run(check: Callable[[], str | None]) -> str:
    try:
        problem = check()
    except Exception as error:
        db.session.rollback()
        log.warning("readiness check failed: %s", type(error).__name__)
        if db.is_unreachable(error):
            return f"the database cannot be reached ({type(error).__name__})"
        return f"the check failed ({type(error).__name__})"
    finally:
        db.session.rollback()  # read only: end the transaction, keep the connection
    return problem or OK


def _database() -> str | None:
    db.session.execute(text("SELECT 1"))
    try:
        log_id()
    except RuntimeError:
        return "the database answers but is not initialised: run `passport init-db`"
    return None


def _key_provider() -> str | None:
    provider = data_keys.provider
    path = getattr(provider, "path", None)
    if path is not None and not os.path.exists(path):
        return f"the keyring file {path} is missing: the next start would fail"
    check = getattr(provider, "check", None)
    if callable(check):
        check()
        return None
    probe = os.urandom(32)
    context = b"passport-readiness-probe"
    if provider.unwrap(provider.wrap(probe, context), context) != probe:
        return "the key provider does not give back the key it wrapped"
    return None


def _integrator(settings: Settings) -> str | None:
    if settings.audit_integrator == "background":
        background.ensure_running()
        if not background.running:
            return "the background integrator thread is not running"
    else:
        try:
            integrate_all()
        except Exception as error:
            if db.is_unreachable(error):
                raise
            log.warning("readiness: the access log cannot be chained: %s", type(error).__name__)
            return f"the queued access-log events cannot be chained ({type(error).__name__})"
    status = log_status()
    if status.lag_seconds is not None and status.lag_seconds > MAX_LAG_SECONDS:
        return (
            f"{status.pending} access-log events are waiting to be chained; the oldest for "
            f"{status.lag_seconds:.0f} seconds"
        )
    return None


def _notify() -> str | None:
    """The outbox is being delivered: nothing has waited longer than MAX_NOTIFY_WAIT_SECONDS
    (the sender is its own process, `passport notify run`: this is how its absence shows)."""
    found = outbox_status()
    late = found.overdue_seconds
    if late is not None and late > MAX_NOTIFY_WAIT_SECONDS:
        waiting = found.counts["pending"] + found.counts["sending"]
        return (
            f"{waiting} notifications are waiting to be sent, one overdue by {late:.0f} "
            f"seconds: is `passport notify run` running?"
        )
    return None


def _checkpoint_file(database_up: bool) -> str | None:
    return checkpoints.file_problem(check_database=database_up)
