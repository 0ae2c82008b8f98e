"""Consent: grants, revocation, receipts, break-glass, and the person's access log."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import db
from ..consent import access_log, emergency, grants
from ..consent.decision import grant_status
from ..consent.models import Grant
from ..vocabulary import EMERGENCY_SECTIONS
from . import schemas
from .auth import current_actor

blp = Blueprint("consents", __name__, url_prefix="/api/v1", description="Consent and access")


def grant_out(grant: Grant) -> dict[str, Any]:
    grantee = grants.grantee_of(grant)
    return {
        "id": grant.id,
        "grantee": {"type": grantee.type, "id": grantee.id, "name": grantee.name},
        "sections": grant.sections,
        "purpose": grant.purpose,
        "starts_on": grant.starts_on,
        "expires_on": grant.expires_on,
        "status": grant_status(grant, db.utcnow().date()),
        "obtained": {"method": grant.obtained_method},
        "recorded_by": {"kind": grant.recorded_by_kind, "id": grant.recorded_by_id},
        "created_at": grant.created_at,
        "revoked_at": grant.revocation.revoked_at if grant.revocation else None,
        "wording": grant.receipt["wording"]["text"],
        "receipt": grant.receipt,
    }


@blp.route("/people/<uuid:person_id>/consents")
class Consents(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.arguments(schemas.GrantIn)
    @blp.response(201, schemas.GrantOut)
    def post(self, body: dict[str, Any], person_id: Any) -> dict[str, Any]:
        """Record consent: the person themself, or a contributor with the person present."""
        grant = grants.create_grant(
            current_actor(),
            str(person_id),
            grantee_type=body["grantee"]["type"],
            grantee_id=str(body["grantee"]["id"]),
            sections=body["sections"],
            purpose=body["purpose"],
            starts_on=body.get("starts_on"),
            expires_on=body["expires_on"],
            method=body["obtained"]["method"],
            notes=body["obtained"].get("notes"),
        )
        return grant_out(grant)

    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.arguments(schemas.GrantListQuery, location="query")
    @blp.response(200, schemas.GrantListOut)
    def get(self, query: dict[str, Any], person_id: Any) -> dict[str, Any]:
        """Every grant with its status; `expiring_within=30` lists those ending soon."""
        found = grants.list_grants(current_actor(), str(person_id), query.get("expiring_within"))
        return {"items": [grant_out(g) for g in found]}


@blp.route("/people/<uuid:person_id>/consents/<uuid:grant_id>/revoke")
class Revoke(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.arguments(schemas.RevokeIn)
    @blp.response(200, schemas.GrantOut)
    def post(self, body: dict[str, Any], person_id: Any, grant_id: Any) -> dict[str, Any]:
        """Withdraw a grant. Takes effect on the very next request."""
        grant = grants.revoke_grant(
            current_actor(), str(person_id), str(grant_id), body.get("reason")
        )
        return grant_out(grant)


@blp.route("/people/<uuid:person_id>/consents/<uuid:grant_id>/receipt")
class Receipt(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.response(200, schemas.ReceiptOut)
    def get(self, person_id: Any, grant_id: Any) -> dict[str, Any]:
        grant = grants.get_grant(current_actor(), str(person_id), str(grant_id))
        return {
            "grant": grant.receipt,
            "revocation": grant.revocation.receipt if grant.revocation else None,
        }


@blp.route("/people/<uuid:person_id>/emergency-access")
class EmergencyAccess(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.arguments(schemas.EmergencyIn)
    @blp.response(201, schemas.EmergencyOut)
    def post(self, body: dict[str, Any], person_id: Any) -> dict[str, Any]:
        """Break-glass: risk, medication and workers for a few hours, reviewed by the DPO."""
        hours = current_app.config["PASSPORT_SETTINGS"].emergency_access_hours
        access = emergency.open_emergency(current_actor(), str(person_id), body["reason"], hours)
        return {
            "id": access.id,
            "sections": sorted(s.value for s in EMERGENCY_SECTIONS),
            "expires_at": access.expires_at,
        }


@blp.route("/people/<uuid:person_id>/access-log")
class AccessLog(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.arguments(schemas.AccessLogQuery, location="query")
    @blp.response(200, schemas.AccessLogOut)
    def get(self, query: dict[str, Any], person_id: Any) -> dict[str, Any]:
        """Every access to this record, allowed or refused (the person, a DPO)."""
        page = access_log.person_access_log(
            current_actor(), str(person_id), query.get("before_seq"), query["limit"]
        )
        return {"items": page.items, "next_before_seq": page.next_before_seq}


@blp.route("/audit/emergency-access")
class EmergencyQueue(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.arguments(schemas.EmergencyQueueQuery, location="query")
    @blp.response(200, schemas.EmergencyQueueOut)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Break-glass accesses for DPO review."""
        return {"items": emergency.review_queue(current_actor(), query.get("reviewed"))}


@blp.route("/audit/emergency-access/<uuid:access_id>/review")
class EmergencyReview(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.arguments(schemas.EmergencyReviewIn)
    @blp.response(200, schemas.EmergencyItemOut)
    def post(self, body: dict[str, Any], access_id: Any) -> Any:
        return emergency.review(current_actor(), str(access_id), body["outcome"], body["notes"])
