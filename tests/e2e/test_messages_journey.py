"""Being told, end to end in Chromium with axe on every page, by keyboard, at 375 px, in
English and in Welsh (issue 15): a worker reads Ciaran's passport for the first time, Ciaran
sees "Messages 1" in the menu, reads the message, marks it read, chooses texts with his phone
number (refused first for a wrong number, kept as typed), and finds his choice kept."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from passport import db
from passport.notifications import first_look

from ..factories import Factory, grant
from .browsing import Browsing
from .test_flows import _username, sign_in_by_keyboard

WORDS = {
    "en": {
        "messages": "Messages",
        "told": "Someone from a service new to you looked at your passport.",
        "fuller": "Hillside Housing Options looked at your passport for the first time.",
        "bad_phone": "Enter a UK mobile number",
        "saved": "Saved. This is how we will tell you when something happens.",
        "none_new": "Mark as read",
    },
    "cy": {
        "messages": "Negeseuon",
        "told": "Edrychodd rhywun o wasanaeth sy’n newydd i chi ar eich pasbort.",
        "fuller": "Edrychodd Hillside Housing Options ar eich pasbort am y tro cyntaf.",
        "bad_phone": "Rhowch rif ffôn symudol yn y DU",
        "saved": "Wedi’i gadw.",
        "none_new": "Marcio fel wedi’i ddarllen",
    },
}


@pytest.fixture
def ciaran(fresh_app: Flask, live_server: str) -> dict[str, Any]:
    with fresh_app.app_context():
        make = Factory()
        housing = make.agency("Hillside Housing Options", "housing")
        person = make.person(name="Ciaran Doyle", preferred_name="Ciaran")
        grant(person, "agency", housing.id, ["story"])
        first_look(person.id, housing.id)
        db.session.commit()
        return {"base": live_server, "login": _username(person)}


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_ciaran_reads_his_message_and_chooses_texts(
    browser: Any, ciaran: dict[str, Any], lang: str
) -> None:
    words = WORDS[lang]
    tab = Browsing(browser, ciaran["base"])
    tab.page.set_viewport_size({"width": 375, "height": 812})
    try:
        sign_in_by_keyboard(tab, ciaran["login"], lang=lang)
        assert tab.page.get_attribute("html", "lang") == lang
        # At 375 px the menu is behind its button; its words are there for a screen reader.
        menu = " ".join((tab.page.text_content("#navigation") or "").split())
        assert f"{words['messages']} 1" in menu
        wide = tab.page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 375, "the page is wider than a 375 px phone"

        tab.go(f"/me/messages?lang={lang}")
        assert words["told"] in tab.text()
        tab.key_follow("main form button.passport-link-button")
        assert words["none_new"] not in tab.text()
        assert "passport-count" not in tab.page.inner_html("header")

        tab.key_follow("a[href='/me/messages/how']")
        tab.key_radio("channel", "sms")
        tab.key_type("#phone", "12345")
        tab.key_follow("main form button.govuk-button")
        assert words["bad_phone"] in tab.text()
        assert tab.page.input_value("#phone") == "12345"  # kept as typed
        assert tab.page.is_checked("input[name='channel'][value='sms']")
        tab.page.fill("#phone", "")
        tab.key_type("#phone", "07700 900456")
        tab.key_choose("input[name='fuller_inbox']")
        tab.key_follow("main form button.govuk-button")
        assert words["saved"] in tab.text()
        assert words["fuller"] in tab.text()  # he chose names in his inbox

        tab.go(f"/me/messages/how?lang={lang}")
        assert tab.page.is_checked("input[name='channel'][value='sms']")
        assert tab.page.input_value("#phone") == "07700900456"
        assert tab.page.is_checked("input[name='fuller_inbox']")
        wide = tab.page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 375
    finally:
        tab.close()
