"""The pages of disputes (issue 16): the person says an entry is wrong (what, hide it?, check,
done), the author's agency lists and answers, readers see "Jess says this is wrong", and the
refusals a page can meet."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import refresh
from pypdf import PdfReader

from passport.mdt import operations as mdt_operations

from .factories import Factory, forum, forum_member, grant
from .web_helpers import post_form, sign_in

RISK = {"flags": [{"kind": "overdose", "level": "high", "detail": "carries naloxone"}]}
STATEMENT = "I do not carry naloxone any more."


@pytest.fixture
def w(make: Factory, app: Flask) -> dict[str, Any]:
    housing = make.agency("Riverside Housing First", "housing")
    drugs = make.agency("Northgate Drug and Alcohol Service", "substance_use")
    amara = make.staff("caseworker", agency=housing, name="Amara Okafor")
    tom = make.staff("caseworker", agency=drugs, name="Tom Reilly")
    jess = make.person(registered_by=amara)
    entry = make.entry(amara, jess, "risk", RISK)
    own = make.entry(jess, jess, "story", {"text": "My own words."})
    grant(jess, "agency", drugs.id, ["risk"])
    clients: dict[str, FlaskClient] = {}
    for name, actor in {"jess": jess, "amara": amara, "tom": tom}.items():
        clients[name] = app.test_client()
        sign_in(clients[name], actor)
    return {"jess": jess, "entry": entry, "own": own, "clients": clients, "drugs": drugs}


def _say_wrong(w: dict[str, Any], restrict: bool) -> None:
    jess = w["clients"]["jess"]
    start = f"/me/entries/{w['entry'].id}/wrong"
    data = {"statement": STATEMENT, **({"restrict": "yes"} if restrict else {})}
    response = post_form(jess, start, data)
    assert response.status_code == 302 and response.headers["Location"].endswith("/wrong/check")
    check = jess.get(start + "/check").get_data(as_text=True)
    assert STATEMENT in check
    assert ("Hidden from services" in check) is restrict
    done = post_form(jess, start + "/check", {})
    assert done.status_code == 302 and done.headers["Location"].endswith("/wrong/done")
    page = jess.get(start + "/done").get_data(as_text=True)
    assert "You have said this is wrong" in page and "Riverside Housing First" in page


def test_the_person_says_it_is_wrong_and_hides_it_until_answered(w):
    jess, amara, tom = (w["clients"][n] for n in ("jess", "amara", "tom"))
    mine = jess.get("/me").get_data(as_text=True)
    assert f"/me/entries/{w['entry'].id}/wrong" in mine
    assert f"/me/entries/{w['own'].id}/wrong" not in mine  # she wrote it: she changes it
    # Saying nothing is refused, on the page.
    empty = post_form(jess, f"/me/entries/{w['entry'].id}/wrong", {"statement": " "})
    assert empty.status_code == 200 and "Say what is wrong" in empty.get_data(as_text=True)
    _say_wrong(w, restrict=True)
    mine = jess.get("/me").get_data(as_text=True)
    assert "You say this is wrong:" in mine and STATEMENT in mine
    assert "Hidden from services until they answer" in mine
    assert "Waiting for Riverside Housing First to answer." in mine
    # The other agency's brief no longer shows it; the author's agency lists it.
    brief = tom.get(f"/people/{w['jess'].id}/brief?purpose=direct_support")
    assert "naloxone" not in brief.get_data(as_text=True)
    waiting = amara.get("/disputes").get_data(as_text=True)
    assert "Jess" in waiting and "Hidden from other services until you answer" in waiting
    answer = f"/people/{w['jess'].id}/entries/{w['entry'].id}/answer"
    assert answer in waiting
    # Tom's agency did not write it: he cannot answer, nor even find it.
    refused = tom.get(answer)
    assert refused.status_code == 404 and "naloxone" not in refused.get_data(as_text=True)
    page = amara.get(answer).get_data(as_text=True)
    assert "Jess says this is wrong:" in page and STATEMENT in page
    refused = post_form(amara, answer, {"outcome": "upheld", "notes": ""})
    assert "Tell the person why it stays as written" in refused.get_data(as_text=True)
    early = post_form(amara, answer, {"outcome": "corrected"})
    assert "Change the entry first" in early.get_data(as_text=True)
    saved = post_form(amara, answer, {"outcome": "upheld", "notes": "The nurse saw it in March."})
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert "Nobody is waiting for an answer." in amara.get("/disputes").get_data(as_text=True)
    assert amara.get(answer).status_code == 404  # answered: nothing to answer
    mine = jess.get("/me").get_data(as_text=True)
    assert "answered on" in mine and "The nurse saw it in March." in mine
    # Every step is in "who has looked", in words.
    looked = jess.get("/me/looked").get_data(as_text=True)
    assert "Said something in your passport is wrong" in looked
    assert "Answered when you said something was wrong" in looked and "Amara Okafor" in looked
    # Answered: the brief shows the entry again, with what Jess says beside it.
    brief = tom.get(f"/people/{w['jess'].id}/brief?purpose=direct_support").get_data(as_text=True)
    assert "naloxone" in brief and "Jess says this is wrong:" in brief and STATEMENT in brief


def test_every_reader_sees_it_in_the_mdt_summary_and_print(w, make):
    chair = make.staff("caseworker", "mdt_chair", agency=w["drugs"], name="Gareth Lewis")
    board = forum("Riverside MDT", [w["drugs"]])
    forum_member(board, chair, "chair")
    grant(w["jess"], "mdt", board.id, ["risk"], purpose="mdt")
    meeting = mdt_operations.create_meeting(chair, board.id, date.today(), "December", [])
    mdt_operations.add_to_agenda(chair, meeting.id, w["jess"].id)
    make.commit()
    _say_wrong(w, restrict=False)
    client = w["clients"]["tom"]
    sign_in(client, chair)
    screen = client.get(f"/mdt/meetings/{meeting.id}/summary").get_data(as_text=True)
    assert "Jess says this is wrong:" in screen and STATEMENT in screen
    printed = client.get(f"/mdt/meetings/{meeting.id}/summary/print").get_data(as_text=True)
    assert "Jess says this is wrong:" in printed and STATEMENT in printed


def test_pages_that_refuse(w):
    jess = w["clients"]["jess"]
    own = jess.get(f"/me/entries/{w['own'].id}/wrong")
    assert own.status_code == 409
    assert "You cannot say this is wrong here" in own.get_data(as_text=True)
    # The check page without answers goes back to the first question.
    check = jess.get(f"/me/entries/{w['entry'].id}/wrong/check")
    assert check.status_code == 302 and check.headers["Location"].endswith("/wrong")
    assert jess.get(f"/me/entries/{w['jess'].id}/wrong").status_code == 404
    # A staff member has no "this is wrong" pages; a person has no answer pages.
    assert w["clients"]["amara"].get(f"/me/entries/{w['entry'].id}/wrong").status_code in (
        302,
        403,
    )
    answer = f"/people/{w['jess'].id}/entries/{w['entry'].id}/answer"
    assert jess.get(answer).status_code in (302, 403)


def test_welsh_pages(w):
    jess = w["clients"]["jess"]
    refresh()  # the test's app context keeps the locale of its first request
    start = jess.get(f"/me/entries/{w['entry'].id}/wrong?lang=cy").get_data(as_text=True)
    assert '<html lang="cy"' in start
    assert "What is wrong?" not in start and "Beth sydd o’i le?" in start
    refresh()


def test_the_persons_downloads_hold_the_dispute_and_answer(w):
    _say_wrong(w, restrict=True)
    jess = w["clients"]["jess"]
    body = jess.get("/me/download/passport.json").get_json()
    [risk] = body["sections"]["risk"]
    assert risk["dispute"]["statement"] == STATEMENT and risk["dispute"]["restricted"] is True
    assert risk["dispute"]["answer"] is None
    pdf = jess.get("/me/download/passport.pdf")
    assert pdf.status_code == 200
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "You say this is wrong:" in text and "naloxone any more" in text
