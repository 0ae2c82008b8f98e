"""End to end in Chromium: sharing and stopping (English, by keyboard alone; and Welsh), and
a DPO reviewing a break-glass. axe checks every page visited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask

from passport import db
from passport.identity.models import Person, Staff

from ..factories import PASSWORD, SAMPLE_CONTENT, Factory, grant
from .browsing import Browsing

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "who-can-see-what.png"


def _username(actor: Any) -> str:
    account = db.session.get(Staff if actor.is_staff else Person, actor.id)
    assert account is not None and account.username
    return account.username


@pytest.fixture
def scene(fresh_app: Flask, live_server: str) -> dict[str, Any]:
    """Jess, her medication and what works for her; Riverside's caseworker Amara, who can
    already see, by name, what works for Jess (so the brief still opens after Jess stops the rest)."""
    with fresh_app.app_context():
        make = Factory()
        agency = make.agency("Riverside Mental Health", "mental_health")
        make.agency("Hillside Housing", "housing")
        worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
        dpo = make.staff("dpo", agency=agency, name="Dilys Price")
        person = make.person()
        for section, content in SAMPLE_CONTENT.items():
            make.entry(person, person, section, content)
        # Named, not to the agency: "Stop" stops everything one grantee has, and the brief
        # must still open (on this grant) after Jess stops her agency-wide medication one.
        grant(person, "staff", worker.id, ["preferences"])
        return {
            "base": live_server,
            "agency": agency.id,
            "person": person.id,
            "person_login": _username(person),
            "worker_login": _username(worker),
            "dpo_login": _username(dpo),
        }


def sign_in_by_keyboard(tab: Browsing, username: str, lang: str = "en") -> None:
    tab.go(f"/login?lang={lang}")
    tab.key_type("#username", username)
    tab.key_type("#password", PASSWORD)
    with tab.page.expect_navigation():
        tab.page.keyboard.press("Enter")
    tab.check()


def share_medication_by_keyboard(tab: Browsing, agency_id: str) -> None:
    tab.key_follow("a.govuk-service-navigation__link[href='/me/sharing']")
    tab.key_follow("a[href='/me/sharing/new']")
    tab.key_radio("agency_id", agency_id)
    tab.key_follow("form button.govuk-button")
    tab.key_choose("input[name='sections'][value='medication']")
    tab.key_follow("form button.govuk-button")
    tab.key_radio("purpose", "direct_support")
    tab.key_follow("form button.govuk-button")
    tab.key_radio("days", "3m")
    tab.key_follow("form button.govuk-button")
    tab.key_follow("form button.govuk-button")  # the check page: Share


def stop_medication_by_keyboard(tab: Browsing) -> None:
    grant_id = tab.page.eval_on_selector(
        "xpath=//div[contains(@class,'passport-entry')][.//p[contains(., 'Methadone')"
        " or contains(., 'medication') or contains(., 'meddyginiaeth')]]",
        "el => el.id.replace('grant-', '')",
    )
    tab.key_follow(f"a[href='/me/sharing/{grant_id}/stop']")
    tab.key_follow("form button.govuk-button--warning")


def test_share_see_revoke_withheld_by_keyboard(browser: Any, scene: dict[str, Any]) -> None:
    person = Browsing(browser, scene["base"])
    worker = Browsing(browser, scene["base"])
    try:
        sign_in_by_keyboard(person, scene["person_login"])
        assert "My passport" in person.text()
        share_medication_by_keyboard(person, scene["agency"])
        text = person.text()
        assert "Riverside Mental Health can see your medication from" in text
        SCREENSHOT.parent.mkdir(exist_ok=True)
        person.page.screenshot(path=str(SCREENSHOT), full_page=True)

        sign_in_by_keyboard(worker, scene["worker_login"])
        assert "Jess" in worker.text()
        worker.key_follow(f"a[href*='/people/{scene['person']}/brief']")
        brief = worker.text()
        assert "Methadone" in brief and "Afternoons" in brief

        stop_medication_by_keyboard(person)
        assert "Riverside Mental Health cannot see your information any more" in person.text()

        worker.page.reload()
        worker.check()
        brief = worker.text()
        assert "Methadone" not in brief
        assert worker.page.is_visible("#medication-withheld")
        assert len(person.visited) >= 9 and len(worker.visited) >= 4
    finally:
        person.close()
        worker.close()


def test_the_same_flow_in_welsh(browser: Any, scene: dict[str, Any]) -> None:
    person = Browsing(browser, scene["base"])
    worker = Browsing(browser, scene["base"])
    try:
        sign_in_by_keyboard(person, scene["person_login"], lang="cy")
        assert person.page.get_attribute("html", "lang") == "cy"
        assert "Fy mhasbort" in person.text()
        share_medication_by_keyboard(person, scene["agency"])
        assert "Riverside Mental Health yn gallu gweld eich meddyginiaeth" in person.text()

        sign_in_by_keyboard(worker, scene["worker_login"], lang="cy")
        worker.click(f"a[href*='/people/{scene['person']}/brief']")
        assert "Methadone" in worker.text()

        stop_medication_by_keyboard(person)
        assert "Riverside Mental Health" in person.text()

        worker.page.reload()
        worker.check()
        assert "Methadone" not in worker.text()
        assert "Heb ei rannu gyda chi" in worker.text()
    finally:
        person.close()
        worker.close()


def test_dpo_reviews_a_break_glass(browser: Any, scene: dict[str, Any]) -> None:
    worker = Browsing(browser, scene["base"])
    dpo = Browsing(browser, scene["base"])
    try:
        sign_in_by_keyboard(worker, scene["worker_login"])
        worker.go(f"/people/{scene['person']}/emergency")
        assert "data protection officer" in worker.text()
        worker.page.fill("#reason", "Found unconscious at the hostel; paramedics asking")
        worker.click("form button.govuk-button--warning")
        assert "Methadone" in worker.text() and "carries naloxone" in worker.text()

        sign_in_by_keyboard(dpo, scene["dpo_login"])
        assert "/login/set-up-code" in dpo.page.url
        secret = dpo.page.inner_text("#secret").replace(" ", "")
        dpo.key_type("#code", pyotp.TOTP(secret).now())
        with dpo.page.expect_navigation():
            dpo.page.keyboard.press("Enter")
        dpo.check()
        assert "Access log" in dpo.text()
        dpo.click("a[href='/dpo/emergency']")
        assert "Amara Okafor" in dpo.text()
        dpo.click("a[href^='/dpo/emergency/']")
        assert "Found unconscious" in dpo.text()
        dpo.page.check("input[name='outcome'][value='justified']")
        dpo.page.fill("#notes", "Paramedics needed the medication list; justified.")
        dpo.click("form button.govuk-button")
        assert "Review saved" in dpo.text() and "Justified" in dpo.text()
        dpo.go("/dpo/integrity")
        dpo.click("form button.govuk-button")
        assert "Intact" in dpo.text()
        dpo.go("/dpo/log?action=emergency.open")
        assert "Opened emergency access" in dpo.text()  # the DPO log says it in words
    finally:
        worker.close()
        dpo.close()
