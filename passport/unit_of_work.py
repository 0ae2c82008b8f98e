"""One place owns the unit of work: each request commits once, or rolls back.

Refusals (4xx) commit too — their access-log events must be kept. If the commit fails, the
prepared response is replaced by a 503 problem, so nothing is disclosed without a durable log
entry. After a commit the integrator chains the queued log events — on SQLite with the inline
integrator, before it, in the same transaction (which holds the database's write lock).

A view that only reads (`reads_only`) commits its unit of work itself on SQLite, before its
answer is built: it reads from a snapshot without the write lock, then writes its log events
in a short transaction of their own (passport.snapshots).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

from flask import Flask, Response, current_app, make_response, request
from werkzeug.exceptions import HTTPException

from . import audit, db, snapshots
from .audit.background import background
from .errors import PassportError

log = logging.getLogger("passport.unit_of_work")


def init_app(app: Flask) -> None:
    @app.before_request
    def _begin() -> None:
        # Always our own id: it names the disclosure in the log (`access_id`), so a client
        # must not be able to choose or reuse it.
        audit.request_id.set(str(uuid.uuid4()))

    @app.after_request
    def _commit(response: Response) -> Response:
        if request.environ.pop(_COMMITTED, False) and not db.session().in_transaction():
            response.headers["X-Request-Id"] = audit.request_id.get() or ""
            return response  # `reads_only` committed it, before the answer was built
        if response.status_code >= 500:
            db.session.rollback()
            return response
        failed = _commit_unit_of_work()
        if failed is not None:
            return failed
        response.headers["X-Request-Id"] = audit.request_id.get() or ""
        return response

    @app.teardown_appcontext
    def _end(_exc: BaseException | None) -> None:
        db.session.remove()


def _inline() -> bool:
    return bool(current_app.config["PASSPORT_SETTINGS"].audit_integrator == "inline")


def _commit_unit_of_work(chained: bool = False) -> Response | None:
    """Commit the request's transaction and see its log events chained (`chained`: they
    already are). Returns the response that must replace the prepared one if the commit
    failed (it discloses nothing)."""
    inline = _inline()
    # SQLite: chained in this transaction, so the request makes one commit.
    chained = chained or (inline and audit.chain_before_commit())
    try:
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        log.error("commit failed: %s", type(error).__name__)
        return _unavailable(db.is_unreachable(error))
    if not inline:
        background.nudge()  # the event is durable already; the thread gives it its seq
    elif not chained:
        try:
            audit.integrate_all()
        except Exception as error:  # events stay queued: the next integration chains them
            log.warning("audit integration deferred: %s", type(error).__name__)
    return None


# Set in the request's environ once `reads_only` has committed the request's unit of work.
_COMMITTED = "passport.unit_of_work.committed"

# Called before a view that read from a snapshot runs again holding the write lock: what a
# request keeps for itself (the authenticated actor) must be read again too.
before_reading_again: list[Callable[[], None]] = []

P = ParamSpec("P")
R = TypeVar("R")


def reads_only(view: Callable[P, R]) -> Callable[P, R | Response]:
    """For a view that reads and logs, and writes nothing else (a passport, a brief, a
    caseload, a meeting's summary). On SQLite it reads from a snapshot without the write lock,
    then makes its held writes (its log events) and commits in a short write transaction if
    nothing that decides access changed meanwhile; if something did, it runs again holding
    the lock throughout (passport.snapshots). Elsewhere it runs as it is, in the request's
    one transaction."""

    @functools.wraps(view)
    def read(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if not snapshots.available():
            return view(*args, **kwargs)
        refusal: Exception | None = None
        result: R | None = None
        with db.holding_writes() as held:
            seen = snapshots.epoch()
            try:
                result = view(*args, **kwargs)
            except (PassportError, HTTPException) as error:
                if _status(error) >= 500:
                    raise
                refusal = error  # logged like any read: its events are held too
            # Ends the read, which wrote nothing (a commit keeps what it loaded unexpired).
            db.session.commit()
        if snapshots.epoch() != seen:  # the write lock is held from here
            db.session.rollback()
            for forget in before_reading_again:
                forget()
            return view(*args, **kwargs)
        failed = _commit_unit_of_work(_make_held(held))
        if failed is not None:
            return failed
        request.environ[_COMMITTED] = True
        if refusal is not None:
            raise refusal
        return cast(R, result)  # the view returned

    return read


def _make_held(held: list[Callable[[], object]]) -> bool:
    """Make a read's held writes, in the write transaction that holds SQLite's lock. With
    the inline integrator its log events go straight into the chain (no queue to read back);
    returns whether they did."""
    events = [w for w in held if isinstance(w, audit.QueuedEvents)] if _inline() else []
    for write in held:
        if write not in events:
            write()
    if events and audit.chain_queued([row[0] for queued in events for row in queued.rows]):
        return True
    for queued in events:
        queued()  # behind events still pending: queued, and chained with them before commit
    return False


def _status(error: PassportError | HTTPException) -> int:
    if isinstance(error, PassportError):
        return error.status
    return error.code or 500


def _unavailable(database_unreachable: bool = False) -> Response:
    """The response that replaces one whose transaction could not commit: it discloses
    nothing. A page for the pages, problem+json for the API: `/problems/unavailable` when
    the database could not be reached, else `/problems/audit-unavailable`."""
    if request.blueprint == "web":
        from .web.errors import error_page, unavailable_page

        return make_response(unavailable_page(None) if database_unreachable else error_page(503))
    from .api.problems import problem, unavailable

    if database_unreachable:
        return unavailable()

    return problem(
        503,
        "the access log cannot be written just now, so nothing was shown or changed; "
        "try again shortly",
        type_="/problems/audit-unavailable",
        title="Access log unavailable",
    )
