"""The MDT summary says the same thing in the same order on screen, in the print view and in
the PDF (issue 14, item 3): the same headings and labels, dates written as the screen writes
them ('3 March 2027', 'Mawrth' in Welsh), the risk detail, and in the page's language."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any, ClassVar

import pytest
from babel.dates import format_date
from flask.testing import FlaskClient
from flask_babel import refresh
from pypdf import PdfReader

from passport.mdt import operations, printing

from .factories import Factory, forum, forum_member, grant
from .web_helpers import sign_in

TODAY = date.today()
REVIEW = TODAY + timedelta(days=20)
DUE = TODAY + timedelta(days=9)
CONTENT = {
    "risk": {
        "flags": [
            {"kind": "lone_working", "level": "medium", "detail": "meet at the hub"},
            {"kind": "overdose", "level": "high", "detail": "carries naloxone"},
        ],
        "summary": "Lost tolerance after prison; naloxone at home.",
        "review_on": REVIEW.isoformat(),
    },
    "medication": {
        "name": "Methadone",
        "dose": "60 mg",
        "frequency": "daily",
        "prescriber": "Dr Rees",
        "started_on": (TODAY - timedelta(days=100)).isoformat(),
    },
    "workers": {"name": "Amara Okafor", "organisation": "Riverside", "is_lead": True},
    "preferences": {
        "contact": [{"method": "text", "detail": "07700 900123"}],
        "appointment_times": "Afternoons",
        "what_helps": "A quiet room",
        "interpreter": "None needed",
    },
    "story": {"title": "My life so far", "text": "I have slept rough on and off for years."},
}


class _Outline(HTMLParser):
    """The headings and labels inside each person's part, in document order, with hidden
    text (visually hidden spans, the stacked table's labels) left out as the reader sees it."""

    WANTED: ClassVar[set[str]] = {"h2", "h3", "h4", "dt", "th"}
    HIDDEN: ClassVar[set[str]] = {
        "govuk-visually-hidden",
        "passport-stack-label",
        "govuk-warning-text__icon",
    }

    def __init__(self) -> None:
        super().__init__()
        self.items: list[str] = []
        self._stack: list[tuple[str, bool]] = []
        self._text: list[str] | None = None
        self._in_person = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = set((dict(attrs).get("class") or "").split())
        if "passport-summary-person" in classes:
            self._in_person += 1
        hidden = bool(classes & self.HIDDEN) or any(h for _, h in self._stack)
        if tag not in {"br", "meta", "input", "img"}:
            self._stack.append((tag, hidden))
        if self._in_person and tag in self.WANTED and not hidden:
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            open_tag, _ = self._stack.pop()
            if open_tag == tag:
                break
        if tag in self.WANTED and self._text is not None:
            words = " ".join("".join(self._text).split())
            if words:
                self.items.append(words)
            self._text = None
        if tag == "section" and self._in_person:
            self._in_person -= 1

    def handle_data(self, data: str) -> None:
        if self._text is not None and not any(h for _, h in self._stack):
            self._text.append(data)


def outline(html: str) -> list[str]:
    parser = _Outline()
    parser.feed(html)
    return parser.items


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages)


def in_order(text: str, words: list[str]) -> None:
    """Each of `words` is in `text`, after the one before it."""
    at = 0
    for word in words:
        found = text.find(word, at)
        assert found >= 0, f"{word!r} is missing, or out of order, after {text[at - 80 : at]!r}"
        at = found + len(word)


@pytest.fixture
def scene(make: Factory) -> dict[str, Any]:
    housing = make.agency("Riverside Housing First", "housing")
    chair = make.staff("caseworker", "mdt_chair", agency=housing, name="Gareth Lewis")
    member = make.staff("caseworker", agency=housing, name="Amara Okafor")
    board = forum("Riverside MDT", [housing])
    forum_member(board, chair, "chair")
    forum_member(board, member, "member")
    meeting = operations.create_meeting(chair, board.id, TODAY, "December", [])
    jess = make.person()
    for section, content in CONTENT.items():
        make.entry(jess, jess, section, content)
    grant(jess, "mdt", board.id, ["risk", "medication", "workers", "preferences"], purpose="mdt")
    operations.add_to_agenda(chair, meeting.id, jess.id)
    operations.add_action(chair, meeting.id, jess.id, member.id, "Book a GP visit", DUE)
    make.commit()
    return {"chair": chair, "meeting": meeting.id, "person": jess.id}


