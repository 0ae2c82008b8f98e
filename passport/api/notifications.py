"""The caller's own inbox: GET /api/v1/me/notifications, POST .../{id}/read, and how they
chose to be told (the person only)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from ..languages import LANGUAGES
from ..notifications import inbox, preferences
from ..vocabulary import NotificationKind, NotifyChannel
from .auth import current_actor
from .schemas import Strict

blp = Blueprint(
    "notifications", __name__, url_prefix="/api/v1", description="The caller's notifications"
)


class NotificationOut(Strict):
    id = fields.String(required=True)
    kind = fields.String(
        required=True, validate=validate.OneOf([k.value for k in NotificationKind])
    )
    at = fields.DateTime(required=True)
    text = fields.String(required=True, metadata={"description": "in the request's language"})
    read = fields.Boolean(required=True)


class NotificationListOut(Strict):
    items = fields.List(fields.Nested(NotificationOut), required=True)
    next_cursor = fields.String(
        allow_none=True, metadata={"description": "pass as ?cursor= for the next page"}
    )


class NotificationQuery(Strict):
    cursor = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=20, validate=validate.Range(1, inbox.MAX_PAGE))


class NotifyPreferenceBody(Strict):
    channel = fields.String(
        required=True, validate=validate.OneOf([c.value for c in NotifyChannel])
    )
    phone = fields.String(allow_none=True, validate=validate.Length(max=40))
    email = fields.String(allow_none=True, validate=validate.Length(max=254))
    address = fields.List(
        fields.String(validate=validate.Length(max=preferences.MAX_LINE)),
        validate=validate.Length(max=7),
        metadata={"description": "letters: 3 to 7 lines, care of the worker, postcode last"},
    )
    fuller_inbox = fields.Boolean(
        load_default=False, metadata={"description": "names and dates in the inbox only"}
    )
    language = fields.String(load_default="en", validate=validate.OneOf(list(LANGUAGES)))


class NotifyPreferenceOut(NotifyPreferenceBody):
    """The same fields, as the API answers them (its own name in the OpenAPI document)."""


@blp.route("/me/notifications")
class Notifications(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(422, response="ValidationError")
    @blp.arguments(NotificationQuery, location="query")
    @blp.response(200, NotificationListOut)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The caller's messages, newest first (people, representatives and staff)."""
        page = inbox.messages(current_actor(), query.get("cursor"), query["limit"])
        return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/me/notifications/<uuid:notification_id>/read")
class NotificationRead(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(404, response="NotFound")
    @blp.response(200, NotificationOut)
    def post(self, notification_id: Any) -> Any:
        """Mark one of the caller's own messages read; anyone else's is not found."""
        return inbox.mark_read(current_actor(), str(notification_id))


@blp.route("/me/notification-preferences")
class NotificationPreferences(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.response(200, NotifyPreferenceOut)
    def get(self) -> Any:
        """How the caller chose to be told besides the inbox (the person only)."""
        return _out(preferences.current(current_actor()))

    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(422, response="ValidationError")
    @blp.arguments(NotifyPreferenceBody)
    @blp.response(200, NotifyPreferenceOut)
    def put(self, body: dict[str, Any]) -> Any:
        """Choose: inbox only, a text (phone), an email, or a letter (address). The detail
        is sealed; only the chosen way's detail is kept."""
        return _out(
            preferences.choose(
                current_actor(),
                body["channel"],
                phone=body.get("phone"),
                email=body.get("email"),
                address=body.get("address"),
                fuller_inbox=body["fuller_inbox"],
                language=body["language"],
            )
        )


def _out(choice: preferences.Choice) -> dict[str, Any]:
    return {
        "channel": choice.channel,
        "phone": choice.phone,
        "email": choice.email,
        "address": list(choice.address),
        "fuller_inbox": choice.fuller_inbox,
        "language": choice.language,
    }
