"""One place owns the unit of work: each request commits once, or rolls back.

Refusals (4xx) commit too — their access-log events must be kept. If the commit fails, the
prepared response is replaced by a 503 problem, so nothing is disclosed without a durable log
entry. After a commit the integrator chains the queued log events — on SQLite with the inline
integrator, before it, in the same transaction (which holds the database's write lock).

A view that only reads (`reads_only`) commits its unit of work itself on SQLite, before its
answer is built: it reads from a snapshot without the write lock, then writes its log events
in a short transaction, shared with the other reads of this process ready at the same moment
(passport.snapshots, passport.group_commit).
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
from .group_commit import Group, Outcome, Read

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

    app.extensions[_READ_COMMITS] = Group()


_READ_COMMITS = "passport_read_commits"


def _inline() -> bool:
    return bool(current_app.config["PASSPORT_SETTINGS"].audit_integrator == "inline")


def _commit_unit_of_work(chained: bool = False) -> Response | None:
    """Commit the request's transaction and see its log events chained (`chained`: they
    already are). Returns the response that must replace the prepared one if the commit
    failed (it discloses nothing)."""
    outcome = _commit(chained)
    return None if outcome is Outcome.COMMITTED else _unavailable(outcome is Outcome.UNREACHABLE)


def _commit(chained: bool = False) -> Outcome:
    """`_commit_unit_of_work`'s work, without the response (a batch's leader commits for
    other requests too): COMMITTED, or why not."""
    inline = _inline()
    # SQLite: chained in this transaction, so the request makes one commit.
    chained = chained or (inline and audit.chain_before_commit())
    try:
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        log.error("commit failed: %s", type(error).__name__)
        return Outcome.UNREACHABLE if db.is_unreachable(error) else Outcome.FAILED
    if not inline:
        background.nudge()  # the event is durable already; the thread gives it its seq
    elif not chained:
        try:
            audit.integrate_all()
        except Exception as error:  # events stay queued: the next integration chains them
            log.warning("audit integration deferred: %s", type(error).__name__)
    return Outcome.COMMITTED


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
    then makes its held writes (its log events) and commits in a short write transaction,
    with the other reads ready then (`_commit_reads`), if nothing that decides access changed
    meanwhile; if something did, it runs again holding the lock throughout
    (passport.snapshots). Elsewhere it runs as it is, in the request's one transaction."""

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
        outcome = current_app.extensions[_READ_COMMITS].commit(seen, held, _commit_reads)
        if outcome is Outcome.MOVED:  # this time holding the write lock throughout
            for forget in before_reading_again:
                forget()
            return view(*args, **kwargs)
        if outcome is not Outcome.COMMITTED:
            return _unavailable(outcome is Outcome.UNREACHABLE)
        request.environ[_COMMITTED] = True
        if refusal is not None:
            raise refusal
        return cast(R, result)  # the view returned

    return read


def _commit_reads(reads: list[Read]) -> None:
    """One write transaction for reads that finished reading from their snapshots (on the
    batch leader's session): each whose snapshot saw the access epoch as it is now, holding
    the write lock, has its held writes made and its log events chained, in the order the
    reads arrived; then one commit. A read whose epoch moved writes nothing and runs again.

    Log events go to tables that move no epoch. Any other held write (a first-look message)
    must not either; if one did, none of the batch is trusted and every read runs again."""
    try:
        outcome = _write_reads(reads)
    except audit.AuditUnavailable as error:  # as the error handlers answer it
        outcome = Outcome.UNREACHABLE if db.is_unreachable(error.__cause__) else Outcome.FAILED
        log.error("the access log could not be written: %s", type(error.__cause__).__name__)
    except Exception as error:
        db.session.rollback()
        if not db.is_unreachable(error):
            raise  # a bug: `group_commit` logs it, and the reads fail showing nothing
        outcome = Outcome.UNREACHABLE
        log.error("database unreachable: %s", type(error).__name__)
    if db.session().in_transaction():  # it wrote nothing, or failed: the lock is let go
        db.session.rollback()
    for read in reads:
        read.outcome = read.outcome or outcome


def _write_reads(reads: list[Read]) -> Outcome:
    """`_commit_reads` until the outcome of the reads still undecided (MOVED ones are)."""
    current = snapshots.epoch()  # BEGIN IMMEDIATE: the write lock is held from here
    for read in reads:
        if read.seen != current:
            read.outcome = Outcome.MOVED
    held = [write for read in reads if read.outcome is None for write in read.held]
    if not held:
        return Outcome.COMMITTED  # nothing to write: every read ran again, or logged nothing
    chained = _make_held(held)
    if any(not isinstance(w, audit.QueuedEvents) for w in held) and snapshots.epoch() != current:
        return Outcome.MOVED
    return _commit(chained)


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
