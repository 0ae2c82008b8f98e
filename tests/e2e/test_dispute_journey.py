"""Disputes end to end in Chromium, axe on every page, in English and in Welsh (issue 16):

1. Jess says her risk entry is wrong and hides it from services until they answer;
2. the drug service's brief no longer shows it;
3. Riverside Housing First, who wrote it, corrects it and answers;
4. Jess sees the answer, and the drug service sees the corrected entry with what she said.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from ..factories import Factory, grant
from .browsing import Browsing
from .test_flows import _username, sign_in_by_keyboard

RISK = {
    "summary": "Risk of overdose after periods of abstinence.",
    "flags": [{"kind": "overdose", "level": "high", "detail": "carries naloxone"}],
}
STATEMENT = "I stopped using a year ago. I do not need that any more."
SUBMIT = "main form button.govuk-button[type='submit']:not([name='add_row'])"
WORDS = {
    "en": {
        "wrong": "This is wrong",
        "done": "You have said this is wrong",
        "hidden": "Hidden from services until they answer",
        "says": "Jess says this is wrong:",
        "corrected": "corrected it on",
    },
    "cy": {
        "wrong": "Mae hyn yn anghywir",
        "done": "Rydych chi wedi dweud bod hyn yn anghywir",
        "hidden": "Wedi’i guddio rhag gwasanaethau nes iddyn nhw ateb",
        "says": "Mae Jess yn dweud bod hyn yn anghywir:",
        "corrected": "Cywirodd Amara Okafor",
    },
}


@pytest.fixture
def scene(fresh_app: Flask, live_server: str) -> dict[str, Any]:
    with fresh_app.app_context():
        make = Factory()
        housing = make.agency("Riverside Housing First", "housing")
        drugs = make.agency("Northgate Drug and Alcohol Service", "substance_use")
        amara = make.staff("caseworker", agency=housing, name="Amara Okafor")
        tom = make.staff("caseworker", agency=drugs, name="Tom Reilly")
        jess = make.person(registered_by=amara)  # Amara writes every section
        entry = make.entry(amara, jess, "risk", RISK)
        grant(jess, "agency", drugs.id, ["risk", "medication"])
        return {
            "base": live_server,
            "jess": jess.id,
            "entry": entry.id,
            "logins": {
                "jess": _username(jess),
                "amara": _username(amara),
                "tom": _username(tom),
            },
        }


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_jess_disputes_a_risk_and_the_agency_corrects_it(
    browser: Any, scene: dict[str, Any], lang: str
) -> None:
    words = WORDS[lang]
    tabs = {name: Browsing(browser, scene["base"]) for name in ("jess", "tom", "amara")}
    jess, tom, amara = tabs["jess"], tabs["tom"], tabs["amara"]
    brief = f"/people/{scene['jess']}/brief?purpose=direct_support"
    try:
        for name, tab in tabs.items():
            sign_in_by_keyboard(tab, scene["logins"][name], lang=lang)
        tom.go(brief)
        assert "naloxone" in tom.text()

        # 1. Jess, by keyboard: what is wrong, hide it, check, send.
        jess.go("/me")
        wrong = f"a[href='/me/entries/{scene['entry']}/wrong']"
        assert words["wrong"] in jess.page.inner_text(wrong)
        jess.key_follow(wrong)
        assert jess.page.get_attribute("html", "lang") == lang
        jess.key_type("#statement", STATEMENT)
        jess.key_choose("input[name='restrict'][value='yes']")
        jess.key_follow(SUBMIT)
        assert STATEMENT in jess.text()
        jess.key_follow(SUBMIT)
        assert words["done"] in jess.text()
        jess.go("/me")
        assert STATEMENT in jess.text() and words["hidden"] in jess.text()

        # 2. The drug service's brief no longer shows it.
        tom.go(brief)
        assert "naloxone" not in tom.text() and STATEMENT not in tom.text()

        # 3. Riverside Housing First corrects it, then answers.
        amara.go("/caseload")
        amara.click("#disputes-waiting")
        amara.click(f"a[href='/people/{scene['jess']}/entries/{scene['entry']}/answer']")
        assert words["says"] in amara.text() and STATEMENT in amara.text()
        answer_page = amara.page.url
        amara.click("#change-entry")
        amara.page.fill("#flags-0-detail", "")
        amara.page.select_option("#flags-0-level", "medium")
        amara.click(SUBMIT)
        amara.go(answer_page)
        amara.page.check("input[name='outcome'][value='corrected']")
        amara.page.fill("#notes", "Changed after we talked at the hub.")
        amara.click(SUBMIT)
        assert scene["entry"] not in amara.page.content()  # nobody waiting now

        # 4. Jess sees the answer; the drug service sees the correction and her words.
        jess.go("/me")
        assert words["corrected"] in jess.text()
        assert "Changed after we talked at the hub." in jess.text()
        tom.go(brief)
        assert "naloxone" not in tom.text()
        assert words["says"] in tom.text() and STATEMENT in tom.text()
        for tab in tabs.values():
            assert tab.visited, "axe checked every page"
    finally:
        for tab in tabs.values():
            tab.close()
