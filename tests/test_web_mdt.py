"""MDT pages: my MDTs, meetings, the agenda (only with consent), the shared summary on screen,
printable and as a PDF, and actions — each refusal as well as each success."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_babel import refresh
from pypdf import PdfReader

from passport import db
from passport.consent.grants import revoke_grant
from passport.errors import Invalid
from passport.mdt import operations
from passport.mdt.models import Action as MdtAction

from .factories import SAMPLE_CONTENT, Factory, events_for, forum, forum_member, grant
from .web_helpers import csrf_from, post_form, sign_in, sign_in_with_code

TODAY = date.today()
# Within the sensible bounds for meetings and due dates (passport.mdt.operations).
SOON = (TODAY + timedelta(days=40)).isoformat()


@pytest.fixture
def scene(make: Factory) -> dict[str, Any]:
    housing = make.agency("Riverside Housing First", "housing")
    probation = make.agency("City Probation Service", "probation")
    chair = make.staff("caseworker", "mdt_chair", agency=probation, name="Gareth Lewis")
    member = make.staff("caseworker", agency=housing, name="Amara Okafor")
    outsider = make.staff("caseworker", agency=housing, name="Owen Outsider")
    board = forum("Riverside MDT", [housing, probation])
    forum_member(board, chair, "chair")
    forum_member(board, member, "member")
    meeting = operations.create_meeting(chair, board.id, TODAY, "November", [])
    make.commit()
    jess = make.person()
    for section, content in SAMPLE_CONTENT.items():
        make.entry(jess, jess, section, content)
    stuart = make.person("Stuart Bell", "Stuart", date(1983, 6, 1))
    return {
        "chair": chair,
        "member": member,
        "outsider": outsider,
        "forum": board,
        "meeting": meeting.id,
        "jess": jess,
        "stuart": stuart,
    }


def _consent(scene: dict[str, Any], person: Any, sections: list[str]) -> Any:
    return grant(person, "mdt", scene["forum"].id, sections, purpose="mdt")


def _on_agenda(scene: dict[str, Any], make: Factory, person: Any) -> None:
    operations.add_to_agenda(scene["chair"], scene["meeting"], person.id)
    make.commit()


def test_my_mdts_explains_mdt_and_lists_seats(client: FlaskClient, scene: dict[str, Any]) -> None:
    sign_in(client, scene["member"])
    page = client.get("/mdt").get_data(as_text=True)
    assert "a regular meeting of services working together" in page
    assert "Riverside MDT" in page and f"/mdt/forums/{scene['forum'].id}" in page
    assert 'href="/mdt"' in page  # the menu link for staff who sit on an MDT
    forum_page = client.get(f"/mdt/forums/{scene['forum'].id}").get_data(as_text=True)
    assert f"/mdt/meetings/{scene['meeting']}" in forum_page
    assert "Schedule a meeting" not in forum_page  # members do not schedule


def test_outsider_has_no_menu_link_and_gets_403_everywhere(
    client: FlaskClient, scene: dict[str, Any]
) -> None:
    sign_in(client, scene["outsider"])
    page = client.get("/mdt").get_data(as_text=True)
    assert "Riverside MDT" not in page
    assert 'href="/mdt"' not in client.get("/caseload").get_data(as_text=True)
    m = scene["meeting"]
    for path in [
        f"/mdt/forums/{scene['forum'].id}",
        f"/mdt/meetings/{m}",
        f"/mdt/meetings/{m}/summary",
        f"/mdt/meetings/{m}/summary/print",
        f"/mdt/meetings/{m}/summary.pdf",
        f"/mdt/meetings/{m}/actions/new",
    ]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "Jess" not in response.get_data(as_text=True)


def test_people_and_admins_read_no_content(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    _consent(scene, scene["jess"], ["medication"])
    _on_agenda(scene, make, scene["jess"])
    sign_in(client, scene["jess"])
    assert client.get("/mdt").status_code == 403
    assert client.get(f"/mdt/meetings/{scene['meeting']}/summary").status_code == 403
    post_form(client, "/logout", {}, page="/me")
    admin = make.staff("admin")
    sign_in_with_code(client, admin)
    assert "Riverside MDT" not in client.get("/mdt").get_data(as_text=True)
    for path in ["summary", "summary/print", "summary.pdf"]:
        response = client.get(f"/mdt/meetings/{scene['meeting']}/{path}")
        assert response.status_code == 403
        assert "Methadone" not in response.get_data(as_text=True)


def test_chair_schedules_a_meeting_member_cannot(
    client: FlaskClient, scene: dict[str, Any]
) -> None:
    path = f"/mdt/forums/{scene['forum'].id}"
    sign_in(client, scene["member"])
    page = client.get(path).get_data(as_text=True)
    refused = client.post(path, data={"held_on": SOON, "csrf_token": csrf_from(page)})
    assert refused.status_code == 403
    post_form(client, "/logout", {}, page="/mdt")
    sign_in(client, scene["chair"])
    bad = post_form(client, path, {"held_on": "next week", "title": ""})
    assert bad.status_code == 200
    assert "Date of the meeting must be a real date" in bad.get_data(as_text=True)
    empty = post_form(client, path, {"held_on-day": "", "title": ""})
    assert "Enter the date of the meeting" in empty.get_data(as_text=True)
    made = post_form(client, path, {"held_on": SOON, "title": "January"})
    assert made.status_code == 302 and "/mdt/meetings/" in made.headers["Location"]
    meeting = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "Meeting scheduled." in meeting and day_words(TODAY + timedelta(days=40)) in meeting
    for far in ("1900-01-01", (TODAY + timedelta(days=800)).isoformat()):
        outside = post_form(client, path, {"held_on": far, "title": ""})
        assert outside.status_code == 200
        assert "Date of the meeting must be between" in outside.get_data(as_text=True)


def test_forms_need_the_csrf_token(client: FlaskClient, scene: dict[str, Any]) -> None:
    sign_in(client, scene["chair"])
    m = scene["meeting"]
    for path, data in [
        (f"/mdt/forums/{scene['forum'].id}", {"held_on": SOON}),
        (f"/mdt/meetings/{m}", {"person_id": scene["jess"].id}),
        (f"/mdt/meetings/{m}/actions/new", {"person_id": scene["jess"].id}),
        (f"/mdt/actions/{scene['jess'].id}", {"status": "done"}),
    ]:
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "reload the page" in response.get_data(as_text=True)


def test_agenda_offers_only_consenting_people_and_refuses_others(
    client: FlaskClient, scene: dict[str, Any]
) -> None:
    _consent(scene, scene["jess"], ["medication", "risk"])
    path = f"/mdt/meetings/{scene['meeting']}"
    sign_in(client, scene["chair"])
    page = client.get(path).get_data(as_text=True)
    assert f'value="{scene["jess"].id}"' in page
    assert "Stuart" not in page and scene["stuart"].id not in page
    # A hand-made form naming someone without consent: the domain's plain refusal, no name.
    refused = post_form(client, path, {"person_id": scene["stuart"].id})
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert "this person has not agreed to be discussed at this MDT" in html
    assert "Stuart" not in html
    [event] = events_for(refused, "mdt.agenda_add")
    assert event.outcome == "denied"
    added = post_form(client, path, {"person_id": scene["jess"].id})
    assert added.status_code == 302
    agenda = client.get(path).get_data(as_text=True)
    assert "Added to the agenda." in agenda and 'id="agenda"' in agenda and "Jess" in agenda
    assert "Nobody else has agreed" in agenda


def test_member_cannot_add_to_agenda(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    _consent(scene, scene["jess"], ["medication"])
    path = f"/mdt/meetings/{scene['meeting']}"
    sign_in(client, scene["member"])
    page = client.get(path).get_data(as_text=True)
    assert "Add a person to the agenda" not in page
    refused = client.post(path, data={"person_id": scene["jess"].id, "csrf_token": csrf_from(page)})
    assert refused.status_code == 403


def test_summary_page_lays_out_the_meeting(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    _consent(scene, scene["jess"], ["risk", "medication", "workers", "preferences"])
    _on_agenda(scene, make, scene["jess"])
    late = operations.add_action(
        scene["chair"],
        scene["meeting"],
        scene["jess"].id,
        scene["member"].id,
        "Book a GP appointment in the afternoon",
        TODAY,
    )
    row = db.session.get(MdtAction, late.id)
    assert row is not None
    row.due_on = TODAY - timedelta(days=2)  # two days on, it was not done
    make.commit()
    sign_in(client, scene["member"])
    response = client.get(f"/mdt/meetings/{scene['meeting']}/summary")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    order = ["Alerts", "carries naloxone", "Lead worker", "Amara Okafor", "Methadone"]
    positions = [html.index(word) for word in order]
    assert positions == sorted(positions)
    assert "What works for them" in html and "Afternoons" in html
    assert "Book a GP appointment" in html and "Overdue" in html
    assert f'id="withheld-{scene["jess"].id}"' in html and "Their story" in html
    assert "I have slept rough" not in html  # story not shared with this MDT
    assert f"/mdt/meetings/{scene['meeting']}/summary/print" in html
    assert f"/mdt/meetings/{scene['meeting']}/summary.pdf" in html
    assert "Add an action" not in html  # members do not add actions
    [event] = events_for(response, "mdt.summary")
    assert event.outcome == "allowed" and event.person_id == scene["jess"].id


def test_revoked_person_drops_out_of_the_summary_page(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    jess, stuart = scene["jess"], scene["stuart"]
    made = _consent(scene, jess, ["medication"])
    _consent(scene, stuart, ["preferences"])
    _on_agenda(scene, make, jess)
    _on_agenda(scene, make, stuart)
    sign_in(client, scene["chair"])
    path = f"/mdt/meetings/{scene['meeting']}/summary"
    assert "Methadone" in client.get(path).get_data(as_text=True)
    revoke_grant(jess, jess.id, made.id, None)
    make.commit()
    html = client.get(path).get_data(as_text=True)
    assert "Methadone" not in html and "Jess" not in html
    assert "1 person on the agenda no longer agrees to share" in html
    assert "Stuart" in html
    meeting = client.get(f"/mdt/meetings/{scene['meeting']}").get_data(as_text=True)
    assert "Jess" not in meeting and "no longer agrees to share" in meeting


def test_print_view_and_pdf(client: FlaskClient, scene: dict[str, Any], make: Factory) -> None:
    _consent(scene, scene["jess"], ["medication", "risk"])
    _on_agenda(scene, make, scene["jess"])
    sign_in(client, scene["member"])
    printable = client.get(f"/mdt/meetings/{scene['meeting']}/summary/print")
    assert printable.status_code == 200 and printable.mimetype == "text/html"
    assert "OFFICIAL-SENSITIVE" in printable.get_data(as_text=True)
    assert '<html lang="en">' in printable.get_data(as_text=True)
    assert "SWYDDOGOL" not in printable.get_data(as_text=True)
    policy = printable.headers["Content-Security-Policy"]
    assert "style-src 'sha256-" in policy and "script" not in policy
    assert "unsafe-inline" not in policy
    assert printable.headers["Cache-Control"] == "no-store"
    pdf = client.get(f"/mdt/meetings/{scene['meeting']}/summary.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF-") and pdf.headers["Cache-Control"] == "no-store"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "OFFICIAL-SENSITIVE" in text and "Methadone" in text
    [event] = events_for(pdf, "mdt.summary")
    assert event.detail["format"] == "pdf"


def test_print_view_and_pdf_in_welsh(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    _consent(scene, scene["jess"], ["medication", "risk", "preferences"])
    _on_agenda(scene, make, scene["jess"])
    sign_in(client, scene["member"])
    refresh()  # the test client shares one app context: forget the sign-in page's language
    client.get(f"/mdt/meetings/{scene['meeting']}/summary?lang=cy")  # remembered in the session
    printable = client.get(f"/mdt/meetings/{scene['meeting']}/summary/print")
    html = printable.get_data(as_text=True)
    assert '<html lang="cy">' in html
    assert '<span lang="en">OFFICIAL-SENSITIVE</span> / SWYDDOGOL-SENSITIF' in html
    assert "Crynodeb a rennir ar gyfer y cyfarfod ar" in html
    assert "Meddyginiaeth bresennol" in html and "Gorddos – Uchel: carries naloxone" in html
    assert "Sut i gysylltu â fi" in html and "Wyneb yn wyneb" in html
    assert "Beth sy’n fy helpu" in html and "Afternoons" in html and "Methadone" in html
    assert "Heb ei rannu gyda’r MDT hwn" in html and "Enw a manylion, Eu stori, Gweithwyr" in html
    assert '"Tudalen " counter(page) " o " counter(pages)' in html
    for english in ("Shared summary", "Current medication", "Printed by", "Alerts", "Warning"):
        assert english not in html
    policy = printable.headers["Content-Security-Policy"]
    assert "style-src 'sha256-" in policy and "unsafe-inline" not in policy
    pdf = client.get(f"/mdt/meetings/{scene['meeting']}/summary.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "OFFICIAL-SENSITIVE / SWYDDOGOL-SENSITIF" in text
    assert "Meddyginiaeth bresennol" in text and "Argraffwyd gan Amara Okafor" in text
    assert "Tudalen 1 o" in text and "Methadone" in text
    assert "Current medication" not in text
    refresh()
    client.get(f"/mdt/meetings/{scene['meeting']}/summary?lang=en")
    english = client.get(f"/mdt/meetings/{scene['meeting']}/summary/print").get_data(as_text=True)
    assert '<html lang="en">' in english and "Current medication" in english
    assert "SWYDDOGOL" not in english and "<title>OFFICIAL-SENSITIVE — Riverside MDT" in english


def test_chair_adds_an_action_and_the_owner_marks_it_done(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    _consent(scene, scene["jess"], ["medication"])
    _on_agenda(scene, make, scene["jess"])
    path = f"/mdt/meetings/{scene['meeting']}/actions/new"
    sign_in(client, scene["chair"])
    summary = client.get(f"/mdt/meetings/{scene['meeting']}/summary").get_data(as_text=True)
    assert f"{path}?person_id={scene['jess'].id}" in summary
    form = client.get(path).get_data(as_text=True)
    assert "Amara Okafor" in form and "Owen Outsider" not in form  # owners: members only
    missing = post_form(client, path, {"person_id": scene["jess"].id})
    assert missing.status_code == 200
    assert "Say what will be done" in missing.get_data(as_text=True)
    stranger = post_form(
        client,
        path,
        {
            "person_id": scene["jess"].id,
            "owner_staff_id": scene["outsider"].id,
            "text": "Call her",
            "due_on": SOON,
        },
    )
    assert stranger.status_code == 200 and "from the MDT" in stranger.get_data(as_text=True)
    added = post_form(
        client,
        path,
        {
            "person_id": scene["jess"].id,
            "owner_staff_id": scene["member"].id,
            "text": "Ask the GP to review the methadone dose",
            "due_on": SOON,
        },
    )
    assert added.status_code == 302 and added.headers["Location"].endswith("/summary")
    assert "Ask the GP" in client.get(added.headers["Location"]).get_data(as_text=True)

    post_form(client, "/logout", {}, page="/mdt")
    sign_in(client, scene["member"])
    mine = client.get("/mdt/actions").get_data(as_text=True)
    assert "Ask the GP to review" in mine and "Jess" in mine
    summary = client.get(f"/mdt/meetings/{scene['meeting']}/summary").get_data(as_text=True)
    assert "Add an action" not in summary
    assert client.get(path).status_code == 403  # members do not add actions
    [action] = operations.my_actions(scene["member"])
    done = post_form(client, f"/mdt/actions/{action.id}", {"status": "done"}, page="/mdt/actions")
    assert done.status_code == 302 and done.headers["Location"].endswith("/mdt/actions")
    after = client.get("/mdt/actions").get_data(as_text=True)
    assert "Action marked done." in after and "Nothing to do." in after


def test_others_cannot_change_an_action(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    _consent(scene, scene["jess"], ["medication"])
    _on_agenda(scene, make, scene["jess"])
    action = operations.add_action(
        scene["chair"], scene["meeting"], scene["jess"].id, scene["chair"].id, "Call", TODAY
    )
    make.commit()
    sign_in(client, scene["member"])  # a member, but neither owner nor chair
    refused = post_form(client, f"/mdt/actions/{action.id}", {"status": "dropped"}, page="/mdt")
    assert refused.status_code == 403


def test_action_for_a_person_who_withdrew_is_refused(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    jess = scene["jess"]
    made = _consent(scene, jess, ["medication"])
    _on_agenda(scene, make, jess)
    path = f"/mdt/meetings/{scene['meeting']}/actions/new"
    sign_in(client, scene["chair"])
    page = client.get(path).get_data(as_text=True)
    revoke_grant(jess, jess.id, made.id, None)
    make.commit()
    refused = client.post(
        path,
        data={
            "person_id": jess.id,
            "owner_staff_id": scene["member"].id,
            "text": "Call her",
            "due_on": SOON,
            "csrf_token": csrf_from(page),
        },
    )
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert "withdrawn their agreement" in html and "Jess" not in html


def test_summary_in_welsh(client: FlaskClient, scene: dict[str, Any], make: Factory) -> None:
    _consent(scene, scene["jess"], ["medication"])
    _on_agenda(scene, make, scene["jess"])
    sign_in(client, scene["chair"])
    refresh()  # the test client shares one app context: forget the sign-in page's language
    html = client.get(f"/mdt/meetings/{scene['meeting']}/summary?lang=cy").get_data(as_text=True)
    assert '<html lang="cy"' in html and "Methadone" in html
    assert "Crynodeb a rennir" in html and "Shared summary" not in html


def day_words(value: date) -> str:
    return f"{value.day} {value.strftime('%B')} {value.year}"


def test_an_action_cannot_be_due_in_the_past_or_far_ahead(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    _consent(scene, scene["jess"], ["medication"])
    _on_agenda(scene, make, scene["jess"])
    sign_in(client, scene["chair"])
    path = f"/mdt/meetings/{scene['meeting']}/actions/new"
    for due, said in (
        ((TODAY - timedelta(days=1)).isoformat(), "must be today or in the future"),
        ("2999-01-01", "or earlier"),
    ):
        form = {
            "person_id": scene["jess"].id,
            "owner_staff_id": scene["chair"].id,
            "text": "Call the GP",
            "due_on": due,
        }
        refused = post_form(client, path, form)
        assert refused.status_code == 200
        assert said in refused.get_data(as_text=True)
    with pytest.raises(Invalid):
        operations.add_action(
            scene["chair"],
            scene["meeting"],
            scene["jess"].id,
            scene["chair"].id,
            "Call",
            TODAY - timedelta(days=1),
        )
    with pytest.raises(Invalid):
        operations.create_meeting(scene["chair"], scene["forum"].id, date(1900, 1, 1), None, [])


def test_dropping_an_action_asks_first(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    _consent(scene, scene["jess"], ["medication"])
    _on_agenda(scene, make, scene["jess"])
    action = operations.add_action(
        scene["chair"], scene["meeting"], scene["jess"].id, scene["chair"].id, "Call Jess", TODAY
    )
    make.commit()
    sign_in(client, scene["chair"])
    summary = f"/mdt/meetings/{scene['meeting']}/summary"
    asked = post_form(
        client, f"/mdt/actions/{action.id}", {"status": "dropped", "back": "summary"}, page=summary
    )
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Drop this action?" in page and "Call Jess" in page
    assert "Call Jess" in client.get(summary).get_data(as_text=True)  # not dropped yet
    dropped = post_form(
        client,
        f"/mdt/actions/{action.id}",
        {"status": "dropped", "back": "summary", "confirmed": "yes"},
        page=summary,
    )
    assert dropped.status_code == 302
    assert "Call Jess" not in client.get(summary).get_data(as_text=True)


def test_an_empty_agenda_says_so_plainly(client: FlaskClient, scene: dict[str, Any]) -> None:
    sign_in(client, scene["chair"])
    html = client.get(f"/mdt/meetings/{scene['meeting']}/summary").get_data(as_text=True)
    assert "Nobody is on the agenda yet." in html
    assert "has agreed to share" not in html


def test_print_view_writes_dates_as_the_screen_does(
    client: FlaskClient, scene: dict[str, Any], make: Factory
) -> None:
    _consent(scene, scene["jess"], ["medication"])
    _on_agenda(scene, make, scene["jess"])
    operations.add_action(
        scene["chair"],
        scene["meeting"],
        scene["jess"].id,
        scene["chair"].id,
        "Call Jess",
        TODAY + timedelta(days=3),
    )
    make.commit()
    sign_in(client, scene["chair"])
    base = f"/mdt/meetings/{scene['meeting']}/summary"
    screen = client.get(base).get_data(as_text=True)
    printed = client.get(f"{base}/print").get_data(as_text=True)
    due = day_words(TODAY + timedelta(days=3))
    for words in (day_words(TODAY), due):
        assert words in screen and words in printed
    assert (TODAY + timedelta(days=3)).isoformat() not in printed
