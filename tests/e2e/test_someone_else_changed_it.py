"""End to end in Chromium: Jess and her worker change the same medicine at once. The one who
saves second is told plainly, sees the other's version beside what they typed, and saves
again; nothing is lost. axe checks every page, the conflict page included, in English and
Welsh."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from passport.records import writing
from passport.vocabulary import Section

from ..factories import Factory
from .browsing import Browsing
from .test_flows import _username, sign_in_by_keyboard

STALE = {
    "en": "Someone else changed this after you opened it.",
    "cy": "Newidiodd rhywun arall hyn ar ôl i chi ei agor.",
}


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_second_to_save_sees_both_versions_and_loses_nothing(
    browser: Any, fresh_app: Flask, live_server: str, lang: str
) -> None:
    with fresh_app.app_context():
        make = Factory()
        worker = make.staff("caseworker", name="Amara Okafor")
        person = make.person(registered_by=worker)  # Amara is a contributor
        entry = make.entry(person, person, Section.MEDICATION, {"name": "Methadone"})
        logins = (_username(person), _username(worker))
    jess = Browsing(browser, live_server)
    amara = Browsing(browser, live_server)
    try:
        sign_in_by_keyboard(jess, logins[0], lang=lang)
        jess.go(f"/me/medication/{entry.id}/change")
        sign_in_by_keyboard(amara, logins[1])
        amara.go(f"/people/{person.id}/medication/{entry.id}/change")

        amara.page.fill("#dose", "40 mg")
        amara.click("form button.govuk-button")  # saved first

        jess.page.fill("#notes", "I take it at the chemist on the high street")
        jess.click("form button.govuk-button")  # axe-checked: the conflict page
        text = jess.text()
        assert STALE[lang] in text
        assert "40 mg" in text  # Amara's version
        assert jess.page.input_value("#notes") == "I take it at the chemist on the high street"
        assert jess.page.input_value("#dose") == ""  # what Jess had, not overwritten

        jess.page.fill("#dose", "40 mg")
        jess.click("form button.govuk-button")  # saving again, having seen it
        assert STALE[lang] not in jess.text()
    finally:
        jess.close()
        amara.close()
    with fresh_app.app_context():
        opened = writing.open_section(person, person.id, Section.MEDICATION)
        latest = opened.entry(entry.id)
        assert latest is not None and latest.revision == 3
        assert latest.content["dose"] == "40 mg" and latest.content["notes"].startswith("I take")
