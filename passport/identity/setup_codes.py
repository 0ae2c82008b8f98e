"""Set-up codes: how a person chooses their own passphrase, at registration and when they
have forgotten it. The worker who gives the code never learns the passphrase.

A code is single use, lasts at most seven days, and is stored only as its SHA-256 digest. It
is made to be typed by someone who finds reading hard: three groups of four from an alphabet
without look-alike characters, read without regard to case, spaces or dashes.

Who may give a code: a caseworker who is a live contributor to the person, or the person's
current lead worker's own account (a `workers` entry marked lead that names the account,
read through the consent decision point like any other read). Giving a new code to someone
who has a passphrase stops that passphrase at once, with their bearer tokens and any earlier
unused code; they are told at their next sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from .. import audit, db
from ..consent import decide, log_decisions
from ..consent.models import Contributor
from ..errors import Forbidden, Invalid, NotFound, PassportError
from ..notifications import tell_person
from ..records import layout
from ..records.content import read_section
from ..representatives.models import RepresentativeAccount
from ..vocabulary import Action, ActorKind, NotificationKind, Outcome, Purpose, Reason, Section
from .accounts import actor_for_person, actor_for_representative, normalise_username
from .actor import SYSTEM, Actor
from .models import AccessToken, Person, SetupCode
from .passwords import MIN_PASSWORD_LENGTH, hash_password

LIFETIME = timedelta(days=7)
# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: nothing that reads as something else in print or handwriting.
ALPHABET = "ACDEFGHJKMNPRTUVWXY34679"
GROUPS = 3
GROUP_LENGTH = 4
PERSON = ActorKind.PERSON.value
REPRESENTATIVE = ActorKind.REPRESENTATIVE.value

# One message for a wrong, used or expired code (and a code for someone else): it does not
# reveal which, so it cannot be used to find live codes.
REFUSED = (
    "that set-up code is not right, was used already or has run out: ask a worker for a new one"
)


class SetupCodeRefused(PassportError):
    """A wrong, used or expired set-up code (400, as API.md says)."""

    title = "Set-up code not accepted"


def normalise(code: str) -> str:
    return "".join(ch for ch in code.upper() if not ch.isspace() and ch not in "-‐‑–—")


def digest(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def new_code() -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(GROUPS * GROUP_LENGTH))
    return "-".join(chars[i : i + GROUP_LENGTH] for i in range(0, len(chars), GROUP_LENGTH))


def _person(person_id: str) -> Person:
    person = db.session.get(Person, person_id)
    if person is None or person.erased_at is not None:
        raise NotFound("there is no passport with that id")
    return person


def may_issue(actor: Actor, person_id: str) -> dict[str, Any] | None:
    """How this actor may give the person a code (the basis to log), or None if they may not.

    Reading the lead worker's entry is a read of the `workers` section: it goes through the
    decision point and is logged. A caseworker who is not a contributor can only be the lead
    worker if the person shares their workers with them."""
    if not actor.is_staff:
        return None
    contributor = db.session.execute(
        select(Contributor).where(
            Contributor.person_id == person_id,
            Contributor.staff_id == actor.id,
            Contributor.removed_at.is_(None),
        )
    ).scalar()
    if contributor is not None:
        return {"kind": "contributor", "id": contributor.id, "as": "contributor"}
    entry_id = _lead_worker_entry(actor, person_id)
    if entry_id is not None:
        # The access log's basis kinds are fixed (AUDIT_FORMAT.md): the lead worker acts by
        # their role, and the entry that names them is in the event's detail.
        return {"kind": "role", "id": None, "as": "lead_worker", "entry_id": entry_id}
    return None


def _lead_worker_entry(actor: Actor, person_id: str) -> str | None:
    decision = decide(actor, person_id, Section.WORKERS, Purpose.DIRECT_SUPPORT)
    if not decision.allowed:
        return None
    log_decisions(
        actor,
        Action.RECORD_VIEW,
        person_id,
        [decision],
        Purpose.DIRECT_SUPPORT.value,
        {"for": "setup-code"},
    )
    today = db.utcnow().date().isoformat()
    for view in layout.current(read_section(decision), "until", today):
        if view.content.get("is_lead") and str(view.content.get("staff_id")) == actor.id:
            return view.id
    return None


def issue(actor: Actor, person_id: str) -> tuple[str, datetime]:
    """A new set-up code for the person, given by a contributor or their lead worker with
    the person there. Returns the code (shown once, never stored) and when it runs out."""
    person = _person(person_id)
    basis = may_issue(actor, person_id)
    if basis is None:
        audit.record(
            actor=actor.as_event(),
            action=Action.AUTH_SETUP_CODE_ISSUED,
            outcome=Outcome.DENIED,
            person_id=person_id,
            reason=Reason.NOT_CONTRIBUTOR,
        )
        raise Forbidden(
            "only a worker who writes in this passport, or the person's lead worker, can give "
            "them a set-up code"
        )
    code, expires_at = _issue(actor, person, basis)
    # Not at registration: there is nobody to tell yet. Later, a code nobody asked for is
    # the sign that someone else is trying to take over the passport.
    tell_person(person.id, NotificationKind.SETUP_CODE_ISSUED)
    return code, expires_at


def issue_at_registration(actor: Actor, person: Person) -> tuple[str, datetime]:
    """The first code, given by whoever registered the person (records.register_person)."""
    return _issue(actor, person, {"kind": "role", "id": None, "as": "registration"})


def _issue(actor: Actor, person: Person, basis: dict[str, Any]) -> tuple[str, datetime]:
    now = db.utcnow()
    replaces = person.password_hash is not None
    revoked = 0
    if replaces:
        person.password_hash = None  # the old passphrase stops now, and sessions with it
        result = db.session.execute(
            update(AccessToken)
            .where(
                AccessToken.account_kind == PERSON,
                AccessToken.account_id == person.id,
                AccessToken.revoked_at.is_(None),
            )
            .values(revoked_at=now)
            .execution_options(synchronize_session="fetch")
        )
        revoked = int(getattr(result, "rowcount", 0) or 0)
    code, row = _new_code(actor, PERSON, person.id, replaces, now)
    audit.record(
        actor=actor.as_event(),
        action=Action.AUTH_SETUP_CODE_ISSUED,
        outcome=Outcome.ALLOWED,
        person_id=person.id,
        basis={"kind": basis["kind"], "id": basis["id"]},
        detail={
            "as": basis["as"],
            **({"entry_id": basis["entry_id"]} if "entry_id" in basis else {}),
            "setup_code_id": row.id,
            "replaces_passphrase": replaces,
            "tokens_revoked": revoked,
        },
    )
    return code, row.expires_at


def _new_code(
    actor: Actor, account_kind: str, account_id: str, replaces: bool, now: datetime
) -> tuple[str, SetupCode]:
    """A new code for this account (person or representative); any earlier unused one stops
    working, so only the newest code works. Only its hash is stored."""
    for earlier in db.session.execute(
        select(SetupCode).where(
            SetupCode.account_kind == account_kind,
            SetupCode.account_id == account_id,
            SetupCode.used_at.is_(None),
            SetupCode.expires_at > now,
        )
    ).scalars():
        earlier.expires_at = now
    code = new_code()
    row = SetupCode(
        id=db.new_id(),
        account_kind=account_kind,
        account_id=account_id,
        code_hash=digest(code),
        issued_by_kind=actor.kind.value,
        issued_by_id=actor.id,
        replaces_passphrase=replaces,
        created_at=now,
        expires_at=now + LIFETIME,
    )
    db.session.add(row)
    db.session.flush()
    return code, row


def complete_setup(username: str, code: str, password: str) -> Person | RepresentativeAccount:
    """The person (or a representative) chooses their passphrase with their code. A wrong,
    used or expired code, or one given to someone else, is refused with one message (and
    logged)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"the passphrase must have at least {MIN_PASSWORD_LENGTH} characters",
            {"password": [f"Shorter than minimum length {MIN_PASSWORD_LENGTH}."]},
        )
    representative = db.session.execute(
        select(RepresentativeAccount).where(
            RepresentativeAccount.username == normalise_username(username)
        )
    ).scalar()
    if representative is not None:
        return _complete_representative_setup(representative, code, password)
    now = db.utcnow()
    person = db.session.execute(
        select(Person).where(Person.username == normalise_username(username))
    ).scalar()
    row = db.session.execute(select(SetupCode).where(SetupCode.code_hash == digest(code))).scalar()
    if (
        person is None
        or person.erased_at is not None
        or row is None
        or row.account_kind != PERSON
        or row.account_id != person.id
        or row.used_at is not None
        or row.expires_at <= now
    ):
        audit.record(
            actor=SYSTEM.as_event(),
            action=Action.AUTH_SETUP_FAILED,
            outcome=Outcome.DENIED,
            person_id=person.id if person is not None and person.erased_at is None else None,
            reason=Reason.SETUP_CODE_INVALID,
        )
        raise SetupCodeRefused(REFUSED, {"setup_code": [REFUSED]})
    person.password_hash = hash_password(password)
    row.used_at = now
    audit.record(
        actor=actor_for_person(person).as_event(),
        action=Action.AUTH_SETUP,
        outcome=Outcome.ALLOWED,
        person_id=person.id,
        basis={"kind": "self", "id": person.id},
        detail={"setup_code_id": row.id},
    )
    db.session.flush()
    return person


