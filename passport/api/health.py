"""`/healthz`, `/readyz` and `/metrics` (API.md "Running it"), and the request metrics.

None of them needs a token from a person or agency, and none shows personal data. `/metrics`
is for the scraper only: with PASSPORT_METRICS_TOKEN set it wants `Authorization: Bearer
<that token>`; without it, it answers only a client on this machine that did not come
through a proxy (no `Forwarded`/`X-Forwarded-For`), so it is never public by accident.
"""

from __future__ import annotations

import hmac
import ipaddress
import time

from flask import Blueprint, Flask, Response, current_app, json, request

from .. import health, metrics
from ..audit.status import log_status
from ..config import Settings
from ..notifications.sender import status as outbox_status
from .problems import problem

bp = Blueprint("health", __name__)
NO_STORE = "no-store"
_STARTED = "passport.started"


def init_app(app: Flask) -> None:
    """Register the routes and time every request. Called before the unit of work is set
    up, so this after-request hook runs after its commit and sees the final status."""
    app.before_request(_start_timer)
    app.after_request(_count_request)
    app.register_blueprint(bp)


def _start_timer() -> None:
    request.environ[_STARTED] = time.perf_counter()


def _count_request(response: Response) -> Response:
    started = request.environ.get(_STARTED)
    if started is not None:
        # The URL rule (`/api/v1/people/<person_id>`), never the path: it holds ids.
        endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe_request(
            endpoint, request.method, response.status_code, time.perf_counter() - started
        )
    return response


def _json(body: object, status: int = 200) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = NO_STORE
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """The process runs (nothing else is checked: not even the database)."""
    return _json({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready to serve: the database, the key provider, the integrator, the checkpoint file."""
    settings: Settings = current_app.config["PASSPORT_SETTINGS"]
    checks = health.readiness(settings)
    if all(value == health.OK for value in checks.values()):
        return _json({"status": "ready", "checks": checks})
    failing = sorted(name for name, value in checks.items() if value != health.OK)
    return _json({"status": "not ready", "failing": failing, "checks": checks}, 503)


@bp.get("/metrics")
def metrics_view() -> Response:
    settings: Settings = current_app.config["PASSPORT_SETTINGS"]
    refusal = _metrics_refusal(settings)
    if refusal is not None:
        refusal.headers["Cache-Control"] = NO_STORE
        return refusal

    def read_audit() -> tuple[int, float | None, float | None]:
        from .. import db

        try:
            status = log_status()
        finally:
            db.session.rollback()
        return status.pending, status.lag_seconds, status.checkpoint_age_seconds

    def read_notify() -> tuple[int, int, int, float | None]:
        from .. import db

        try:
            found = outbox_status()
        finally:
            db.session.rollback()
        counts = found.counts
        waiting = counts["pending"] + counts["sending"]
        return waiting, counts["sent"], counts["failed"], found.oldest_pending_seconds

    response = Response(metrics.exposition(read_audit, read_notify), mimetype=None)
    response.headers["Content-Type"] = metrics.CONTENT_TYPE
    response.headers["Cache-Control"] = NO_STORE
    return response


def _metrics_refusal(settings: Settings) -> Response | None:
    if settings.metrics_token:
        given = request.headers.get("Authorization", "")
        expected = f"Bearer {settings.metrics_token}"
        if hmac.compare_digest(given.encode(), expected.encode()):
            return None
        return problem(
            401,
            "the metrics need the scraper's token (PASSPORT_METRICS_TOKEN) as a bearer token",
            headers={"WWW-Authenticate": 'Bearer realm="passport-metrics"'},
        )
    proxied = request.headers.get("Forwarded") or request.headers.get("X-Forwarded-For")
    try:
        local = ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        local = False
    if local and not proxied:
        return None
    return problem(
        403,
        "the metrics are served only to this machine; set PASSPORT_METRICS_TOKEN to scrape "
        "them from elsewhere",
    )
