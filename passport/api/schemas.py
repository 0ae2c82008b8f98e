"""Payloads of the HTTP API: the single source of truth, from which the OpenAPI document is
generated. One explicit schema per audience (STYLE.md §7)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from ..vocabulary import Purpose, Section

SECTION_NAMES = [s.value for s in Section]
# Sequence numbers and counts stay within I-JSON's safe integers (RFC 7493), which the
# access log's canonical JSON (RFC 8785) requires of every number it records.
MAX_SAFE_INT = 2**53 - 1
PURPOSE_NAMES = [p.value for p in Purpose]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def section_content_doc() -> dict[str, Any]:
    """An entry's content: the content schema of its section (API.md "Section content")."""
    from ..records.sections import CONTENT_SCHEMAS

    return {
        "description": "section content (API.md): the schema of the entry's section",
        "anyOf": [ref(schema.__name__) for schema in CONTENT_SCHEMAS.values()],
    }


class Strict(ma.Schema):
    """Unknown fields are refused (422), never silently dropped."""

    class Meta:
        unknown = ma.RAISE


class RepresentedOut(Strict):
    person_id = fields.String(required=True)
    preferred_name = fields.String(allow_none=True, required=True)
    access = fields.String(required=True, validate=validate.OneOf(["view", "help"]))


class MeOut(Strict):
    id = fields.String(required=True)
    kind = fields.String(
        required=True, validate=validate.OneOf(["person", "staff", "representative"])
    )
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    agency_id = fields.String(allow_none=True)
    represents = fields.List(
        fields.Nested(RepresentedOut),
        metadata={
            "description": "representatives only: the people they act for now, decided "
            "on this request"
        },
    )


class PersonCreateIn(Strict):
    """A `password` is refused: the person chooses their own with the set-up code."""

    name = fields.String(required=True, validate=validate.Length(1, 200))
    preferred_name = fields.String(validate=validate.Length(1, 200))
    date_of_birth = fields.Date()
    username = fields.String(validate=validate.Length(3, 100))

    @ma.pre_load
    def _refuse_password(self, data: Any, **_: Any) -> Any:
        from ..records.operations import SETUP_CODE_INSTEAD

        if isinstance(data, dict) and "password" in data:
            raise ma.ValidationError({"password": [SETUP_CODE_INSTEAD]})
        return data


class PersonOut(Strict):
    id = fields.String(required=True)
    preferred_name = fields.String(allow_none=True)
    date_of_birth = fields.String(allow_none=True, metadata={"format": "date"})


class PersonCreatedOut(Strict):
    """With a username, the person's set-up code: shown this once, never again."""

    id = fields.String(required=True)
    preferred_name = fields.String(allow_none=True)
    date_of_birth = fields.String(allow_none=True, metadata={"format": "date"})
    setup_code = fields.String()
    setup_code_expires_at = fields.DateTime()


class SetupCodeOut(Strict):
    setup_code = fields.String(
        required=True, metadata={"description": "single use; shown this once, never again"}
    )
    expires_at = fields.DateTime(required=True)


class AccountSetupIn(Strict):
    username = fields.String(required=True, validate=validate.Length(1, 100))
    setup_code = fields.String(required=True, validate=validate.Length(1, 40))
    password = fields.String(required=True, validate=validate.Length(1, 200), load_only=True)


class AccountSetupOut(Strict):
    id = fields.String(required=True)
    kind = fields.String(required=True)


class PeopleQuery(Strict):
    name = fields.String(validate=validate.Length(1, 200))
    date_of_birth = fields.Date()


class PeopleListOut(Strict):
    items = fields.List(fields.Nested(PersonOut), required=True)


class EmergencySearchQuery(Strict):
    name = fields.String(
        required=True,
        validate=validate.Length(1, 200),
        metadata={"description": "the legal or preferred name, exactly (case and spaces aside)"},
    )
    date_of_birth = fields.Date(required=True)


class FoundPersonOut(Strict):
    """Who matched an emergency search: never the legal name."""

    id = fields.String(required=True)
    preferred_name = fields.String(allow_none=True)
    date_of_birth = fields.String(allow_none=True, metadata={"format": "date"})


class EmergencySearchOut(Strict):
    items = fields.List(fields.Nested(FoundPersonOut), required=True)


class AuthorOut(Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)
    agency_id = fields.String(allow_none=True)


