"""Domain refusals. The API turns each into RFC 9457 problem+json; the pages into a message.

Every message is plain language and never carries record content.
"""

from __future__ import annotations

from collections.abc import Sequence


class PassportError(Exception):
    type = "/problems/malformed-request"
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class Unauthenticated(PassportError):
    type = "/problems/unauthenticated"
    status = 401
    title = "Not signed in"


class Forbidden(PassportError):
    type = "/problems/forbidden"
    status = 403
    title = "Not allowed"


class ConsentRequired(PassportError):
    """`reasons` (passport.vocabulary.Reason values) let a page say the refusal in its own
    language (passport.records.refusals); `detail` is the same in English."""

    type = "/problems/consent-required"
    status = 403
    title = "No consent"

    def __init__(
        self,
        detail: str,
        errors: dict[str, list[str]] | None = None,
        reasons: Sequence[str] = (),
    ) -> None:
        super().__init__(detail, errors)
        self.reasons = tuple(reasons)


class NotFound(PassportError):
    type = "/problems/not-found"
    status = 404
    title = "Not found"


class Conflict(PassportError):
    type = "/problems/conflict"
    status = 409
    title = "Conflict"


class Invalid(PassportError):
    type = "/problems/validation-error"
    status = 422
    title = "Invalid request"


class PreconditionFailed(PassportError):
    """The writer changed an entry from a revision that is no longer its latest (412)."""

    type = "/problems/precondition-failed"
    status = 412
    title = "Changed by someone else"
