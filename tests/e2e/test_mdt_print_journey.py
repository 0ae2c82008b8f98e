"""End to end in Chromium, in English and in Welsh: the MDT chair opens the shared summary,
follows "Printable version" and "Download as PDF", and the print view and the PDF carry the
screen's headings and labels in the screen's order, in the page's language. axe checks every
page visited."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from flask import Flask

from passport.mdt import operations

from ..factories import Factory, forum, forum_member, grant
from ..test_mdt_summary_print import CONTENT, DUE, REVIEW, in_order, outline, pdf_text
from .browsing import Browsing
from .test_flows import _username, sign_in_by_keyboard

WORDS = {
    "en": {"print": "Printable version", "alerts": "Alerts", "marking": "OFFICIAL-SENSITIVE"},
    "cy": {
        "print": "Fersiwn i’w hargraffu",
        "alerts": "Rhybuddion",
        "marking": "OFFICIAL-SENSITIVE / SWYDDOGOL-SENSITIF",
    },
}


@pytest.fixture
def print_scene(fresh_app: Flask, live_server: str) -> dict[str, Any]:
    with fresh_app.app_context():
        make = Factory()
        housing = make.agency("Riverside Housing First", "housing")
        chair = make.staff("caseworker", "mdt_chair", agency=housing, name="Gareth Lewis")
        member = make.staff("caseworker", agency=housing, name="Amara Okafor")
        board = forum("Riverside MDT", [housing])
        forum_member(board, chair, "chair")
        forum_member(board, member, "member")
        meeting = operations.create_meeting(chair, board.id, date.today(), "December", [])
        jess = make.person()
        for section, content in CONTENT.items():
            make.entry(jess, jess, section, content)
        sections = ["risk", "medication", "workers", "preferences"]
        grant(jess, "mdt", board.id, sections, purpose="mdt")
        operations.add_to_agenda(chair, meeting.id, jess.id)
        operations.add_action(chair, meeting.id, jess.id, member.id, "Book a GP visit", DUE)
        make.commit()
        return {"base": live_server, "chair": _username(chair), "meeting": meeting.id}


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_chair_prints_the_summary_with_the_screens_labels(
    browser: Any, print_scene: dict[str, Any], lang: str, tmp_path: Path
) -> None:
    chair = Browsing(browser, print_scene["base"])
    words = WORDS[lang]
    meeting = print_scene["meeting"]
    try:
        sign_in_by_keyboard(chair, print_scene["chair"], lang=lang)
        chair.go(f"/mdt/meetings/{meeting}")
        chair.key_follow(f"a[href='/mdt/meetings/{meeting}/summary']")
        assert chair.page.evaluate("document.documentElement.lang") == lang
        on_screen = outline(chair.page.content())
        assert words["alerts"] in on_screen and len(on_screen) > 15
        assert words["print"] in chair.text()

        chair.key_follow(f"a[href^='/mdt/meetings/{meeting}/summary/print']")
        assert chair.page.evaluate("document.documentElement.lang") == lang
        assert outline(chair.page.content()) == on_screen
        body = chair.page.inner_text("body")
        assert words["marking"] in body
        assert str(format_date(REVIEW, "d MMMM yyyy", locale=lang)) in body
        assert REVIEW.isoformat() not in body

        chair.page.go_back()
        chair.check()
        with chair.page.expect_download() as info:
            chair.page.click(f"a[href^='/mdt/meetings/{meeting}/summary.pdf']")
        saved = tmp_path / "summary.pdf"
        info.value.save_as(saved)
        text = pdf_text(saved.read_bytes())
        assert words["marking"] in text
        in_order(text, on_screen)
        assert str(format_date(DUE, "d MMMM yyyy", locale=lang)) in text
        assert len(chair.visited) >= 5
    finally:
        chair.close()