class DisputeAnswerOut(Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(["corrected", "upheld"]))
    notes = fields.String(allow_none=True, metadata={"description": "what the agency says"})
    revision = fields.Integer(
        allow_none=True,
        metadata={"description": "corrected: the revision of the entry that corrects it"},
    )
    answered_at = fields.DateTime(required=True)
    answered_by = fields.Nested(AuthorOut, required=True)


class DisputeOut(Strict):
    """The person says this entry is wrong, in their own words (every reader sees it beside
    the entry), and the agency's answer once it has answered."""

    id = fields.String(required=True)
    entry_id = fields.String(required=True)
    section = fields.String(required=True, validate=validate.OneOf(SECTION_NAMES))
    revision = fields.Integer(required=True, metadata={"description": "the revision disputed"})
    statement = fields.String(required=True)
    restricted = fields.Boolean(
        required=True,
        metadata={
            "description": "hidden now from every agency but the one that wrote it, until "
            "that agency answers"
        },
    )
    raised_at = fields.DateTime(required=True)
    answer = fields.Nested(DisputeAnswerOut, allow_none=True)


class DisputeIn(Strict):
    statement = fields.String(required=True, validate=validate.Length(1, 2000))
    restrict = fields.Boolean(
        load_default=False,
        metadata={"description": "hide the entry from agencies until its agency answers"},
    )


class DisputeAnswerIn(Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(["corrected", "upheld"]))
    notes = fields.String(
        validate=validate.Length(max=2000),
        metadata={"description": "what the person is told; required when upheld"},
    )


class EntryOut(Strict):
    id = fields.String(required=True)
    section = fields.String(required=True, validate=validate.OneOf(SECTION_NAMES))
    revision = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["current", "retired"]))
    hidden = fields.Boolean(required=True)
    content = fields.Dict(required=True, metadata=section_content_doc())
    author = fields.Nested(AuthorOut, required=True)
    created_at = fields.DateTime(required=True)
    written_with_person = fields.Boolean(
        required=True,
        metadata={"description": "a worker wrote this revision with the person there"},
    )
    dispute = fields.Nested(
        DisputeOut,
        allow_none=True,
        metadata={"description": "the person says this entry is wrong (v1.1, issue 16)"},
    )


class EntryIn(Strict):
    content = fields.Dict(required=True)


class HideIn(Strict):
    hidden = fields.Boolean(required=True)


class PurposeQuery(Strict):
    purpose = fields.String(validate=validate.OneOf(PURPOSE_NAMES))


class HistoryQuery(PurposeQuery):
    # A time without a zone is read as UTC, as the DPO's filters are; never compared naive.
    since = fields.AwareDateTime(default_timezone=UTC)


class PassportOut(Strict):
    person = fields.Nested(PersonOut, required=True)
    purpose = fields.String(allow_none=True)
    sections = fields.Dict(
        keys=fields.String(validate=validate.OneOf(SECTION_NAMES)),
        values=fields.List(fields.Nested(EntryOut)),
        required=True,
    )
    withheld = fields.List(fields.String(), required=True)
    access_id = fields.String(required=True)


class HistoryOut(Strict):
    items = fields.List(fields.Nested(EntryOut), required=True)
    withheld = fields.List(fields.String(), required=True)


class ContributorIn(Strict):
    staff_id = fields.UUID(required=True)
    sections = fields.List(
        fields.String(validate=validate.OneOf(SECTION_NAMES)),
        required=True,
        validate=validate.Length(min=1),
    )


class ContributorOut(Strict):
    staff_id = fields.String(required=True)
    sections = fields.List(fields.String(), required=True)
    added_at = fields.DateTime(required=True)


class ContributorListOut(Strict):
    items = fields.List(fields.Nested(ContributorOut), required=True)


class GranteeIn(Strict):
    type = fields.String(required=True, validate=validate.OneOf(["agency", "staff", "mdt"]))
    id = fields.UUID(required=True)


class ObtainedIn(Strict):
    method = fields.String(
        required=True, validate=validate.OneOf(["self", "verbal", "written", "interpreter"])
    )
    notes = fields.String(validate=validate.Length(max=2000), load_only=True)


class GrantIn(Strict):
    grantee = fields.Nested(GranteeIn, required=True)
    sections = fields.List(
        fields.String(validate=validate.OneOf(SECTION_NAMES)),
        required=True,
        validate=validate.Length(min=1),
    )
    purpose = fields.String(
        required=True, validate=validate.OneOf(["direct_support", "referral", "mdt"])
    )
    starts_on = fields.Date()
    expires_on = fields.Date(required=True)
    obtained = fields.Nested(ObtainedIn, required=True)


