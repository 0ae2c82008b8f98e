"""The access log for data protection officers (API.md "Access log (DPO)"): thin handlers
over passport.audit.operations, which decides who may see what."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC
from typing import Any

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, fields, validate

from ..audit import operations
from ..vocabulary import Action, ActorKind, Outcome
from .auth import current_actor
from .schemas import MAX_SAFE_INT, Strict

blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/api/v1",
    description="The tamper-evident access log, for data protection officers",
)

NDJSON = "application/x-ndjson"


class EventQuery(Strict):
    person_id = fields.UUID()
    actor_id = fields.String(validate=validate.Length(1, 64))
    agency_id = fields.UUID()
    action = fields.String(validate=validate.OneOf([a.value for a in Action]))
    outcome = fields.String(validate=validate.OneOf([o.value for o in Outcome]))
    since = fields.AwareDateTime(default_timezone=UTC, metadata={"description": "inclusive"})
    until = fields.AwareDateTime(default_timezone=UTC, metadata={"description": "exclusive"})
    after_seq = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_SAFE_INT))
    limit = fields.Integer(
        load_default=100, validate=validate.Range(min=1, max=operations.MAX_PAGE)
    )


class ExportQuery(Strict):
    after_seq = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_SAFE_INT))
    limit = fields.Integer(validate=validate.Range(min=1, max=MAX_SAFE_INT))


class CheckpointQuery(Strict):
    after_seq = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_SAFE_INT))
    limit = fields.Integer(
        load_default=operations.MAX_PAGE, validate=validate.Range(min=1, max=operations.MAX_PAGE)
    )


class VerifyIn(Strict):
    """No options: the whole live log is verified against every checkpoint."""


class EventActorOut(Strict):
    id = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in ActorKind]))
    agency_id = fields.String(allow_none=True)
    roles = fields.List(fields.String(), required=True)


class EventOut(Strict):
    seq = fields.Integer(required=True)
    occurred_at = fields.String(required=True)
    action = fields.String(required=True)
    outcome = fields.String(required=True)
    actor = fields.Nested(EventActorOut, required=True)
    person_id = fields.String(allow_none=True)
    sections = fields.List(fields.String(), required=True)
    purpose = fields.String(allow_none=True)
    basis = fields.Dict(allow_none=True)
    reason = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    detail = fields.Dict(required=True)
    prev_hash = fields.String(required=True)
    entry_hash = fields.String(required=True)


class EventPageOut(Strict):
    items = fields.List(fields.Nested(EventOut), required=True)
    next_after_seq = fields.Integer(allow_none=True, required=True)


class CheckpointOut(Strict):
    log_id = fields.String(required=True)
    seq = fields.Integer(required=True)
    entry_hash = fields.String(required=True)
    signed_at = fields.String(required=True)
    signature = fields.String(required=True, metadata={"description": "Ed25519, base64"})
    key_id = fields.String(required=True)


class CheckpointPageOut(Strict):
    items = fields.List(fields.Nested(CheckpointOut), required=True)
    next_after_seq = fields.Integer(allow_none=True, required=True)


class PublicKeyOut(Strict):
    algorithm = fields.String(required=True)
    key_id = fields.String(required=True)
    public_key = fields.String(required=True, metadata={"description": "raw 32 bytes, base64"})
    public_key_pem = fields.String(required=True)


class HeadOut(Strict):
    seq = fields.Integer(required=True)
    entry_hash = fields.String(required=True)


class VerifyOut(Strict):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True)
    head = fields.Nested(HeadOut, required=True)
    first_bad_seq = fields.Integer(allow_none=True, required=True)
    problem = fields.String(allow_none=True, required=True)
    checkpoints = fields.Integer(required=True)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@blp.route("/audit/events")
class Events(MethodView):
    @blp.arguments(EventQuery, location="query", unknown=RAISE)
    @blp.response(200, EventPageOut)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Events, oldest first, filtered; page on with `after_seq=next_after_seq`."""
        where = operations.EventFilter(
            person_id=_text(query.get("person_id")),
            actor_id=query.get("actor_id"),
            agency_id=_text(query.get("agency_id")),
            action=query.get("action"),
            outcome=query.get("outcome"),
            since=query.get("since"),
            until=query.get("until"),
        )
        items, next_after_seq = operations.search(
            current_actor(), where, query["after_seq"], query["limit"]
        )
        return {"items": items, "next_after_seq": next_after_seq}


@blp.route("/audit/export")
class Export(MethodView):
    @blp.arguments(ExportQuery, location="query", unknown=RAISE)
    @blp.response(200, description="one event per line (AUDIT_FORMAT.md)", content_type=NDJSON)
    def get(self, query: dict[str, Any]) -> Response:
        """The log as NDJSON, up to the head when asked; verify it with your own tools."""
        count, events = operations.export(current_actor(), query["after_seq"], query.get("limit"))

        def lines() -> Iterator[str]:
            for event in events:
                yield json.dumps(event, ensure_ascii=False) + "\n"

        response = Response(stream_with_context(lines()), mimetype=NDJSON)
        response.headers["X-Event-Count"] = str(count)
        response.headers["Content-Disposition"] = 'attachment; filename="access-log.ndjson"'
        return response


@blp.route("/audit/checkpoints")
class Checkpoints(MethodView):
    @blp.arguments(CheckpointQuery, location="query", unknown=RAISE)
    @blp.response(200, CheckpointPageOut)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Signed checkpoints, by seq."""
        items, next_after_seq = operations.list_checkpoints(
            current_actor(), query["after_seq"], query["limit"]
        )
        return {"items": items, "next_after_seq": next_after_seq}


@blp.route("/audit/public-key")
class PublicKey(MethodView):
    @blp.response(200, PublicKeyOut)
    def get(self) -> dict[str, str]:
        """The Ed25519 key that signs checkpoints (separate from the encryption keys)."""
        return operations.public_key(current_actor())


@blp.route("/audit/verify")
class Verify(MethodView):
    @blp.arguments(VerifyIn, required=False)
    @blp.response(200, VerifyOut)
    def post(self, _body: dict[str, Any]) -> dict[str, Any]:
        """Verify the whole live log: the chain, every checkpoint, truncation."""
        return operations.verify_log(current_actor()).as_dict()
