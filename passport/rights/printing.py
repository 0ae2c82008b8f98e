"""The subject access pack as a readable PDF (WeasyPrint), in plain English or Welsh, made the
way the MDT summary's is (passport.mdt.printing): Jinja directly (the domain does not import
Flask), one Environment per language with the pages' catalogue, nothing fetched from outside.
"""

from __future__ import annotations

import re
import threading
from datetime import date
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.support import NullTranslations, Translations
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..languages import LANGUAGES
from . import processing
from .pack import SECTION_ORDER

TRANSLATIONS = Path(__file__).parent.parent / "translations"


def N_(message: str) -> str:
    """Marks a string for extraction (pybabel); it is translated when the document is made."""
    return message


# The person's own words for the pages' sections (passport.web.common), one translation each.
SECTION_TITLES = {
    "profile": N_("Your name and details"),
    "story": N_("Your story"),
    "risk": N_("Risks"),
    "medication": N_("Medication"),
    "workers": N_("Your workers"),
    "preferences": N_("What works for you"),
}
# The same words as "who has looked" (passport.web.common.ACTION_WORDS).
ACTION_WORDS = {
    "record.view": N_("Looked at your passport"),
    "record.history": N_("Looked at changes to your passport"),
    "record.brief": N_("Read a summary before seeing you"),
    "record.write": N_("Wrote in your passport"),
    "consent.grant": N_("Shared your information"),
    "consent.revoke": N_("Stopped sharing your information"),
    "contributor.add": N_("Chose a worker to help write your passport"),
    "contributor.remove": N_("Stopped a worker writing in your passport"),
    "emergency.open": N_("Opened your passport in an emergency"),
    "emergency.review": N_("Checked an emergency look at your passport"),
    "mdt.agenda_add": N_("Added you to an MDT meeting"),
    "mdt.summary": N_("Read your summary for an MDT meeting"),
    "person.create": N_("Started your passport"),
    "person.erase": N_("Deleted your passport"),
    "consent.confirm": N_("Said a sharing agreement is right"),
    "audit.query": N_("Checked the list of who has looked at your passport"),
    "audit.export": N_("Copied the list of who has looked at your passport"),
    "record.subject_access": N_(
        "A data protection officer made a copy of your passport for your request"
    ),
    "rights.subject_access_request": N_("Wrote down your request for a copy of your passport"),
    "rights.subject_access_answered": N_("Marked your request for a copy as answered"),
    "rights.erasure_request": N_("Asked for your passport to be erased"),
    "rights.erasure_decision": N_("Decided your request to erase your passport"),
}
OUTCOME_WORDS = {"allowed": N_("Allowed"), "denied": N_("Refused"), "error": N_("Failed")}
STATUS_WORDS = {
    "active": N_("Can see now"),
    "pending": N_("Starts later"),
    "expired": N_("Ended"),
    "revoked": N_("Stopped"),
}
MARKING = "OFFICIAL-SENSITIVE"
MARKING_LOCAL = N_("OFFICIAL-SENSITIVE")
PAGE_OF = N_("Page %(page)s of %(pages)s")

_environments: dict[str, tuple[Environment, NullTranslations]] = {}
_lock = threading.Lock()


def language_of(locale: str) -> str:
    """'cy', 'cy_GB' or 'cy-GB' -> 'cy'; anything not supported -> 'en'."""
    language = re.split(r"[_-]", locale, maxsplit=1)[0].lower()
    return language if language in LANGUAGES else "en"