class GranteeOut(Strict):
    type = fields.String(required=True)
    id = fields.String(required=True)
    name = fields.String(required=True)


class ObtainedOut(Strict):
    method = fields.String(required=True)


class RecordedByOut(Strict):
    kind = fields.String(required=True)
    id = fields.String(required=True)


class GrantOut(Strict):
    id = fields.String(required=True)
    grantee = fields.Nested(GranteeOut, required=True)
    sections = fields.List(fields.String(), required=True)
    purpose = fields.String(required=True)
    starts_on = fields.Date(required=True)
    expires_on = fields.Date(required=True)
    status = fields.String(
        required=True, validate=validate.OneOf(["pending", "active", "expired", "revoked"])
    )
    obtained = fields.Nested(ObtainedOut, required=True)
    recorded_by = fields.Nested(RecordedByOut, required=True)
    created_at = fields.DateTime(required=True)
    revoked_at = fields.DateTime(allow_none=True)
    confirmed = fields.Boolean(
        required=True,
        metadata={
            "description": "a `self` grant is confirmed when made; an assisted one once the "
            "person confirms it. Unconfirmed, it is active for at most 30 days from starts_on."
        },
    )
    confirmed_at = fields.DateTime(allow_none=True, required=True)
    wording = fields.String(required=True, metadata={"description": "the sentence shown"})
    receipt = fields.Dict(
        required=True,
        metadata={"description": "the consent receipt", "allOf": [ref("ConsentReceipt")]},
    )


class GrantListOut(Strict):
    items = fields.List(fields.Nested(GrantOut), required=True)


class GrantListQuery(Strict):
    expiring_within = fields.Integer(validate=validate.Range(0, 3650))


class RevokeIn(Strict):
    reason = fields.String(validate=validate.Length(max=2000), load_only=True)


class ConfirmIn(Strict):
    """No fields: the person's own token is the confirmation."""


class CircleAgencyOut(Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)


class CircleRecorderOut(Strict):
    kind = fields.String(
        required=True, validate=validate.OneOf(["person", "staff", "system", "representative"])
    )
    id = fields.String(required=True)
    name = fields.String(metadata={"description": "the worker's name (staff only)"})


class WhoCanSeeItemOut(Strict):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(
            ["agency", "staff", "mdt", "contributor", "emergency", "representative"]
        ),
    )
    id = fields.String(
        required=True,
        metadata={
            "description": "the agency, staff account or MDT forum; for contributor and "
            "emergency items, the worker's staff account"
        },
    )
    name = fields.String(required=True)
    agency = fields.Nested(CircleAgencyOut, metadata={"description": "the worker's agency"})
    sections = fields.List(fields.String(), required=True)
    purpose = fields.String()
    until = fields.String(
        metadata={
            "description": "grants: the last day (YYYY-MM-DD) it is active, the 30-day limit "
            "of an unconfirmed assisted grant included; emergency: the time access ends"
        }
    )
    recorded_by = fields.Nested(CircleRecorderOut, metadata={"description": "grants only"})
    confirmed = fields.Boolean(metadata={"description": "grants only"})
    status = fields.String(
        required=True,
        validate=validate.OneOf(
            ["pending", "active", "expired", "revoked", "removed", "ended", "refused"]
        ),
        metadata={
            "description": "`active`: can read (contributors: and write) now. Grants are "
            "pending, active, expired or revoked; contributors active or removed; emergency "
            "access active or ended"
        },
    )
    grant_id = fields.String(metadata={"description": "grants: the grant (to stop it)"})
    access_id = fields.String(metadata={"description": "emergency: the break-glass access"})
    finding = fields.String(
        validate=validate.OneOf(["justified", "not_justified", "not_checked"]),
        metadata={"description": "emergency: the data protection officer's finding"},
    )
    can_change = fields.List(
        fields.String(), metadata={"description": "contributors: the sections they can write"}
    )
    since = fields.String(metadata={"description": "when it started (date or time)"})
    ended_at = fields.DateTime(metadata={"description": "when it was stopped"})
    access = fields.String(
        validate=validate.OneOf(["view", "help"]),
        metadata={"description": "representatives: view, or help (also writes and shares)"},
    )
    legal_basis = fields.String(
        validate=validate.OneOf(["lpa", "deputy", "appointee"]),
        metadata={"description": "legal representatives: pending until a DPO approves"},
    )


class WhoCanSeeOut(Strict):
    items = fields.List(fields.Nested(WhoCanSeeItemOut), required=True)


