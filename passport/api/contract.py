"""The published contract in schemas/: generated from the marshmallow schemas, never by hand.

- `openapi.json`: the OpenAPI document flask-smorest builds (the one served at
  /api/v1/openapi.json).
- `section-<name>.schema.json`: the content of each section (records.sections).
- `consent-receipt.schema.json`: the consent receipt (api.schemas.ConsentReceipt).
- `access-log-event.schema.json`: one access-log event as exported (AUDIT_FORMAT.md).

The JSON Schemas are converted by apispec's marshmallow plugin (OpenAPI 3.1 schema objects are
JSON Schema 2020-12), with nested schemas under `$defs`. `passport schemas write` writes them;
tests/test_schemas.py fails when the committed files drift from the code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import marshmallow as ma
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import fields, validate

from ..records.sections import CONTENT_SCHEMAS
from ..vocabulary import ActorKind, BasisKind, Outcome, Purpose, Section
from .schemas import ConsentReceipt

SCHEMAS_FOLDER = Path(__file__).resolve().parents[2] / "schemas"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_HASH = validate.Regexp(r"^[0-9a-f]{64}$")


class AccessLogActor(ma.Schema):
    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ActorKind]))
    agency_id = fields.String(required=True, allow_none=True)
    roles = fields.List(fields.String(), required=True)


class AccessLogBasis(ma.Schema):
    kind = fields.String(
        required=True, allow_none=True, validate=validate.OneOf([b.value for b in BasisKind])
    )
    id = fields.String(required=True, allow_none=True)


class AccessLogEvent(ma.Schema):
    """One event of the access log, as exported one JSON object per line (AUDIT_FORMAT.md).
    Identifiers only: never record content, names or free text."""

    seq = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.String(
        required=True,
        validate=validate.Regexp(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"),
        metadata={"description": "UTC, microseconds, Z"},
    )
    action = fields.String(
        required=True,
        validate=validate.Regexp(r"^[a-z_]+\.[a-z_]+$"),
        metadata={"description": "e.g. record.view, consent.grant, auth.token_issued"},
    )
    outcome = fields.String(required=True, validate=validate.OneOf([o.value for o in Outcome]))
    actor = fields.Nested(AccessLogActor, required=True)
    person_id = fields.String(required=True, allow_none=True)
    sections = fields.List(
        fields.String(validate=validate.OneOf([s.value for s in Section])),
        required=True,
        metadata={"description": "sorted; [] where none apply"},
    )
    purpose = fields.String(
        required=True, allow_none=True, validate=validate.OneOf([p.value for p in Purpose])
    )
    basis = fields.Nested(AccessLogBasis, required=True, allow_none=True)
    reason = fields.String(
        required=True, allow_none=True, metadata={"description": "why a refusal happened"}
    )
    request_id = fields.String(required=True, allow_none=True)
    detail = fields.Dict(
        required=True, metadata={"description": "non-sensitive extras: counts, ids, grantees"}
    )
    prev_hash = fields.String(required=True, validate=_HASH)
    entry_hash = fields.String(
        required=True,
        validate=_HASH,
        metadata={"description": "hex(SHA-256(bytes(prev_hash) || JCS(event without hashes)))"},
    )


def _json_schema(schema: type[ma.Schema], title: str) -> dict[str, Any]:
    """A standalone JSON Schema (2020-12) for a marshmallow schema, via apispec."""
    spec = APISpec("passport", "v1", "3.1.0", plugins=[MarshmallowPlugin()])
    name = schema.__name__
    spec.components.schema(name, schema=schema)
    components: dict[str, Any] = dict(spec.to_dict()["components"]["schemas"])
    root = components.pop(name)
    document: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT, "title": title}
    if schema.__doc__:
        document["description"] = " ".join(schema.__doc__.split())
    document.update(root)
    if components:
        document["$defs"] = dict(sorted(components.items()))
    rewritten = json.dumps(document).replace('"#/components/schemas/', '"#/$defs/')
    result: dict[str, Any] = json.loads(rewritten)
    return result


def json_schemas() -> dict[str, dict[str, Any]]:
    documents = {
        f"section-{section.value}.schema.json": _json_schema(
            schema, f"Passport {section.value} section: entry content"
        )
        for section, schema in CONTENT_SCHEMAS.items()
    }
    documents["consent-receipt.schema.json"] = _json_schema(
        ConsentReceipt, "Passport consent receipt"
    )
    documents["access-log-event.schema.json"] = _json_schema(
        AccessLogEvent, "Passport access-log event"
    )
    return documents


def openapi_document(app: Flask) -> dict[str, Any]:
    api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    with app.app_context():
        document: dict[str, Any] = api.spec.to_dict()
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def files(app: Flask) -> dict[str, str]:
    """Every file of the contract, by name, as it should read."""
    out = {"openapi.json": render(openapi_document(app))}
    out.update({name: render(doc) for name, doc in json_schemas().items()})
    return out


def write(app: Flask, folder: Path = SCHEMAS_FOLDER) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files(app).items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_files(app: Flask, folder: Path = SCHEMAS_FOLDER) -> list[str]:
    """The names of contract files that are missing or differ from what the code generates."""
    stale = []
    for name, text in files(app).items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale
