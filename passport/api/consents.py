"""Consent: grants, revocation, receipts, break-glass, and the person's access log."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import db
from ..audit.events import format_time
from ..consent import access_log, circle, emergency, grants
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
        "confirmed": grant.confirmed_at is not None,
        "confirmed_at": grant.confirmed_at,
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
        """Record consent: the person themself, or a contributor with the person present.

        A worker (method verbal, written or interpreter) must be a contributor to this
        passport, and may record sharing only of sections delegated to them: any other
        section is refused with 403 `/problems/forbidden` (logged, reason
        `outside-delegation`). The worker may not be the grantee: 422 with an error on
        `grantee.id` (logged, reason `recorder-as-grantee`). An assisted grant is unconfirmed
        until the person confirms it (`.../confirm`); until then it is active for at most
        30 days from `starts_on`, whatever `expires_on` says."""
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


@blp.route("/people/<uuid:person_id>/consents/<uuid:grant_id>/confirm")
class Confirm(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.arguments(schemas.ConfirmIn)
    @blp.response(200, schemas.GrantOut)
    def post(self, body: dict[str, Any], person_id: Any, grant_id: Any) -> dict[str, Any]:
        """The person confirms an assisted grant a worker recorded (the person only: staff,
        the recorder included, get 403). It then lasts until its `expires_on`.

        Confirming a grant that is already confirmed (a `self` grant included) is 409
        `/problems/conflict` saying so, like revoking twice; so is confirming a revoked or
        ended grant, which stays stopped. An unknown grant is 404."""
        grant = grants.confirm_grant(current_actor(), str(person_id), str(grant_id), "signed_in")
        return grant_out(grant)


@blp.route("/people/<uuid:person_id>/who-can-see")
class WhoCanSee(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.response(200, schemas.WhoCanSeeOut)
    def get(self, person_id: Any) -> Any:
        """Everyone who can read or change any part of this record, and why (the person only).

        One item per grant (kind `agency`, `staff` or `mdt`: the grantee), per contributor
        (who can write and read their sections), per emergency access (with the DPO's
        finding), and per representative. Stopped and ended items are kept, with their
        status: those with status `active` are the ones who can read now, and nobody who can
        read is missing from them."""
        items = circle.who_can_see(current_actor(), str(person_id))
        # Who works with the person says something about them: never kept in a cache.
        return {"items": [_circle_out(item) for item in items]}, 200, {"Cache-Control": "no-store"}


def _when(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "hour"):
        return format_time(value)
    return str(value.isoformat())


def _circle_out(item: circle.CircleItem) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": item.kind,
        "id": item.id,
        "name": item.name,
        "sections": item.sections,
        "status": item.status,
        "agency": item.agency,
        "purpose": item.purpose,
        "until": _when(item.until),
        "since": _when(item.since),
        "ended_at": item.ended_at,
        "recorded_by": item.recorded_by,
        "confirmed": item.confirmed,
        "grant_id": item.grant_id,
        "access_id": item.access_id,
        "finding": item.finding,
        **item.extra,
    }
    return {key: value for key, value in out.items() if value is not None}


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
