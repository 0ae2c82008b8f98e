"""The circle around the person, end to end in Chromium with axe on every page, in English and
in Welsh (issue 11):

1. a caseworker registers Stuart with him there, and writes a risk assessment with NDT scores,
   a medication and a lead worker;
2. Stuart chooses his own passphrase with his set-up code, sees the worker in "who can see my
   information", confirms one assisted grant and refuses another;
3. Stuart stops the worker, and the worker's reads stop on the next request.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from ..factories import Factory
from .browsing import Browsing
from .test_flows import _username, sign_in_by_keyboard

STUART_PASSPHRASE = "stuarts-own-words-7"

WORDS = {
    "en": {
        "ndt_total": "NDT total: 20 out of 48",
        "sees_worker": "Tom Price",
        "confirmed": "Hillside Housing Options can see",
        "brief_refused": "not shared with you",
    },
    "cy": {
        "ndt_total": "Cyfanswm NDT: 20 allan o 48",
        "sees_worker": "Tom Price",
        "confirmed": "Hillside Housing Options yn gallu gweld",
        "brief_refused": "wedi’i rhannu gyda chi",
    },
}
# Scores that add to 20, risk to and from others counting double (2*2 + 1*2 + 14).
NDT = {
    "engagement": "3",
    "intentional_self_harm": "1",
    "unintentional_self_harm": "2",
    "risk_to_others": "2",
    "risk_from_others": "1",
    "stress_and_anxiety": "3",
    "social_effectiveness": "2",
    "alcohol_drug_abuse": "2",
    "impulse_control": "1",
    "housing": "0",
}


@pytest.fixture
def circle(fresh_app: Flask, live_server: str) -> dict[str, Any]:
    with fresh_app.app_context():
        make = Factory()
        probation = make.agency("City Probation Service", "probation")
        housing = make.agency("Hillside Housing Options", "housing")
        gp = make.agency("Riverside GP Practice", "health")
        tom = make.staff("caseworker", agency=probation, name="Tom Price")
        return {
            "base": live_server,
            "tom": tom.id,
            "tom_login": _username(tom),
            "housing": housing.id,
            "gp": gp.id,
        }


# The form's own submit button: not a password input's "Show" toggle, nor "Add another".
SUBMIT = "main form button.govuk-button[type='submit']:not([name='add_row'])"


def _save(tab: Browsing) -> None:
    tab.click(SUBMIT)


def register_stuart(tom: Browsing) -> tuple[str, str]:
    """Returns Stuart's person id and his set-up code."""
    tom.click("#register-person")
    tom.page.fill("#name", "Stuart Campbell")
    tom.page.fill("#preferred_name", "Stuart")
    tom.page.fill("#date_of_birth-day", "30")
    tom.page.fill("#date_of_birth-month", "5")
    tom.page.fill("#date_of_birth-year", "1984")
    tom.click(SUBMIT)
    tom.page.fill("#username", "Stuart.Campbell")  # any case: it is stored in lower case
    tom.click(SUBMIT)
    tom.page.check("input[name='worker'][value='nobody']")  # the lead worker comes next
    tom.click(SUBMIT)
    assert "Stuart Campbell" in tom.page.inner_text("#check-name")
    tom.click(SUBMIT + ":not(.passport-link-button)")
    code = tom.page.inner_text("#setup-code").strip()
    person_id = re.search(r"/people/([0-9a-f-]{36})/", tom.page.url)
    assert person_id and re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
    tom.page.reload()
    assert code not in tom.page.content()  # shown once
    return person_id.group(1), code


def write_risk_medication_and_lead(tom: Browsing, person_id: str, tom_id: str, lang: str) -> None:
    tom.go(f"/people/{person_id}/brief")
    tom.click(f"a[href='/people/{person_id}/risk']")
    tom.click(f"a[href='/people/{person_id}/risk/new']")
    tom.page.select_option("#flags-0-kind", "risk_from_others")
    tom.page.select_option("#flags-0-level", "high")
    tom.page.fill("#flags-0-detail", "Owes money to people near the hostel")
    tom.page.fill("#summary", "Just out of prison; meet at the probation office.")
    for domain, score in NDT.items():
        tom.page.select_option(f"#ndt-{domain}", score)
    tom.page.fill("#review_on-day", "31")
    tom.page.fill("#review_on-month", "3")
    tom.page.fill("#review_on-year", "2027")
    _save(tom)
    assert WORDS[lang]["ndt_total"] in tom.text()

    tom.go(f"/people/{person_id}/medication/new")
    tom.page.fill("#name", "Sertraline")
    tom.page.fill("#dose", "50 mg")
    tom.page.fill("#frequency", "every morning")
    tom.page.fill("#prescriber", "HMP Barlinnie healthcare")
    _save(tom)
    assert "Sertraline" in tom.text()

    tom.go(f"/people/{person_id}/workers/new")
    tom.page.fill("#name", "Tom Price")
    tom.page.fill("#role", "Probation officer")
    tom.page.select_option("#staff_id", tom_id)
    tom.page.check("#is_lead")
    _save(tom)
    assert "Tom Price" in tom.text()


