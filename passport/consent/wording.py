"""The consent sentence shown to the person. Its SHA-256 goes on the grant and the receipt,
so the exact wording can never later be disputed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date

SECTION_WORDS = {
    "profile": "your name and details",
    "story": "your story",
    "risk": "your risks",
    "medication": "your medication",
    "workers": "your workers",
    "preferences": "what works for you",
}
PURPOSE_WORDS = {
    "direct_support": "to support you",
    "referral": "to look at a referral for you",
    "mdt": "for a meeting of services working together to support you (an MDT)",
}


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _day(value: date) -> str:
    return f"{value.day} {value.strftime('%B %Y')}"


def consent_sentence(
    grantee_name: str, sections: Iterable[str], purpose: str, starts_on: date, expires_on: date
) -> str:
    """'Riverside Mental Health can see your medication and your risks from 24 November 2026
    until 3 March 2027, to support you. You can stop this at any time.'"""
    ordered = [SECTION_WORDS[s] for s in SECTION_WORDS if s in set(sections)]
    return (
        f"{grantee_name} can see {_join(ordered)} from {_day(starts_on)} until "
        f"{_day(expires_on)}, {PURPOSE_WORDS[purpose]}. You can stop this at any time."
    )


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
