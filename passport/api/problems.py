"""Every error is RFC 9457 problem+json: declared once, here (STYLE.md §6)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from flask import Response, json
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from ..audit import AuditUnavailable
from ..db import is_unreachable
from ..errors import PassportError
from ..records.sections import NOT_ALLOWED, UNKNOWN_FIELD

log = logging.getLogger("passport.api")

PROBLEM_JSON = "application/problem+json"

TYPE_FOR_STATUS = {
    400: "/problems/malformed-request",
    401: "/problems/unauthenticated",
    403: "/problems/forbidden",
    404: "/problems/not-found",
    405: "/problems/method-not-allowed",
    409: "/problems/conflict",
    412: "/problems/precondition-failed",
    413: "/problems/payload-too-large",
    415: "/problems/unsupported-media-type",
    422: "/problems/validation-error",
    429: "/problems/rate-limited",
    500: "/problems/internal-error",
    503: "/problems/unavailable",
}


# Named problem responses, for endpoints to document what they may answer:
# name -> (status, what it means, the `type` values it may carry).
PROBLEMS: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "Problem": (
        500,
        "Any other problem: rate limited (429), the database cannot be reached (503), the "
        "access log cannot be written (503), ...",
        (
            "/problems/internal-error",
            "/problems/rate-limited",
            "/problems/unavailable",
            "/problems/audit-unavailable",
        ),
    ),
    "SetupCodeRefused": (
        400,
        "The set-up code is not right, was used already or has run out: the same answer for "
        "each, so it does not say which",
        ("/problems/malformed-request",),
    ),
    "MalformedRequest": (
        400,
        "The request cannot be read: a header is not in the form asked for (If-Match: one "
        'ETag like "3", or *)',
        ("/problems/malformed-request",),
    ),
    "Unauthenticated": (
        401,
        "No bearer token, or it is not valid, has expired or was revoked",
        ("/problems/unauthenticated",),
    ),
    "Forbidden": (
        403,
        "Not allowed: the caller's role, the application's scope or the person's consent "
        "does not allow it",
        ("/problems/forbidden", "/problems/consent-required"),
    ),
    "NotFound": (
        404,
        "There is no such thing (or the caller may not know it exists)",
        ("/problems/not-found",),
    ),
    "Conflict": (409, "The change conflicts with the current state", ("/problems/conflict",)),
    "PreconditionFailed": (
        412,
        "Someone else changed the entry after the revision named in If-Match: nothing was "
        "written. Read the entry again (its ETag is its revision) and reapply the change",
        ("/problems/precondition-failed",),
    ),
    "ValidationError": (
        422,
        "Some fields are missing or not valid: see errors",
        ("/problems/validation-error",),
    ),
}


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error of this API is shaped."""

    type = ma.fields.String(required=True, metadata={"description": "stable problem type"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={"description": "validation errors by field"},
    )


def problem(
    status: int,
    detail: str,
    *,
    type_: str | None = None,
    title: str | None = None,
    errors: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": type_ or TYPE_FOR_STATUS.get(status, "about:blank"),
        "title": title or _title(status),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def unavailable() -> Response:
    """The database cannot be reached: nothing was shown or changed (not a 500)."""
    from .. import metrics

    metrics.UNAVAILABLE.inc()
    return problem(
        503,
        "the service cannot reach its database just now, so nothing was shown or changed; "
        "try again shortly",
        type_="/problems/unavailable",
        title="Service unavailable",
        headers={"Retry-After": "5"},
    )


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def flatten_webargs(messages: Any) -> dict[str, list[str]]:
    """webargs nests errors by location ({"json": {"field": [...]}}); we key by field."""
    out: dict[str, list[str]] = {}

    def add(key: str, values: list[str]) -> None:
        known = out.setdefault(key or "body", [])
        known.extend(v for v in values if v not in known)

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if inner == [UNKNOWN_FIELD]:
                    # Never echo a made-up field name: it may itself be personal data.
                    add(prefix, [NOT_ALLOWED])
                else:
                    walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            add(prefix, value)
        else:
            add(prefix, [str(value)])

    if isinstance(messages, dict):
        for location, inner in messages.items():
            if isinstance(inner, dict):
                walk("", inner)
            else:
                walk(str(location), inner)
    return out


class ProblemApi(Api):
    """flask-smorest's Api with every error rendered as problem+json."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = "Problem"

    def _register_responses(self) -> None:
        """Document every error as application/problem+json (flask-smorest would say
        application/json): one response component per status, plus the named problems that
        endpoints list with `@blp.alt_response(STATUS, response=NAME)` (see PROBLEMS)."""
        from flask_smorest.utils import prepare_response

        for status in HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        for name, (code, description, types) in PROBLEMS.items():
            response = {
                "description": description,
                "schema": self.ERROR_SCHEMA,
                "example": {
                    "type": types[0],
                    "title": _title(code),
                    "status": code,
                    "detail": description,
                },
            }
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(name, response, lazy=True)

    def _register_error_handlers(self) -> None:
        self._app.register_error_handler(HTTPException, self.handle_http_exception)
        self._app.register_error_handler(PassportError, self.handle_passport_error)
        self._app.register_error_handler(AuditUnavailable, self.handle_audit_unavailable)
        self._app.register_error_handler(Exception, self.handle_unexpected)

    def handle_http_exception(self, error: HTTPException) -> Response:
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        if status == 500:
            return self.handle_unexpected(getattr(error, "original_exception", error))
        messages = data.get("errors") or data.get("messages")
        errors = flatten_webargs(messages) if messages else None
        if status == 400 and errors is not None:
            detail = "the request body is not valid JSON"
            errors = None
        elif status == 422:
            detail = "some fields are missing or not valid: see errors"
        else:
            detail = data.get("message") or error.description or _title(status)
        headers = dict(data.get("headers") or {})
        if status == 405 and error.get_response().headers.get("Allow"):
            headers["Allow"] = error.get_response().headers["Allow"]
        return problem(status, str(detail), errors=errors, headers=headers)

    def handle_passport_error(self, error: PassportError) -> Response:
        headers = {"WWW-Authenticate": 'Bearer realm="passport"'} if error.status == 401 else {}
        headers.update(getattr(error, "headers", None) or {})
        return problem(
            error.status,
            error.detail,
            type_=error.type,
            title=error.title,
            errors=error.errors,
            headers=headers,
        )

    def handle_audit_unavailable(self, error: AuditUnavailable) -> Response:
        if is_unreachable(error.__cause__):
            log.error("database unreachable: %s", type(error.__cause__).__name__)
            return unavailable()
        log.error("access log unavailable: %s", type(error.__cause__).__name__)
        return problem(
            503,
            "the access log cannot be written just now, so nothing was shown or changed; "
            "try again shortly",
            type_="/problems/audit-unavailable",
            title="Access log unavailable",
        )

    def handle_unexpected(self, error: BaseException) -> Response:
        if is_unreachable(error):
            log.error("database unreachable: %s", type(error).__name__)
            return unavailable()
        # Logged by type only: exception messages can quote values, and values may be sensitive.
        log.error("unexpected error: %s", type(error).__name__)
        return problem(500, "something went wrong on our side; nothing was shown or changed")
