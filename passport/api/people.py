"""People and their record: thin handlers — parse, call the domain, dump."""

from __future__ import annotations

import re
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from .. import audit
from ..errors import Forbidden, PassportError
from ..identity import setup_codes
from ..records import disputes, operations, search, views
from ..records.content import EntryView, person_identity
from ..representatives import operations as representatives
from ..unit_of_work import reads_only
from ..vocabulary import Action, Section
from . import schemas
from .auth import current_actor

blp = Blueprint("people", __name__, url_prefix="/api/v1", description="People and their record")

# -- ETag and If-Match on entries -------------------------------------------------------------
# An entry's ETag is its revision number in quotes: `"3"`, the same as the `revision` field of
# the entry in any answer (the passport, the history), so a client can send If-Match from
# those too. The content of a revision never changes, so a weak tag `W/"3"` (as a compressing
# proxy may make of ours) names the same revision and is accepted as it.

ETAG = {
    "ETag": {
        "description": 'The entry\'s revision in quotes, like `"3"`: send it back as If-Match.',
        "schema": {"type": "string", "example": '"3"'},
    }
}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "schema": {"type": "string", "example": '"3"'},
    "description": (
        'The ETag of the entry as the caller last read it (`"3"`, or `W/"3"`), or `*` for '
        "whatever is latest. If someone else has changed the entry since, nothing is written "
        "and the answer is 412 `/problems/precondition-failed`: read the entry again and "
        "reapply the change. Anything else (no quotes, not a revision number, a list of "
        "several) is a 400 `/problems/malformed-request`. Without If-Match the change applies "
        "to whatever is latest, so a change made meanwhile by someone else is replaced "
        "(it stays in the history): clients should always send it."
    ),
}
_ENTITY_TAG = re.compile(r'(?:W/)?"(0|[1-9][0-9]{0,17})"')


def _expected_revision() -> int | None:
    """The revision named by If-Match (None: no header, or `*`)."""
    value = request.headers.get("If-Match")
    if value is None or value.strip() == "*":
        return None
    found = _ENTITY_TAG.fullmatch(value.strip())
    if found is None:
        raise PassportError(
            'If-Match must be one ETag of this entry, its revision number in quotes like "3", or *'
        )
    return int(found.group(1))


def _with_etag(entry: EntryView) -> tuple[EntryView, dict[str, str]]:
    return entry, {"ETag": f'"{entry.revision}"'}


