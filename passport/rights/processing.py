"""How Passport processes a person's information, as the code does it: for the subject
access pack (Article 15(1)(a)-(h)) and the paperwork in docs/. Plain English here; the PDF
translates every sentence (each is marked for extraction)."""

from __future__ import annotations

from typing import Any

from ..consent.decision import UNCONFIRMED_MAX_DAYS
from ..vocabulary import ALL_SECTIONS, BasisKind, Purpose


def N_(message: str) -> str:
    """Marks a string for extraction (pybabel); it is translated when the PDF is made."""
    return message


SECTION_HOLDS = {
    "profile": N_("Your legal name, preferred name, date of birth, pronouns and language."),
    "story": N_("Your own account of your life, in your words."),
    "risk": N_("Risks to you and to others, how serious they are, and when they are reviewed."),
    "medication": N_("Medicines you take or have taken: dose, how often, who prescribed them."),
    "workers": N_("The workers who support you, their service and how to contact them."),
    "preferences": N_("What works for you: how and when to contact you, what helps, triggers."),
}
PURPOSES = {
    "direct_support": N_("Supporting you: a service you agreed to share with reads it."),
    "referral": N_(
        "A referral: a service assessing a referral for you reads it, for a short time."
    ),
    "mdt": N_("An MDT meeting: services meeting together to support you read a summary."),
    "emergency": N_(
        "An emergency: a worker may read your medication, risks and workers without asking, "
        "for a few hours; a data protection officer checks it was right, and you see it."
    ),
}
BASES = {
    "self": N_("You: you read and write your own passport."),
    "grant": N_("Your agreement: a service, worker or MDT you chose to share with."),
    "contributor": N_("A worker you chose to help write parts of your passport."),
    "emergency": N_("Emergency access, to protect someone's life or safety."),
    "role": N_("A duty of the job, without your content: for example checking the log."),
    "subject_access": N_("Your request for a copy of everything held about you."),
}
LAWFUL_BASES = [
    N_(
        "Sharing with services is on your agreement, which you can stop at any time "
        "(UK GDPR Articles 6(1)(a) and 9(2)(a))."
    ),
    N_(
        "Emergency access protects someone's vital interests when you cannot be asked "
        "(Articles 6(1)(d) and 9(2)(c))."
    ),
    N_(
        "Keeping the access log, answering your rights and keeping the record safe are legal "
        "obligations of the scheme (Article 6(1)(c))."
    ),
]
NEVER = [
    N_("Nobody reads your passport unless you agreed, except in an emergency."),
    N_(
        "Data protection officers and administrators never read your passport, except a copy "
        "made for your own request."
    ),
    N_("Your information is not sold, and is not used to decide things about you automatically."),
    N_("Messages to you never say which service looked or what they read."),
]
KEEPING = N_(
    "Your passport is kept for %(years)s years after the last time anyone read it, wrote in "
    "it or changed who can see it. Then, or when you ask and a data protection officer "
    "agrees, it is erased: the keys that unlock it are destroyed, so nobody can ever read it "
    "again. The list of who looked stays, without any of your information in it."
)
UNCONFIRMED = N_(
    "Sharing a worker recorded with you lasts at most %(days)s days until you say it is right."
)
SECURITY = [
    N_("Every part of your passport is locked with its own key, made only for you."),
    N_("Every look, allowed or refused, is written to a log that cannot be changed."),
]
PROCESSORS = {
    "database": N_("The database that stores the locked passport (%(database)s)."),
    "keys": N_("The key store that holds the keys to the locks (%(keys)s)."),
    "hosting": N_("The organisation that runs the scheme's servers."),
}
SOURCES = N_(
    "You, and the workers you chose or who recorded sharing with you there. Nobody else "
    "adds to your passport."
)
RIGHTS = [
    N_("See a copy of everything held about you."),
    N_("Stop any sharing, in one step, on your passport."),
    N_("Ask for your passport to be erased."),
    N_("Complain to the Information Commissioner's Office: ico.org.uk, 0303 123 1113."),
]


def processing_information(
    retention_years: int, key_provider: str, database: str
) -> dict[str, Any]:
    """The processing information, as data: the same words the PDF translates."""
    keys = "PKCS#11 hardware security module" if key_provider == "pkcs11" else "local keyring"
    return {
        "sections": {s.value: SECTION_HOLDS[s.value] for s in ALL_SECTIONS},
        "purposes": {p.value: PURPOSES[p.value] for p in Purpose},
        "bases": {b.value: BASES[b.value] for b in BasisKind if b.value in BASES},
        "lawful_bases": list(LAWFUL_BASES),
        "never": list(NEVER),
        "retention": {
            "years": retention_years,
            "text": KEEPING % {"years": retention_years},
        },
        "unconfirmed_sharing_days": UNCONFIRMED_MAX_DAYS,
        "security": list(SECURITY),
        "processors": [
            PROCESSORS["database"] % {"database": database},
            PROCESSORS["keys"] % {"keys": keys},
            PROCESSORS["hosting"],
        ],
        "database": database,
        "key_store": keys,
        "sources": SOURCES,
        "rights": list(RIGHTS),
    }
