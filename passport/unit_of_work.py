"""One place owns the unit of work: each request commits once, or rolls back.

Refusals (4xx) commit too — their access-log events must be kept. If the commit fails, the
prepared response is replaced by a 503 problem, so nothing is disclosed without a durable log
entry. After a commit the integrator chains the queued log events — on SQLite with the inline
integrator, before it, in the same transaction (which holds the database's write lock).
"""

from __future__ import annotations

import logging
import uuid

from flask import Flask, Response, make_response, request

from . import audit, db
from .audit.background import background

log = logging.getLogger("passport.unit_of_work")


def init_app(app: Flask) -> None:
    @app.before_request
    def _begin() -> None:
        # Always our own id: it names the disclosure in the log (`access_id`), so a client
        # must not be able to choose or reuse it.
        audit.request_id.set(str(uuid.uuid4()))

    @app.after_request
    def _commit(response: Response) -> Response:
        if response.status_code >= 500:
            db.session.rollback()
            return response
        inline = app.config["PASSPORT_SETTINGS"].audit_integrator == "inline"
        # SQLite: chained in this transaction, so the request makes one commit.
        chained = inline and audit.chain_before_commit()
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
        response.headers["X-Request-Id"] = audit.request_id.get() or ""
        return response

    @app.teardown_appcontext
    def _end(_exc: BaseException | None) -> None:
        db.session.remove()


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
