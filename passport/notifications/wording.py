"""What each notification says, in English and Welsh.

Two rules (tests/test_notifications_wording.py holds every template to them):

- A text, email or letter (`outside`) may be read by anyone holding the phone, the inbox or
  the envelope, so it never names a service, an agency, a section or anything in the record:
  "Someone new looked at your passport today. Sign in to see who." It is the same for
  every person and every event of its kind.
- The inbox is behind sign-in. It says plainly what happened (`inbox`), and, only if the
  person chose "fuller messages", who and when (`fuller`), still never record content.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import force_locale, lazy_gettext

from ..vocabulary import NotificationKind as Kind

# Texts, emails and letters: nothing but that something happened, and where to look.
OUTSIDE = {
    Kind.NEW_AGENCY_LOOK: lazy_gettext(
        "Someone new looked at your passport today. Sign in to see who."
    ),
    Kind.EMERGENCY_ACCESS: lazy_gettext(
        "Someone needed to look at your passport quickly today. Sign in to see who and why."
    ),
    Kind.EMERGENCY_REVIEWED: lazy_gettext(
        "A check was made on a quick look at your passport. Sign in to see what was found."
    ),
    Kind.ASSISTED_GRANT: lazy_gettext(
        "Someone wrote down who you agreed can see your passport. Sign in to check it is right."
    ),
    Kind.CONSENT_EXPIRING: lazy_gettext(
        "Some sharing of your passport stops within 14 days. Sign in to see it and keep it "
        "going if you want."
    ),
    Kind.CONSENT_ENDED: lazy_gettext(
        "Some sharing of your passport has stopped. Sign in to see what."
    ),
    Kind.REPRESENTATIVE_ADDED: lazy_gettext(
        "Someone can now act for you on your passport. Sign in to see who."
    ),
    Kind.SETUP_CODE_ISSUED: lazy_gettext(
        "A new set-up code was made for your passport. If you did not ask for one, tell "
        "someone you trust."
    ),
    Kind.ACTION_ASSIGNED: lazy_gettext("You have a new action from a meeting. Sign in to see it."),
    Kind.ACTION_OVERDUE: lazy_gettext(
        "An action from a meeting is past its date. Sign in to see it."
    ),
    Kind.CASELOAD_EXPIRING: lazy_gettext(
        "Sharing stops soon for some people you support. Sign in to see who."
    ),
    Kind.SUBJECT_ACCESS: lazy_gettext(
        "A copy of your passport was made for your request. Sign in to get it."
    ),
    Kind.ERASURE_REFUSED: lazy_gettext(
        "There is an answer to your request about your passport. Sign in to read it."
    ),
}

SUBJECT = lazy_gettext("News about your passport")

# The inbox, by default: what happened, without names.
INBOX = {
    Kind.NEW_AGENCY_LOOK: lazy_gettext(
        "Someone from a service new to you looked at your passport."
    ),
    Kind.EMERGENCY_ACCESS: lazy_gettext(
        "Someone opened your passport in an emergency. “Who has looked” shows who and why."
    ),
    Kind.EMERGENCY_REVIEWED: lazy_gettext(
        "A data protection officer checked an emergency look at your passport."
    ),
    Kind.ASSISTED_GRANT: lazy_gettext(
        "A worker wrote down who you agreed can see your passport. Please check it is right."
    ),
    Kind.CONSENT_EXPIRING: lazy_gettext("Some sharing of your passport stops within 14 days."),
    Kind.CONSENT_ENDED: lazy_gettext("Some sharing of your passport has stopped."),
    Kind.REPRESENTATIVE_ADDED: lazy_gettext("Someone can now act for you on your passport."),
    Kind.SETUP_CODE_ISSUED: lazy_gettext(
        "A new set-up code was made for your passport. If you did not ask for one, tell your "
        "worker."
    ),
    Kind.ACTION_ASSIGNED: lazy_gettext("You have a new action from an MDT meeting."),
    Kind.ACTION_OVERDUE: lazy_gettext("One of your MDT actions is past its due date."),
    Kind.CASELOAD_EXPIRING: lazy_gettext(
        "Sharing stops within 14 days for some people on your caseload."
    ),
    Kind.SUBJECT_ACCESS: lazy_gettext(
        "A data protection officer made a copy of your passport for your request. You can "
        "download it from “Download my passport”."
    ),
    Kind.ERASURE_REFUSED: lazy_gettext(
        "Your request to erase your passport was refused. “Erase my passport” says why."
    ),
}

# The inbox, for a person who chose fuller messages: who, never what was read or written.
FULLER = {
    Kind.NEW_AGENCY_LOOK: lazy_gettext("%(agency)s looked at your passport for the first time."),
    Kind.EMERGENCY_ACCESS: lazy_gettext(
        "Someone from %(agency)s opened your passport in an emergency. “Who has looked” shows why."
    ),
    Kind.EMERGENCY_REVIEWED: lazy_gettext(
        "A data protection officer checked the emergency look by %(agency)s."
    ),
    Kind.ASSISTED_GRANT: lazy_gettext(
        "A worker wrote down that %(grantee)s can see parts of your passport. Please check it "
        "is right."
    ),
    Kind.CONSENT_EXPIRING: lazy_gettext("%(grantee)s stops seeing your passport within 14 days."),
    Kind.CONSENT_ENDED: lazy_gettext("%(grantee)s can no longer see your passport."),
    Kind.REPRESENTATIVE_ADDED: lazy_gettext("%(name)s can now act for you on your passport."),
}

# Names looked up for the fuller text, from identifiers in the notification's detail.
Names = Callable[[dict[str, Any]], dict[str, str] | None]


def outside(kind: str, language: str) -> tuple[str, str]:
    """(subject, message) for a text, email or letter, in the recipient's language."""
    with force_locale(language):
        return str(SUBJECT), str(OUTSIDE[Kind(kind)])


def inbox(kind: str, detail: dict[str, Any], fuller: bool, names: Names) -> str:
    """The inbox text in the current page's (or request's) language."""
    key = Kind(kind)
    if fuller and key in FULLER:
        values = names(detail)
        if values is not None:
            return str(FULLER[key]) % values
    return str(INBOX[key])