@blp.route("/me")
class Me(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.response(200, schemas.MeOut)
    def get(self) -> dict[str, Any]:
        actor = current_actor()
        name = actor.name
        if actor.is_person:
            decisions = views.decide_all(
                actor, actor.id, None, Action.RECORD_VIEW, (Section.PROFILE,)
            )
            name = person_identity(decisions)["preferred_name"] or name
        out: dict[str, Any] = {
            "id": actor.id,
            "kind": actor.kind.value,
            "name": name,
            "roles": sorted(r.value for r in actor.roles),
            "agency_id": actor.agency_id,
        }
        if actor.is_representative:
            out["represents"] = [
                {"person_id": r.person_id, "preferred_name": r.preferred_name, "access": r.access}
                for r in representatives.represented_by(actor)
            ]
        return out


@blp.route("/people")
class People(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.arguments(schemas.PeopleQuery, location="query")
    @blp.response(200, schemas.PeopleListOut)
    @reads_only
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The caller's caseload: people with a live grant covering them (or who chose them
        as a contributor). `name` and `date_of_birth` filter by exact match."""
        actor = current_actor()
        if not actor.is_staff:
            raise Forbidden("the caseload is for staff")
        return {"items": views.caseload(actor, query.get("name"), query.get("date_of_birth"))}

    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(409, response="Conflict")
    @blp.alt_response(422, response="ValidationError")
    @blp.arguments(schemas.PersonCreateIn)
    @blp.response(201, schemas.PersonCreatedOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register a person (caseworkers). The caseworker becomes a contributor. With a
        username, the answer holds the person's set-up code, shown this once: with it they
        choose their own passphrase (`POST /account/setup`). A `password` is refused."""
        # The domain refuses non-caseworkers itself, and logs the refusal.
        _, out = operations.register_person(current_actor(), **body)
        return out


@blp.route("/people/<uuid:person_id>/setup-code")
class SetupCode(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.response(201, schemas.SetupCodeOut)
    def post(self, person_id: Any) -> dict[str, Any]:
        """A new set-up code (a contributor or the lead worker's account, with the person
        there). Single use, for 7 days; the person's old passphrase, their bearer tokens and
        any earlier code stop working at once, and they are told at their next sign-in."""
        code, expires_at = setup_codes.issue(current_actor(), str(person_id))
        return {"setup_code": code, "expires_at": expires_at}


@blp.route("/people/emergency-search")
class EmergencySearch(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.arguments(schemas.EmergencySearchQuery, location="query", unknown=RAISE)
    @blp.response(200, schemas.EmergencySearchOut)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Find a person by exact name (legal or preferred) and date of birth, across
        everyone, to open emergency access (caseworkers). Shows the preferred name and date
        of birth only. Every search is logged, without the name searched for."""
        return {
            "items": search.emergency_search(current_actor(), query["name"], query["date_of_birth"])
        }


@blp.route("/people/<uuid:person_id>/passport")
class Passport(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.arguments(schemas.PurposeQuery, location="query")
    @blp.response(200, schemas.PassportOut)
    @reads_only
    def get(self, query: dict[str, Any], person_id: Any) -> dict[str, Any]:
        """The passport: allowed sections only, and which were withheld."""
        view = views.passport(current_actor(), str(person_id), query.get("purpose"))
        return {
            "person": view.person,
            "purpose": view.purpose,
            "sections": view.sections,
            "withheld": view.withheld,
            "access_id": audit.request_id.get(),
        }


@blp.route("/people/<uuid:person_id>/brief")
class Brief(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.arguments(schemas.PurposeQuery, location="query")
    @blp.response(200, schemas.BriefOut)
    @reads_only
    def get(self, query: dict[str, Any], person_id: Any) -> dict[str, Any]:
        """The pre-visit brief, from allowed sections only."""
        return views.brief(current_actor(), str(person_id), query.get("purpose"))


@blp.route("/people/<uuid:person_id>/history")
class History(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.arguments(schemas.HistoryQuery, location="query")
    @blp.response(200, schemas.HistoryOut)
    @reads_only
    def get(self, query: dict[str, Any], person_id: Any) -> dict[str, Any]:
        """Every revision in the allowed sections, newest first."""
        items, withheld = views.history(
            current_actor(), str(person_id), query.get("purpose"), query.get("since")
        )
        return {"items": items, "withheld": withheld}


@blp.route("/people/<uuid:person_id>/sections/<section>/entries")
class Entries(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.arguments(schemas.EntryIn)
    @blp.response(201, schemas.EntryOut, headers=ETAG)
    def post(self, body: dict[str, Any], person_id: Any, section: str) -> Any:
        """Add an entry (the person, or a contributor to this section)."""
        return _with_etag(
            operations.add_entry(
                current_actor(), str(person_id), operations.parse_section(section), body["content"]
            )
        )


@blp.route("/people/<uuid:person_id>/sections/<section>/entries/<uuid:entry_id>")
class EntryRevisions(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.alt_response(400, response="MalformedRequest")
    @blp.alt_response(412, response="PreconditionFailed")
    @blp.doc(parameters=[IF_MATCH])
    @blp.arguments(schemas.EntryIn)
    @blp.response(200, schemas.EntryOut, headers=ETAG)
    def put(self, body: dict[str, Any], person_id: Any, section: str, entry_id: Any) -> Any:
        """Change an entry: a new revision; earlier ones are kept. Send If-Match with the
        entry's ETag so that a change someone else made meanwhile is never lost (412)."""
        return _with_etag(
            operations.revise_entry(
                current_actor(),
                str(person_id),
                operations.parse_section(section),
                str(entry_id),
                body["content"],
                expected_revision=_expected_revision(),
            )
        )


@blp.route("/people/<uuid:person_id>/sections/<section>/entries/<uuid:entry_id>/retire")
class RetireEntry(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.alt_response(400, response="MalformedRequest")
    @blp.alt_response(412, response="PreconditionFailed")
    @blp.doc(parameters=[IF_MATCH])
    @blp.response(200, schemas.EntryOut, headers=ETAG)
    def post(self, person_id: Any, section: str, entry_id: Any) -> Any:
        """Retire an entry: a new revision with status retired. If-Match as for PUT."""
        return _with_etag(
            operations.retire_entry(
                current_actor(),
                str(person_id),
                operations.parse_section(section),
                str(entry_id),
                expected_revision=_expected_revision(),
            )
        )


@blp.route("/people/<uuid:person_id>/sections/<section>/entries/<uuid:entry_id>/hide")
class HideEntry(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(400, response="MalformedRequest")
    @blp.alt_response(412, response="PreconditionFailed")
    @blp.doc(parameters=[IF_MATCH])
    @blp.arguments(schemas.HideIn)
    @blp.response(200, schemas.EntryOut, headers=ETAG)
    def post(self, body: dict[str, Any], person_id: Any, section: str, entry_id: Any) -> Any:
        """Hide an entry from every agency, or show it again (the person only). If-Match as
        for PUT."""
        return _with_etag(
            operations.set_hidden(
                current_actor(),
                str(person_id),
                operations.parse_section(section),
                str(entry_id),
                body["hidden"],
                expected_revision=_expected_revision(),
            )
        )


@blp.route("/people/<uuid:person_id>/contributors")
class Contributors(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.arguments(schemas.ContributorIn)
    @blp.response(201, schemas.ContributorOut)
    def post(self, body: dict[str, Any], person_id: Any) -> Any:
        """Let a worker write (and read) some sections (the person only)."""
        return operations.add_contributor(
            current_actor(), str(person_id), str(body["staff_id"]), body["sections"]
        )

    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.response(200, schemas.ContributorListOut)
    def get(self, person_id: Any) -> dict[str, Any]:
        return {"items": operations.list_contributors(current_actor(), str(person_id))}


@blp.route("/people/<uuid:person_id>/contributors/<uuid:staff_id>")
class Contributor(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.response(204)
    def delete(self, person_id: Any, staff_id: Any) -> None:
        """Stop a worker writing (the person only); their reads as a contributor stop on the
        next request. The live grants that worker recorded and the person has not confirmed
        are revoked with them, each with a receipt; confirmed ones are kept, because they are
        the person's own now (stop them one by one with `.../consents/{id}/revoke`)."""
        operations.remove_contributor(current_actor(), str(person_id), str(staff_id))


@blp.route("/people/<uuid:person_id>/entries/<uuid:entry_id>/dispute")
class EntryDispute(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.alt_response(422, response="ValidationError")
    @blp.arguments(schemas.DisputeIn)
    @blp.response(201, schemas.DisputeOut)
    def post(self, body: dict[str, Any], person_id: Any, entry_id: Any) -> Any:
        """The person says an entry a worker wrote is wrong, in their own words (at most
        2,000 characters): every reader then sees the statement beside the entry (`dispute`
        in entry payloads). With `restrict: true` the entry is hidden from every agency until
        the agency that wrote it answers; the person, and that agency's caseworkers who are
        contributors to the section (they answer), still see it. One open dispute per entry
        (a second is 409); entries the person wrote, the profile and retired entries cannot
        be disputed (409): the person changes those themselves."""
        return disputes.raise_dispute(
            current_actor(), str(person_id), str(entry_id), body["statement"], body["restrict"]
        )


@blp.route("/people/<uuid:person_id>/entries/<uuid:entry_id>/dispute/answer")
class EntryDisputeAnswer(MethodView):
    @blp.alt_response(401, response="Unauthenticated")
    @blp.alt_response(403, response="Forbidden")
    @blp.alt_response(404, response="NotFound")
    @blp.alt_response(409, response="Conflict")
    @blp.alt_response(422, response="ValidationError")
    @blp.arguments(schemas.DisputeAnswerIn)
    @blp.response(201, schemas.DisputeOut)
    def post(self, body: dict[str, Any], person_id: Any, entry_id: Any) -> Any:
        """The agency that wrote the disputed revision answers, once (a second answer is
        409), through a caseworker who is a contributor to the entry's section. `corrected`:
        change the entry first with PUT (a new revision); the answer records the entry's
        latest revision, which must be newer than the one disputed (else 409). `upheld`:
        `notes` (required) tell the person why the entry stands. Either answer lifts a
        restriction."""
        return disputes.answer_dispute(
            current_actor(), str(person_id), str(entry_id), body["outcome"], body.get("notes")
        )
