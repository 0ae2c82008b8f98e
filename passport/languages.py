"""The languages Passport speaks, and which one a client asked for."""

from __future__ import annotations

from collections.abc import Iterable

LANGUAGES = ("en", "cy")
DEFAULT = "en"


def preferred(accepted: Iterable[tuple[str, float]]) -> str:
    """The first of LANGUAGES in the client's order of preference (an Accept-Language
    header as (tag, quality) pairs, best first), matched on the primary subtag: `en-GB`
    is English, `cy-GB` is Welsh. Werkzeug's `best_match` tries exact matches first,
    whatever their quality, so `en-GB, cy;q=0.5` would have given Welsh."""
    for tag, quality in accepted:
        primary = tag.split("-", 1)[0].strip().lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
    return DEFAULT


def N_(message: str) -> str:
    """Marks an English sentence for translation (pybabel extracts it) where the domain
    writes it; it is translated where it is shown (the pages' gettext, passport.web)."""
    return message