def _three(client: FlaskClient, meeting: str, lang: str) -> tuple[str, str, bytes]:
    refresh()  # the test client shares one app context: forget the last page's language
    base = f"/mdt/meetings/{meeting}/summary"
    screen = client.get(f"{base}?lang={lang}").get_data(as_text=True)
    links = re.findall(r'href="([^"]*summary(?:/print|\.pdf)[^"]*)"', screen)
    assert len(links) == 2 and all(f"lang={lang}" in link for link in links)
    refresh()
    printed = client.get(links[0].replace("&amp;", "&")).get_data(as_text=True)
    refresh()
    pdf = client.get(links[1].replace("&amp;", "&"))
    assert pdf.mimetype == "application/pdf"
    return screen, printed, pdf.data


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_screen_print_and_pdf_show_the_same_labels_in_the_same_order(
    client: FlaskClient, scene: dict[str, Any], lang: str
) -> None:
    sign_in(client, scene["chair"])
    screen, printed, pdf = _three(client, scene["meeting"], lang)
    on_screen = outline(screen)
    assert len(on_screen) > 15, on_screen  # the control: the outline was found
    assert outline(printed) == on_screen
    assert f'<html lang="{lang}"' in printed
    # The PDF is the print view on paper: the same labels, in the same order.
    text = pdf_text(pdf)
    in_order(text, on_screen)
    # Dates as the screen writes them, in the page's language, never ISO.
    for when in (TODAY, REVIEW, DUE):
        words = str(format_date(when, "d MMMM yyyy", locale=lang))
        assert words in screen and words in printed and words in text
        assert when.isoformat() not in printed and when.isoformat() not in text
    assert "revision" not in printed.lower() and "revision" not in text.lower()


def test_the_risk_detail_is_in_all_three(client: FlaskClient, scene: dict[str, Any]) -> None:
    sign_in(client, scene["chair"])
    screen, printed, pdf = _three(client, scene["meeting"], "en")
    text = pdf_text(pdf)
    expected = [
        "Overdose – High: carries naloxone",
        "Do not visit alone – Medium: meet at the hub",  # high before medium
        "Lost tolerance after prison; naloxone at home.",
        "To be looked at again on " + str(format_date(REVIEW, "d MMMM yyyy", locale="en")),
    ]
    for copy in (" ".join(re.sub(r"<[^>]+>", " ", screen).split()), printed, text):
        in_order(" ".join(re.sub(r"<[^>]+>", " ", copy).split()), expected)


def test_in_welsh_nothing_is_left_in_english(client: FlaskClient, scene: dict[str, Any]) -> None:
    sign_in(client, scene["chair"])
    _, printed, pdf = _three(client, scene["meeting"], "cy")
    text = pdf_text(pdf)
    for copy in (printed, text):
        assert "Rhybuddion" in copy and "Meddyginiaeth bresennol" in copy
        assert "Gorddos – Uchel: carries naloxone" in copy
        for english in ("Alerts", "Current medication", "Open actions", "Printed by", "Due"):
            assert english not in copy
    # The control: in English the same words are there.
    english, _, _ = _three(client, scene["meeting"], "en")
    assert "Alerts" in english and "Current medication" in english


def test_the_pdf_carries_no_record_ids(client: FlaskClient, scene: dict[str, Any]) -> None:
    """The print view's ids, anchors on screen, stay out of the PDF: WeasyPrint would make each
    a named destination, so the people's record ids would travel with the paper."""
    sign_in(client, scene["chair"])
    _, printed, pdf = _three(client, scene["meeting"], "en")
    assert f'id="person-{scene["person"]}"' in printed  # the control: the page has them
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.named_destinations == {}
    assert scene["person"] not in pdf_text(pdf)


def test_the_pdf_is_styled_with_the_lean_user_agent_sheet(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The PDF's user-agent sheet is WeasyPrint's less the rules for a pseudo-element of every
    element, parsed without a complaint; WeasyPrint still asks for it. (Were it to stop asking,
    the PDF would still print, only slower: this says so.)"""
    from weasyprint.html import UA

    lean = printing._lean_user_agent_sheet(UA)
    assert [line for line in UA.splitlines() if line.startswith("::")]  # the control
    assert not [line for line in lean.splitlines() if line.startswith("::")]
    assert "li::marker {" in lean
    monkeypatch.setattr(printing, "_html_class", None)  # built here, its warnings seen
    with caplog.at_level("WARNING", logger="weasyprint"):
        document = printing._print_html_class()
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    asked: list[bool] = []
    own = document._ua_stylesheets

    def spy(self: Any, forms: bool = False) -> Any:
        asked.append(forms)
        return own(self, forms)

    monkeypatch.setattr(document, "_ua_stylesheets", spy)
    assert printing._printer.pdf("<p>Jess</p>").startswith(b"%PDF-")
    assert asked


def test_outline_sees_a_difference() -> None:
    """The control for the comparison: a label changed or moved is seen."""
    page = (
        '<section class="passport-summary-person"><h2>Jess</h2><h3>Alerts</h3>'
        '<span class="govuk-visually-hidden"><h3>Hidden</h3></span><dl><dt>Dose</dt></dl>'
        "</section><h3>Outside</h3>"
    )
    assert outline(page) == ["Jess", "Alerts", "Dose"]
    assert outline(page.replace("Dose", "Amount")) != outline(page)
    with pytest.raises(AssertionError):
        in_order("Dose then Alerts", ["Alerts", "Dose"])
