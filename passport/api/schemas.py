"""Payloads of the HTTP API: the single source of truth, from which the OpenAPI document is
generated. One explicit schema per audience (STYLE.md §7)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from ..vocabulary import Purpose, Section

SECTION_NAMES = [s.value for s in Section]
PURPOSE_NAMES = [p.value for p in Purpose]


class Strict(ma.Schema):
    """Unknown fields are refused (422), never silently dropped."""

    class Meta:
        unknown = ma.RAISE


class MeOut(Strict):
    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(["person", "staff"]))
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    agency_id = fields.String(allow_none=True)


class PersonCreateIn(Strict):
    name = fields.String(required=True, validate=validate.Length(1, 200))
    preferred_name = fields.String(validate=validate.Length(1, 200))
    date_of_birth = fields.Date()
    username = fields.String(validate=validate.Length(3, 100))
    password = fields.String(validate=validate.Length(1, 200), load_only=True)


class PersonOut(Strict):
    id = fields.String(required=True)
    preferred_name = fields.String(allow_none=True)
    date_of_birth = fields.String(allow_none=True, metadata={"format": "date"})


class PeopleQuery(Strict):
    name = fields.String(validate=validate.Length(1, 200))
    date_of_birth = fields.Date()


class PeopleListOut(Strict):
    items = fields.List(fields.Nested(PersonOut), required=True)


class AuthorOut(Strict):
    id = fields.String(required=True)
    name = fields.String(required=True)
    agency_id = fields.String(allow_none=True)


class EntryOut(Strict):
    id = fields.String(required=True)
    section = fields.String(required=True, validate=validate.OneOf(SECTION_NAMES))
    revision = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["current", "retired"]))
    hidden = fields.Boolean(required=True)
    content = fields.Dict(required=True, metadata={"description": "section content (API.md)"})
    author = fields.Nested(AuthorOut, required=True)
    created_at = fields.DateTime(required=True)


class EntryIn(Strict):
    content = fields.Dict(required=True)


class HideIn(Strict):
    hidden = fields.Boolean(required=True)


class PurposeQuery(Strict):
    purpose = fields.String(validate=validate.OneOf(PURPOSE_NAMES))


class HistoryQuery(PurposeQuery):
    since = fields.DateTime()


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