def record_assisted_grant(
    tom: Browsing, person_id: str, agency_id: str, sections: list[str], purpose: str, days: str
) -> None:
    tom.go(f"/people/{person_id}/brief")
    tom.click(f"a[href='/people/{person_id}/consent/new']")
    tom.page.check("input[name='grantee_type'][value='agency']")
    tom.page.select_option("#agency_id", agency_id)
    for section in sections:
        tom.page.check(f"input[name='sections'][value='{section}']")
    tom.page.check(f"input[name='purpose'][value='{purpose}']")
    tom.page.check(f"input[name='days'][value='{days}']")
    tom.page.check("input[name='method'][value='verbal']")
    tom.page.check("input[name='present'][value='yes']")
    tom.click(SUBMIT)
    assert "/ask" in tom.page.url  # "ask Stuart to confirm now"
    # He has no passphrase yet: the page says he will be asked when he first signs in.
    assert not tom.page.is_visible("#password")


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_circle_around_stuart(browser: Any, circle: dict[str, Any], lang: str) -> None:
    tom = Browsing(browser, circle["base"])
    stuart = Browsing(browser, circle["base"])
    try:
        sign_in_by_keyboard(tom, circle["tom_login"], lang=lang)
        assert tom.page.get_attribute("html", "lang") == lang
        person_id, code = register_stuart(tom)
        write_risk_medication_and_lead(tom, person_id, circle["tom"], lang)
        record_assisted_grant(
            tom, person_id, circle["housing"], ["risk", "workers"], "direct_support", "3m"
        )
        record_assisted_grant(tom, person_id, circle["gp"], ["medication"], "referral", "1m")

        # 2. Stuart chooses his passphrase; nobody else knows it.
        stuart.go(f"/account/setup?lang={lang}")
        stuart.page.fill("#username", "stuart.campbell")
        stuart.page.fill("#setup_code", code.lower().replace("-", " "))  # as he might type it
        stuart.page.fill("#password", STUART_PASSPHRASE)
        stuart.page.fill("#password_confirm", STUART_PASSPHRASE)
        stuart.click(SUBMIT)
        assert "/login" in stuart.page.url
        stuart.page.fill("#username", "Stuart.Campbell")
        stuart.page.fill("#password", STUART_PASSPHRASE)
        stuart.click(SUBMIT)
        # Asked about each grant Tom recorded: yes to housing, no to the GP referral.
        for _ in range(2):
            assert "/me/confirm/" in stuart.page.url
            sentence = stuart.page.inner_text("#sentence")
            answer = "yes" if "Hillside" in sentence else "no"
            stuart.click(f"button[name='answer'][value='{answer}']")
        stuart.go("/me/sharing")
        sharing = stuart.text()
        assert WORDS[lang]["sees_worker"] in sharing
        assert WORDS[lang]["confirmed"] in sharing
        assert stuart.page.is_visible(f"#worker-{circle['tom']}")

        # The worker still reads, as a contributor, until Stuart says stop.
        tom.go(f"/people/{person_id}/brief")
        assert "Sertraline" in tom.text()

        # 3. Stuart stops Tom writing; asked grant by grant, he keeps the housing one.
        stuart.click(f"a[href='/me/sharing/workers/{circle['tom']}/stop']")
        stuart.click(SUBMIT)
        while "/stop/" in stuart.page.url:
            stuart.page.check("input[name='keep'][value='yes']")
            stuart.click(SUBMIT)
        assert stuart.page.url.endswith("/me/sharing")

        tom.page.goto(f"/people/{person_id}/brief")  # the very next request
        tom.check()
        assert "Sertraline" not in tom.text()
        assert WORDS[lang]["brief_refused"].lower() in tom.text().lower()
        assert len(tom.visited) >= 15 and len(stuart.visited) >= 7
    finally:
        tom.close()
        stuart.close()
