"""The printable summary: an HTML print view and a PDF made from it with WeasyPrint.

Dated, marked OFFICIAL-SENSITIVE on every page, page-numbered, with a footer naming who
printed it and when. Rendered with Jinja directly (the domain does not import Flask), in
English or Welsh from the same catalogue as the pages (passport/translations). A Welsh
document keeps the English marking beside the Welsh one, so any handler can recognise it.

Each person's part is one template, `_summary_person.html`, shared with the summary on screen
(passport/web/templates/mdt/summary.html imports it too), with the record's labels from
passport.records.labels: the screen, the print view and the PDF show the same headings, labels,
dates and order, and cannot drift apart."""

from __future__ import annotations

import gc
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.support import NullTranslations, Translations
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..languages import LANGUAGES, N_
from ..records import labels, writing

TRANSLATIONS = Path(__file__).parent.parent / "translations"


MARKING = "OFFICIAL-SENSITIVE"
MARKING_LOCAL = N_("OFFICIAL-SENSITIVE")  # the same words in the document's language
PAGE_OF = N_("Page %(page)s of %(pages)s")


def _label(value: Any) -> str:
    return str(value).replace("_", " ")


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


def _new_environment(translations: NullTranslations) -> Environment:
    env = Environment(
        loader=PackageLoader("passport.mdt", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.filters["label"] = _label
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return env


_environments: dict[str, tuple[Environment, NullTranslations]] = {}
_lock = threading.Lock()


def _language(locale: str) -> str:
    """'cy', 'cy_GB' or 'cy-GB' -> 'cy'; anything not supported -> 'en'."""
    language = re.split(r"[_-]", locale, maxsplit=1)[0].lower()
    return language if language in LANGUAGES else "en"


def _for_language(language: str) -> tuple[Environment, NullTranslations]:
    """One Environment per language, made once: its gettext is fixed, so renders in two
    languages at the same time never share (or swap) translations."""
    with _lock:
        found = _environments.get(language)
        if found is None:
            translations = Translations.load(str(TRANSLATIONS), [language])
            found = _environments[language] = (_new_environment(translations), translations)
    return found


def _words(translations: NullTranslations, mapping: dict[str, str]) -> dict[str, str]:
    return {key: translations.gettext(message) for key, message in mapping.items()}


def render_html(
    summary: dict[str, Any], printed_by: str, printed_at: datetime, locale: str = "en"
) -> str:
    language = _language(locale)
    env, translations = _for_language(language)
    local = translations.gettext(MARKING_LOCAL)
    marking_local = local if local != MARKING else None
    return env.get_template("summary_print.html").render(
        summary=summary,
        printed_by=printed_by,
        printed_at=_moment(printed_at, language) + " UTC",
        lang=language,
        marking=MARKING,
        marking_local=marking_local,
        marking_css=_css_string(f"{MARKING} / {marking_local}" if marking_local else MARKING),
        page_numbers_css=_css_page_numbers(translations.gettext(PAGE_OF)),
        STAFF_SECTION_TITLES=_words(translations, labels.STAFF_SECTION_TITLES),
        RISK_KINDS=_words(translations, labels.RISK_KINDS),
        RISK_LEVELS=_words(translations, labels.RISK_LEVELS),
        CONTACT_METHODS=_words(translations, labels.CONTACT_METHODS),
        PREFERENCE_FIELDS=_words(translations, labels.PREFERENCE_FIELDS),
        MEDICATION_FIELDS=_words(translations, labels.MEDICATION_FIELDS),
        day=lambda value: _day(value, language),
        moment=lambda value: _moment(value, language),
        shown_name=lambda person: (
            (person or {}).get("preferred_name") or translations.gettext("Name not shared")
        ),
        agency_name=_agency_names(),
    )


def _day(value: date | datetime | str | None, language: str) -> str:
    """'3 March 2027' (or 'Mawrth' in Welsh), as the screen shows dates."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return str(format_date(value, "d MMMM yyyy", locale=language))


def _agency_names() -> Any:
    """agency id -> name, read once per document and only if a dispute's answer needs it."""
    names: dict[str, str] = {}

    def agency_name(agency_id: str | None) -> str:
        if agency_id and not names:
            names.update(writing.agency_names())
        return names.get(agency_id or "", "")

    return agency_name


def _moment(value: datetime | str | None, language: str) -> str:
    """'3 March 2027, 14:05', as the screen shows a time (in UTC, the pages' time zone)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return str(format_datetime(value, "d MMMM yyyy, HH:mm", tzinfo=UTC, locale=language))


class _Printer:
    """Makes every PDF of a process on one thread of its own, one at a time, with one
    WeasyPrint font configuration (bench/mdt_bench.py measured each of these):

    - WeasyPrint's default, a new FontConfiguration for each document, leaves about 0.3 MiB
      behind every time (fontconfig and Pango, outside Python's heap), so a worker that
      printed grew without end; one configuration for the process stays flat;
    - Pango does not promise that a font map may be shared between threads, so the shared
      one is used by this thread only;
    - a document at a time on one thread holds one document's working set; rendered on the
      request threads at once, several were held together and each thread's malloc arena
      kept its own peak. Rendering holds the GIL nearly throughout, so the queue costs a
      worker no throughput.

    Started on the first PDF, and again in a forked child (gunicorn's preloaded master
    imports this module but never prints)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._fonts: Any = None

    def pdf(self, html: str) -> bytes:
        return self._executor().submit(self._write, html).result()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._thread is None or self._pid != os.getpid():
                self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf")
                self._pid = os.getpid()
                self._fonts = None
            return self._thread

    def _write(self, html: str) -> bytes:
        from weasyprint.text.fonts import FontConfiguration

        if self._fonts is None:
            self._fonts = FontConfiguration()
        # WeasyPrint makes hundreds of thousands of objects that live until the document is
        # written; at Python's default threshold (700) the collector ran again and again over
        # them, and over the worker's whole heap, finding little. Rarer for this render (only
        # this thread sets it), then as it was: the render's garbage goes at the next run.
        threshold = gc.get_threshold()
        gc.set_threshold(50_000, threshold[1], threshold[2])
        try:
            document = _print_html_class()(string=html, base_url=None)
            _drop_ids(document.etree_element)
            pdf: bytes = document.write_pdf(font_config=self._fonts)
        finally:
            gc.set_threshold(*threshold)
        return pdf


def _drop_ids(root: Any) -> None:
    """Take the `id` attributes out of the parsed page before WeasyPrint styles it.

    On screen they are anchors and aria targets; on paper nothing links to them. WeasyPrint
    turns each into a named destination in the PDF (the people's record ids among them) and
    into a declaration of that element's own, which stops it and everything inside it sharing
    computed styles with its like: each person's part was styled afresh, element by element.
    Without them the 25-person summary renders in about a tenth less CPU."""
    for element in root.iter():
        element.attrib.pop("id", None)


_html_class: Any = None


def _print_html_class() -> Any:
    """WeasyPrint's HTML, styled with its own user-agent stylesheet less the rules for a
    pseudo-element of every element.

    `::marker`, `::footnote-call`, `::footnote-marker` and the three `::note-*` rules name no
    element, so each matched every element of the page: WeasyPrint cascaded and computed six
    pseudo-element styles for each, seven in eight of all the styles of a 25-person summary.
    Markers are narrowed to list items (the only elements this page lists), and footnotes and
    notes, which it never uses, lose theirs. Built once per process; overriding
    `_ua_stylesheets` is how WeasyPrint's own tests give a document another user-agent sheet
    (tests/test_mdt_summary_print.py checks it is still called)."""
    global _html_class
    if _html_class is None:
        from weasyprint import CSS, HTML
        from weasyprint.css.counters import CounterStyle
        from weasyprint.html import UA

        # Its @counter-style rules go to a CounterStyle of their own, as WeasyPrint's did when
        # it parsed the sheet (one that has them already refuses 'disc' and 'decimal' again);
        # documents still count with WeasyPrint's copy.
        ua = CSS(string=_lean_user_agent_sheet(UA), counter_style=CounterStyle())

        class PrintHTML(HTML):  # type: ignore[misc]
            def _ua_stylesheets(self, forms: bool = False) -> list[Any]:
                return [ua]

        _html_class = PrintHTML
    return _html_class


def _lean_user_agent_sheet(sheet: str) -> str:
    sheet = re.sub(r"^::marker\b", "li::marker", sheet, flags=re.MULTILINE)
    return re.sub(r"^::(footnote|note)-[a-z]+ \{[^}]*\}$", "", sheet, flags=re.MULTILINE)


_printer = _Printer()


def render_pdf(
    summary: dict[str, Any], printed_by: str, printed_at: datetime, locale: str = "en"
) -> bytes:
    return _printer.pdf(render_html(summary, printed_by, printed_at, locale))
