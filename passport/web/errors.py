"""Refusals and errors as plain pages with the right status — never a stack trace.

Domain refusals (`PassportError`) carry a plain-English reason (it never holds record
content), shown in the page's language where it has a translation (common.refusal_detail). Addresses outside the pages (the JSON API) keep their problem+json errors.
"""

from __future__ import annotations

import logging

from flask import g, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, NotFound

from ..audit import AuditUnavailable
from ..db import is_unreachable
from ..errors import ConsentRequired, PassportError
from . import bp
from .common import refusal_detail

log = logging.getLogger("passport.web")

TITLES = {
    400: lazy_gettext("Something was wrong with that request"),
    401: lazy_gettext("Please sign in"),
    403: lazy_gettext("You cannot see this page"),
    404: lazy_gettext("Page not found"),
    405: lazy_gettext("That did not work"),
    409: lazy_gettext("That has already changed"),
    413: lazy_gettext("That was too big"),
    422: lazy_gettext("Check what you entered"),
    429: lazy_gettext("Too many tries"),
    500: lazy_gettext("Sorry, something went wrong"),
    503: lazy_gettext("Sorry, the service is busy"),
}
MESSAGES = {
    400: lazy_gettext("Go back and try again."),
    403: lazy_gettext("Your account is not allowed to do this."),
    404: lazy_gettext("Check the address, or go back to the start."),
    409: lazy_gettext("Go back, reload the page and try again."),
    429: lazy_gettext(
        "You tried to sign in too many times. Wait 15 minutes, then try again. "
        "A worker can help you if you have forgotten your password."
    ),
    500: lazy_gettext("Nothing was shown or changed. Please try again later."),
    503: lazy_gettext("Nothing was shown or changed. Please try again in a few minutes."),
}
CSRF_MESSAGE = lazy_gettext(
    "This form was open too long, or was sent from another page. Go back, reload the page "
    "and try again."
)
CONSENT_TITLE = lazy_gettext("This information is not shared with you")


def error_page(
    status: int,
    detail: str | None = None,
    title: str | None = None,
    detail_lang: str | None = None,
) -> ResponseReturnValue:
    return (
        render_template(
            "error.html",
            status=status,
            title=title or TITLES.get(status, TITLES[400]),
            message=MESSAGES.get(status, MESSAGES[400]),
            detail=detail,
            detail_lang=detail_lang,
        ),
        status,
    )


@bp.app_errorhandler(NotFound)
def _not_found(error: NotFound) -> ResponseReturnValue:
    if request.path.startswith("/api/"):
        from ..api import api

        return api.handle_http_exception(error)
    return error_page(404)


def _passport_error(error: PassportError) -> ResponseReturnValue:
    detail, lang = refusal_detail(error)
    if isinstance(error, ConsentRequired):
        return error_page(403, detail, CONSENT_TITLE, lang)
    return error_page(error.status, detail, detail_lang=lang)


def _http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    if isinstance(error, CSRFError):
        return (
            render_template(
                "error.html", status=400, title=TITLES[400], message=CSRF_MESSAGE, detail=None
            ),
            400,
        )
    if status >= 500:
        log.error("page error: %s", type(error).__name__)
    return error_page(status)


def _audit_unavailable(error: AuditUnavailable) -> ResponseReturnValue:
    if is_unreachable(error.__cause__):
        return unavailable_page(error.__cause__)
    log.error("access log unavailable: %s", type(error.__cause__).__name__)
    return error_page(503)


def unavailable_page(error: BaseException | None) -> ResponseReturnValue:
    """The database cannot be reached: a plain 503 page (not a 500), built without it."""
    from .. import metrics

    log.error("database unreachable: %s", type(error).__name__)
    metrics.UNAVAILABLE.inc()
    # Rendered as for a visitor: the signed-in account cannot be loaded without the database.
    g._login_user = AnonymousUserMixin()
    response = make_response(error_page(503))
    response.headers["Retry-After"] = "5"
    return response


def _unexpected(error: Exception) -> ResponseReturnValue:
    if is_unreachable(error):
        return unavailable_page(error)
    # Logged by type only: messages can quote values, and values may be sensitive.
    log.error("unexpected page error: %s", type(error).__name__)

    return error_page(500)


# Registered once, at import: a blueprint cannot be changed after its first registration.
bp.register_error_handler(PassportError, _passport_error)
bp.register_error_handler(HTTPException, _http_error)
bp.register_error_handler(AuditUnavailable, _audit_unavailable)
bp.register_error_handler(Exception, _unexpected)
