"""The content of each section (API.md "Section content"), validated by marshmallow.

Each schema loads a request's `content` (unknown fields refused) and dumps the stored form.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate

from ..errors import Invalid
from ..vocabulary import Section

_SHORT = validate.Length(max=200)
_TEXT = validate.Length(max=5000)


class ProfileContent(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    preferred_name = fields.String(validate=_SHORT)
    date_of_birth = fields.Date()
    pronouns = fields.String(validate=validate.Length(max=50))
    language = fields.String(validate=validate.Length(max=100))


class StoryContent(Schema):
    text = fields.String(required=True, validate=validate.Length(1, 20000))
    title = fields.String(validate=_SHORT)
    occurred_on = fields.Date()


RISK_FLAG_KINDS = [
    "risk_to_others",
    "risk_from_others",
    "self_harm",
    "suicide",
    "overdose",
    "lone_working",
    "fire_setting",
    "exploitation",
    "other",
]
RISK_LEVELS = ["low", "medium", "high"]
NDT_DOMAINS = [
    "engagement",
    "intentional_self_harm",
    "unintentional_self_harm",
    "risk_to_others",
    "risk_from_others",
    "stress_and_anxiety",
    "social_effectiveness",
    "alcohol_drug_abuse",
    "impulse_control",
    "housing",
]
# The New Directions Team assessment counts risk to and from others double (maximum 48).
NDT_DOUBLED = {"risk_to_others", "risk_from_others"}


class RiskFlag(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(RISK_FLAG_KINDS))
    level = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS))
    detail = fields.String(validate=_TEXT)


class NdtScores(Schema):
    """Only the ten published domains, each 0..4; anything else is refused."""

    engagement = fields.Integer(validate=validate.Range(0, 4))
    intentional_self_harm = fields.Integer(validate=validate.Range(0, 4))
    unintentional_self_harm = fields.Integer(validate=validate.Range(0, 4))
    risk_to_others = fields.Integer(validate=validate.Range(0, 4))
    risk_from_others = fields.Integer(validate=validate.Range(0, 4))
    stress_and_anxiety = fields.Integer(validate=validate.Range(0, 4))
    social_effectiveness = fields.Integer(validate=validate.Range(0, 4))
    alcohol_drug_abuse = fields.Integer(validate=validate.Range(0, 4))
    impulse_control = fields.Integer(validate=validate.Range(0, 4))
    housing = fields.Integer(validate=validate.Range(0, 4))


class RiskContent(Schema):
    summary = fields.String(validate=_TEXT)
    flags = fields.List(fields.Nested(RiskFlag), required=True)
    ndt = fields.Nested(NdtScores)
    ndt_total = fields.Integer(dump_only=True)
    review_on = fields.Date()

    @post_load
    def add_ndt_total(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "ndt" in data:
            data["ndt_total"] = sum(
                score * (2 if domain in NDT_DOUBLED else 1) for domain, score in data["ndt"].items()
            )
        return data


class MedicationContent(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    dose = fields.String(validate=_SHORT)
    frequency = fields.String(validate=_SHORT)
    route = fields.String(validate=_SHORT)
    prescriber = fields.String(validate=_SHORT)
    reason = fields.String(validate=_TEXT)
    started_on = fields.Date()
    stopped_on = fields.Date()
    notes = fields.String(validate=_TEXT)


class WorkerContent(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    agency_id = fields.UUID()
    # The worker's own Passport account, when they have one: the lead worker's account may
    # give the person a new set-up code.
    staff_id = fields.UUID()
    organisation = fields.String(validate=_SHORT)
    role = fields.String(validate=_SHORT)
    phone = fields.String(validate=validate.Length(max=50))
    email = fields.Email()
    is_lead = fields.Boolean(load_default=False)
    since = fields.Date()
    until = fields.Date()


CONTACT_METHODS = ["phone", "text", "email", "letter", "in_person", "via_worker"]


class ContactPreference(Schema):
    method = fields.String(required=True, validate=validate.OneOf(CONTACT_METHODS))
    detail = fields.String(validate=_SHORT)
    best_times = fields.String(validate=_SHORT)


class PreferencesContent(Schema):
    contact = fields.List(fields.Nested(ContactPreference), load_default=list)
    appointment_times = fields.String(validate=_TEXT)
    triggers = fields.String(validate=_TEXT)
    what_helps = fields.String(validate=_TEXT)
    what_has_not_helped = fields.String(validate=_TEXT)
    communication_needs = fields.String(validate=_TEXT)
    interpreter = fields.String(validate=_SHORT)
    goals = fields.String(validate=_TEXT)


CONTENT_SCHEMAS: dict[Section, type[Schema]] = {
    Section.PROFILE: ProfileContent,
    Section.STORY: StoryContent,
    Section.RISK: RiskContent,
    Section.MEDICATION: MedicationContent,
    Section.WORKERS: WorkerContent,
    Section.PREFERENCES: PreferencesContent,
}


def validated_content(section: Section, content: Any) -> dict[str, Any]:
    """Load and re-dump `content`: the stored form is plain JSON with server-added fields."""
    schema = CONTENT_SCHEMAS[section]()
    if not isinstance(content, dict):
        raise Invalid("content must be an object", {"content": ["Must be an object."]})
    try:
        loaded = schema.load(content)
    except ValidationError as error:
        raise Invalid(
            f"the {section.value} content is not valid", _flatten("content", error.messages)
        ) from None
    dumped: dict[str, Any] = schema.dump(loaded)
    if "ndt_total" in loaded:
        dumped["ndt_total"] = loaded["ndt_total"]
    return dumped


# marshmallow's message for a field the schema does not know. The made-up field's name is not
# echoed back (it may itself be personal data): the error names the object that holds it.
UNKNOWN_FIELD = "Unknown field."
NOT_ALLOWED = "Contains a field that is not allowed here."


def _flatten(prefix: str, messages: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}

    def add(key: str, values: list[str]) -> None:
        known = out.setdefault(key, [])
        known.extend(v for v in values if v not in known)

    if isinstance(messages, dict):
        for key, value in messages.items():
            if value == [UNKNOWN_FIELD]:
                add(prefix, [NOT_ALLOWED])
            else:
                for inner, values in _flatten(f"{prefix}.{key}", value).items():
                    add(inner, values)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        add(prefix, list(messages))
    else:
        add(prefix, [str(messages)])
    return out
