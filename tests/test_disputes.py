"""Disputes and restriction (issue 16 part 2): the person says an entry is wrong, every reader
sees it, a restricted entry reaches no agency path until the author's agency answers, and
only that agency answers, once. Each refusal is checked, and each step's log event."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

from passport import db
from passport.audit.models import AuditEvent
from passport.identity.actor import SYSTEM
from passport.records.disputes import waiting_for
from passport.records.models import Dispute, DisputeAnswer
from passport.records.operations import erase_person

from .factories import events_for, forum, forum_member, grant
from .test_records_api import assert_problem

TODAY = date.today()
RISK = {
    "summary": "Risk of overdose after abstinence",
    "flags": [{"kind": "overdose", "level": "high", "detail": "carries naloxone"}],
}
SECRET = "naloxone"
STATEMENT = "I have not used for a year and I do not carry naloxone any more."


@pytest.fixture
def w(make: Any) -> dict[str, Any]:
    housing = make.agency("Riverside Housing First", "housing")
    drugs = make.agency("Northgate Drug and Alcohol Service", "substance_use")
    health = make.agency("City Mental Health", "mental_health")
    amara = make.staff("caseworker", agency=housing, name="Amara Okafor")
    jess = make.person(registered_by=amara)  # Amara is a contributor to every section
    entry = make.entry(amara, jess, "risk", RISK)
    tom = make.staff("caseworker", agency=drugs, name="Tom Reilly")
    # A colleague of Amara's reading through a grant, not a contributor.
    colleague = make.staff("caseworker", agency=housing, name="Hana Ito")
    # A contributor to the risk section from another agency.
    priya = make.staff("caseworker", agency=health, name="Priya Shah")
    chair = make.staff("caseworker", "mdt_chair", agency=drugs, name="Gareth Lewis")
    grant(jess, "agency", drugs.id, ["risk", "medication"])
    grant(jess, "agency", housing.id, ["risk"])
    return {
        "housing": housing,
        "drugs": drugs,
        "amara": amara,
        "jess": jess,
        "entry": entry,
        "tom": tom,
        "colleague": colleague,
        "priya": priya,
        "chair": chair,
    }


def _contributor(w: dict[str, Any], api_as: Any, who: str = "priya") -> None:
    added = api_as(w["jess"]).post(
        f"/api/v1/people/{w['jess'].id}/contributors",
        {"staff_id": w[who].id, "sections": ["risk"]},
    )
    assert added.status_code == 201, added.json


def _dispute_url(w: dict[str, Any], entry_id: str | None = None) -> str:
    return f"/api/v1/people/{w['jess'].id}/entries/{entry_id or w['entry'].id}/dispute"


def _dispute(w: dict[str, Any], api_as: Any, restrict: bool = False) -> dict[str, Any]:
    response = api_as(w["jess"]).post(
        _dispute_url(w), {"statement": STATEMENT, "restrict": restrict}
    )
    assert response.status_code == 201, response.json
    return dict(response.json)


def _risk(api: Any, person: Any, purpose: str = "direct_support") -> list[dict[str, Any]]:
    query = f"?purpose={purpose}" if purpose else ""
    response = api.get(f"/api/v1/people/{person.id}/passport{query}")
    assert response.status_code == 200, response.json
    return list(response.json["sections"].get("risk", []))


def test_every_reader_sees_the_statement_beside_the_entry(w, api_as):
    body = _dispute(w, api_as)
    assert body["statement"] == STATEMENT and body["restricted"] is False
    assert body["answer"] is None and body["revision"] == 1 and body["section"] == "risk"
    [event] = events_for_action(body, "record.dispute")
    assert event.outcome == "allowed" and event.detail["restrict"] is False
    for who in ("tom", "amara", "colleague"):
        [entry] = _risk(api_as(w[who]), w["jess"])
        assert entry["dispute"]["statement"] == STATEMENT, who
        assert SECRET in str(entry["content"])
    brief = api_as(w["tom"]).get(f"/api/v1/people/{w['jess'].id}/brief?purpose=direct_support")
    [alert] = brief.json["alerts"]
    assert alert["dispute"]["statement"] == STATEMENT
    [mine] = _risk(api_as(w["jess"]), w["jess"], "")
    assert mine["dispute"]["statement"] == STATEMENT
    # The statement is sealed: it is not in the database as plain text.
    raw = db.session.execute(text("SELECT statement FROM entry_disputes")).scalar_one()
    assert STATEMENT.encode() not in bytes(raw)


def events_for_action(body: dict[str, Any], action: str) -> list[AuditEvent]:
    return [
        e
        for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).scalars()
        if e.detail.get("dispute_id") == body["id"]
    ]


def test_a_restricted_entry_reaches_no_agency_path(w, api_as, make):
    _contributor(w, api_as)
    forum_row = forum("Riverside MDT", [w["drugs"], w["housing"]])
    forum_member(forum_row, w["chair"], "chair")
    grant(w["jess"], "mdt", forum_row.id, ["risk"], purpose="mdt")
    chair = api_as(w["chair"])
    meeting = chair.post(f"/api/v1/mdts/{forum_row.id}/meetings", {"held_on": TODAY.isoformat()})
    assert meeting.status_code == 201, meeting.json
    agenda = chair.post(
        f"/api/v1/meetings/{meeting.json['id']}/agenda", {"person_id": w["jess"].id}
    )
    assert agenda.status_code == 201, agenda.json
    tom = api_as(w["tom"])
    opened = tom.post(
        f"/api/v1/people/{w['jess'].id}/emergency-access",
        {"reason": "She collapsed at the hub this morning"},
    )
    assert opened.status_code == 201, opened.json
    summary = f"/api/v1/meetings/{meeting.json['id']}/summary"
    assert SECRET in chair.get(summary).get_data(as_text=True)  # seen before the dispute

    assessor = make.staff("caseworker", name="Rhys Morgan")  # assessing a referral
    grant(w["jess"], "staff", assessor.id, ["risk"], purpose="referral")
    w["assessor"] = assessor
    _dispute(w, api_as, restrict=True)
    person = w["jess"].id
    for who, purpose in (
        ("tom", "direct_support"),
        ("colleague", "direct_support"),
        ("priya", "direct_support"),
        ("assessor", "referral"),
    ):
        api = api_as(w[who])
        assert _risk(api, w["jess"], purpose) == [], who
        for path in (
            f"/api/v1/people/{person}/brief?purpose={purpose}",
            f"/api/v1/people/{person}/history?purpose={purpose}",
        ):
            response = api.get(path)
            assert response.status_code == 200, response.json
            assert SECRET not in response.get_data(as_text=True), (who, path)
            assert w["entry"].id not in response.get_data(as_text=True), (who, path)
    # Break-glass does not reach it either.
    assert _risk(tom, w["jess"], "emergency") == []
    assert SECRET not in tom.get(f"/api/v1/people/{person}/history?purpose=emergency").get_data(
        as_text=True
    )
    # The MDT summary: JSON, print view and PDF.
    for suffix in ("", ".html"):
        response = chair.get(summary + suffix)
        assert response.status_code == 200
        assert SECRET not in response.get_data(as_text=True), suffix
    pdf = chair.get(summary + ".pdf")
    assert pdf.status_code == 200
    printed = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert SECRET not in printed
    # A contributor from another agency cannot reach it to change, retire or hide it either.
    entry_url = f"/api/v1/people/{person}/sections/risk/entries/{w['entry'].id}"
    priya = api_as(w["priya"])
    assert_problem(priya.put(entry_url, {"content": RISK}), 404, "/problems/not-found")
    retired = priya.post(entry_url + "/retire")
    assert_problem(retired, 404, "/problems/not-found")
    assert SECRET not in retired.get_data(as_text=True)
    # The person, and the author's agency's contributor (who answers), still see it.
    [mine] = _risk(api_as(w["jess"]), w["jess"], "")
    assert mine["dispute"]["restricted"] is True
    [amaras] = _risk(api_as(w["amara"]), w["jess"])
    assert amaras["dispute"]["restricted"] is True and SECRET in str(amaras["content"])


def test_a_dispute_on_another_persons_entry_is_refused(w, api_as, make):
    other = make.person(name="Ciaran Doyle", preferred_name="Ciaran", registered_by=w["amara"])
    theirs = make.entry(w["amara"], other, "risk", RISK)
    jess = api_as(w["jess"])
    # Their entry under her own passport: there is no such entry in it.
    response = jess.post(_dispute_url(w, theirs.id), {"statement": STATEMENT})
    assert_problem(response, 404, "/problems/not-found")
    [event] = events_for(response, "record.dispute")
    assert event.outcome == "denied" and event.reason == "not-found"
    # Their passport: only the person disputes.
    response = jess.post(
        f"/api/v1/people/{other.id}/entries/{theirs.id}/dispute", {"statement": STATEMENT}
    )
    assert_problem(response, 403, "/problems/forbidden")
    [event] = events_for(response, "record.dispute")
    assert event.outcome == "denied" and event.reason == "not-person"
    # Nor does a worker, for the person.
    response = api_as(w["amara"]).post(_dispute_url(w), {"statement": STATEMENT})
    assert_problem(response, 403, "/problems/forbidden")
    assert db.session.execute(select(Dispute)).first() is None


def test_what_cannot_be_disputed(w, api_as, make):
    jess = api_as(w["jess"])
    assert_problem(
        jess.post(_dispute_url(w), {"statement": "  "}), 422, "/problems/validation-error"
    )
    assert_problem(
        jess.post(_dispute_url(w), {"statement": "x" * 2001}), 422, "/problems/validation-error"
    )
    assert_problem(
        jess.post(_dispute_url(w), {"statement": "wrong", "extra": 1}),
        422,
        "/problems/validation-error",
    )
    own = make.entry(w["jess"], w["jess"], "story", {"text": "My own words."})
    assert_problem(
        jess.post(_dispute_url(w, own.id), {"statement": "wrong"}), 409, "/problems/conflict"
    )
    _dispute(w, api_as)
    second = jess.post(_dispute_url(w), {"statement": "still wrong", "restrict": True})
    assert_problem(second, 409, "/problems/conflict")
    assert len(db.session.execute(select(Dispute)).all()) == 1


def test_only_the_authors_agency_answers_once(w, api_as):
    _contributor(w, api_as)
    _dispute(w, api_as, restrict=True)
    answer = _dispute_url(w) + "/answer"
    upheld = {"outcome": "upheld", "notes": "Checked with the hub nurse."}
    for who, reason in (
        ("tom", "not-author-agency"),
        ("priya", "not-author-agency"),  # a contributor, but of another agency
        ("colleague", "not-contributor"),  # the author's agency, but cannot write here
        ("jess", "not-author-agency"),
    ):
        response = api_as(w[who]).post(answer, upheld)
        assert_problem(response, 403, "/problems/forbidden")
        [event] = events_for(response, "record.dispute_answer")
        assert event.outcome == "denied" and event.reason == reason, who
    amara = api_as(w["amara"])
    assert_problem(amara.post(answer, {"outcome": "upheld"}), 422, "/problems/validation-error")
    assert_problem(amara.post(answer, {"outcome": "deleted"}), 422, "/problems/validation-error")
    # "corrected" needs the correction first.
    early = amara.post(answer, {"outcome": "corrected"})
    assert_problem(early, 409, "/problems/conflict")
    entry_url = f"/api/v1/people/{w['jess'].id}/sections/risk/entries/{w['entry'].id}"
    corrected_content = {"flags": [{"kind": "overdose", "level": "medium"}]}
    changed = amara.put(entry_url, {"content": corrected_content}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200, changed.json
    done = amara.post(answer, {"outcome": "corrected", "notes": "Updated after we spoke."})
    assert done.status_code == 201, done.json
    assert done.json["answer"]["outcome"] == "corrected"
    assert done.json["answer"]["revision"] == 2
    assert done.json["answer"]["answered_by"]["name"] == "Amara Okafor"
    assert done.json["restricted"] is False
    [event] = events_for(done, "record.dispute_answer")
    assert event.outcome == "allowed" and event.detail["outcome"] == "corrected"
    assert event.basis["kind"] == "contributor" and event.basis["id"]
    # Answering twice is a conflict.
    assert_problem(amara.post(answer, upheld), 409, "/problems/conflict")
    assert len(db.session.execute(select(DisputeAnswer)).all()) == 1
    # The restriction is lifted: agencies see the corrected entry with the dispute and answer.
    [seen] = _risk(api_as(w["tom"]), w["jess"])
    assert seen["revision"] == 2 and SECRET not in str(seen["content"])
    assert seen["dispute"]["answer"]["notes"] == "Updated after we spoke."
    # The person sees the answer, and may dispute again.
    [mine] = _risk(api_as(w["jess"]), w["jess"], "")
    assert mine["dispute"]["answer"]["outcome"] == "corrected"
    again = api_as(w["jess"]).post(_dispute_url(w), {"statement": "Medium is still wrong."})
    assert again.status_code == 201, again.json


def test_upheld_with_notes_the_person_sees(w, api_as):
    _dispute(w, api_as, restrict=True)
    answer = api_as(w["amara"]).post(
        _dispute_url(w) + "/answer",
        {"outcome": "upheld", "notes": "The hub nurse saw naloxone in March."},
    )
    assert answer.status_code == 201, answer.json
    assert answer.json["answer"]["revision"] is None
    [mine] = _risk(api_as(w["jess"]), w["jess"], "")
    assert mine["dispute"]["answer"] == {
        **answer.json["answer"],
        "notes": "The hub nurse saw naloxone in March.",
    }
    [seen] = _risk(api_as(w["tom"]), w["jess"])  # no longer restricted
    assert seen["dispute"]["statement"] == STATEMENT
    missing = api_as(w["amara"]).post(
        f"/api/v1/people/{w['jess'].id}/entries/{w['jess'].id}/dispute/answer",
        {"outcome": "upheld", "notes": "x"},
    )
    assert_problem(missing, 404, "/problems/not-found")


def test_every_step_is_in_the_persons_access_log(w, api_as):
    _dispute(w, api_as, restrict=True)
    api_as(w["amara"]).post(
        _dispute_url(w) + "/answer", {"outcome": "upheld", "notes": "It stands."}
    )
    log = api_as(w["jess"]).get(f"/api/v1/people/{w['jess'].id}/access-log")
    assert log.status_code == 200, log.json
    actions = [item["action"] for item in log.json["items"]]
    assert "record.dispute" in actions and "record.dispute_answer" in actions


def test_the_tables_are_append_only(w, api_as):
    _dispute(w, api_as)
    with pytest.raises(Exception, match="append-only"), db.session.begin_nested():
        db.session.execute(text("UPDATE entry_disputes SET restricted = true"))


def test_the_agency_lists_what_waits_for_it_only(w, api_as, make):
    _contributor(w, api_as)
    _dispute(w, api_as, restrict=True)
    [waiting] = waiting_for(w["amara"])
    assert waiting.entry_id == w["entry"].id and waiting.restricted
    assert waiting.person["preferred_name"] == "Jess"
    # Not another agency's, not a colleague who cannot write the section, not a person's.
    assert waiting_for(w["tom"]) == [] and waiting_for(w["priya"]) == []
    assert waiting_for(w["colleague"]) == [] and waiting_for(w["jess"]) == []
    erase_person(SYSTEM, w["jess"].id)
    make.commit()
    assert waiting_for(w["amara"]) == []  # erased: nothing left to answer
