"""A refusal in plain words: 'No consent: the person has withdrawn their agreement.'

The domain writes it in English (the API's problem detail, the logs stay free of content);
each phrase is marked for translation, so a page shows the same refusal in its own language
(passport.web.common.refusal_detail) from the refusal's reasons."""

from __future__ import annotations

from collections.abc import Iterable

from ..languages import N_

NO_CONSENT = N_("No consent: %(reasons)s.")
MIXED_DUTIES = N_(
    "this account holds both reading roles (caseworker, mdt_chair) and oversight roles "
    "(dpo, admin), so it reads nothing; ask an administrator for two separate accounts"
)
REASON_PHRASES = {
    "no-grant": N_("the person has not agreed to share this with you"),
    "grant-expired": N_("the person's agreement has ended"),
    "grant-revoked": N_("the person has withdrawn their agreement"),
    "grant-pending": N_("the person's agreement has not started yet"),
    "wrong-purpose": N_("the person agreed to share for a different purpose"),
    "emergency-expired": N_("your emergency access has ended"),
    "role": N_("your role does not read passport content"),
    "mixed-duties": MIXED_DUTIES,
    "not-represented": N_("you do not act for this person (or they have stopped it)"),
    "representative-not-approved": N_(
        "a data protection officer has not approved you as this person's legal representative"
    ),
}


def phrases(reasons: Iterable[str]) -> list[str]:
    """Each reason's phrase, in English, in the order given (a reason without one: its name)."""
    return [REASON_PHRASES.get(reason, reason) for reason in reasons]


def no_consent(reasons: Iterable[str]) -> str:
    return NO_CONSENT % {"reasons": "; ".join(phrases(reasons))}
