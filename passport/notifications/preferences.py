"""How a person chose to be told, besides the inbox: not at all, a text, an email, or a letter
(care of their worker's address). The contact detail is sealed with the person's data key,
bound to their preference row, and opened only to send or to show it back to them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from .. import db
from ..crypto import data_keys
from ..errors import Forbidden, Invalid
from ..identity.actor import Actor
from ..languages import LANGUAGES
from ..vocabulary import NotifyChannel
from .models import NotifyPreference

_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
MAX_LINE = 100


@dataclass(frozen=True)
class Choice:
    channel: str
    phone: str | None = None
    email: str | None = None
    address: tuple[str, ...] = ()
    fuller_inbox: bool = False
    language: str = "en"


def normalise_phone(raw: str) -> str | None:
    """A UK mobile number as 07xxxxxxxxx, or None if it is not one."""
    digits = re.sub(r"[\s()-]", "", raw)
    if digits.startswith("+44"):
        digits = "0" + digits[3:]
    elif digits.startswith("0044"):
        digits = "0" + digits[4:]
    return digits if re.fullmatch(r"07\d{9}", digits) else None


def _row(person_id: str) -> NotifyPreference | None:
    return db.session.execute(
        select(NotifyPreference).where(NotifyPreference.account_id == person_id)
    ).scalar_one_or_none()


def current(actor: Actor) -> Choice:
    """The actor's own choice (inbox only, until they make one)."""
    row = _row(actor.id) if actor.is_person else None
    if row is None:
        return Choice(NotifyChannel.INBOX.value)
    contact = (
        data_keys.open_json(row.account_id, "notify_preferences", "contact", row.id, row.contact)
        if row.contact
        else None
    )
    return Choice(
        channel=row.channel,
        phone=contact if row.channel == NotifyChannel.SMS and isinstance(contact, str) else None,
        email=contact if row.channel == NotifyChannel.EMAIL and isinstance(contact, str) else None,
        address=tuple(contact) if row.channel == NotifyChannel.LETTER and contact else (),
        fuller_inbox=row.fuller_inbox,
        language=row.language,
    )


def choose(
    actor: Actor,
    channel: str,
    *,
    phone: str | None = None,
    email: str | None = None,
    address: list[str] | None = None,
    fuller_inbox: bool = False,
    language: str = "en",
) -> Choice:
    """The person chooses, for themself only. The detail for the chosen way is required and
    checked; details for other ways are not kept."""
    if not actor.is_person:
        raise Forbidden("only the person chooses how they are told")
    errors: dict[str, list[str]] = {}
    contact: str | list[str] | None = None
    try:
        chosen = NotifyChannel(channel)
    except ValueError:
        raise Invalid(
            "choose inbox, sms, email or letter",
            {"channel": ["Must be one of: inbox, sms, email, letter."]},
        ) from None
    if chosen is NotifyChannel.SMS:
        contact = normalise_phone(phone or "")
        if contact is None:
            errors["phone"] = ["Enter a UK mobile number, like 07700 900123."]
    elif chosen is NotifyChannel.EMAIL:
        contact = (email or "").strip()
        if not _EMAIL.fullmatch(contact) or len(contact) > 254:
            errors["email"] = ["Enter an email address, like name@example.com."]
    elif chosen is NotifyChannel.LETTER:
        lines = [line.strip() for line in (address or []) if line.strip()]
        if not 3 <= len(lines) <= 7:
            errors["address"] = ["Enter the address in 3 to 7 lines, ending with the postcode."]
        elif any(len(line) > MAX_LINE for line in lines):
            errors["address"] = [f"Each line must be at most {MAX_LINE} characters."]
        contact = lines
    if language not in LANGUAGES:
        errors["language"] = ["Must be en or cy."]
    if errors:
        raise Invalid("we cannot use these details: see errors", errors)
    row = _row(actor.id)
    if row is None:
        row = NotifyPreference(id=db.new_id(), account_kind=actor.kind.value, account_id=actor.id)
        db.session.add(row)
    row.channel = chosen.value
    row.contact = (
        data_keys.seal_json(actor.id, "notify_preferences", "contact", row.id, contact)
        if contact is not None
        else None
    )
    row.fuller_inbox = fuller_inbox
    row.language = language
    row.updated_at = db.utcnow()
    db.session.flush()
    return current(actor)
