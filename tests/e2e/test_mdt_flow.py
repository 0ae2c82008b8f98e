"""End to end in Chromium: an MDT chair opens a meeting, puts a person who agreed on the
agenda, reads the shared summary and adds an action. axe checks every MDT page visited."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from passport.mdt import operations

from ..factories import SAMPLE_CONTENT, Factory, forum, forum_member, grant
from .browsing import Browsing
from .test_flows import _username, sign_in_by_keyboard


@pytest.fixture
def mdt_scene(fresh_app: Flask, live_server: str) -> dict[str, Any]:
    with fresh_app.app_context():
        make = Factory()
        housing = make.agency("Riverside Housing First", "housing")
        probation = make.agency("City Probation Service", "probation")
        chair = make.staff("caseworker", "mdt_chair", agency=probation, name="Gareth Lewis")
        member = make.staff("caseworker", agency=housing, name="Amara Okafor")
        board = forum("Riverside MDT", [housing, probation])
        forum_member(board, chair, "chair")
        forum_member(board, member, "member")
        meeting = operations.create_meeting(chair, board.id, date.today(), "November", [])
        make.commit()
        person = make.person()
        for section, content in SAMPLE_CONTENT.items():
            make.entry(person, person, section, content)
        grant(person, "mdt", board.id, ["risk", "medication", "preferences"], purpose="mdt")
        return {
            "base": live_server,
            "chair_login": _username(chair),
            "member": member.id,
            "forum": board.id,
            "meeting": meeting.id,
            "person": person.id,
        }


def test_chair_runs_a_meeting(browser: Any, mdt_scene: dict[str, Any]) -> None:
    chair = Browsing(browser, mdt_scene["base"])
    meeting = mdt_scene["meeting"]
    try:
        sign_in_by_keyboard(chair, mdt_scene["chair_login"])
        chair.key_follow("a.govuk-service-navigation__link[href='/mdt']")
        assert "Riverside MDT" in chair.text() and "services working together" in chair.text()
        chair.key_follow(f"a[href='/mdt/forums/{mdt_scene['forum']}']")
        chair.key_follow(f"a[href='/mdt/meetings/{meeting}']")
        assert "Nobody is on the agenda yet." in chair.text()

        chair.tab_to("#person_id")
        chair.page.select_option("#person_id", mdt_scene["person"])
        chair.key_follow("form button.govuk-button")
        assert "Added to the agenda." in chair.text()
        assert "Jess" in chair.page.inner_text("#agenda")

        chair.key_follow(f"a[href='/mdt/meetings/{meeting}/summary']")
        summary = chair.text()
        assert summary.index("carries naloxone") < summary.index("Methadone")
        assert "Afternoons" in summary and "Their story" in summary  # story withheld, named

        chair.key_follow(f"a[href^='/mdt/meetings/{meeting}/actions/new']")
        chair.tab_to("#owner_staff_id")
        chair.page.select_option("#owner_staff_id", mdt_scene["member"])
        chair.key_type("#text", "Ask the GP to review the methadone dose")
        due = date.today() + timedelta(days=30)  # a GOV.UK date input: day, month, year
        chair.key_type("#due_on-day", str(due.day))
        chair.key_type("#due_on-month", str(due.month))
        chair.key_type("#due_on-year", str(due.year))
        chair.key_follow("form button.govuk-button")
        text = chair.text()
        assert "Action added." in text and "Ask the GP to review the methadone dose" in text

        chair.go(f"/mdt/meetings/{meeting}/summary/print")
        assert "OFFICIAL-SENSITIVE" in chair.page.inner_text("body")
        chair.go("/mdt/actions")
        assert len(chair.visited) >= 9
    finally:
        chair.close()
