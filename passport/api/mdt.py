"""MDT (multi-disciplinary team) meetings: forums, members, meetings, agenda, the shared
summary (JSON, print view, PDF) and actions."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from .. import db
from ..identity.models import Staff
from ..languages import preferred
from ..mdt import operations, printing, summary
from ..unit_of_work import reads_only
from .auth import current_actor
from .schemas import DisputeOut, EntryOut, PersonOut, Strict

blp = Blueprint("mdt", __name__, url_prefix="/api/v1", description="MDT meetings")


class ForumIn(Strict):
    name = fields.String(required=True, validate=validate.Length(1, operations.FORUM_NAME_MAX))
    agency_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1))


class ForumOut(Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)
    agency_ids = fields.List(fields.String(), required=True)


class ForumListOut(Strict):
    items = fields.List(fields.Nested(ForumOut), required=True)


class MemberIn(Strict):
    staff_id = fields.UUID(required=True)
    role = fields.String(required=True, validate=validate.OneOf(["chair", "member"]))


class MemberOut(Strict):
    id = fields.String(required=True)
    forum_id = fields.String(required=True)
    staff_id = fields.String(required=True)
    role = fields.String(required=True)


class MeetingIn(Strict):
    held_on = fields.Date(required=True)
    title = fields.String(validate=validate.Length(max=200))
    attendee_ids = fields.List(fields.UUID(), load_default=list)


class MeetingOut(Strict):
    id = fields.String(required=True)
    forum_id = fields.String(required=True)
    held_on = fields.Date(required=True)
    title = fields.String(allow_none=True)
    attendee_ids = fields.List(fields.String(), required=True)


class MeetingListOut(Strict):
    items = fields.List(fields.Nested(MeetingOut), required=True)


class AgendaIn(Strict):
    person_id = fields.UUID(required=True)


class AgendaOut(Strict):
    id = fields.String(required=True)
    meeting_id = fields.String(required=True)
    person_id = fields.String(required=True)


class ActionIn(Strict):
    person_id = fields.UUID(required=True)
    owner_staff_id = fields.UUID(required=True)
    text = fields.String(required=True, validate=validate.Length(1, 2000))
    due_on = fields.Date(required=True)


class ActionOwnerOut(Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)
    agency_id = fields.String(allow_none=True)


class ActionOut(Strict):
    id = fields.String(required=True)
    person_id = fields.String(required=True)
    meeting_id = fields.String(required=True)
    forum_id = fields.String(required=True)
    owner = fields.Nested(ActionOwnerOut, required=True)
    text = fields.String(required=True)
    due_on = fields.Date(required=True)
    status = fields.String(required=True)
    overdue = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)


class ActionListOut(Strict):
    items = fields.List(fields.Nested(ActionOut), required=True)


class ActionStatusIn(Strict):
    status = fields.String(required=True, validate=validate.OneOf(["open", "done", "dropped"]))


class SummaryForumOut(Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)


class SummaryMeetingOut(Strict):
    id = fields.String(required=True)
    forum = fields.Nested(SummaryForumOut, required=True)
    held_on = fields.Date(required=True)
    title = fields.String(allow_none=True)
    previous_held_on = fields.Date(allow_none=True)


class SummaryAlertOut(Strict):
    kind = fields.String(required=True)
    level = fields.String(required=True)
    detail = fields.String()
    entry_id = fields.String(required=True)
    dispute = fields.Nested(DisputeOut, allow_none=True)


class SummaryPersonOut(Strict):
    person = fields.Nested(PersonOut, required=True)
    alerts = fields.List(fields.Nested(SummaryAlertOut), required=True)
    lead_worker = fields.Nested(EntryOut, allow_none=True)
    workers = fields.List(fields.Nested(EntryOut), required=True)
    medication = fields.List(fields.Nested(EntryOut), required=True)
    changed_since_last_meeting = fields.List(fields.Nested(EntryOut), required=True)
    preferences = fields.List(fields.Nested(EntryOut), required=True)
    actions = fields.List(fields.Nested(ActionOut), required=True)
    sections = fields.Dict(
        keys=fields.String(), values=fields.List(fields.Nested(EntryOut)), required=True
    )
    withheld = fields.List(fields.String(), required=True)


class SummaryOut(Strict):
    meeting = fields.Nested(SummaryMeetingOut, required=True)
    people = fields.List(fields.Nested(SummaryPersonOut), required=True)
    dropped_out = fields.Integer(
        required=True, metadata={"description": "people on the agenda who no longer consent"}
    )


@blp.route("/mdts")
class Forums(MethodView):
    @blp.arguments(ForumIn)
    @blp.response(201, ForumOut)
    def post(self, body: dict[str, Any]) -> Any:
        """Set up an MDT forum (admin). A name another forum has (whatever the case or
        spacing) is a 409."""
        return operations.create_forum(
            current_actor(), body["name"], [str(a) for a in body["agency_ids"]]
        )

    @blp.response(200, ForumListOut)
    def get(self) -> dict[str, Any]:
        """The forums the caller sits on (all of them, for an admin)."""
        return {"items": operations.forums_for(current_actor())}


@blp.route("/mdts/<uuid:forum_id>/members")
class Members(MethodView):
    @blp.arguments(MemberIn)
    @blp.response(201, MemberOut)
    def post(self, body: dict[str, Any], forum_id: Any) -> Any:
        """Add a chair or member (admin)."""
        return operations.add_member(
            current_actor(), str(forum_id), str(body["staff_id"]), body["role"]
        )


@blp.route("/mdts/<uuid:forum_id>/meetings")
class Meetings(MethodView):
    @blp.arguments(MeetingIn)
    @blp.response(201, MeetingOut)
    def post(self, body: dict[str, Any], forum_id: Any) -> Any:
        """Schedule a meeting (the chair)."""
        return operations.create_meeting(
            current_actor(),
            str(forum_id),
            body["held_on"],
            body.get("title"),
            [str(a) for a in body["attendee_ids"]],
        )

    @blp.response(200, MeetingListOut)
    def get(self, forum_id: Any) -> dict[str, Any]:
        return {"items": operations.meetings_of(current_actor(), str(forum_id))}


@blp.route("/meetings/<uuid:meeting_id>/agenda")
class Agenda(MethodView):
    @blp.arguments(AgendaIn)
    @blp.response(201, AgendaOut)
    def post(self, body: dict[str, Any], meeting_id: Any) -> Any:
        """Put a person on the agenda — only with their live `mdt` grant to this forum."""
        return operations.add_to_agenda(current_actor(), str(meeting_id), str(body["person_id"]))


@blp.route("/meetings/<uuid:meeting_id>/summary")
class Summary(MethodView):
    @blp.response(200, SummaryOut)
    @reads_only
    def get(self, meeting_id: Any) -> dict[str, Any]:
        """The shared summary, decided now from each person's `mdt` grant (members)."""
        return summary.build_summary(current_actor(), str(meeting_id))