def take_replaced_notice(person_id: str) -> datetime | None:
    """When a code replaced this person's passphrase and they have not been told yet: the
    day to tell them (the earliest such code). Marks it told, so it is said exactly once."""
    rows = list(
        db.session.execute(
            select(SetupCode).where(
                SetupCode.account_kind == PERSON,
                SetupCode.account_id == person_id,
                SetupCode.replaces_passphrase.is_(True),
                SetupCode.notice_shown_at.is_(None),
            )
        ).scalars()
    )
    if not rows:
        return None
    now = db.utcnow()
    for row in rows:
        row.notice_shown_at = now
    db.session.flush()
    return min(row.created_at for row in rows)


# -- representatives' accounts (passport.representatives) -------------------------------------


def issue_for_representative(
    actor: Actor, account: RepresentativeAccount, person_id: str, basis: dict[str, Any]
) -> tuple[str, datetime]:
    """A set-up code for a representative's new account: with it they choose their own
    passphrase, as a person does. Given when the account is made (by the person appointing
    them, or the worker recording a legal representative); shown once. Logged against the
    person they were appointed for."""
    code, row = _new_code(actor, REPRESENTATIVE, account.id, False, db.utcnow())
    audit.record(
        actor=actor.as_event(),
        action=Action.AUTH_SETUP_CODE_ISSUED,
        outcome=Outcome.ALLOWED,
        person_id=person_id,
        basis=basis,
        detail={"as": "representative", "account_id": account.id, "setup_code_id": row.id},
    )
    return code, row.expires_at


def _complete_representative_setup(
    account: RepresentativeAccount, code: str, password: str
) -> RepresentativeAccount:
    now = db.utcnow()
    row = db.session.execute(select(SetupCode).where(SetupCode.code_hash == digest(code))).scalar()
    if (
        row is None
        or row.account_kind != REPRESENTATIVE
        or row.account_id != account.id
        or row.used_at is not None
        or row.expires_at <= now
    ):
        audit.record(
            actor=SYSTEM.as_event(),
            action=Action.AUTH_SETUP_FAILED,
            outcome=Outcome.DENIED,
            reason=Reason.SETUP_CODE_INVALID,
        )
        raise SetupCodeRefused(REFUSED, {"setup_code": [REFUSED]})
    account.password_hash = hash_password(password)
    row.used_at = now
    audit.record(
        actor=actor_for_representative(account).as_event(),
        action=Action.AUTH_SETUP,
        outcome=Outcome.ALLOWED,
        basis={"kind": "self", "id": account.id},
        detail={"setup_code_id": row.id},
    )
    db.session.flush()
    return account
