"""End to end in Chromium, in English and Welsh, axe on every page (issue 14): the
caseworker's brief shows the risk detail and the interpreter alert first; Ciaran's "who has
looked" lists other people's looks first and folds his own views into one line a day."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from passport.records import views

from ..factories import Factory, grant
from .browsing import Browsing
from .test_flows import _username, sign_in_by_keyboard

RISK = {
    "summary": "Lone working: meet at the hub.",
    "flags": [
        {"kind": "lone_working", "level": "medium"},
        {"kind": "overdose", "level": "high", "detail": "carries naloxone"},
    ],
    "ndt": {"engagement": 3, "housing": 4},
}


@pytest.fixture
def people(fresh_app: Flask, live_server: str) -> dict[str, Any]:
    with fresh_app.app_context():
        make = Factory()
        agency = make.agency("Riverside Housing First", "housing")
        amara = make.staff("caseworker", agency=agency, name="Amara Okafor")
        mariam = make.person(name="Mariam Haddad", preferred_name="Mariam")
        make.entry(mariam, mariam, "risk", RISK)
        make.entry(mariam, mariam, "medication", {"name": "Sertraline", "dose": "50 mg"})
        make.entry(
            mariam,
            mariam,
            "preferences",
            {"interpreter": "Arabic (female interpreter, please)", "what_helps": "Quiet rooms"},
        )
        grant(mariam, "agency", agency.id, ["risk", "medication", "preferences"])
        ciaran = make.person(name="Ciaran Doyle", preferred_name="Ciaran")
        make.entry(ciaran, ciaran, "story", {"text": "I left care at 18.", "title": "Me"})
        make.entry(ciaran, ciaran, "medication", {"name": "Inhaler"})
        grant(ciaran, "agency", agency.id, ["medication"])
        # Amara reads Ciaran's brief: his medication, not his story (not shared with her).
        views.brief(amara, ciaran.id, "direct_support")
        make.commit()
        return {
            "base": live_server,
            "amara": _username(amara),
            "ciaran": _username(ciaran),
            "mariam_id": mariam.id,
        }


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_brief_shows_the_risk_detail_and_the_interpreter_first(
    browser: Any, people: dict[str, Any], lang: str
) -> None:
    tab = Browsing(browser, people["base"])
    try:
        sign_in_by_keyboard(tab, people["amara"], lang)
        tab.go("/caseload")
        tab.key_follow(f"a[href^='/people/{people['mariam_id']}/brief']")
        text = tab.text()
        interpreter = "Cyfieithydd:" if lang == "cy" else "Interpreter:"
        order = [
            "carries naloxone",
            "Lone working: meet at the hub.",
            f"{interpreter} Arabic (female interpreter, please)",
            "Sertraline",
        ]
        positions = [text.index(words) for words in order]
        assert positions == sorted(positions), text
        # The interpreter is a warning, not a line under "What works".
        warning = tab.page.locator("#communication ~ .govuk-warning-text").first.inner_text()
        assert "Arabic (female interpreter, please)" in warning
        assert tab.page.locator("#ndt-total").count() == 1
    finally:
        tab.close()


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_ciaran_sees_other_people_first_and_his_own_views_folded(
    browser: Any, people: dict[str, Any], lang: str
) -> None:
    tab = Browsing(browser, people["base"])
    try:
        sign_in_by_keyboard(tab, people["ciaran"], lang)
        for _ in range(3):
            tab.go("/me")
        tab.key_follow("a.govuk-service-navigation__link[href='/me/looked']")
        # Newest first: Amara's read, then what Passport did when the passport was started.
        others = tab.page.locator("#other-looks .passport-look")
        look = others.first.inner_text()
        assert "Amara Okafor" in look and "Riverside Housing First" in look
        saw, not_shared = (
            ("Gwelon nhw:", "Dydych chi ddim wedi rhannu")
            if lang == "cy"
            else (
                "They saw:",
                "You have not shared with them:",
            )
        )
        assert saw in look and not_shared in look
        text = tab.text()
        assert text.index("Amara Okafor") < text.index(tab.page.locator("#own").inner_text())
        # His three visits (and the page sign-in lands on) today: one line, with the count.
        # (His own writing and sharing are listed too, one line each.)
        looked = "Edrychoch chi ar eich pasbort" if lang == "cy" else "You looked at your passport"
        reads = tab.page.locator("#own-looks li", has_text=looked)
        assert reads.count() == 1
        words = reads.first.inner_text()
        assert any(f" {n} " in words for n in (3, 4)), words
    finally:
        tab.close()
