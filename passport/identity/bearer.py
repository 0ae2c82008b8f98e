"""A bearer token as an API request checks it: its terms, and the actor it speaks for.

Every API request runs this lookup, so it is one Core statement with its account's columns
joined in (whichever kind of account it is), and no ORM objects: the request needs the
token's terms and an `Actor`, nothing it could change. The rules are `actor_for_account`'s:
a disabled staff account or an erased person is no actor at all."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, FromClause, and_, bindparam, select

from .. import db
from ..representatives.models import RepresentativeAccount
from ..vocabulary import ActorKind
from .accounts import hash_token, person_actor, representative_actor, staff_actor
from .actor import Actor
from .models import AccessToken, Person, Staff


@dataclass(frozen=True)
class BearerToken:
    """The interface Authlib's BearerTokenValidator expects, and the token's actor (None if
    its account is gone, disabled or erased)."""

    expires_at: datetime
    revoked_at: datetime | None
    scope: str
    client_id: str | None
    actor: Actor | None

    def is_expired(self) -> bool:
        return self.expires_at <= db.utcnow()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def get_scope(self) -> str:
        return self.scope


_token = AccessToken.__table__
_staff = Staff.__table__
_person = Person.__table__
_representative = RepresentativeAccount.__table__


def _of_kind(kind: ActorKind, table: FromClause) -> ColumnElement[bool]:
    return and_(_token.c.account_kind == kind.value, table.c.id == _token.c.account_id)


_BEARER = (
    select(
        _token.c.expires_at,
        _token.c.revoked_at,
        _token.c.scope,
        _token.c.client_id,
        _staff.c.id.label("staff_id"),
        _staff.c.name.label("staff_name"),
        _staff.c.agency_id,
        _staff.c.roles,
        _staff.c.scheme_wide,
        _staff.c.disabled_at,
        _person.c.id.label("person_id"),
        _person.c.erased_at,
        _representative.c.id.label("representative_id"),
        _representative.c.name.label("representative_name"),
    )
    .select_from(
        _token.outerjoin(_staff, _of_kind(ActorKind.STAFF, _staff))
        .outerjoin(_person, _of_kind(ActorKind.PERSON, _person))
        .outerjoin(_representative, _of_kind(ActorKind.REPRESENTATIVE, _representative))
    )
    .where(_token.c.token_hash == bindparam("token_hash"))
)


def bearer_token(token: str) -> BearerToken | None:
    """The token with this secret, or None if there is none."""
    row = db.session.execute(_BEARER, {"token_hash": hash_token(token)}).one_or_none()
    if row is None:
        return None
    actor: Actor | None = None
    if row.staff_id is not None:
        if row.disabled_at is None:
            actor = staff_actor(
                row.staff_id, row.staff_name, row.agency_id, row.roles, row.scheme_wide
            )
    elif row.person_id is not None:
        if row.erased_at is None:
            actor = person_actor(row.person_id)
    elif row.representative_id is not None:
        actor = representative_actor(row.representative_id, row.representative_name)
    return BearerToken(row.expires_at, row.revoked_at, row.scope, row.client_id, actor)
