"""Representatives: the person appoints and stops them; a caseworker contributor records a
legal one; a DPO reviews legal ones. Thin handlers over passport.representatives."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from ..consent.decision import representation_status
from ..representatives import operations
from ..representatives.models import Representation
from . import schemas
from .auth import current_actor

blp = Blueprint("representatives", __name__, url_prefix="/api/v1", description="Representatives")


def representative_out(row: Representation) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.account.name,
        "access": row.access,
        "legal_basis": row.legal_basis,
        "status": representation_status(row),
        "created_at": row.created_at,
        "ended_at": row.ending.ended_at if row.ending else None,
    }


def legal_out(row: Representation) -> dict[str, Any]:
    return {
        **representative_out(row),
        "person_id": row.person_id,
        "recorded_by": {"kind": row.recorded_by_kind, "id": row.recorded_by_id},
    }


@blp.route("/people/<uuid:person_id>/representatives")
class Representatives(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.alt_response(422, response="ValidationError")
    @blp.arguments(schemas.RepresentativeIn)
    @blp.response(201, schemas.RepresentativeCreatedOut)
    def post(self, body: dict[str, Any], person_id: Any) -> dict[str, Any]:
        """The person appoints someone to act for them: `view` reads the whole passport;
        `help` also writes the story and what works, and manages sharing — but never
        appoints others or asks for erasure. With `legal_basis` and `evidence`, a caseworker
        contributor records a legal representative, who acts once a DPO approves."""
        actor = current_actor()
        if "legal_basis" in body or "evidence" in body:
            appointed = operations.record_legal(
                actor,
                str(person_id),
                name=body["name"],
                username=body["username"],
                legal_basis=body.get("legal_basis", ""),
                evidence=body.get("evidence", ""),
                access=body.get("access", "help"),
            )
        else:
            appointed = operations.appoint(
                actor,
                str(person_id),
                name=body["name"],
                username=body["username"],
                access=body.get("access", ""),
            )
        return {
            **representative_out(appointed.representation),
            "setup_code": appointed.setup_code,
            "expires_at": appointed.expires_at,
        }

    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.response(200, schemas.RepresentativeListOut)
    def get(self, person_id: Any) -> dict[str, Any]:
        """Everyone appointed to act for the person, past ones too (the person and their
        representatives)."""
        rows = operations.list_for_person(current_actor(), str(person_id))
        return {"items": [representative_out(r) for r in rows]}


@blp.route("/people/<uuid:person_id>/representatives/<uuid:representation_id>")
class Representative(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.response(204)
    def delete(self, person_id: Any, representation_id: Any) -> None:
        """Stop a representative (the person only): refused from their next request."""
        operations.remove(current_actor(), str(person_id), str(representation_id))


@blp.route("/audit/representatives")
class LegalQueue(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.arguments(schemas.LegalQueueQuery, location="query")
    @blp.response(200, schemas.LegalRepresentativeListOut)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Legal representatives for the DPO (waiting ones by default)."""
        rows = operations.legal_queue(current_actor(), query.get("reviewed", False))
        return {"items": [legal_out(r) for r in rows]}


@blp.route("/audit/representatives/<uuid:representation_id>/review")
class LegalReview(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.alt_response(422, response="ValidationError")
    @blp.arguments(schemas.RepresentativeReviewIn)
    @blp.response(200, schemas.LegalRepresentativeOut)
    def post(self, body: dict[str, Any], representation_id: Any) -> dict[str, Any]:
        """A DPO approves or refuses a legal representative; nobody reviews one they
        recorded."""
        row = operations.review(
            current_actor(), str(representation_id), body["outcome"], body["notes"]
        )
        return legal_out(row)
