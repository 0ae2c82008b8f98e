"""Data-protection rights (API.md "v1.1 additions: Data-protection rights"): thin handlers over
passport.rights, which decides who may do what and logs every step."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields, validate

from .. import db
from ..errors import NotFound
from ..languages import preferred
from ..rights import operations, pack, printing
from ..rights.models import SubjectAccessRequest
from ..rights.processing import processing_information
from .auth import current_actor
from .schemas import Strict

blp = Blueprint(
    "rights",
    __name__,
    url_prefix="/api/v1",
    description="Data-protection rights: subject access, erasure with a decision",
)

REASON = validate.Length(1, operations.MAX_REASON)


class SubjectAccessIn(Strict):
    reason = fields.String(
        required=True,
        validate=REASON,
        metadata={"description": "Who asked and how (sealed: only the pack shows it)."},
    )
    received_on = fields.Date(
        required=True, metadata={"description": "The day the request reached the scheme."}
    )


class SubjectAccessCreatedOut(Strict):
    id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    received_on = fields.Date(required=True)
    due_on = fields.Date(
        required=True,
        metadata={"description": "received_on + one calendar month (ICO), a weekend moved on"},
    )


class SubjectAccessItemOut(Strict):
    id = fields.String(required=True)
    person_id = fields.String(required=True)
    received_on = fields.Date(required=True)
    due_on = fields.Date(required=True)
    created_at = fields.DateTime(required=True)
    answered_at = fields.DateTime(allow_none=True, required=True)
    erased = fields.Boolean(required=True)


class SubjectAccessListOut(Strict):
    items = fields.List(fields.Nested(SubjectAccessItemOut), required=True)


class SubjectAccessPackOut(Strict):
    pack_version = fields.Integer(required=True)
    made_at = fields.String(required=True)
    made_by = fields.Dict(required=True)
    request = fields.Dict(required=True)
    person = fields.Dict(required=True)
    sections = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()), required=True)
    grants = fields.List(fields.Dict(), required=True)
    contributors = fields.List(fields.Dict(), required=True)
    emergency_accesses = fields.List(fields.Dict(), required=True)
    representatives = fields.List(fields.Dict(), required=True)
    access_log = fields.List(fields.Dict(), required=True)
    processing = fields.Dict(required=True)


class ErasureIn(Strict):
    reason = fields.String(validate=validate.Length(0, operations.MAX_REASON))


class ErasureDecisionIn(Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(operations.ERASURE_OUTCOMES))
    reason = fields.String(
        required=True, validate=REASON, metadata={"description": "The person reads this."}
    )


class ErasureOut(Strict):
    id = fields.String(required=True)
    person_id = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["waiting", "approved", "refused"])
    )
    decided_at = fields.DateTime(allow_none=True, required=True)
    decision_reason = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "Why it was refused; null once the passport is erased."},
    )


class ErasureListOut(Strict):
    items = fields.List(fields.Nested(ErasureOut), required=True)


def _settings_processing() -> dict[str, Any]:
    settings = current_app.config["PASSPORT_SETTINGS"]
    database = "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"
    return processing_information(settings.retention_years, settings.key_provider, database)


def _request_of(person_id: Any, sar_id: Any) -> None:
    """A request under another person's path is not there."""
    found = db.session.get(SubjectAccessRequest, str(sar_id))
    if found is None or found.person_id != str(person_id):
        raise NotFound("there is no such subject access request")


def _no_store(mimetype: str, body: Any, filename: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f"attachment; filename={filename}",
        },
    )


