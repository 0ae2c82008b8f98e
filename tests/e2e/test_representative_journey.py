"""A representative, end to end in Chromium with axe on every page, in English and in Welsh
(issue 15):

1. Stuart appoints his sister Lorna with `help`, and sees her set-up code once;
2. she chooses her own passphrase, signs in to her own home page, opens Stuart's passport,
   adds to his story and says, for him, that sharing his worker recorded is right;
3. Stuart sees in "who has looked" that Lorna, helping him, looked and confirmed it, and his
   inbox told him that someone can now act for him;
4. he stops her in one step, and her very next request is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from passport import db
from passport.identity.models import Person

from ..factories import SAMPLE_CONTENT, Factory, grant
from .browsing import Browsing
from .test_flows import sign_in_by_keyboard

LORNA_PASSPHRASE = "lornas-own-words-3"
SUBMIT = "main form button.govuk-button[type='submit']:not([name='add_row'])"
WORDS = {
    "en": {
        "helping": "helping you",
        "confirmed": "Thank you. You said this is right.",
        "told": "Someone can now act for you on your passport.",
    },
    "cy": {
        "helping": "yn eich helpu",
        "confirmed": "Diolch.",
        "told": "Gall rhywun weithredu ar eich rhan ar eich pasbort nawr.",
    },
}


@pytest.fixture
def journey(fresh_app: Flask, live_server: str) -> dict[str, Any]:
    with fresh_app.app_context():
        make = Factory()
        housing = make.agency("Hillside Housing Options", "housing")
        tom = make.staff("caseworker", name="Tom Price")
        stuart = make.person(name="Stuart Campbell", preferred_name="Stuart", registered_by=tom)
        for section, content in SAMPLE_CONTENT.items():
            make.entry(stuart, stuart, section, content)
        # Tom recorded, with Stuart, that Hillside may see his risks: waiting for him to say.
        assisted = grant(stuart, "agency", housing.id, ["risk"], recorded_by=tom)
        account = db.session.get(Person, stuart.id)
        assert account is not None and account.username
        return {
            "base": live_server,
            "stuart": stuart.id,
            "stuart_login": account.username,
            "grant": assisted.id,
        }


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_stuart_appoints_his_sister_who_helps_then_he_stops_her(
    browser: Any, journey: dict[str, Any], lang: str
) -> None:
    stuart = Browsing(browser, journey["base"])
    lorna = Browsing(browser, journey["base"])
    person_id = journey["stuart"]
    try:
        # 1. Stuart (asked first about Tom's grant: he leaves it for later) appoints Lorna.
        sign_in_by_keyboard(stuart, journey["stuart_login"], lang=lang)
        assert stuart.page.get_attribute("html", "lang") == lang
        assert "/me/confirm/" in stuart.page.url
        stuart.click("form[action='/me/confirm/later'] button")
        stuart.go("/me/sharing")
        stuart.key_follow("#appoint-representative")
        stuart.key_type("#name", "Lorna (my sister)")
        stuart.key_type("#username", "Lorna")
        stuart.key_radio("access", "help")
        stuart.key_follow(SUBMIT)
        code = stuart.page.inner_text("#setup-code").strip()
        assert len(code) == 14, code
        stuart.page.reload()
        assert code not in stuart.page.content()  # shown once
        stuart.check()

        # 2. Lorna chooses her passphrase, signs in, and acts for him.
        lorna.go(f"/account/setup?lang={lang}")
        lorna.page.fill("#username", "lorna")
        lorna.page.fill("#setup_code", code)
        lorna.page.fill("#password", LORNA_PASSPHRASE)
        lorna.page.fill("#password_confirm", LORNA_PASSPHRASE)
        lorna.click(SUBMIT)
        assert "/login" in lorna.page.url
        lorna.page.fill("#username", "LORNA")
        lorna.page.fill("#password", LORNA_PASSPHRASE)
        lorna.click(SUBMIT)
        assert lorna.page.url.endswith("/represent")
        lorna.click(f"a[href='/represent/{person_id}']")
        assert "Methadone" in lorna.text()  # his whole passport
        lorna.click(f"a[href='/people/{person_id}/story/new']")
        lorna.page.fill("#text", "Stuart wants his sister with him at appointments.")
        lorna.click(SUBMIT)
        assert "his sister with him" in lorna.text()
        lorna.go(f"/represent/{person_id}/sharing")
        lorna.click(f"#confirm-{journey['grant']}")
        assert "Hillside Housing Options" in lorna.page.inner_text("#sentence")
        lorna.click("button[name='answer'][value='yes']")
        assert WORDS[lang]["confirmed"] in lorna.page.content()

        # 3. Stuart sees what she did, and that she was helping him.
        stuart.go("/me/looked")
        looked = stuart.text()
        assert "Lorna (my sister)" in looked
        assert WORDS[lang]["helping"] in looked
        stuart.go("/me/messages")
        assert WORDS[lang]["told"] in stuart.text()

        # 4. He stops her in one step; her very next request is refused.
        stuart.go("/me/sharing")
        stuart.click(f"#representative-{_representation(stuart)} a")
        stuart.click(SUBMIT)
        assert stuart.page.url.endswith("/me/sharing")
        response = lorna.page.goto(f"/represent/{person_id}")
        assert response is not None and response.status == 403
        lorna.check()
        assert "Methadone" not in lorna.text()
        assert len(stuart.visited) >= 8 and len(lorna.visited) >= 8
    finally:
        stuart.close()
        lorna.close()


def _representation(tab: Browsing) -> str:
    found = tab.page.get_attribute("[id^='representative-']", "id")
    assert found
    return found.removeprefix("representative-")