def _value(value: Any) -> str:
    """A field of an entry as plain text: lists joined, nested parts as 'key: value'."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{str(k).replace('_', ' ')}: {_value(v)}" for k, v in value.items())
    return str(value)


def _css_string(value: str) -> Markup:
    """A CSS string literal, safe inside <style>: quotes, backslashes, `<`, `>` and control
    characters are written as CSS escapes (so no `</style>` can appear)."""
    escaped = "".join(f"\\{ord(ch):x} " if ch in '"\\<>' or ord(ch) < 0x20 else ch for ch in value)
    return Markup(f'"{escaped}"')  # noqa: S704 - every character that matters is escaped


def _css_page_numbers(sentence: str) -> Markup:
    """'Page %(page)s of %(pages)s', translated, as CSS content with the page counters."""
    parts = []
    for piece in re.split(r"(%\(pages?\)s)", sentence):
        if piece == "%(page)s":
            parts.append("counter(page)")
        elif piece == "%(pages)s":
            parts.append("counter(pages)")
        elif piece:
            parts.append(_css_string(piece.replace("%%", "%")))
    return Markup(" ".join(parts))  # noqa: S704 - escaped CSS strings and counters only


def _for_language(language: str) -> tuple[Environment, NullTranslations]:
    with _lock:
        found = _environments.get(language)
        if found is None:
            translations = Translations.load(str(TRANSLATIONS), [language])
            env = Environment(
                loader=PackageLoader("passport.rights", "templates"),
                autoescape=select_autoescape(["html"]),
                trim_blocks=True,
                lstrip_blocks=True,
                extensions=["jinja2.ext.i18n"],
            )
            env.filters["value"] = _value
            env.filters["label"] = lambda v: str(v).replace("_", " ")
            env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
            found = _environments[language] = (env, translations)
    return found


def _words(translations: NullTranslations, mapping: dict[str, str]) -> dict[str, str]:
    return {key: translations.gettext(message) for key, message in mapping.items()}


def _day(value: str | None, language: str) -> str:
    if not value:
        return ""
    return str(format_date(date.fromisoformat(value[:10]), "d MMMM yyyy", locale=language))


def log_lines(access_log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The access log for reading: consecutive events that say the same thing (the same
    day, who, what, outcome and sections) folded into one line with a count, so every event
    is still accounted for, in order. The JSON pack keeps each event as it is."""
    lines: list[dict[str, Any]] = []
    for event in access_log:
        key = (
            event["at"][:10],
            event["actor"]["kind"],
            event["actor"]["id"],
            event["action"],
            event["outcome"],
            tuple(event["sections"]),
        )
        if lines and lines[-1]["key"] == key:
            lines[-1]["count"] += 1
            lines[-1]["until"] = event["at"]
            continue
        lines.append({"key": key, "count": 1, "event": event, "until": event["at"]})
    return lines


def render_html(pack: dict[str, Any], locale: str = "en") -> str:
    language = language_of(locale)
    env, translations = _for_language(language)
    t = translations.gettext
    info = pack["processing"]
    local = t(MARKING_LOCAL)
    marking = f"{MARKING} / {local}" if local != MARKING else MARKING
    parts = {"database": info["database"], "keys": info["key_store"]}
    return env.get_template("pack.html").render(
        pack=pack,
        lang=language,
        marking=marking,
        marking_css=_css_string(marking),
        page_numbers_css=_css_page_numbers(t(PAGE_OF)),
        order=SECTION_ORDER,
        log_lines=log_lines(pack["access_log"]),
        section_titles=_words(translations, SECTION_TITLES),
        section_holds=_words(translations, processing.SECTION_HOLDS),
        action_words=_words(translations, ACTION_WORDS),
        outcome_words=_words(translations, OUTCOME_WORDS),
        status_words=_words(translations, STATUS_WORDS),
        purposes=_words(translations, processing.PURPOSES),
        bases=_words(translations, processing.BASES),
        lawful_bases=[t(m) for m in processing.LAWFUL_BASES],
        never=[t(m) for m in processing.NEVER],
        keeping=t(processing.KEEPING) % {"years": info["retention"]["years"]},
        security=[t(m) for m in processing.SECURITY],
        sources=t(processing.SOURCES),
        rights=[t(m) for m in processing.RIGHTS],
        processors=[t(m) % parts for m in processing.PROCESSORS.values()],
        day=lambda v: _day(v, language),
    )


def render_pdf(pack: dict[str, Any], locale: str = "en") -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=render_html(pack, locale), url_fetcher=_no_fetching).write_pdf()
    return pdf


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The PDF is built from this page alone: nothing is fetched from anywhere.
    raise ValueError("external resources are not fetched")
