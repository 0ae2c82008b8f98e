"""Accounts: agencies, staff, people's logins, bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select, update

from .. import audit, db
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..representatives.models import RepresentativeAccount
from ..vocabulary import Action, ActorKind, AgencyKind, Outcome, Reason, Role, mixes_duties
from .actor import SYSTEM, Actor
from .models import AccessToken, Agency, Person, Staff
from .oauth_models import OAuthRefreshToken
from .passwords import MIN_PASSWORD_LENGTH, hash_password, verify_password


def actor_for_staff(staff: Staff) -> Actor:
    return staff_actor(staff.id, staff.name, staff.agency_id, staff.roles, staff.scheme_wide)


def staff_actor(
    staff_id: str, name: str, agency_id: str, roles: Iterable[str], scheme_wide: bool
) -> Actor:
    return Actor(
        id=staff_id,
        kind=ActorKind.STAFF,
        name=name,
        agency_id=agency_id,
        roles=frozenset(Role(r) for r in roles),
        scheme_wide=scheme_wide,
    )


def actor_for_person(person: Person) -> Actor:
    return person_actor(person.id)


def person_actor(person_id: str) -> Actor:
    # A person's name is sealed in their profile; the actor needs none to act.
    return Actor(id=person_id, kind=ActorKind.PERSON, name="You")


def actor_for_representative(account: RepresentativeAccount) -> Actor:
    return representative_actor(account.id, account.name)


def representative_actor(account_id: str, name: str) -> Actor:
    # Whom they represent is decided per request by the consent decision point, never here.
    return Actor(id=account_id, kind=ActorKind.REPRESENTATIVE, name=name)


def actor_for(account: Staff | Person | RepresentativeAccount) -> Actor:
    if isinstance(account, Staff):
        return actor_for_staff(account)
    if isinstance(account, RepresentativeAccount):
        return actor_for_representative(account)
    return actor_for_person(account)


def actor_for_account(kind: str, account_id: str) -> Actor | None:
    if kind == ActorKind.REPRESENTATIVE.value:
        account = db.session.get(RepresentativeAccount, account_id)
        return actor_for_representative(account) if account is not None else None
    if kind == ActorKind.STAFF.value:
        staff = db.session.get(Staff, account_id)
        # A disabled account is no actor at all: no session, token or OAuth grant works.
        return actor_for_staff(staff) if staff and staff.disabled_at is None else None
    person = db.session.get(Person, account_id)
    if person is None or person.erased_at is not None:
        return None
    return actor_for_person(person)


def normalise_username(username: str) -> str:
    """Usernames are matched without regard to case or surrounding spaces: stored and
    looked up in this form ("Jess" and " JESS " are both "jess"). A NUL character (which
    PostgreSQL cannot hold in text, and no username has) is dropped."""
    return username.replace("\x00", "").strip().lower()


# Names people read in lists (every person's "who do you want to share with?", the staff
# and forum tables): long enough for any real service or person, short enough to read.
AGENCY_NAME_MAX = 100
STAFF_NAME_MAX = 100
USERNAME_MAX = 100


def tidy_name(name: str) -> str:
    """A name as stored: no spaces around it, single spaces inside."""
    return " ".join(name.split())


def name_key(name: str) -> str:
    """Two names are the same name when they differ only in case or spacing."""
    return tidy_name(name).casefold()


def add_agency(actor: Actor, name: str, kind: str) -> Agency:
    """A new agency. Its name is needed, at most AGENCY_NAME_MAX characters, and not the name
    of another agency (whatever the case or spacing): people choose services by name."""
    problems: dict[str, list[str]] = {}
    name = tidy_name(name)
    if not name:
        problems["name"] = ["Must not be empty."]
    elif len(name) > AGENCY_NAME_MAX:
        problems["name"] = [f"Longer than maximum length {AGENCY_NAME_MAX}."]
    try:
        AgencyKind(kind)
    except ValueError:
        problems["kind"] = ["Must be one of: " + ", ".join(k.value for k in AgencyKind) + "."]
    if problems:
        detail = (
            f"unknown agency kind {kind!r}"
            if list(problems) == ["kind"]
            else f"the agency needs a name of 1 to {AGENCY_NAME_MAX} characters and a known kind"
        )
        raise Invalid(detail, problems)
    if any(
        name_key(n) == name_key(name) for n in db.session.execute(select(Agency.name)).scalars()
    ):
        raise Conflict(f"there is already an agency called {name!r}")
    agency = Agency(name=name, kind=kind)
    db.session.add(agency)
    db.session.flush()
    audit.record(
        actor=actor.as_event(),
        action=Action.ADMIN_AGENCY_ADD,
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"agency_id": agency.id},
    )
    return agency


SEPARATION_OF_DUTIES = (
    "separation of duties: an account holds reading roles (caseworker, mdt_chair) or "
    "oversight roles (dpo, admin), never both; make two accounts"
)
SEPARATION_OF_DUTIES_FIELD = (
    "Reading roles (caseworker, mdt_chair) and oversight roles (dpo, admin) cannot be held "
    "by one account."
)


def add_staff(
    actor: Actor,
    *,
    username: str,
    password: str,
    agency_id: str,
    roles: list[str],
    name: str | None = None,
    scheme_wide: bool = False,
) -> Staff:
    username = normalise_username(username)
    if not username:
        raise Invalid("give a username", {"username": ["Must not be empty."]})
    if len(username) > USERNAME_MAX:
        raise Invalid(
            f"a username has at most {USERNAME_MAX} characters",
            {"username": [f"Longer than maximum length {USERNAME_MAX}."]},
        )
    name = tidy_name(name) if name else None
    if name and len(name) > STAFF_NAME_MAX:
        raise Invalid(
            f"a staff name has at most {STAFF_NAME_MAX} characters",
            {"name": [f"Longer than maximum length {STAFF_NAME_MAX}."]},
        )
    if db.session.get(Agency, agency_id) is None:
        raise NotFound("there is no agency with that id")
    try:
        parsed = sorted({Role(r).value for r in roles})
    except ValueError:
        raise Invalid(
            "unknown role", {"roles": ["Must be caseworker, mdt_chair, dpo or admin."]}
        ) from None
    if not parsed:
        raise Invalid("give at least one role", {"roles": ["Give at least one role."]})
    if mixes_duties(parsed):
        audit.record(
            actor=actor.as_event(),
            action=Action.ADMIN_STAFF_ADD,
            outcome=Outcome.DENIED,
            reason=Reason.MIXED_DUTIES,
            detail={"roles": parsed},
        )
        raise Invalid(SEPARATION_OF_DUTIES, {"roles": [SEPARATION_OF_DUTIES_FIELD]})
    if scheme_wide and Role.DPO.value not in parsed:
        raise Invalid("only a DPO can be scheme-wide", {"scheme_wide": ["Needs the dpo role."]})
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
            {"password": [f"Shorter than minimum length {MIN_PASSWORD_LENGTH}."]},
        )
    if username_taken(username):
        raise Conflict("that username is already in use")
    staff = Staff(
        username=username,
        name=name or username,
        password_hash=hash_password(password),
        agency_id=agency_id,
        roles=parsed,
        scheme_wide=scheme_wide,
    )
    db.session.add(staff)
    db.session.flush()
    audit.record(
        actor=actor.as_event(),
        action=Action.ADMIN_STAFF_ADD,
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"staff_id": staff.id, "roles": parsed},
    )
    return staff


def username_taken(username: str) -> bool:
    """Usernames are one space across people, staff and representatives (normalised)."""
    return find_account(username) is not None


def find_account(username: str) -> Staff | Person | RepresentativeAccount | None:
    username = normalise_username(username)
    staff = db.session.execute(select(Staff).where(Staff.username == username)).scalar()
    if staff is not None:
        return staff
    person = db.session.execute(select(Person).where(Person.username == username)).scalar()
    if person is not None:
        return person
    return db.session.execute(
        select(RepresentativeAccount).where(RepresentativeAccount.username == username)
    ).scalar()


class AccountDisabled(Exception):
    """The password was right, but an admin has disabled this staff account."""


def authenticate(username: str, password: str) -> Actor | None:
    """Check a password; log the attempt either way (never the username: it may be a name).
    A disabled staff account raises `AccountDisabled`, only once the password was right (so
    the message tells a guesser nothing)."""
    account = find_account(username)
    ok = verify_password(account.password_hash if account else None, password)
    if account is None or not ok or (isinstance(account, Person) and account.erased_at):
        audit.record(
            actor=SYSTEM.as_event(),
            action=Action.AUTH_LOGIN_FAILED,
            outcome=Outcome.DENIED,
            reason="bad-credentials",
        )
        return None
    if isinstance(account, Staff) and account.disabled_at is not None:
        audit.record(
            actor=SYSTEM.as_event(),
            action=Action.AUTH_LOGIN_FAILED,
            outcome=Outcome.DENIED,
            reason=Reason.ACCOUNT_DISABLED,
            detail={"staff_id": account.id},
        )
        raise AccountDisabled()
    actor = actor_for(account)
    audit.record(
        actor=actor.as_event(),
        action=Action.AUTH_LOGIN,
        outcome=Outcome.ALLOWED,
        person_id=actor.id if actor.is_person else None,
    )
    return actor


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(actor: Actor, ttl_seconds: int, issued_by: Actor | None = None) -> str:
    if ttl_seconds <= 0:
        raise Invalid("the token lifetime must be positive", {"ttl": ["Must be positive."]})
    token = secrets.token_urlsafe(32)
    db.session.add(
        AccessToken(
            token_hash=hash_token(token),
            account_kind=actor.kind.value,
            account_id=actor.id,
            expires_at=db.utcnow() + timedelta(seconds=ttl_seconds),
        )
    )
    audit.record(
        actor=(issued_by or actor).as_event(),
        action=Action.AUTH_TOKEN_ISSUED,
        outcome=Outcome.ALLOWED,
        person_id=actor.id if actor.is_person else None,
        detail={"account_id": actor.id, "account_kind": actor.kind.value, "ttl": ttl_seconds},
    )
    db.session.flush()
    return token


def _staff_for_admin(actor: Actor, staff_id: str) -> Staff:
    # An admin on the pages, or the operator at the command line (SYSTEM).
    if not actor.has_role(Role.ADMIN) and actor.kind is not ActorKind.SYSTEM:
        raise Forbidden("only an admin can disable or enable a staff account")
    staff = db.session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("there is no staff account with that id")
    return staff


def disable_staff(actor: Actor, staff_id: str) -> Staff:
    """Disable a staff account at once: it cannot sign in; its sessions end on their next
    request; every bearer token, OAuth refresh token and unused authorization code it holds
    is revoked. An admin cannot disable their own account (someone must be left to undo it).
    Disabling a disabled account is a 409."""
    staff = _staff_for_admin(actor, staff_id)
    if staff.id == actor.id:
        audit.record(
            actor=actor.as_event(),
            action=Action.ADMIN_STAFF_DISABLE,
            outcome=Outcome.DENIED,
            reason=Reason.OWN_ACCOUNT,
            detail={"staff_id": staff.id},
        )
        raise Forbidden("you cannot disable your own account: ask another admin")
    if staff.disabled_at is not None:
        raise Conflict("that staff account is already disabled")
    now = db.utcnow()
    staff.disabled_at = now
    staff.sessions_ended_at = now
    tokens = _rowcount(
        db.session.execute(
            update(AccessToken)
            .where(
                AccessToken.account_kind == ActorKind.STAFF.value,
                AccessToken.account_id == staff.id,
                AccessToken.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
    )
    refresh = _rowcount(
        db.session.execute(
            update(OAuthRefreshToken)
            .where(OAuthRefreshToken.staff_id == staff.id, OAuthRefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    )
    db.session.flush()
    audit.record(
        actor=actor.as_event(),
        action=Action.ADMIN_STAFF_DISABLE,
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"staff_id": staff.id, "tokens_revoked": tokens, "refresh_tokens_revoked": refresh},
    )
    return staff


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def enable_staff(actor: Actor, staff_id: str) -> Staff:
    """Let a disabled account sign in again. Its old tokens stay revoked and its old
    sessions stay ended: it starts afresh. Enabling an enabled account is a 409."""
    staff = _staff_for_admin(actor, staff_id)
    if staff.disabled_at is None:
        raise Conflict("that staff account is not disabled")
    staff.disabled_at = None
    db.session.flush()
    audit.record(
        actor=actor.as_event(),
        action=Action.ADMIN_STAFF_ENABLE,
        outcome=Outcome.ALLOWED,
        basis={"kind": "role", "id": None},
        detail={"staff_id": staff.id},
    )
    return staff
