"""The second factor: time-based one-time codes (TOTP, RFC 6238) with pyotp.

Required for DPOs and admins (they can read the whole access log, or change who works here),
offered to everyone else. The shared secret is wrapped by the key provider, bound to the
account it belongs to, so a copied value opens nowhere else; it is never logged, and never
shown again once set up. Flushes only: the request commits.
"""

from __future__ import annotations

import pyotp

from .. import audit, db
from ..crypto import data_keys
from ..errors import Invalid, NotFound
from ..vocabulary import Action, Outcome, Reason
from .actor import Actor
from .models import Person, Staff

ISSUER = "Passport"
# One step either side (30 seconds) allows for a phone clock that is slightly out.
VALID_WINDOW = 1


def required_for(actor: Actor) -> bool:
    """DPOs and admins must use a second factor; everyone else may."""
    return actor.is_staff and bool({"dpo", "admin"} & {r.value for r in actor.roles})


def _account(actor: Actor) -> Staff | Person:
    account: Staff | Person | None = (
        db.session.get(Staff, actor.id) if actor.is_staff else db.session.get(Person, actor.id)
    )
    if account is None:
        raise NotFound("there is no such account")
    return account


def _context(actor: Actor) -> bytes:
    return f"totp|{actor.kind.value}|{actor.id}".encode()


def is_enabled(actor: Actor) -> bool:
    if actor.is_representative:
        return False  # a representative's account has no second factor (yet)
    return _account(actor).totp_secret is not None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(actor: Actor, secret: str, label: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name=ISSUER)


def _code_ok(secret: str, code: str) -> bool:
    cleaned = "".join(ch for ch in code if ch.isdigit())
    return len(cleaned) == 6 and pyotp.TOTP(secret).verify(cleaned, valid_window=VALID_WINDOW)


def enable(actor: Actor, secret: str, code: str) -> None:
    """Turn the second factor on, once the person shows their app makes the right codes."""
    if not _code_ok(secret, code):
        raise Invalid("that code did not match", {"code": ["The code did not match."]})
    account = _account(actor)
    account.totp_secret = data_keys.provider.wrap(secret.encode(), _context(actor))
    audit.record(
        actor=actor.as_event(),
        action=Action.AUTH_TOTP_ENABLED,
        outcome=Outcome.ALLOWED,
        person_id=actor.id if actor.is_person else None,
        basis={"kind": "self", "id": actor.id},
    )
    db.session.flush()


def check(actor: Actor, code: str) -> bool:
    """Check a sign-in code; log a wrong one (never the code itself)."""
    account = _account(actor)
    if account.totp_secret is None:
        return False
    secret = data_keys.provider.unwrap(account.totp_secret, _context(actor)).decode()
    if _code_ok(secret, code):
        return True
    audit.record(
        actor=actor.as_event(),
        action=Action.AUTH_LOGIN_FAILED,
        outcome=Outcome.DENIED,
        person_id=actor.id if actor.is_person else None,
        reason=Reason.BAD_SECOND_FACTOR,
    )
    return False
