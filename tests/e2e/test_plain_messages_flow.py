"""End to end in Chromium: an admin sends the agency form wrong, by keyboard alone, and reads
every problem at once, in page order, in the summary and on the fields; the summary's link
takes them to the field; a duplicate name is refused in plain words. Then the DPO log's date
filter, as day, month and year boxes, keeps what was typed. English and Welsh; axe on every
page visited."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from flask import Flask

from passport import db
from passport.identity.models import Staff

from ..factories import PASSWORD, Factory
from .browsing import Browsing


@pytest.fixture
def scene(fresh_app: Flask, live_server: str) -> dict[str, Any]:
    with fresh_app.app_context():
        make = Factory()
        agency = make.agency("Riverside Housing First", "housing")
        admin = make.staff("admin", "dpo", agency=agency, name="Alun Evans")
        row = db.session.get(Staff, admin.id)
        assert row is not None
        return {"base": live_server, "admin": row.username}


def sign_in_with_code(tab: Browsing, username: str, lang: str) -> None:
    tab.go(f"/login?lang={lang}")
    tab.key_type("#username", username)
    tab.key_type("#password", PASSWORD)
    with tab.page.expect_navigation():
        tab.page.keyboard.press("Enter")
    tab.check()
    secret = tab.page.inner_text("#secret").replace(" ", "")
    tab.key_type("#code", pyotp.TOTP(secret).now())
    with tab.page.expect_navigation():
        tab.page.keyboard.press("Enter")
    tab.check()


def submit(tab: Browsing, button: str = "form button.govuk-button") -> None:
    tab.key_follow(button)


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_agency_form_says_every_problem_at_once(
    browser: Any, scene: dict[str, Any], lang: str
) -> None:
    admin = Browsing(browser, scene["base"])
    try:
        sign_in_with_code(admin, scene["admin"], lang)
        admin.go("/admin")
        submit(admin, "form button.govuk-button")  # nothing typed, nothing chosen
        links = admin.page.locator(".govuk-error-summary__list a")
        assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
            "#name",
            "#kind",
        ]
        messages = [links.nth(i).inner_text() for i in range(links.count())]
        beside = admin.page.locator(".govuk-error-message")
        assert [
            beside.nth(i).inner_text().split("\n")[-1].split(":", 1)[-1].strip()
            for i in range(beside.count())
        ] == messages
        english = ["Enter the agency’s name", "Choose what kind of service it is"]
        assert (messages == english) == (lang == "en")
        # The summary takes focus; its first link goes to the field.
        assert admin.page.evaluate(
            "document.activeElement.closest('.govuk-error-summary') !== null"
        )
        admin.tab_to(".govuk-error-summary__list a[href='#name']")
        admin.page.keyboard.press("Enter")
        assert admin.page.evaluate("document.activeElement.id") == "name"
        admin.page.keyboard.type("  riverside HOUSING first ")
        admin.tab_to("#kind")
        admin.page.select_option("#kind", "housing")
        submit(admin)
        text = admin.text()
        duplicate = (
            "Mae asiantaeth gyda’r enw hwn yn barod"
            if lang == "cy"
            else "There is already an agency with this name"
        )
        assert duplicate in text
        assert admin.page.input_value("#name") == "riverside HOUSING first"
        assert admin.page.input_value("#kind") == "housing"

        admin.go("/dpo/log")
        admin.key_type("#since-day", "31")
        admin.key_type("#since-month", "2")
        admin.key_type("#since-year", "2026")
        submit(admin, "form button.govuk-button--secondary")
        assert [admin.page.input_value(f"#since-{p}") for p in ("day", "month", "year")] == [
            "31",
            "2",
            "2026",
        ]
        link = admin.page.locator(".govuk-error-summary__list a").first
        assert link.get_attribute("href") == "#since-day"
        assert ("must be a real date" in admin.text()) == (lang == "en")
    finally:
        admin.close()