class ReceiptOut(Strict):
    grant = fields.Dict(
        required=True,
        metadata={"description": "receipt recorded at grant", "allOf": [ref("ConsentReceipt")]},
    )
    revocation = fields.Dict(
        allow_none=True,
        metadata={
            "description": "receipt recorded at revocation",
            "anyOf": [ref("ConsentReceipt"), {"type": "null"}],
        },
    )


class EmergencyIn(Strict):
    reason = fields.String(required=True, validate=validate.Length(max=2000))


class EmergencyOut(Strict):
    id = fields.String(required=True)
    sections = fields.List(fields.String(), required=True)
    expires_at = fields.DateTime(required=True)


class AccessActorOut(Strict):
    name = fields.String(required=True)
    agency = fields.String(allow_none=True)


class AccessLogItemOut(Strict):
    seq = fields.Integer(required=True)
    at = fields.String(required=True)
    actor = fields.Nested(AccessActorOut, required=True)
    action = fields.String(required=True)
    sections = fields.List(fields.String(), required=True)
    purpose = fields.String(allow_none=True)
    outcome = fields.String(required=True)
    emergency = fields.Boolean(required=True)


class AccessLogOut(Strict):
    items = fields.List(fields.Nested(AccessLogItemOut), required=True)
    next_before_seq = fields.Integer(allow_none=True)


class AccessLogQuery(Strict):
    before_seq = fields.Integer(validate=validate.Range(min=1, max=MAX_SAFE_INT))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class EmergencyQueueQuery(Strict):
    reviewed = fields.Boolean()


class EmergencyStaffOut(Strict):
    id = fields.String(required=True)
    name = fields.String(allow_none=True)
    agency_id = fields.String(allow_none=True)


class EmergencyReviewOut(Strict):
    outcome = fields.String(required=True)
    reviewer_id = fields.String(required=True)
    reviewed_at = fields.DateTime(required=True)
    notes = fields.String(required=True)


class EmergencyItemOut(Strict):
    id = fields.String(required=True)
    person_id = fields.String(required=True)
    staff = fields.Nested(EmergencyStaffOut, required=True)
    opened_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True)
    reason = fields.String(required=True)
    review = fields.Nested(EmergencyReviewOut, allow_none=True)


class EmergencyQueueOut(Strict):
    items = fields.List(fields.Nested(EmergencyItemOut), required=True)


class EmergencyReviewIn(Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(["justified", "not_justified"]))
    notes = fields.String(required=True, validate=validate.Length(1, 2000))


class AlertOut(Strict):
    kind = fields.String(required=True)
    level = fields.String(required=True)
    detail = fields.String()
    entry_id = fields.String(required=True)
    review_on = fields.String(allow_none=True)
    dispute = fields.Nested(DisputeOut, allow_none=True)


class BriefOut(Strict):
    person = fields.Nested(PersonOut, required=True)
    purpose = fields.String(allow_none=True)
    alerts = fields.List(fields.Nested(AlertOut), required=True)
    lead_worker = fields.Nested(EntryOut, allow_none=True)
    workers = fields.List(fields.Nested(EntryOut), required=True)
    medication = fields.List(fields.Nested(EntryOut), required=True)
    preferences = fields.List(fields.Nested(EntryOut), required=True)
    recent_story = fields.List(fields.Nested(EntryOut), required=True)
    changed_since_last_view = fields.List(fields.Nested(EntryOut), required=True)
    last_viewed_at = fields.DateTime(allow_none=True)
    withheld = fields.List(fields.String(), required=True)


# --- Documents: published shapes that endpoints return inside a field ------------------------
# Registered as OpenAPI components (register_documents) and referenced from the fields that
# carry them, so the contract (and the fuzzing that checks responses against it) covers them.


class ReceiptPartyOut(Strict):
    kind = fields.String(
        required=True, validate=validate.OneOf(["person", "staff", "system", "representative"])
    )
    id = fields.String(required=True)


class ReceiptPrincipalOut(Strict):
    id = fields.String(required=True, metadata={"description": "the person: an id, never a name"})


class ReceiptControllerOut(Strict):
    name = fields.String(required=True)
    contact = fields.String(required=True)


class ReceiptPurposeOut(Strict):
    purpose = fields.String(
        required=True, validate=validate.OneOf(["direct_support", "referral", "mdt"])
    )
    consent_type = fields.String(required=True, validate=validate.OneOf(["explicit"]))
    primary = fields.Boolean(required=True)


class ReceiptRecipientOut(Strict):
    type = fields.String(required=True, validate=validate.OneOf(["agency", "staff", "mdt"]))
    id = fields.String(required=True)
    name = fields.String(required=True)


