"""End to end in Chromium, by keyboard, in English and Welsh, axe on every page: Jess asks for
her passport to be erased (told what goes and what stays, and asked to confirm); a scheme-wide
DPO records her subject access request with a GOV.UK date, sees the day it is due, then refuses
the erasure with a reason; Jess sees the reason. At 375 px wide nothing scrolls sideways."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask

from passport import db
from passport.identity.models import Person, Staff
from passport.rights.clock import one_month_after

from ..factories import PASSWORD, SAMPLE_CONTENT, Factory
from .browsing import Browsing

WORDS = {
    "en": {
        "waiting": "A data protection officer will decide",
        "what_goes": "What goes",
        "what_stays": "What stays",
        "refused": "said no",
    },
    "cy": {
        "waiting": "Bydd swyddog diogelu data yn penderfynu",
        "what_goes": "Beth sy’n mynd",
        "what_stays": "Beth sy’n aros",
        "refused": "Dywedodd y swyddog diogelu data na",
    },
}


@pytest.fixture
def scene(fresh_app: Flask, live_server: str) -> dict[str, Any]:
    with fresh_app.app_context():
        make = Factory()
        agency = make.agency("Riverside Housing", "housing")
        jess = make.person()
        for section, content in SAMPLE_CONTENT.items():
            make.entry(jess, jess, section, content)
        dpo = make.staff("dpo", agency=agency, name="Dana Price", scheme_wide=True)
        person = db.session.get(Person, jess.id)
        staff = db.session.get(Staff, dpo.id)
        assert person is not None and staff is not None
        return {
            "base": live_server,
            "jess": person.username,
            "jess_id": jess.id,
            "dpo": staff.username,
        }


def sign_in(tab: Browsing, username: str, lang: str) -> None:
    tab.go(f"/login?lang={lang}")
    tab.key_type("#username", username)
    tab.key_type("#password", PASSWORD)
    with tab.page.expect_navigation():
        tab.page.keyboard.press("Enter")
    tab.check()


def _fits(tab: Browsing) -> None:
    tab.page.set_viewport_size({"width": 375, "height": 800})
    wide = tab.page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 375, f"{tab.page.url} is {wide} px wide at 375 px"
    tab.page.set_viewport_size({"width": 1280, "height": 800})


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_erasure_asked_and_refused_and_a_subject_access_request_recorded(
    browser: Any, scene: dict[str, Any], lang: str
) -> None:
    words = WORDS[lang]
    jess = Browsing(browser, scene["base"])
    dpo = Browsing(browser, scene["base"])
    try:
        sign_in(jess, scene["jess"], lang)
        jess.go("/me/download")
        jess.key_follow("a[href='/me/erasure']")
        page = jess.text()
        assert words["what_goes"] in page and words["what_stays"] in page
        _fits(jess)
        jess.key_type("#reason", "I am moving away")
        jess.key_choose("#confirm")
        jess.tab_to("form button.govuk-button--warning")
        with jess.page.expect_navigation():
            jess.page.keyboard.press("Enter")
        jess.check()
        assert words["waiting"] in jess.text()

        sign_in(dpo, scene["dpo"], lang)
        secret = dpo.page.inner_text("#secret").replace(" ", "")
        dpo.key_type("#code", pyotp.TOTP(secret).now())
        with dpo.page.expect_navigation():
            dpo.page.keyboard.press("Enter")
        dpo.check()
        dpo.go("/dpo/subject-access")
        received = date.today() - timedelta(days=5)
        dpo.key_type("#person_id", scene["jess_id"])
        dpo.key_type("#reason", "Letter from Jess, handed in at the hub")
        dpo.key_type("#received_on-day", str(received.day))
        dpo.key_type("#received_on-month", str(received.month))
        dpo.key_type("#received_on-year", str(received.year))
        dpo.tab_to("form button:not(.govuk-button--secondary)")
        with dpo.page.expect_navigation():
            dpo.page.keyboard.press("Enter")
        dpo.check()
        due = one_month_after(received)
        card = dpo.page.inner_text(".govuk-summary-card")
        assert str(due.day) in card and str(due.year) in card
        assert "Letter from Jess" in card
        assert dpo.page.is_visible("a[href$='/pack.pdf']")
        _fits(dpo)

        dpo.go("/dpo/erasure")
        assert "I am moving away" in dpo.text()
        dpo.key_follow("main a[href^='/dpo/erasure/']")
        dpo.key_radio("outcome", "refused")
        dpo.key_type("#reason", "Probation must keep the risk record until May")
        dpo.tab_to("form button")
        with dpo.page.expect_navigation():
            dpo.page.keyboard.press("Enter")
        dpo.check()
        assert "/dpo/erasure" in dpo.page.url

        jess.go("/me/erasure")
        page = jess.text()
        assert words["refused"] in page
        assert "Probation must keep the risk record until May" in page
    finally:
        jess.close()
        dpo.close()
