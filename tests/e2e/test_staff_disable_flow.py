"""End to end in Chromium: an admin disables a caseworker by keyboard alone (asked first),
and the caseworker's open tab is signed out at once; in English and Welsh. axe checks every
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
        agency = make.agency("Riverside Housing", "housing")
        worker = make.staff("caseworker", agency=agency, name="Amara Okafor")
        admin = make.staff("admin", agency=agency, name="Alun Evans")
        logins = {}
        for key, actor in (("worker", worker), ("admin", admin)):
            row = db.session.get(Staff, actor.id)
            assert row is not None
            logins[key] = row.username
        return {"base": live_server, "worker_id": worker.id, **logins}


def sign_in(tab: Browsing, username: str, lang: str) -> None:
    tab.go(f"/login?lang={lang}")
    tab.key_type("#username", username)
    tab.key_type("#password", PASSWORD)
    with tab.page.expect_navigation():
        tab.page.keyboard.press("Enter")
    tab.check()


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_an_admin_disables_a_caseworker_by_keyboard(
    browser: Any, scene: dict[str, Any], lang: str
) -> None:
    worker = Browsing(browser, scene["base"])
    admin = Browsing(browser, scene["base"])
    try:
        sign_in(worker, scene["worker"], lang)
        assert "/caseload" in worker.page.url

        sign_in(admin, scene["admin"], lang)
        secret = admin.page.inner_text("#secret").replace(" ", "")
        admin.key_type("#code", pyotp.TOTP(secret).now())
        with admin.page.expect_navigation():
            admin.page.keyboard.press("Enter")
        admin.check()
        admin.go("/admin/staff")
        admin.key_follow(f"a[href='/admin/staff/{scene['worker_id']}/disable']")
        assert "Amara Okafor" in admin.text()
        admin.key_follow("form button.govuk-button--warning")
        assert "/admin/staff" in admin.page.url
        expected = "wedi’i analluogi" if lang == "cy" else "account is disabled"
        assert expected in admin.text()

        worker.go("/caseload")
        assert "/login" in worker.page.url  # signed out at once
        sign_in(worker, scene["worker"], lang)
        turned_off = "wedi’i ddiffodd" if lang == "cy" else "has been turned off"
        assert turned_off in worker.text()
    finally:
        worker.close()
        admin.close()