@blp.route("/people/<uuid:person_id>/subject-access")
class SubjectAccess(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(422, response="ValidationError")
    @blp.arguments(SubjectAccessIn)
    @blp.response(201, SubjectAccessCreatedOut)
    def post(self, body: dict[str, Any], person_id: Any) -> dict[str, Any]:
        """Record a person's subject access request (a DPO). A scheme-wide DPO may record one
        for anyone; an agency DPO only for a person their own agency's staff have read or
        written (an allowed look, brief, history, write, MDT summary or emergency access in
        the log) — anyone else is 403, and the refusal is logged. Only the DPO who recorded
        it, and the person, can get its pack."""
        made = operations.record_subject_access_request(
            current_actor(), str(person_id), body["reason"], body["received_on"]
        )
        item = operations.subject_access_item(made.id)
        assert item is not None
        return {
            "id": item.id,
            "created_at": item.created_at,
            "received_on": item.received_on,
            "due_on": item.due_on,
        }


def _pack(person_id: Any, sar_id: Any, fmt: str) -> dict[str, Any]:
    _request_of(person_id, sar_id)
    return pack.build_pack(current_actor(), str(sar_id), fmt, _settings_processing())


@blp.route("/people/<uuid:person_id>/subject-access/<uuid:sar_id>.json")
class SubjectAccessJson(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.response(200, SubjectAccessPackOut)
    def get(self, person_id: Any, sar_id: Any) -> Response:
        """The pack (the DPO who recorded the request, and the person): the whole record with
        every revision, every event about the person in the access log (refusals too), every
        grant with its receipts, emergency accesses with their reviews, representatives, and
        how the data is processed. The one way a DPO sees content: logged as
        `record.subject_access` with basis `subject_access`, before anything is read."""
        body = _pack(person_id, sar_id, "json")
        return _no_store(
            "application/json", json.dumps(body, ensure_ascii=False), "subject-access.json"
        )


@blp.route("/people/<uuid:person_id>/subject-access/<uuid:sar_id>.pdf")
class SubjectAccessPdf(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.response(200, content_type="application/pdf")
    def get(self, person_id: Any, sar_id: Any) -> Response:
        """The same pack as a readable PDF, in English or Welsh (Accept-Language)."""
        body = _pack(person_id, sar_id, "pdf")
        pdf = printing.render_pdf(body, preferred(request.accept_languages))
        return _no_store("application/pdf", pdf, "subject-access.pdf")


@blp.route("/audit/subject-access")
class SubjectAccessRequests(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.response(200, SubjectAccessListOut)
    def get(self) -> dict[str, Any]:
        """The requests this DPO recorded, newest first, with the day each is due."""
        return {"items": operations.subject_access_requests(current_actor())}


@blp.route("/audit/subject-access/<uuid:sar_id>/answered")
class SubjectAccessAnswered(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.response(200, SubjectAccessItemOut)
    def post(self, sar_id: Any) -> Any:
        """Mark a request answered (the DPO who recorded it)."""
        return operations.mark_answered(current_actor(), str(sar_id))


@blp.route("/people/<uuid:person_id>/erasure-requests")
class ErasureRequests(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.alt_response(422, response="ValidationError")
    @blp.arguments(ErasureIn)
    @blp.response(201, ErasureOut)
    def post(self, body: dict[str, Any], person_id: Any) -> Any:
        """Ask for the passport to be erased (the person only). A scheme-wide DPO decides;
        one request waits at a time (409)."""
        return operations.request_erasure(current_actor(), str(person_id), body.get("reason"))

    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.response(200, ErasureListOut)
    def get(self, person_id: Any) -> dict[str, Any]:
        """The person's erasure requests, with the reason for any refusal."""
        return {"items": operations.erasure_requests_for_person(current_actor(), str(person_id))}


@blp.route("/audit/erasure-requests")
class ErasureQueue(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.response(200, ErasureListOut)
    def get(self) -> dict[str, Any]:
        """Every erasure request, newest first (a scheme-wide DPO)."""
        return {"items": operations.erasure_queue(current_actor())}


@blp.route("/audit/erasure-requests/<uuid:req_id>/decision")
class ErasureDecision(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.alt_response(422, response="ValidationError")
    @blp.arguments(ErasureDecisionIn)
    @blp.response(200, ErasureOut)
    def post(self, body: dict[str, Any], req_id: Any) -> Any:
        """Decide an erasure request (a scheme-wide DPO only: an agency DPO and the person
        are refused, 403). `approved` erases by crypto-shredding, as `passport person erase`
        does: the access log stays whole and verifiable. `refused`: the person sees the
        reason."""
        return operations.decide_erasure(
            current_actor(), str(req_id), body["outcome"], body["reason"]
        )