class ReceiptValidityOut(Strict):
    starts_on = fields.Date(required=True)
    expires_on = fields.Date(required=True)


class ReceiptWordingOut(Strict):
    text = fields.String(required=True, metadata={"description": "the sentence the person saw"})
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


class ConsentReceipt(Strict):
    """A consent receipt: the fields of Kantara Consent Receipt 1.1 / ISO/IEC TS 27560 that
    apply, recorded when consent is given (`event: grant`) and when it is withdrawn
    (`event: revocation`). Identifiers, not names, for the person; no record content."""

    version = fields.String(required=True)
    receipt_id = fields.UUID(required=True)
    event = fields.String(required=True, validate=validate.OneOf(["grant", "revocation"]))
    grant_id = fields.UUID(required=True)
    jurisdiction = fields.String(required=True)
    timestamp = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"),
        metadata={"description": "UTC, microseconds, Z"},
    )
    collection_method = fields.String(
        required=True,
        validate=validate.OneOf(
            ["self", "assisted:verbal", "assisted:written", "assisted:interpreter"]
        ),
    )
    recorded_by = fields.Nested(ReceiptPartyOut, required=True)
    language = fields.String(required=True)
    principal = fields.Nested(ReceiptPrincipalOut, required=True)
    controller = fields.Nested(ReceiptControllerOut, required=True)
    purposes = fields.List(fields.Nested(ReceiptPurposeOut), required=True)
    categories = fields.List(
        fields.String(validate=validate.OneOf(SECTION_NAMES)),
        required=True,
        metadata={"description": "the sections covered"},
    )
    sensitive = fields.Boolean(required=True)
    recipients = fields.List(fields.Nested(ReceiptRecipientOut), required=True)
    validity = fields.Nested(ReceiptValidityOut, required=True)
    withdrawal = fields.String(required=True, metadata={"description": "how to withdraw"})
    wording = fields.Nested(ReceiptWordingOut, required=True)


# -- representatives ------------------------------------------------------------------------


class RepresentativeIn(Strict):
    """The person appoints (`name`, `username`, `access`); a caseworker contributor records
    a legal representative (add `legal_basis` and `evidence`; `access` defaults to help)."""

    name = fields.String(required=True, validate=validate.Length(1, 200))
    username = fields.String(required=True, validate=validate.Length(1, 100))
    access = fields.String(validate=validate.OneOf(["view", "help"]))
    legal_basis = fields.String(validate=validate.OneOf(["lpa", "deputy", "appointee"]))
    evidence = fields.String(
        validate=validate.Length(1, 2000),
        metadata={"description": "what the worker saw (sealed like other personal data)"},
    )


class RepresentativeOut(Strict):
    id = fields.String(required=True, metadata={"description": "the appointment"})
    name = fields.String(required=True)
    access = fields.String(required=True, validate=validate.OneOf(["view", "help"]))
    legal_basis = fields.String(
        allow_none=True, validate=validate.OneOf(["lpa", "deputy", "appointee"])
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(["active", "pending", "refused", "removed"]),
        metadata={"description": "pending/refused: a legal one a DPO has not approved"},
    )
    created_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(allow_none=True)


class RepresentativeCreatedOut(RepresentativeOut):
    setup_code = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "single use, shown this once: the representative chooses their "
            "passphrase with it (`POST /account/setup`); null when the username is an "
            "existing representative's account, who signs in as before"
        },
    )
    expires_at = fields.DateTime(required=True, allow_none=True)


class RepresentativeListOut(Strict):
    items = fields.List(fields.Nested(RepresentativeOut), required=True)


class LegalRepresentativeOut(RepresentativeOut):
    person_id = fields.String(required=True)
    recorded_by = fields.Nested(CircleRecorderOut, required=True)


class LegalRepresentativeListOut(Strict):
    items = fields.List(fields.Nested(LegalRepresentativeOut), required=True)


class LegalQueueQuery(Strict):
    reviewed = fields.Boolean()


class RepresentativeReviewIn(Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(["approved", "refused"]))
    notes = fields.String(required=True, validate=validate.Length(1, 2000))


def register_documents(spec: Any) -> None:
    """Add the documents above, and each section's content, to the OpenAPI components."""
    from ..records.sections import CONTENT_SCHEMAS

    spec.components.schema("ConsentReceipt", schema=ConsentReceipt)
    for schema in CONTENT_SCHEMAS.values():
        spec.components.schema(schema.__name__, schema=schema)