def _printed_by() -> str:
    actor = current_actor()
    staff = db.session.get(Staff, actor.id)
    return f"{actor.name} ({staff.agency.name})" if staff else actor.name


def _language() -> str:
    """Welsh if the request's Accept-Language prefers it to English, else English."""
    return preferred(request.accept_languages)


@blp.route("/meetings/<uuid:meeting_id>/summary.html")
class SummaryPrintView(MethodView):
    @blp.response(200, content_type="text/html")
    @reads_only
    def get(self, meeting_id: Any) -> Response:
        """The summary as a printable page."""
        data = summary.build_summary(current_actor(), str(meeting_id), fmt="html")
        html = printing.render_html(data, _printed_by(), db.utcnow(), _language())
        return Response(html, mimetype="text/html", headers=_no_store())


@blp.route("/meetings/<uuid:meeting_id>/summary.pdf")
class SummaryPdf(MethodView):
    @blp.response(200, content_type="application/pdf")
    @reads_only
    def get(self, meeting_id: Any) -> Response:
        """The summary as a PDF: OFFICIAL-SENSITIVE, dated, page-numbered. Printing is logged."""
        data = summary.build_summary(current_actor(), str(meeting_id), fmt="pdf")
        pdf = printing.render_pdf(data, _printed_by(), db.utcnow(), _language())
        return Response(pdf, mimetype="application/pdf", headers=_no_store())


def _no_store() -> dict[str, str]:
    return {"Cache-Control": "no-store"}


@blp.route("/meetings/<uuid:meeting_id>/actions")
class Actions(MethodView):
    @blp.arguments(ActionIn)
    @blp.response(201, ActionOut)
    def post(self, body: dict[str, Any], meeting_id: Any) -> Any:
        """Record an action with a named owner and a due date (the chair). The owner must
        be a member of this meeting's MDT: anyone else is a 422, and the refusal is logged."""
        return operations.add_action(
            current_actor(),
            str(meeting_id),
            str(body["person_id"]),
            str(body["owner_staff_id"]),
            body["text"],
            body["due_on"],
        )


@blp.route("/actions")
class MyActions(MethodView):
    @blp.response(200, ActionListOut)
    def get(self) -> dict[str, Any]:
        """The caller's own actions (as owner)."""
        return {"items": operations.my_actions(current_actor())}


@blp.route("/actions/<uuid:action_id>")
class ActionStatus(MethodView):
    @blp.arguments(ActionStatusIn)
    @blp.response(200, ActionOut)
    def post(self, body: dict[str, Any], action_id: Any) -> Any:
        """Mark an action done or dropped (its owner or the chair)."""
        return operations.set_action_status(current_actor(), str(action_id), body["status"])
